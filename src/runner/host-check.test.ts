// What a runbook needs of its hosts, the verdicts on what a host said, and the check run
// over a pool that answers as hosts would (real logins are in test/e2e/check-command.test.ts).
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../remote/host-probes.js';
import type { ExecHandlers, ResolvedHost } from '../remote/types.js';
import { parseRunbook } from '../runbook/load.js';
import { checkHosts, judgeHost, loginVerdict, oneQuestionAtATime, PROBES, type CheckedPool } from './host-check.js';
import { commandWords, hostNeeds, type HostNeeds } from './host-needs.js';

const resolved: ResolvedHost = { name: 'web', address: '10.0.0.5', port: 22, user: 'root', identityFiles: [] };

const healthy: HostFacts = {
  uid: '1000',
  sha256Tool: 'sha256sum',
  setsid: true,
  systemdRun: true,
  systemctl: true,
  systemdRunning: true,
  runFolder: { base: '/home/u/.local/state/nightshift', freeKib: 5 * 1024 * 1024 },
  runFolderSkipped: [],
  missingTools: [],
  foundTools: ['grep'],
};

const needsAll: HostNeeds = { login: 'now', uploads: true, detached: true, sudo: false, tools: ['grep'] };
const needsNothing: HostNeeds = { login: 'now', uploads: false, detached: false, sudo: false, tools: [] };

describe('the first words of the simple commands a check calls', () => {
  it('finds the programs, skips builtins, keywords, assignments, redirections and what it cannot be sure of', () => {
    expect(commandWords('grep -q x /etc/hosts && test -e /x || systemctl is-active nginx')).toEqual(['grep', 'systemctl']);
    expect(commandWords("if [ -e /x ]; then ip -br addr | awk '{print $1}'; fi")).toEqual(['ip', 'awk']);
    expect(commandWords('LANG=C lsblk -n; echo done; cd /tmp; ( findmnt / )')).toEqual(['lsblk', 'findmnt']);
    expect(commandWords('x=$(dig +short a.example) && [ "$x" = 1.2.3.4 ]')).toEqual(['dig']);
    expect(commandWords('"$tool" --version; $cmd; `uname -r`')).toEqual(['uname']);
    expect(commandWords('sudo -n wg show; env A=1 nft list ruleset; timeout 5 curl -fsS http://x')).toEqual(['sudo', 'wg', 'env', 'nft', 'timeout', 'curl']);
    expect(commandWords('# a comment naming rm\n2>/dev/null zpool status # trailing words')).toEqual(['zpool']);
    expect(commandWords('cat <<EOF | sort\nnot-a-tool here\nEOF\nuniq -c')).toEqual(['cat', 'sort', 'uniq']);
    expect(commandWords('case $(uname) in Linux) lscpu ;; esac')).toEqual(['uname', 'lscpu']);
    expect(commandWords('/usr/sbin/nginx -t')).toEqual(['/usr/sbin/nginx']);
  });
});

