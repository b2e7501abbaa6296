import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { decideWhen, FACTS_COMMAND, HostFactsCache, osRelease, readFacts } from './host-facts.js';
import type { RemoteHosts } from './remote-hosts.js';

const DEBIAN = `systemd=yes
cpus=4
kernel=6.1.0-18-amd64
arch=x86_64
nightshift-os-release
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
# a comment
ID=debian
VERSION_ID="12"

nightshift-facts-end
`;

describe('reading the facts a host printed', () => {
  it('reads its own lines and os-release, quotes and escapes undone', () => {
    expect(readFacts('new', DEBIAN)).toEqual({
      systemd: true,
      cpus: 4,
      distro: 'debian',
      distro_like: '',
      distro_version: '12',
      kernel: '6.1.0-18-amd64',
      arch: 'x86_64',
    });
    expect(osRelease(['ID_LIKE="rhel centos fedora"', "VERSION_ID='9.3'", 'NAME="a \\"quoted\\" \\$name"'])).toEqual(
      new Map([
        ['ID_LIKE', 'rhel centos fedora'],
        ['VERSION_ID', '9.3'],
        ['NAME', 'a "quoted" $name'],
      ]),
    );
  });

  it('takes a host without os-release, with an empty distribution', () => {
    const bare = 'systemd=no\ncpus=1\nkernel=6.6\narch=aarch64\nnightshift-os-release\n\nnightshift-facts-end\n';
    expect(readFacts('old', bare)).toMatchObject({ systemd: false, cpus: 1, distro: '', distro_version: '' });
  });

  it('fails closed: without the end mark, or with a fact missing, nothing counts', () => {
    expect(() => readFacts('new', DEBIAN.replace('nightshift-facts-end\n', ''))).toThrow(
      'could not read the facts of new: the script that gathers them did not run to its end, so nothing it printed counts',
    );
    expect(() => readFacts('new', DEBIAN.replace('cpus=4', 'cpus='))).toThrow(
      'could not read the facts of new: it did not tell the CPU count (nproc, getconf _NPROCESSORS_ONLN, /proc/cpuinfo)',
    );
    expect(() => readFacts('new', DEBIAN.replace('systemd=yes', 'systemd=maybe'))).toThrow('it did not tell systemd');
  });

  it('runs the script under /bin/sh whatever the login shell', () => {
    expect(FACTS_COMMAND.startsWith("/bin/sh -c '")).toBe(true);
  });
});

/** Hosts whose exec prints `printed[host]`, or throws when it is an Error; counts the calls. */
function fakeHosts(printed: Record<string, string | Error>) {
  const calls: string[] = [];
  const hosts: Pick<RemoteHosts, 'exec'> = {
    exec: async (host, _command, handlers) => {
      calls.push(host);
      const answer = printed[host];
      if (answer instanceof Error) throw answer;
      handlers.onStdout(Buffer.from(answer ?? ''));
      return { exitCode: 0 };
    },
  };
  return { hosts, calls };
}

describe('deciding a step', () => {
  const runbook = parseRunbook(
    `name: t
hosts:
  new: {}
  old: {}
vars:
  mode: dual
phases:
  - name: one
    when: mode == "dual"
    steps:
      - run: a
        host: new
        when: host.systemd and new.cpus >= 2
      - run: b
        host: old
        when: old.distro == "debian"
`,
    'rb.yaml',
  );
  const [first, second] = allSteps(runbook);

  it('gathers the facts of a host once, journals them, and says why a step is skipped', async () => {
    const { hosts, calls } = fakeHosts({ new: DEBIAN, old: DEBIAN.replace('ID=debian', 'ID="$(reboot)\u001b[2J"') });
    const journaled: string[] = [];
    const facts = new HostFactsCache(hosts, (host) => journaled.push(host));
    const options = { facts, vars: runbook.vars };
    expect(await decideWhen(first!, {}, options)).toEqual({ holds: true, reason: '' });
    expect(await decideWhen(first!, {}, options)).toEqual({ holds: true, reason: '' });
    expect(await decideWhen(second!, {}, options)).toEqual({
      holds: false,
      reason: 'when old.distro == "debian" (old.distro is "$(reboot)\\u001b[2J")',
    });
    expect(calls).toEqual(['new', 'old']);
    expect(journaled).toEqual(['new', 'old']);
    expect(await decideWhen(first!, {}, { facts, vars: { mode: 'single' } })).toEqual({ holds: false, reason: 'when mode == "dual" (mode is "single")' });
  });

  it('an unreachable host fails the decision with its name, and is asked again next time', async () => {
    const printed: Record<string, string | Error> = { new: new Error('connect ECONNREFUSED 127.0.0.1:22') };
    const { hosts, calls } = fakeHosts(printed);
    const facts = new HostFactsCache(hosts);
    await expect(decideWhen(first!, {}, { facts, vars: runbook.vars })).rejects.toThrow('could not read the facts of new: connect ECONNREFUSED 127.0.0.1:22');
    printed['new'] = DEBIAN;
    expect(await decideWhen(first!, {}, { facts, vars: runbook.vars })).toEqual({ holds: true, reason: '' });
    expect(calls).toEqual(['new', 'new']);
  });
});
