// What a reverse forward really listens on, on the site host. nightshift asks sshd for
// 127.0.0.1, but an sshd with `GatewayPorts yes` listens on every address instead, and says
// nothing: the helper channel would be open to the site's whole network. The host's own
// socket table is the truth; what cannot be read from it counts as not loopback.
import { isIP } from 'node:net';
import { isLoopbackAddress } from './loopback.js';

/**
 * Prints the host's TCP sockets for /bin/sh: Linux's /proc tables, else netstat (BSD,
 * macOS, net-tools). Only the output is judged, never the exit status.
 */
export const LISTENING_SOCKETS_SCRIPT = 'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || netstat -an 2>/dev/null';

export interface ListeningSocket {
  address: string;
  port: number;
}

export type BindingVerdict = { loopback: true; addresses: string[] } | { loopback: false; addresses: string[]; why: string };

/** /proc/net/tcp{,6}: "  1: 0100007F:94AB 00000000:0000 0A ..." (0A: listening). */
const PROC_LINE = /^\s*\d+:\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+\S+\s+0A\s/;
/** netstat -an: "tcp 0 0 127.0.0.1:2222 0.0.0.0:* LISTEN", "tcp4 0 0 127.0.0.1.2222 *.* LISTEN", "tcp6 ... :::2222 ...". */
const NETSTAT_LINE = /^tcp[46]?\s+\d+\s+\d+\s+(\S+)\s+\S+\s+LISTEN\s*$/i;

/** The listening TCP sockets in what LISTENING_SOCKETS_SCRIPT printed; lines of any other shape are ignored. */
export function listeningSockets(text: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    const proc = PROC_LINE.exec(line);
    if (proc) {
      sockets.push({ address: procAddress(proc[1]!), port: parseInt(proc[2]!, 16) });
      continue;
    }
    const netstat = NETSTAT_LINE.exec(line.trim());
    if (netstat) {
      const local = netstat[1]!;
      const cut = Math.max(local.lastIndexOf(':'), local.lastIndexOf('.'));
      const port = Number(local.slice(cut + 1));
      if (cut > 0 && Number.isInteger(port)) sockets.push({ address: netstatAddress(local.slice(0, cut)), port });
    }
  }
  return sockets;
}

/** Whether everything listening on `port` is loopback; nothing seen on it counts as not. */
export function judgeBinding(sockets: ListeningSocket[], port: number): BindingVerdict {
  const addresses = [...new Set(sockets.filter((socket) => socket.port === port).map((socket) => socket.address))];
  const shown = addresses.map((address) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`));
  if (addresses.length === 0) {
    return { loopback: false, addresses: shown, why: `nothing there shows what port ${port} listens on (no /proc/net/tcp, no netstat)` };
  }
  const open = addresses.filter((address) => !isLoopbackAddress(address));
  if (open.length === 0) return { loopback: true, addresses: shown };
  return { loopback: false, addresses: shown, why: `port ${port} listens on ${shown.join(' and ')}, not only on the host itself` };
}

/** The kernel prints an address as 32-bit words in host order: little-endian on every Linux nightshift expects. */
function procAddress(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    for (let byte = 3; byte >= 0; byte--) bytes.push(parseInt(hex.slice(word + byte * 2, word + byte * 2 + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return compressIpv6(groups);
}

/** An address as netstat prints it; anything that is not one is shown as such (and is not loopback). */
function netstatAddress(text: string): string {
  if (text === '*' || text === '') return '0.0.0.0';
  const address = text.replace(/%.*$/, '');
  return isIP(address) ? address : '(unreadable)';
}

/** "0:0:0:0:0:0:0:1" → "::1", as isLoopbackAddress reads it. */
function compressIpv6(groups: string[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let end = i;
    while (end < groups.length && groups[end] === '0') end++;
    if (end - i > best.length) best = { start: i, length: end - i };
    i = end;
  }
  if (best.length < 2) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}