describe('what a runbook needs of each host', () => {
  it('uploads, detached steps, checks, wait commands and preflight checks count for their host only', () => {
    const runbook = parseRunbook(
      [
        'name: needs',
        'hosts:',
        '  web: {}',
        '  db: {}',
        '  idle: {}',
        'phases:',
        '  - name: one',
        '    steps:',
        '      - upload: /etc/hostname',
        '        to: /tmp/',
        '        host: web',
        '      - run: systemctl restart nginx',
        '        host: web',
        '        check: curl -fsS http://localhost/ | grep -q ok',
        '      - run: pg_dump x > /tmp/x',
        '        host: db',
        '        attach: false',
        '      - wait: command',
        '        command: pg_isready -q',
        '        host: db',
        '      - preflight: db',
        '        checks:',
        '          - mem_available: 100M',
        '',
      ].join('\n'),
      'needs.yaml',
    );
    const needs = hostNeeds(runbook);
    expect(needs['web']).toEqual({ login: 'now', uploads: true, detached: true, sudo: false, tools: ['curl', 'grep'] });
    expect(needs['db']).toEqual({ login: 'now', uploads: false, detached: false, sudo: false, tools: ['pg_isready', 'grep'] });
    expect(needs['idle']).toEqual(needsNothing);
  });

  it('a host first waited for may be down now; one only port-waited for needs no login, unless others go through it', () => {
    const runbook = parseRunbook(
      [
        'name: waits',
        'hosts:',
        '  booting: {}',
        '  switch: {}',
        '  modem: {}',
        '  inner: { proxy_jump: modem }',
        'phases:',
        '  - name: one',
        '    steps:',
        '      - wait: ssh',
        '        host: booting',
        '      - run: uptime',
        '        host: booting',
        '      - wait: port',
        '        port: 443',
        '        host: switch',
        '      - wait: port',
        '        port: 80',
        '        host: modem',
        '      - run: uptime',
        '        host: inner',
        '',
      ].join('\n'),
      'waits.yaml',
    );
    const needs = hostNeeds(runbook);
    expect(needs['booting']).toMatchObject({ login: 'after-wait', waitStep: '1.1' });
    expect(needs['switch']!.login).toBe('none');
    expect(needs['modem']!.login).toBe('now');
    expect(needs['inner']!.login).toBe('now');
    const refused = 'Could not connect: the connection was refused.';
    expect(loginVerdict(needs['booting']!, refused)).toEqual({
      mark: 'none',
      note: true,
      text: 'no login now, and none needed yet: step 1.1 waits for its SSH first (Could not connect: the connection was refused.)',
    });
    expect(loginVerdict(needs['switch']!, refused)).toMatchObject({ mark: 'none', note: true });
    expect(loginVerdict(needs['inner']!, refused)).toEqual({ mark: 'fail', text: refused });
  });

  it('become: sudo on the host or a step asks for sudo (the field is read once the runbook has it)', () => {
    const runbook = parseRunbook('name: s\nhosts:\n  web: {}\nphases:\n  - name: one\n    steps:\n      - run: "true"\n        host: web\n', 's.yaml');
    (runbook.hosts['web'] as unknown as { become: string }).become = 'sudo';
    expect(hostNeeds(runbook)['web']!.sudo).toBe(true);
  });
});

