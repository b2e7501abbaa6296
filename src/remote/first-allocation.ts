// ssh2 makes each packet and each SFTP request in a new Buffer. Where nightshift has a buffer
// ready for one, the one Buffer.allocUnsafe call that makes it is answered with that buffer.

/**
 * Runs `call` (synchronous) with its first Buffer.allocUnsafe answered by `provide(size)`,
 * or made as usual when `provide` gives nothing back; later calls are made as usual.
 * `provide` gets the allocUnsafe to make a buffer of its own with (not one answered again).
 */
export function withFirstAllocation<T>(provide: (size: number, allocUnsafe: (size: number) => Buffer) => Buffer | undefined, call: () => T): T {
  const allocUnsafe = Buffer.allocUnsafe;
  Buffer.allocUnsafe = (size: number) => {
    Buffer.allocUnsafe = allocUnsafe;
    return (provide(size, allocUnsafe) ?? allocUnsafe(size)) as Buffer<ArrayBuffer>;
  };
  try {
    return call();
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
  }
}
