// Keeps the helper endpoint reachable on a site host: a reverse forward on that host's
// 127.0.0.1, opened again whenever its link comes back (a reboot, a dropped line). Once
// open, the host's socket table must show it on loopback only, else it is closed again
// (tunnel-binding.ts) and left closed until the link is new.
import type { ExecHandlers, ExecResult } from '../remote/types.js';
import { judgeBinding, LISTENING_SOCKETS_SCRIPT, listeningSockets, type BindingVerdict } from './tunnel-binding.js';

export type TunnelState =
  | { state: 'opening'; since: number }
  | { state: 'open'; port: number; since: number }
  | { state: 'down'; error: string; since: number; nextTryAt: number }
  /** Closed because it was not loopback only; tried again when the host's link is new. */
  | { state: 'refused'; error: string; addresses: string[]; since: number };

export interface TunnelHosts {
  forward(host: string, options: { localHost: string; localPort: number; remotePort: number }): Promise<{ remotePort: number; close(): Promise<void> }>;
  exec(host: string, command: string, handlers: ExecHandlers): Promise<ExecResult>;
  whenDropped(host: string): Promise<void>;
  regain(host: string): Promise<unknown>;
}

export interface SiteTunnelOptions {
  host: string;
  /** The port on the host's 127.0.0.1 the helper types into ssh -p. */
  remotePort: number;
  localPort: number;
  localHost?: string;
  /** Between attempts when the host cannot be reached or refuses the forward. */
  retryMs?: number;
  /** How long the look at the host's sockets may take before it counts as not loopback. Default 20 s. */
  checkTimeoutMs?: number;
  onChange?(state: TunnelState): void;
}

export interface SiteTunnel {
  readonly host: string;
  state(): TunnelState;
  close(): Promise<void>;
}

const DEFAULT_RETRY_MS = 30_000;
const DEFAULT_CHECK_TIMEOUT_MS = 20_000;
const MAX_TABLE_BYTES = 16 * 1024 * 1024;

export function keepSiteTunnel(hosts: TunnelHosts, options: SiteTunnelOptions): SiteTunnel {
  let current: TunnelState = { state: 'opening', since: Date.now() };
  let closed = false;
  let forward: { remotePort: number; close(): Promise<void> } | undefined;
  let wake: (() => void) | undefined;
  const set = (state: TunnelState) => {
    current = state;
    options.onChange?.(state);
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const keep = async () => {
    const retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    let first = true;
    while (!closed) {
      try {
        if (!first) await hosts.regain(options.host);
        first = false;
        if (closed) return;
        forward = await hosts.forward(options.host, {
          localHost: options.localHost ?? '127.0.0.1',
          localPort: options.localPort,
          remotePort: options.remotePort,
        });
        if (closed) return void (await forward.close());
        const verdict = await bindingOf(hosts, options.host, forward.remotePort, options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
        if (closed) return void (await forward.close());
        if (verdict.loopback) {
          set({ state: 'open', port: forward.remotePort, since: Date.now() });
        } else {
          await forward.close();
          forward = undefined;
          set({ state: 'refused', error: refusal(options.host, verdict), addresses: verdict.addresses, since: Date.now() });
        }
        await Promise.race([hosts.whenDropped(options.host), new Promise<void>((resolve) => (wake = resolve))]);
        forward = undefined;
        if (closed) return;
        set({ state: 'opening', since: Date.now() });
      } catch (error) {
        // Whatever failed, a forward must not stay open unchecked.
        await forward?.close().catch(() => {});
        forward = undefined;
        if (closed) return;
        set({ state: 'down', error: (error as Error).message, since: Date.now(), nextTryAt: Date.now() + retryMs });
        await pause(retryMs);
        first = true;
      }
    }
  };
  void keep();

  return {
    host: options.host,
    state: () => current,
    async close() {
      closed = true;
      wake?.();
      await forward?.close().catch(() => {});
    },
  };
}

/** The host's own socket table for the forwarded port; a look that fails or takes too long throws. */
async function bindingOf(hosts: TunnelHosts, host: string, port: number, timeoutMs: number): Promise<BindingVerdict> {
  const output: Buffer[] = [];
  let size = 0;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    await hosts.exec(host, LISTENING_SOCKETS_SCRIPT, {
      // A socket table bigger than this is not read further, and not trusted.
      onStdout: (chunk) => {
        if ((size += chunk.length) <= MAX_TABLE_BYTES) output.push(chunk);
      },
      onStderr: () => {},
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw new Error(`could not tell within ${Math.round(timeoutMs / 1000)} s what the tunnel listens on; it was closed`);
    throw error;
  }
  if (size > MAX_TABLE_BYTES) return { loopback: false, addresses: [], why: `its socket table is over ${MAX_TABLE_BYTES >> 20} MB, too big to read` };
  return judgeBinding(listeningSockets(Buffer.concat(output).toString('utf8')), port);
}

function refusal(host: string, verdict: BindingVerdict & { loopback: false }): string {
  const cause = verdict.addresses.length > 0 ? ` (GatewayPorts yes in its sshd_config?); set GatewayPorts no or clientspecified there and reload sshd` : '';
  return (
    `the tunnel on ${host} was closed: ${verdict.why}, so the site's network might reach the helper channel${cause}; ` +
    `it is tried again when nightshift next connects to ${host}`
  );
}