describe('the verdicts on what a host said', () => {
  it('everything there: ✓ throughout but systemd and sudo, which are – when not used', () => {
    const verdicts = judgeHost({ ...needsAll, sudo: true }, { facts: { ...healthy, sudo: 'needs-password' } }, { available: true }, resolved);
    expect(Object.fromEntries(PROBES.map((probe) => [probe, verdicts[probe].mark]))).toEqual({
      login: 'ok',
      sh: 'ok',
      sftp: 'ok',
      sha256: 'ok',
      setsid: 'ok',
      systemd: 'ok',
      sudo: 'ok',
      runFolder: 'ok',
      tools: 'ok',
    });
    expect(verdicts.runFolder.text).toBe('/home/u/.local/state/nightshift, 5.0 GiB free');
    expect(verdicts.login.text).toBe('root@10.0.0.5:22');
  });

  it('fails closed: a probe that did not run to its end fails everything needed, and says why', () => {
    const verdicts = judgeHost(
      needsAll,
      { facts: null, trouble: 'the probe did not run to its end under /bin/sh (exit status 127: /bin/sh: not found)' },
      { available: true },
      resolved,
    );
    expect(verdicts.sh).toEqual({ mark: 'fail', text: 'the probe did not run to its end under /bin/sh (exit status 127: /bin/sh: not found)' });
    for (const probe of ['sha256', 'setsid', 'runFolder', 'tools'] as const) expect(verdicts[probe].mark).toBe('fail');
    expect(verdicts.systemd.mark).toBe('none');
    expect(judgeHost(needsNothing, { facts: null }, undefined, resolved).sha256.mark).toBe('none');
  });

  it('missing where needed is ✗ with the reason; missing where not needed is –', () => {
    const bare: HostFacts = {
      ...healthy,
      sha256Tool: null,
      setsid: false,
      systemdRun: false,
      systemctl: false,
      systemdRunning: false,
      foundTools: [],
      missingTools: ['grep'],
    };
    const needed = judgeHost(needsAll, { facts: bare }, { available: false, error: 'Received exit code 127 while establishing SFTP session' }, resolved);
    expect(needed.sha256).toMatchObject({ mark: 'fail', text: expect.stringMatching(/uploads cannot be verified/) });
    expect(needed.setsid).toMatchObject({ mark: 'fail', text: expect.stringMatching(/attach: false/) });
    expect(needed.tools).toEqual({ mark: 'fail', text: "not found on its PATH: grep (called by the runbook's checks)" });
    expect(needed.systemd.mark).toBe('none');
    expect(needed.sftp).toEqual({
      mark: 'none',
      note: true,
      text: 'no: uploads will go over a shell stream (the SFTP session failed: Received exit code 127 while establishing SFTP session)',
    });
    const spare = judgeHost(needsNothing, { facts: bare }, undefined, resolved);
    expect(PROBES.filter((probe) => spare[probe].mark === 'fail')).toEqual([]);
    expect(spare.sftp.text).toBe('not needed: no uploads to this host');
  });

  it('setsid may be systemd-run as root; sudo that is missing or refused fails; a full run folder fails', () => {
    const root = { ...healthy, uid: '0', setsid: false };
    expect(judgeHost(needsAll, { facts: root }, { available: true }, resolved).setsid.mark).toBe('ok');
    expect(judgeHost(needsAll, { facts: { ...root, uid: '1000' } }, { available: true }, resolved).setsid.mark).toBe('fail');
    const sudo = { ...needsNothing, sudo: true };
    expect(judgeHost(sudo, { facts: { ...healthy, sudo: 'missing' } }, undefined, resolved).sudo.mark).toBe('fail');
    expect(judgeHost(sudo, { facts: { ...healthy, sudo: 'refused' } }, undefined, resolved).sudo.mark).toBe('fail');
    expect(judgeHost(sudo, { facts: healthy }, undefined, resolved).sudo).toEqual({ mark: 'fail', text: 'sudo gave no answer' });
    const full = { ...healthy, runFolder: { base: '/tmp/nightshift-0', freeKib: 12 } };
    expect(judgeHost(needsAll, { facts: full }, { available: true }, resolved).runFolder).toMatchObject({
      mark: 'fail',
      text: expect.stringMatching(/12 KiB free: too little/),
    });
    const none = { ...healthy, runFolder: null, runFolderSkipped: ['/x: Read-only file system'] };
    expect(judgeHost(needsAll, { facts: none }, { available: true }, resolved).runFolder.text).toMatch(/\/x: Read-only file system.*run_dir/);
  });
});

