// A login's TCP connection opened, and its SSH identification line sent, as soon as the host's
// address is known: before ssh2 has loaded and the login's files are read. The server answers
// the line with its key exchange offer a round trip later, and over a long link that answer is
// on its way meanwhile (ssh2's load is some 50 ms of the first login after start-up).
import net from 'node:net';

/** The software version in nightshift's identification line (RFC 4253 4.2), given to ssh2 as its `ident` too. */
export const CLIENT_IDENT = 'nightshift';

const IDENT_LINE = Buffer.from(`SSH-2.0-${CLIENT_IDENT}\r\n`, 'latin1');

export class EarlySocket {
  private socket: net.Socket | undefined;
  private trouble: Error | undefined;

  constructor(address: string, port: number) {
    const socket = net.connect({ host: address, port });
    // ssh2 sets this on the sockets it makes: every channel listens to the connection's end.
    socket.setMaxListeners(0);
    socket.on('error', this.noteError);
    socket.once('close', this.noteClose);
    // Written once connected; the server's answer waits, unread, until ssh2 reads it.
    socket.write(IDENT_LINE);
    this.socket = socket;
  }

  /**
   * Resolves once the connection is made (or failed), or after `ms`: a short wait before a
   * long synchronous load (ssh2's), during which Node would not write the line though the
   * connection were made (on a link with a short round trip).
   */
  connectedOrAfter(ms: number): Promise<void> {
    const socket = this.socket;
    if (!socket?.connecting) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        socket.off('connect', done);
        socket.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      socket.once('connect', done);
      socket.once('error', done);
    });
  }

  private readonly noteError = (error: Error): void => {
    // As ssh2 marks the errors of its own sockets.
    this.trouble ??= Object.assign(error, { level: 'client-socket' });
  };

  private readonly noteClose = (): void => {
    this.trouble ??= Object.assign(new Error('Connection lost before handshake'), { level: 'protocol' });
  };

  /**
   * The socket for ssh2, which then skips ssh2's own identification line, already sent; what
   * went wrong when it failed meanwhile (reported as ssh2 reports its own); undefined once
   * taken, or discarded.
   */
  take(): net.Socket | Error | undefined {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return undefined;
    socket.off('error', this.noteError);
    socket.off('close', this.noteClose);
    if (this.trouble) {
      socket.destroy();
      return this.trouble;
    }
    const write = socket.write;
    // Left in place after the first write (not put back): a wrapper added later (packet-reuse.ts) stays.
    let first = true;
    socket.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
      if (first) {
        first = false;
        if (Buffer.isBuffer(chunk) && chunk.equals(IDENT_LINE)) return true;
      }
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof socket.write;
    return socket;
  }

  /** Closes it when no login took it (refused before connecting, or a later attempt of the same login). */
  discard(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
