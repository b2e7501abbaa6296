// What the upgrader's screen shows about the helper channel: the join code to read out,
// the endpoint's key fingerprint, and the one command a helper on site types.
import type { TunnelState } from './site-tunnel.js';

export interface HelperAccessState {
  code: string;
  /** Too many wrong codes: nobody gets in until this time or a new code. */
  lockedUntil: number | null;
  fingerprint: string;
  local: { address: string; port: number };
  /** The site host's end of the reverse tunnel, when there is one. */
  site: { host: string; port: number; tunnel: TunnelState } | null;
  /** The command a helper runs to join (where: on the site host, or here). */
  joinCommand: string;
}

export interface HelperAccess {
  /** null until the channel is open (it opens after the first frame), or when it could not open. */
  state(): HelperAccessState | null;
  subscribe(listener: () => void): () => void;
  /** Draws a new join code (the old one stops working; a lockout ends). */
  newCode(): void;
  /** Whether the channel is still on its way (it opens after the first frame); false once open or failed. */
  opening?(): boolean;
}

/**
 * The command a helper types: on the site host through the tunnel; else, on this machine,
 * `here` (nightshift join finds the session and pins its key), with ssh beside it.
 */
export function joinCommandFor(local: { address: string; port: number }, site: { host: string; port: number } | null, here?: string): string {
  if (site) return `ssh -p ${site.port} sentinel@localhost   (on ${site.host})`;
  const address = local.address === '0.0.0.0' || local.address === '::' ? '<this machine>' : local.address;
  const ssh = `ssh -p ${local.port} sentinel@${address}`;
  return here !== undefined ? `${here} in a second terminal (or ${ssh})` : ssh;
}

/** The channel as the screen sees it before it is open: nothing yet, then the channel's state. */
export class PendingHelperAccess implements HelperAccess {
  private channel: HelperAccess | null = null;
  private failed = false;
  private readonly listeners = new Set<() => void>();

  attach(channel: HelperAccess): void {
    this.channel = channel;
    channel.subscribe(() => this.notify());
    this.notify();
  }

  /** The channel could not open: the screen stops saying it is on its way. */
  fail(): void {
    this.failed = true;
    this.notify();
  }

  opening(): boolean {
    return this.channel === null && !this.failed;
  }

  state(): HelperAccessState | null {
    return this.channel?.state() ?? null;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  newCode(): void {
    this.channel?.newCode();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
