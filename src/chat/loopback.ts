// Whether an address is this machine only: the helper channel listens on nothing else unless told.
import net from 'node:net';

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and the name localhost. */
export function isLoopbackAddress(address: string): boolean {
  if (address.toLowerCase() === 'localhost') return true;
  const family = net.isIP(address);
  if (family === 0) return false;
  const loopback = new net.BlockList();
  loopback.addSubnet('127.0.0.0', 8, 'ipv4');
  loopback.addAddress('::1', 'ipv6');
  loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
  return loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
