// Sends a byte range of a local file over SFTP with several writes in flight at explicit
// offsets: one write at a time waits a round trip per chunk, which caps the rate far below
// the link's. Memory stays at one buffer per request in flight.
//
// Local reads finish in any order, but the write requests leave in offset order: a server
// that handles requests in order (OpenSSH's sftp-server does) then never has a hole in the
// partial file when the link drops or the upload is aborted, so resuming from its size is safe.
import type { FileHandle } from 'node:fs/promises';
import { abortError } from './errors.js';
import { SftpSession } from './transfer-sftp.js';

export interface SendRange {
  session: SftpSession;
  remoteHandle: Buffer;
  localFile: FileHandle;
  localPath: string;
  from: number;
  to: number;
  chunkSize: number;
  requestsInFlight: number;
  signal?: AbortSignal;
  /** Each chunk, in offset order, as its write leaves (the buffer is reused afterwards). */
  onChunk?(bytes: Buffer): void;
  onBytes(bytes: number): void;
}

/**
 * Resolves when every byte of [from, to) was acknowledged by the server. Rejects on the
 * first failure or on abort without waiting for the writes still in flight.
 */
export function sendRange(range: SendRange): Promise<void> {
  const { signal } = range;
  return new Promise<void>((resolve, reject) => {
    let next = range.from;
    let running = 0;
    let failed = false;

    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    const onAbort = () => fail(abortError());
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    // Each buffer holds its write request around the chunk: the data is read in after the request's head.
    const headRoom = SftpSession.requestHeadRoom(range.remoteHandle);
    // Settles once the write of the most recently claimed chunk has been issued; the next chunk waits for it.
    let previousIssued = Promise.resolve();

    const worker = async (buffer: Buffer) => {
      while (!failed && next < range.to) {
        const position = next;
        const length = Math.min(range.chunkSize, range.to - position);
        next += length;
        const myTurn = previousIssued;
        let issued!: () => void;
        previousIssued = new Promise<void>((resolve) => (issued = resolve));
        try {
          const { bytesRead } = await range.localFile.read(buffer, headRoom, length, position);
          if (failed) return;
          if (bytesRead !== length) {
            throw new Error(`The local file ${range.localPath} became shorter during the upload; upload it again once it stopped changing.`);
          }
          await myTurn;
          if (failed) return;
          range.onChunk?.(buffer.subarray(headRoom, headRoom + length));
          // The request is queued in ssh2 before write() returns.
          const writing = range.session.write(range.remoteHandle, buffer, headRoom, length, position);
          issued();
          await writing;
        } finally {
          issued();
        }
        if (failed) return;
        range.onBytes(length);
      }
    };

    const workers = Math.max(1, Math.min(range.requestsInFlight, Math.ceil((range.to - range.from) / range.chunkSize)));
    for (let index = 0; index < workers; index++) {
      running++;
      worker(Buffer.allocUnsafe(headRoom + range.chunkSize)).then(() => {
        if (--running === 0 && !failed) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      }, fail);
    }
  });
}
