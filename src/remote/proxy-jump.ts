// ProxyJump as ssh -J takes it: comma-separated hops, each a host of the runbook (its own
// settings and declared keys apply) or [user@]host[:port] resolved through ~/.ssh/config.
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

/** How deep jump hosts may lead to jump hosts of their own before nightshift stops following them. */
const MAX_JUMP_DEPTH = 16;

/**
 * The machines to log in to before `destination`, in order, as ssh goes: for `ProxyJump a,b`
 * ssh reaches b with `-J a` (b's own ProxyJump does not count), and a with a's own settings,
 * so a's own ProxyJump (or ProxyCommand) is followed, and so on. Refuses chains that go round
 * in a circle. Only the first machine of the route can have a proxyCommand: every later one
 * is reached through the one before it.
 */
export async function resolveJumpHosts(destination: ResolvedHost, context: JumpContext): Promise<RouteHost[]> {
  return routeTo(destination, context, [destination.name]);
}

/** The route to `target`; `reaching` names the machines this route leads to, `target` last. */
async function routeTo(target: ResolvedHost, context: JumpContext, reaching: string[]): Promise<RouteHost[]> {
  if (target.proxyJump === undefined) return [];
  const chain = target.proxyJump;
  const hops = parseProxyJump(chain, target.name);
  const seen = new Set<string>();
  for (const hop of hops) {
    if (hop.host === target.name) {
      throw new SshConfigError(
        `The jump hosts of ${target.name} (${chain}) lead back to ${target.name} itself: a cycle. ` +
          `Remove ${hop.text} from its proxy_jump (or ProxyJump in the ssh config).`,
      );
    }
    if (seen.has(hop.host)) {
      throw new SshConfigError(`The jump hosts of ${target.name} (${chain}) name ${hop.host} twice: a cycle. Name each jump host once.`);
    }
    seen.add(hop.host);
  }
  if (reaching.length > MAX_JUMP_DEPTH) {
    throw new SshConfigError(
      `Reaching ${reaching[0]} goes through more than ${MAX_JUMP_DEPTH} jump hosts (${reaching.join(' <- ')}); ` +
        `is there a loop among the ProxyJump settings?`,
    );
  }
  const last = hops[hops.length - 1]!;
  const before = hops.slice(0, -1);
  const circle = reaching.indexOf(last.host);
  if (circle !== -1) throw cycleError(reaching.slice(circle), last.host);
  const spec = context.hosts[last.host];
  const resolved = await context.resolve({
    ...(spec ?? { name: last.host, alias: last.host }),
    ...(last.user !== undefined ? { user: last.user } : {}),
    ...(last.port !== undefined ? { port: last.port } : {}),
    // As ssh -J: the hops before it replace the machine's own ProxyJump (and ProxyCommand).
    ...(before.length > 0 ? { proxyJump: before.map((hop) => hop.text).join(',') } : {}),
  });
  if (before.length === 0 && resolved.proxyJump !== undefined) {
    const named = reaching.find((name) => jumpsThrough(resolved.proxyJump!, name));
    if (named !== undefined) throw cycleError([...reaching.slice(reaching.indexOf(named)), last.host], named);
  }
  const route = await routeTo(resolved, context, [...reaching, last.host]);
  return [...route, { host: resolved, ...(spec?.hostKeys !== undefined ? { declaredKeys: spec.hostKeys } : {}) }];
}

/** `circle`: each machine jumps through the next, and the last one through `back`. */
function cycleError(circle: string[], back: string): SshConfigError {
  if (circle.length === 2) {
    return new SshConfigError(
      `${circle[0]} jumps through ${circle[1]}, and ${circle[1]} jumps through ${back}: a cycle. ` +
        `One of them must be reachable without the other; remove the proxy_jump (or ProxyJump) of one.`,
    );
  }
  return new SshConfigError(
    `The jump hosts go round in a circle: ${[...circle, back].join(' jumps through ')}. ` +
      `One of them must be reachable without the others; remove the proxy_jump (or ProxyJump) of one.`,
  );
}

/** Whether a jump list names `name`; a list that does not parse names nothing. */
function jumpsThrough(value: string, name: string): boolean {
  try {
    return parseProxyJump(value, name).some((hop) => hop.host === name);
  } catch {
    return false;
  }
}
