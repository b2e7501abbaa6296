import { describe, expect, test } from 'vitest';
import { expandProxyCommand, proxyCommandOf, ProxyCommandTransport } from './proxy-command.js';
import type { ResolvedHost } from './types.js';

const host: ResolvedHost = { name: 'dragon', address: '10.0.0.5', port: 2222, user: 'ops', identityFiles: [] };

describe('ProxyCommand', () => {
  test('%h %p %r %n %% are expanded as ssh does', () => {
    expect(expandProxyCommand('ssh -W %h:%p -l %r jump # %n 100%%', host)).toBe('ssh -W 10.0.0.5:2222 -l ops jump # dragon 100%');
  });

  test('none (any case) and an empty command mean a direct connection', () => {
    expect(proxyCommandOf({ ...host, proxyCommand: 'none' })).toBeUndefined();
    expect(proxyCommandOf({ ...host, proxyCommand: 'NONE' })).toBeUndefined();
    expect(proxyCommandOf({ ...host, proxyCommand: ' ' })).toBeUndefined();
    expect(proxyCommandOf(host)).toBeUndefined();
  });

  test("the command's stdout and stdin are the stream; its exit and stderr are told", async () => {
    const transport = new ProxyCommandTransport('read line; echo "got $line"; echo complaint >&2; exit 4');
    const chunks: Buffer[] = [];
    transport.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    transport.stream.write('hello\n');
    await new Promise((resolve) => transport.stream.once('end', resolve));
    await transport.exited();
    expect(Buffer.concat(chunks).toString()).toBe('got hello\n');
    expect(transport.outcome()).toBe('exited with code 4, saying: complaint');
  });

  test('the command ending closes the stream, as a lost TCP connection does (ssh2 waits for close)', async () => {
    const transport = new ProxyCommandTransport('read line; exit 0');
    const closed = new Promise<string>((resolve) => transport.stream.once('close', () => resolve('closed')));
    transport.stream.resume();
    transport.stream.write('bye\n');
    const outcome = await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000))]);
    expect(outcome).toBe('closed');
    await transport.exited();
  });

  test('destroying the stream kills the command, and that is not reported as its failure', async () => {
    const transport = new ProxyCommandTransport('exec sleep 30');
    transport.stream.destroy();
    await transport.exited();
    expect(transport.outcome()).toBeUndefined();
  });
});
