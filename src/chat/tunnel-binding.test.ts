import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { judgeBinding, LISTENING_SOCKETS_SCRIPT, listeningSockets } from './tunnel-binding.js';

const PROC_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1522 1 0000000078f58cce 100 0 0 10 0
   1: 0100007F:08AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 318041 1 000000003311e7c4 100 0 0 10 0
   2: 0100007F:08AE 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 318042 1 000000003311e7c4 20 4 30 10 -1
`;
const PROC_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:08AE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1523 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:08B0 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1524 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:08B1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1525 1 0000000000000000 100 0 0 10 0
`;

describe('what a forwarded port listens on', () => {
  it('reads Linux /proc tables: listening sockets only, IPv4 and IPv6 in host order', () => {
    expect(listeningSockets(PROC_TCP + PROC_TCP6)).toEqual([
      { address: '0.0.0.0', port: 2222 },
      { address: '127.0.0.1', port: 2223 },
      { address: '::', port: 2222 },
      { address: '::1', port: 2224 },
      { address: '::ffff:7f00:1', port: 2225 },
    ]);
  });

  it('reads netstat from net-tools, BSD and macOS', () => {
    const text = [
      'Active Internet connections (servers and established)',
      'Proto Recv-Q Send-Q Local Address           Foreign Address         State',
      'tcp        0      0 127.0.0.1:2222          0.0.0.0:*               LISTEN',
      'tcp6       0      0 :::2223                 :::*                    LISTEN',
      'tcp4       0      0  127.0.0.1.2224         *.*                    LISTEN',
      'tcp46      0      0  *.2225                 *.*                    LISTEN',
      'tcp4       0      0  127.0.0.1.2226         127.0.0.1.50000        ESTABLISHED',
      'udp        0      0 0.0.0.0:2227            0.0.0.0:*',
    ].join('\n');
    expect(listeningSockets(text)).toEqual([
      { address: '127.0.0.1', port: 2222 },
      { address: '::', port: 2223 },
      { address: '127.0.0.1', port: 2224 },
    ]);
  });

  it('is loopback only when everything on the port is: 127.0.0.0/8, ::1, ::ffff:127.x', () => {
    const sockets = listeningSockets(PROC_TCP + PROC_TCP6);
    expect(judgeBinding(sockets, 2223)).toEqual({ loopback: true, addresses: ['127.0.0.1:2223'] });
    expect(judgeBinding(sockets, 2224)).toEqual({ loopback: true, addresses: ['[::1]:2224'] });
    expect(judgeBinding(sockets, 2225).loopback).toBe(true);
    // GatewayPorts yes: every address, both families.
    expect(judgeBinding(sockets, 2222)).toEqual({
      loopback: false,
      addresses: ['0.0.0.0:2222', '[::]:2222'],
      why: 'port 2222 listens on 0.0.0.0:2222 and [::]:2222, not only on the host itself',
    });
  });

  it('counts what it cannot see as not loopback: nothing on the port, no tables, junk', () => {
    expect(judgeBinding(listeningSockets(PROC_TCP), 9999).loopback).toBe(false);
    expect(judgeBinding(listeningSockets(''), 2222)).toMatchObject({ loopback: false, why: expect.stringContaining('nothing there shows') });
    const hostile = '\x1b]0;owned\x07 0: 0100007F:08AE\ntcp 0 0 127.0.0.1:2222 LISTEN\n   0: 0100007F:08AE 00000000:0000 0A';
    expect(judgeBinding(listeningSockets(hostile), 2222).loopback).toBe(false);
    // What a host prints never reaches the message as it is.
    const disguised = judgeBinding(listeningSockets('tcp 0 0 \x1b]0;owned\x07127.0.0.1:2222 0.0.0.0:* LISTEN\n'), 2222);
    expect(disguised).toMatchObject({ loopback: false, addresses: ['(unreadable):2222'] });
  });

  describe('on this machine, through /bin/sh', () => {
    let server: Server | undefined;
    afterEach(() => server?.close());

    const listenOn = (host: string) =>
      new Promise<number>((resolve) => {
        server = createServer().listen(0, host, () => resolve((server!.address() as { port: number }).port));
      });
    const judge = (port: number) => judgeBinding(listeningSockets(execFileSync('/bin/sh', ['-c', LISTENING_SOCKETS_SCRIPT], { encoding: 'utf8' })), port);

    it('sees a socket on 127.0.0.1 as loopback and one on 0.0.0.0 as not', async () => {
      const loopback = await listenOn('127.0.0.1');
      expect(judge(loopback)).toEqual({ loopback: true, addresses: [`127.0.0.1:${loopback}`] });
      server!.close();
      const everywhere = await listenOn('0.0.0.0');
      expect(judge(everywhere)).toMatchObject({ loopback: false, addresses: [`0.0.0.0:${everywhere}`] });
    });
  });
});
