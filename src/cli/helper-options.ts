// The helper channel's command-line flags, shared by run, demo and resume.
import { isLoopbackAddress } from '../chat/loopback.js';
import { DEFAULT_HELPER_SETTINGS, type HelperSettings } from '../store/helper-settings.js';
import type { Flags } from './flags.js';
import { usageError } from './user-error.js';

export const HELPER_FLAGS = {
  listen: {
    type: 'string',
    value: 'ADDR[:PORT]',
    help: 'where the helper channel listens (default 127.0.0.1, any free port); helpers join with ssh -p PORT sentinel@ADDR and the join code shown in the status bar',
  },
  'listen-anywhere': { type: 'boolean', help: 'needed to listen on anything but loopback' },
  'site-host': {
    type: 'string',
    value: 'HOST[:PORT]',
    help: "expose the helper channel on that runbook host's 127.0.0.1 (default port 2222) through a reverse tunnel, as the runbook's sentinel section does; wall there calls for help while nobody has joined",
  },
  relay: { type: 'boolean', help: "let the upgrader confirm the sentinel's checkpoints for them (told by phone; journaled as relayed)" },
  'no-helpers': { type: 'boolean', help: 'no helper channel' },
} as const satisfies Flags;

export interface HelperFlagValues {
  listen?: string;
  'listen-anywhere'?: boolean;
  'site-host'?: string;
  relay?: boolean;
  'no-helpers'?: boolean;
}

/** [ADDRESS][:PORT]; an IPv6 address in brackets. */
function addressAndPort(text: string, flag: string): { address?: string; port?: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text);
  if (!match) throw usageError(`${flag} takes ADDRESS[:PORT], not "${text}"`);
  const address = match[1] ?? (match[2] || undefined);
  const port = match[3] !== undefined ? Number(match[3]) : undefined;
  if (port !== undefined && (port < 0 || port > 65535)) throw usageError(`${flag}: ${port} is not a port number`);
  return { ...(address !== undefined ? { address } : {}), ...(port !== undefined ? { port } : {}) };
}

export function helperSettings(values: HelperFlagValues, base: HelperSettings = DEFAULT_HELPER_SETTINGS): HelperSettings {
  const listen = { ...base.listen };
  if (values.listen !== undefined) Object.assign(listen, addressAndPort(values.listen, '--listen'));
  if (values['listen-anywhere']) listen.allowNonLoopback = true;
  if (!listen.allowNonLoopback && !isLoopbackAddress(listen.address)) {
    throw usageError(`--listen ${listen.address} would let anyone who reaches this machine try join codes; add --listen-anywhere if that is meant`);
  }
  let siteHost = base.siteHost;
  if (values['site-host'] !== undefined) {
    const { address, port } = addressAndPort(values['site-host'], '--site-host');
    if (!address) throw usageError('--site-host takes HOST[:PORT], a host of the runbook');
    siteHost = { host: address, ...(port !== undefined ? { port } : {}) };
  }
  return {
    enabled: values['no-helpers'] ? false : base.enabled,
    listen,
    ...(siteHost ? { siteHost } : {}),
    relay: values.relay ?? base.relay,
  };
}
