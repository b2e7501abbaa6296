// The helper channel's command-line flags, shared by run, demo and resume.
import { isLoopbackAddress } from '../chat/loopback.js';
import { DEFAULT_HELPER_SETTINGS, type HelperSettings } from '../store/helper-settings.js';

export const HELPER_FLAGS = {
  listen: { type: 'string' },
  'listen-anywhere': { type: 'boolean' },
  'site-host': { type: 'string' },
  relay: { type: 'boolean' },
  'no-helpers': { type: 'boolean' },
} as const;

export interface HelperFlagValues {
  listen?: string;
  'listen-anywhere'?: boolean;
  'site-host'?: string;
  relay?: boolean;
  'no-helpers'?: boolean;
}

export class HelperFlagError extends Error {}

/** [ADDRESS][:PORT]; an IPv6 address in brackets. */
function addressAndPort(text: string, flag: string): { address?: string; port?: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text);
  if (!match) throw new HelperFlagError(`${flag} takes ADDRESS[:PORT], not "${text}"`);
  const address = match[1] ?? (match[2] || undefined);
  const port = match[3] !== undefined ? Number(match[3]) : undefined;
  if (port !== undefined && (port < 0 || port > 65535)) throw new HelperFlagError(`${flag}: ${port} is not a port number`);
  return { ...(address !== undefined ? { address } : {}), ...(port !== undefined ? { port } : {}) };
}

export function helperSettings(values: HelperFlagValues, base: HelperSettings = DEFAULT_HELPER_SETTINGS): HelperSettings {
  const listen = { ...base.listen };
  if (values.listen !== undefined) Object.assign(listen, addressAndPort(values.listen, '--listen'));
  if (values['listen-anywhere']) listen.allowNonLoopback = true;
  if (!listen.allowNonLoopback && !isLoopbackAddress(listen.address)) {
    throw new HelperFlagError(
      `--listen ${listen.address} would let anyone who reaches this machine try join codes; add --listen-anywhere if that is meant`,
    );
  }
  let siteHost = base.siteHost;
  if (values['site-host'] !== undefined) {
    const { address, port } = addressAndPort(values['site-host'], '--site-host');
    if (!address) throw new HelperFlagError('--site-host takes HOST[:PORT], a host of the runbook');
    siteHost = { host: address, ...(port !== undefined ? { port } : {}) };
  }
  return {
    enabled: values['no-helpers'] ? false : base.enabled,
    listen,
    ...(siteHost ? { siteHost } : {}),
    relay: values.relay ?? base.relay,
  };
}
