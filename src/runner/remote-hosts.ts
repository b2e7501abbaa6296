import type { ConnectionState, DetachedRunOptions, ExecHandlers, ExecResult } from '../remote/types.js';

/** What a run needs of the SSH layer (src/remote/host-pool.ts provides it; tests may bring their own). */
export interface RemoteHosts {
  exec(host: string, command: string, handlers: ExecHandlers): Promise<ExecResult>;
  runDetached(host: string, command: string, options: DetachedRunOptions): Promise<ExecResult>;
  connect(host: string): Promise<void>;
  isPortOpen(host: string, port: number, timeoutMs: number): Promise<boolean>;
  states(): Record<string, ConnectionState>;
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}
