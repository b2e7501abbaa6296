// A login shell on a pty over a pooled connection: the upgrader's own look around, typed by
// hand, which is why it is the server's login shell and not /bin/sh as steps are.
import type { ClientChannel } from 'ssh2';
import type { Connection } from './connection.js';
import type { InteractiveShell, ShellSize } from './types.js';

export async function openInteractiveShell(connection: Connection, size: ShellSize): Promise<InteractiveShell> {
  // The shell kept ready for a command gives its session back first (MaxSessions).
  await connection.dropKeptShell();
  try {
    return await openOnce(connection, size);
  } catch (error) {
    if (!connection.isAlive) throw error;
    // A server with few sessions: whatever else the connection keeps gives its own back, and the shell is asked for once more.
    await connection.makeRoomForSessions();
    return openOnce(connection, size);
  }
}

function openOnce(connection: Connection, size: ShellSize): Promise<InteractiveShell> {
  const { user, address, port } = connection.host;
  return new Promise((resolve, reject) => {
    const opened = (error: Error | undefined, channel: ClientChannel) => {
      if (error) return reject(new Error(`${connection.host.name} gave no shell: ${error.message}`));
      let status: { exitCode: number | null; signal?: string } = { exitCode: null };
      channel.on('exit', (code: number | null, signal?: string) => {
        status = signal ? { exitCode: code, signal } : { exitCode: code };
      });
      const closed = new Promise<{ exitCode: number | null; signal?: string }>((done) => channel.once('close', () => done(status)));
      resolve({
        where: `${user}@${address}${port === 22 ? '' : `:${port}`}`,
        write: (data) => void channel.write(data),
        resize: (cols, rows) => channel.setWindow(rows, cols, 0, 0),
        onData: (listener) => {
          channel.on('data', listener);
          channel.stderr.on('data', listener);
        },
        end: () => channel.close(),
        closed,
      });
    };
    try {
      connection.client.shell({ term: size.term, cols: size.cols, rows: size.rows }, opened);
    } catch (error) {
      // "Not connected": the socket closed before the connection heard of it.
      connection.markLost();
      reject(new Error(`${connection.host.name} gave no shell: ${(error as Error).message}`));
    }
  });
}
