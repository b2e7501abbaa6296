// What an upload is asked to do and what it answers: apart from transfer.ts, so that the
// modules that finish an upload need not import the one that starts it.
import type { UploadProgress } from './transfer-progress.js';

export interface UploadOptions {
  /** Called at most ~10 times a second, plus once at the end of each phase. */
  onProgress?(progress: UploadProgress): void;
  /**
   * What nightshift has to say about the upload, e.g. that the host has no SFTP server. Said
   * once per upload: calling again with the same options object (a resume) stays quiet.
   */
  onNotice?(text: string): void;
  /** Aborting stops sending at once and keeps the partial file for a later resume. */
  signal?: AbortSignal;
  /** Permissions of the final file, e.g. 0o644 (default: the server's default for new files). */
  mode?: number;
  /** Bytes per SFTP write; capped at the largest write the server takes in one request. */
  chunkSize?: number;
  /** Default: 16 with OpenSSH's 255 KiB writes, more for servers that take smaller ones (at most 64). */
  requestsInFlight?: number;
}

export interface UploadResult {
  bytes: number;
  sha256: string;
  /** Bytes of an earlier attempt that were kept (0 when it started from scratch). */
  resumedFrom: number;
}
