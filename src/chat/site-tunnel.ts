// Keeps the helper endpoint reachable on a site host: a reverse forward on that host's
// 127.0.0.1, opened again whenever its link comes back (a reboot, a dropped line).

export type TunnelState =
  | { state: 'opening'; since: number }
  | { state: 'open'; port: number; since: number }
  | { state: 'down'; error: string; since: number; nextTryAt: number };

export interface TunnelHosts {
  forward(host: string, options: { localHost: string; localPort: number; remotePort: number }): Promise<{ remotePort: number; close(): Promise<void> }>;
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
  onChange?(state: TunnelState): void;
}

export interface SiteTunnel {
  readonly host: string;
  state(): TunnelState;
  close(): Promise<void>;
}

const DEFAULT_RETRY_MS = 30_000;

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
        set({ state: 'open', port: forward.remotePort, since: Date.now() });
        await Promise.race([hosts.whenDropped(options.host), new Promise<void>((resolve) => (wake = resolve))]);
        forward = undefined;
        if (closed) return;
        set({ state: 'opening', since: Date.now() });
      } catch (error) {
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