describe('the check over a pool', () => {
  function pool(behaviour: Record<string, 'ok' | 'refused' | 'truncated'>, seen: { parallel: number; max: number }): CheckedPool {
    return {
      resolve: async (host) => ({ ...resolved, name: host }),
      connect: async (host) => {
        seen.parallel++;
        seen.max = Math.max(seen.max, seen.parallel);
        await new Promise((resolve) => setTimeout(resolve, 10));
        seen.parallel--;
        if (behaviour[host] === 'refused') throw new Error(`Could not connect to ${host}: the connection was refused.`);
      },
      exec: async (host, _command, handlers: ExecHandlers) => {
        const lines = ['sh=ok', 'uid=0', 'sha256=sha256sum', 'setsid=yes', 'runfolder=/root/.local/state/nightshift', 'runfolder_free_kib=2048'];
        handlers.onStdout(Buffer.from(`${lines.join('\n')}\n${behaviour[host] === 'truncated' ? '' : 'end=ok\n'}`));
        return { exitCode: behaviour[host] === 'truncated' ? 1 : 0 };
      },
      probeSftp: async () => ({ available: true }),
      runDirOf: () => undefined,
    };
  }

  it('checks every host, a few at a time; one refusal fails the check, a truncated probe fails its host', async () => {
    const hosts = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`h${i}`, 'ok' as const]));
    const runbook = parseRunbook(
      `name: many\nhosts:\n${Object.keys(hosts)
        .map((host) => `  ${host}: {}`)
        .join('\n')}\nphases:\n  - name: one\n    steps:\n      - run: "true"\n        host: h0\n`,
      'many.yaml',
    );
    const seen = { parallel: 0, max: 0 };
    const all = await checkHosts(runbook, pool(hosts, seen), { parallel: 4 });
    expect(all.ok).toBe(true);
    expect(all.hosts.map((host) => host.host)).toEqual(Object.keys(hosts));
    expect(seen.max).toBe(4);
    const some = await checkHosts(runbook, pool({ ...hosts, h3: 'refused', h7: 'truncated' }, seen));
    expect(some.ok).toBe(false);
    expect(some.hosts[3]!.verdicts.login).toEqual({ mark: 'fail', text: 'Could not connect to h3: the connection was refused.' });
    expect(some.hosts[3]!.verdicts.sh.mark).toBe('none');
    expect(some.hosts[7]!.verdicts.sh).toEqual({ mark: 'fail', text: 'the probe did not run to its end under /bin/sh (exit status 1)' });
    expect(some.hosts[7]!.verdicts.runFolder.mark).toBe('none');
  });

  it('leaves out a host the runbook makes later (appears_in) and says so; an unknown phase there is refused', async () => {
    const text = (appearsIn: string) =>
      `name: swap\nhosts:\n  gw: {}\n  old: { appears_in: ${appearsIn} }\nphases:\n  - name: prepare\n    steps:\n      - run: "true"\n        host: gw\n  - name: swap\n    steps:\n      - run: "true"\n        host: old\n`;
    const runbook = parseRunbook(text('swap'), 'swap.yaml');
    const tried: string[] = [];
    const base = pool({ gw: 'ok', old: 'refused' }, { parallel: 0, max: 0 });
    const report = await checkHosts(runbook, { ...base, connect: async (host) => (tried.push(host), base.connect(host)) });
    expect(tried).toEqual(['gw']);
    expect(report.ok).toBe(true);
    expect(report.later).toEqual([{ host: 'old', phase: 'swap' }]);
    expect(() => parseRunbook(text('swp'), 'swap.yaml')).toThrow(/unknown phase 'swp' in appears_in of host 'old'; did you mean 'swap'\?/);
  });

  it('calls whileProbing once, after the first probe was asked for and before its answer; not when no login succeeds', async () => {
    const runbook = parseRunbook(
      `name: three\nhosts:\n  a: {}\n  b: {}\n  c: {}\nphases:\n  - name: one\n    steps:\n      - run: "true"\n        host: a\n`,
      'three.yaml',
    );
    const events: string[] = [];
    const base = pool({ a: 'ok', b: 'ok', c: 'ok' }, { parallel: 0, max: 0 });
    const traced: CheckedPool = {
      ...base,
      exec: async (host, command, handlers) => {
        events.push(`asked ${host}`);
        // The answer travels: what runs meanwhile is seen before it comes.
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push(`answered ${host}`);
        return base.exec(host, command, handlers);
      },
    };
    const report = await checkHosts(runbook, traced, { whileProbing: () => events.push('while probing') });
    expect(report.ok).toBe(true);
    expect(events.filter((event) => event === 'while probing')).toHaveLength(1);
    expect(events.indexOf('while probing')).toBeGreaterThan(events.indexOf('asked a'));
    expect(events.indexOf('while probing')).toBeLessThan(events.indexOf('answered a'));
    let called = 0;
    const refused = await checkHosts(runbook, pool({ a: 'refused', b: 'refused', c: 'refused' }, { parallel: 0, max: 0 }), { whileProbing: () => called++ });
    expect(refused.ok).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(called).toBe(0);
  });

  it('asks one question at a time, in the order they came', async () => {
    const order: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const asked = oneQuestionAtATime({
      confirmUnknownHostKey: async (key) => {
        order.push(`start ${key.host}`);
        if (key.host === 'a') await first;
        order.push(`end ${key.host}`);
        return true;
      },
      askPassphrase: async () => null,
      askSudoPassword: async () => null,
    });
    const key = (host: string) => ({ host, address: '127.0.0.1', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:x' });
    const a = asked.confirmUnknownHostKey(key('a'));
    const b = asked.confirmUnknownHostKey(key('b'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['start a']);
    release();
    await Promise.all([a, b]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
  });
});
