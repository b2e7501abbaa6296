// A step's `become: sudo` as a view of the hosts: every command, detached run, upload and
// look at a run folder made through it goes through sudo, so the runner's effects (run,
// check, wait, revert, reboot, upload) need no sudo of their own.
import type { RemoteHosts } from './remote-hosts.js';

export function hostsBecoming(hosts: RemoteHosts, become: 'sudo' | undefined, onNotice?: (text: string) => void): RemoteHosts {
  if (become === undefined) return hosts;
  const notice = onNotice ? { onNotice } : {};
  const overrides: Partial<RemoteHosts> = {
    exec: (host, command, handlers) => hosts.exec(host, command, { ...notice, ...handlers, become }),
    execOnNewConnection: (host, command, handlers) => hosts.execOnNewConnection(host, command, { ...notice, ...handlers, become }),
    runDetached: (host, command, options) => hosts.runDetached(host, command, { ...notice, ...options, become }),
    upload: (host, localPath, remotePath, options) => hosts.upload(host, localPath, remotePath, { ...notice, ...options, become }),
    detachedRunState: (host, runId, signal) => hosts.detachedRunState(host, runId, signal, become),
    stopDetachedRun: (host, runId, signal) => hosts.stopDetachedRun(host, runId, signal, become),
    releaseRun: (host, runId) => hosts.releaseRun(host, runId, become),
  };
  return new Proxy(hosts, {
    get(target, property) {
      if (typeof property === 'string' && property in overrides) return overrides[property as keyof RemoteHosts];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The same for commands on several hosts, each with its own `become` (a guard's scripts run as its hosts say). */
export function hostsBecomingEach(hosts: RemoteHosts, becomeOf: (host: string) => 'sudo' | undefined): RemoteHosts {
  const viewOf = (host: string) => hostsBecoming(hosts, becomeOf(host));
  const overrides: Partial<RemoteHosts> = {
    exec: (host, command, handlers) => viewOf(host).exec(host, command, handlers),
    execOnNewConnection: (host, command, handlers) => viewOf(host).execOnNewConnection(host, command, handlers),
  };
  return new Proxy(hosts, {
    get(target, property) {
      if (typeof property === 'string' && property in overrides) return overrides[property as keyof RemoteHosts];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
