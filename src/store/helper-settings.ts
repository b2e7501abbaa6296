// How a session's helper channel is set up (command-line flags, kept for resume).
export interface HelperSettings {
  /** false: no helper endpoint at all. */
  enabled: boolean;
  listen: { address: string; port: number; allowNonLoopback: boolean };
  /** Overrides the runbook's sentinel host (and port) for the reverse tunnel. */
  siteHost?: { host: string; port?: number };
  /** The upgrader may record a sentinel's confirmation told by phone. */
  relay: boolean;
}

export const DEFAULT_HELPER_SETTINGS: HelperSettings = {
  enabled: true,
  listen: { address: '127.0.0.1', port: 0, allowNonLoopback: false },
  relay: false,
};
