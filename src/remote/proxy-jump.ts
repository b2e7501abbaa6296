// ProxyJump as ssh -J takes it: comma-separated hops, each a host of the runbook (its own
// settings and declared keys apply) or [user@]host[:port] resolved through ~/.ssh/config.
// A hop's own jump hosts are not followed: the chain is exactly what the destination names.
import type { HostKeyExpectation, HostSpec } from '../runbook/types.js';
import { SshConfigError } from './ssh-config.js';
import type { ResolvedHost } from './types.js';

export interface JumpHop {
  /** As written, e.g. root@bastion:2222 */
  text: string;
  user?: string;
  host: string;
  port?: number;
}

/** A machine to log in to on the way (or the destination): where it is, and how its key is checked. */
export interface RouteHost {
  host: ResolvedHost;
  /** The runbook's host_keys for it; absent means known_hosts. */
  declaredKeys?: HostKeyExpectation[];
}

/** Where hops are looked up. */
export interface JumpContext {
  hosts: Record<string, HostSpec>;
  /** Merges ~/.ssh/config into a spec (resolveHost with the pool's config file). */
  resolve(spec: HostSpec): Promise<ResolvedHost>;
}

const HOP_PATTERN = /^(?:ssh:\/\/)?(?:([^@\s/]+)@)?(\[[^\]\s/]+\]|[^:@\s/[\]]+)(?::(\d+))?\/?$/;

/** The hops of a ProxyJump value; `owner` names the host it belongs to, for the error. */
export function parseProxyJump(value: string, owner: string): JumpHop[] {
  return value.split(',').map((item) => {
    const text = item.trim();
    const match = HOP_PATTERN.exec(text);
    const port = match?.[3] === undefined ? undefined : Number(match[3]);
    if (!match?.[2] || (port !== undefined && (port < 1 || port > 65535))) {
      throw new SshConfigError(
        `The jump hosts of ${owner} (${value}) include '${text}', which is not a runbook host or [user@]host[:port]; ` +
          `write them as for ssh -J, separated by commas.`,
      );
    }
    return {
      text,
      host: match[2].replace(/^\[(.*)\]$/, '$1'),
      ...(match[1] !== undefined ? { user: match[1] } : {}),
      ...(port !== undefined ? { port } : {}),
    };
  });
}

/** The machines to log in to before `destination`, in order; refuses chains that go round in a circle. */
export async function resolveJumpHosts(destination: ResolvedHost, context: JumpContext): Promise<RouteHost[]> {
  if (destination.proxyJump === undefined) return [];
  const chain = destination.proxyJump;
  const hops = parseProxyJump(chain, destination.name);
  const seen = new Set<string>();
  const route: RouteHost[] = [];
  for (const hop of hops) {
    if (hop.host === destination.name) {
      throw new SshConfigError(
        `The jump hosts of ${destination.name} (${chain}) lead back to ${destination.name} itself: a cycle. ` +
          `Remove ${hop.text} from its proxy_jump (or ProxyJump in the ssh config).`,
      );
    }
    if (seen.has(hop.host)) {
      throw new SshConfigError(`The jump hosts of ${destination.name} (${chain}) name ${hop.host} twice: a cycle. Name each jump host once.`);
    }
    seen.add(hop.host);
    const spec = context.hosts[hop.host];
    const resolved = await context.resolve({
      ...(spec ?? { name: hop.host, alias: hop.host }),
      ...(hop.user !== undefined ? { user: hop.user } : {}),
      ...(hop.port !== undefined ? { port: hop.port } : {}),
    });
    if (resolved.proxyJump !== undefined && jumpsThrough(resolved.proxyJump, destination.name)) {
      throw new SshConfigError(
        `${destination.name} jumps through ${hop.host}, and ${hop.host} jumps through ${destination.name}: a cycle. ` +
          `One of them must be reachable without the other; remove the proxy_jump (or ProxyJump) of one.`,
      );
    }
    route.push({ host: resolved, ...(spec?.hostKeys !== undefined ? { declaredKeys: spec.hostKeys } : {}) });
  }
  return route;
}

/** Whether a (not followed) jump list names `name`; a list that does not parse names nothing. */
function jumpsThrough(value: string, name: string): boolean {
  try {
    return parseProxyJump(value, name).some((hop) => hop.host === name);
  } catch {
    return false;
  }
}
