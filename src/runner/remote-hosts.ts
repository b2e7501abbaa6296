import type { UploadOptions, UploadResult } from '../remote/transfer.js';
import type { RemoteForward, RemoteForwardOptions } from '../remote/forward.js';
import type { DetachedRunState } from '../remote/detached-control.js';
import type { ConnectionState, DetachedRunOptions, ExecHandlers, ExecResult, InteractiveShell, ShellSize } from '../remote/types.js';

/** What a run needs of the SSH layer (src/remote/host-pool.ts provides it; tests may bring their own). */
export interface RemoteHosts {
  exec(host: string, command: string, handlers: ExecHandlers): Promise<ExecResult>;
  /** One command over a login of its own (not the pooled connection), closed after it; `readyTimeoutMs` bounds the login. */
  /** `port`: through the host's spare way in (runbook `spare_access`) instead of its own port. */
  execOnNewConnection(host: string, command: string, handlers: ExecHandlers & { readyTimeoutMs?: number; port?: number }): Promise<ExecResult>;
  runDetached(host: string, command: string, options: DetachedRunOptions): Promise<ExecResult>;
  /** Logs in (within the reconnect window) unless logged in already. */
  ensureConnected(host: string, signal?: AbortSignal): Promise<void>;
  /** What a detached run's folder says; throws when the host cannot be reached now. */
  detachedRunState(host: string, runId: string, signal?: AbortSignal, become?: 'sudo'): Promise<DetachedRunState>;
  /** TERMs a detached run still alive, waits a while for it to end, and says how it was left. */
  stopDetachedRun(host: string, runId: string, signal?: AbortSignal, become?: 'sudo'): Promise<DetachedRunState>;
  /** Frees a detached run's output on the host; only once its result is recorded (until then attaching again gives it back). */
  releaseRun(host: string, runId: string, become?: 'sudo'): void;
  /** The host's run_dir from the runbook, where its run folders go before the usual places. */
  runDirOf?(host: string): string | undefined;
  /** `become: sudo`: uploaded as the login user, then put in place by root. */
  upload(
    host: string,
    localPath: string,
    remotePath: string,
    options: UploadOptions & { onNotice?(text: string): void; become?: 'sudo' },
  ): Promise<UploadResult>;
  connect(host: string): Promise<void>;
  /** A login shell on a pty for the upgrader to type in (the `!` key); absent where hosts have none. */
  openShell?(host: string, size: ShellSize): Promise<InteractiveShell>;
  /** Exposes a local port on the host's side (ssh -R); it lasts as long as the current link. */
  forward(host: string, options: RemoteForwardOptions): Promise<RemoteForward>;
  /** Logs in again after a drop, with growing pauses; rejects when the host is lost. */
  regain(host: string): Promise<unknown>;
  /** Resolves when the host's current link drops. */
  whenDropped(host: string): Promise<void>;
  /** A spare way in to the host proved to work: logins go there when the main port does not answer (null: gone). */
  setSpare?(host: string, port: number | null): void;
  /** The phase being run (null in the fallback): logins check the host keys declared for it. */
  setPhase(phase: string | null): void;
  /** The runbook's last step on the host starts: no shell is kept ready there for a command after it (warm-shell.ts). */
  lastStepStarting?(host: string): void;
  isPortOpen(host: string, port: number, timeoutMs: number): Promise<boolean>;
  states(): Record<string, ConnectionState>;
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}
