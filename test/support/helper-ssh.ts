// How a helper's OpenSSH client reaches the helper channel in the tests: on its port, the
// channel's key pinned in its own known_hosts, a password (the join code) and never a key.

/** `ssh` options for a helper login on `port`; `hostKey` 'ask' lets the client ask about an unknown key. */
export function helperSshOptions(port: number | string, knownHosts: string, hostKey: 'yes' | 'ask' = 'yes'): string[] {
  return ['-p', String(port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', `StrictHostKeyChecking=${hostKey}`, '-o', 'PubkeyAuthentication=no'];
}
