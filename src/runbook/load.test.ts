import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { problemsOf } from '../../test/support/runbook-problems.js';

const minimal = `name: t
hosts:
  dragon: { address: 127.0.0.1 }
phases:
  - name: one
    steps:
      - run: echo hi
        host: dragon
`;

/** The minimal runbook with `steps` replaced (indented as list items under phase one). */
const withSteps = (steps: string, extra = '') => `${minimal.split('    steps:\n')[0]}    steps:\n${steps}${extra}`;

describe('parseRunbook', () => {
  it('loads a minimal runbook with defaults', () => {
    const runbook = parseRunbook(minimal, 'rb.yaml');
    expect(runbook.phases[0]!.steps[0]).toMatchObject({
      kind: 'run',
      id: 'one-1',
      number: '1.1',
      command: 'echo hi',
      host: 'dragon',
      onFail: 'ask',
      title: 'echo hi',
      at: { line: 7, col: 9 },
    });
    expect(runbook.hosts['dragon']).toEqual({ name: 'dragon', alias: 'dragon', address: '127.0.0.1' });
    expect(runbook.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('puts both sites in the local time zone when the runbook names none, and the site in the one given', () => {
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(parseRunbook(minimal, 'rb.yaml').sites).toEqual({ upgrader: { name: 'here', tz: local }, site: { name: 'site', tz: local } });
    expect(parseRunbook(minimal, 'rb.yaml', { localTimeZone: 'Asia/Taipei', siteTimeZone: 'Europe/Kyiv' }).sites).toEqual({
      upgrader: { name: 'here', tz: 'Asia/Taipei' },
      site: { name: 'site', tz: 'Europe/Kyiv' },
    });
  });

  it('names the position of an unknown key, with a hint, and not the missing key it replaced', () => {
    expect(problemsOf(minimal.replace('host: dragon', 'hots: dragon'))).toEqual(["8:9: unknown key 'hots' in step 1.1; did you mean 'host'?"]);
  });

  it('reports an unknown top-level key with the allowed ones when nothing is close', () => {
    expect(problemsOf(`${minimal}zzz: 1\n`)).toEqual([
      "9:1: unknown key 'zzz' in the runbook; allowed keys: name, description, sites, hosts, vars, secrets, phases, fallback, sentinel, skip_done",
    ]);
  });

  it('reports a missing required key at the object', () => {
    expect(problemsOf(minimal.replace('        host: dragon\n', ''))).toEqual(["7:9: step 1.1 is missing the required key 'host'"]);
  });

  it('asks for exactly one step kind, hinting at a typo', () => {
    expect(problemsOf(withSteps('      - rnu: echo hi\n        host: dragon\n'))).toEqual([
      "7:9: step 1.1 needs exactly one of run, local, upload, reboot, preflight, checkpoint, wait, note, edit, undo, power_cycle; did you mean 'run' instead of 'rnu'?",
    ]);
    expect(problemsOf(withSteps('      - run: a\n        local: b\n        host: dragon\n'))).toEqual([
      "8:9: step 1.1 has both 'run' and 'local'; a step does one thing",
    ]);
  });

  it('reports wrong values and types where they are', () => {
    expect(problemsOf(withSteps('      - checkpoint: move it\n        by: sentinal\n'))).toEqual([
      "8:13: 'by' of step 1.1 must be one of upgrader, sentinel, both, not 'sentinal'",
    ]);
    expect(problemsOf(withSteps('      - run: x\n        host: dragon\n        timeout: 5 minutes\n'))).toEqual([
      "9:18: 'timeout' of step 1.1: a duration is a number with a unit: 500ms, 30s, 5m, 2h or 1h30m",
    ]);
    expect(problemsOf(minimal.replace('{ address: 127.0.0.1 }', '{ port: "22" }'))).toEqual([
      "3:19: 'port' of host 'dragon' must be a number, not a string (\"22\")",
    ]);
  });

  it('reports invalid YAML with its position', () => {
    expect(problemsOf('name: t\nphases: [\n')).toEqual([expect.stringMatching(/^3:1: invalid YAML: /)]);
    expect(problemsOf('name: t\nname: u\nphases: []\n')).toEqual([expect.stringMatching(/^2:1: invalid YAML: Map keys must be unique/)]);
  });

  it('checks references: hosts, variables, duplicate ids, time zones', () => {
    const source = `name: t
sites:
  site: { name: Taipei, tz: Asia/Taipie }
vars:
  disk: /dev/sdb
hosts:
  dragon: {}
phases:
  - name: one
    steps:
      - run: sfdisk {{ dsk }}
        host: dargon
        id: a
      - note: hi
        id: a
`;
    expect(problemsOf(source)).toEqual([
      "3:29: 'Asia/Taipie' is not a known IANA time zone (e.g. Asia/Taipei)",
      "11:21: unknown variable 'dsk' in 'run' of step 1.1; did you mean 'disk'?",
      "12:15: unknown host 'dargon' in step 1.1; did you mean 'dragon'?",
      "15:9: step id 'a' is already used by step 1.1",
    ]);
  });

  it('wait steps need what they wait for, and only that', () => {
    expect(problemsOf(withSteps('      - wait: port\n        host: dragon\n        command: uptime\n'))).toEqual([
      '7:9: step 1.1 waits for a port but names none; add port: N',
      "9:9: 'command' only applies to wait: command, not wait: port",
    ]);
  });

  it('substitutes variables shell-quoted in commands and as is in text, with overrides', () => {
    const source = withSteps(
      `      - run: echo {{ who }} > {{path}}
        host: dragon
        destructive: "{{ path }}"
      - checkpoint: Tell {{ who }}
`,
    ).replace('hosts:', 'vars:\n  who: "it\'s me"\n  path: /tmp/a b\nhosts:');
    const runbook = parseRunbook(source, 'rb.yaml', { vars: { path: '/srv/x' } });
    const [run, checkpoint] = runbook.phases[0]!.steps;
    expect(run).toMatchObject({ command: `echo 'it'\\''s me' > /srv/x`, confirmText: '/srv/x' });
    expect(checkpoint).toMatchObject({ text: "Tell it's me", by: 'upgrader' });
  });

  it('numbers fallback steps and refuses a fallback step that falls back', () => {
    const source = `${minimal}fallback:\n  - run: undo\n    host: dragon\n    on_fail: fallback\n`;
    expect(problemsOf(source)).toEqual(['12:14: fallback step F1 cannot fall back again; use ask or continue']);
    const ok = parseRunbook(`${minimal}fallback:\n  - run: undo\n    host: dragon\n`, 'rb.yaml');
    expect(ok.fallback[0]).toMatchObject({ number: 'F1', id: 'fallback-1', phase: null });
  });

  it('refuses on_fail: fallback when there is no fallback', () => {
    expect(problemsOf(minimal.replace('host: dragon', 'host: dragon\n        on_fail: fallback'))).toEqual([
      "9:18: step 1.1 says on_fail: fallback but the runbook has no 'fallback' steps",
    ]);
  });

  it('collects several problems in file order', () => {
    const problems = problemsOf(`name: t
phases:
  - name: Bad Name
    steps:
      - note: x
        colour: red
`);
    expect(problems).toEqual([
      "3:11: 'name' of phase 1: a phase name is lower-case letters, digits, '-' and '_', starting with a letter or digit",
      "6:9: unknown key 'colour' in step 1.1; allowed keys: note, id, title, needs, when",
    ]);
  });
});

describe('parseRunbook: remote steps that survive', () => {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1QGhQ5ja9kPVW4OxVIc+pIzRrU7a2PzD6A1auynv5V';
  const FINGERPRINT = 'SHA256:DbXpzbHeeJoTcmcQL2SCVS+y9FS8LpnU8cJmQ1EYWwk';
  const base = (hostExtra: string, steps: string) => `name: t
hosts:
  dolphin:
    address: 10.0.0.2
${hostExtra}phases:
  - name: partition
    steps:
${steps}  - name: restore
    steps:
      - note: restored
`;

  it("computes a declared key's fingerprint and keeps its window of phases", () => {
    const runbook = parseRunbook(
      base(
        `    proxy_jump: root@bastion:2222\n    host_keys:\n      - key: ${KEY} old\n        until: partition\n      - fingerprint: ${FINGERPRINT}\n        from: restore\n`,
        '      - note: x\n',
      ),
      'rb.yaml',
    );
    expect(runbook.phaseOrder).toEqual(['partition', 'restore']);
    expect(runbook.hosts['dolphin']).toMatchObject({
      proxyJump: 'root@bastion:2222',
      hostKeys: [
        { key: KEY, fingerprint: FINGERPRINT, until: 'partition' },
        { fingerprint: FINGERPRINT, from: 'restore' },
      ],
    });
  });

  it("refuses unknown phases, a key that is not one, and a fingerprint that is not the key's", () => {
    const wrong = `SHA256:${'A'.repeat(43)}`;
    expect(
      problemsOf(
        base(`    host_keys:\n      - key: ssh-ed25519 AAAA\n        from: restroe\n      - key: ${KEY}\n        fingerprint: ${wrong}\n`, '      - note: x\n'),
      ),
    ).toEqual([
      "6:14: 'host_keys.0' of host 'dolphin': the key is not \"type base64\" as in a .pub file",
      "7:15: unknown phase 'restroe' in 'host_keys.0' of host 'dolphin'; did you mean 'restore'?",
      `9:22: 'host_keys.1' of host 'dolphin': the fingerprint does not belong to the key (its fingerprint is ${FINGERPRINT})`,
    ]);
  });

  it('reads upload, reboot and foreground run steps with their defaults', () => {
    const runbook = parseRunbook(
      base(
        '',
        '      - upload: tarballs/root.tar.zst\n        to: /srv/\n        host: dolphin\n        mode: "600"\n      - reboot: dolphin\n        hostname: dragon\n      - run: passwd\n        host: dolphin\n        attach: false\n      - run: tar x\n        host: dolphin\n',
      ),
      '/work/rb/gateway.yaml',
    );
    const [upload, reboot, foreground, detached] = runbook.phases[0]!.steps;
    expect(upload).toMatchObject({ kind: 'upload', localPath: '/work/rb/tarballs/root.tar.zst', remotePath: '/srv/root.tar.zst', mode: 0o600 });
    expect(reboot).toMatchObject({ kind: 'reboot', host: 'dolphin', command: 'systemctl reboot || reboot', expectHostname: 'dragon', timeoutMs: 300_000 });
    expect(foreground).toMatchObject({ kind: 'run', detached: false });
    expect(detached).toMatchObject({ kind: 'run', detached: true });
  });

  it('reads needs: hands on any step kind, false by default, and names a wrong value where it is', () => {
    const runbook = parseRunbook(
      withSteps(
        '      - run: plug\n        host: dragon\n        needs: hands\n      - checkpoint: lights green\n        by: sentinel\n        needs: hands\n      - note: cables\n        needs: hands\n      - run: echo\n        host: dragon\n',
      ),
      'rb.yaml',
    );
    expect(runbook.phases[0]!.steps.map((step) => [step.kind, step.needsHands])).toEqual([
      ['run', true],
      ['checkpoint', true],
      ['note', true],
      ['run', false],
    ]);
    expect(problemsOf(withSteps('      - run: plug\n        host: dragon\n        needs: feet\n'))).toEqual([
      "9:16: 'needs' of step 1.1 must be one of hands, not 'feet'",
    ]);
    expect(problemsOf(withSteps('      - wait: ssh\n        host: dragon\n        need: hands\n'))).toEqual([
      "9:9: unknown key 'need' in step 1.1; did you mean 'needs'?",
    ]);
  });
});

describe('the sentinel section', () => {
  it('names the site host, with defaults for the port, the call and its interval', () => {
    const runbook = parseRunbook(`${minimal}sentinel:\n  host: dragon\n`, 'rb.yaml');
    expect(runbook.sentinel).toEqual({ host: 'dragon', port: 2222, notify: 'wall', everyMs: 300_000 });
    const written = parseRunbook(`${minimal}sentinel:\n  host: dragon\n  port: 4022\n  notify: write\n  user: mike\n  every: 10m\n`, 'rb.yaml');
    expect(written.sentinel).toEqual({ host: 'dragon', port: 4022, notify: 'write', user: 'mike', everyMs: 600_000 });
  });

  it('refuses an unknown host, write without a user, and unknown keys', () => {
    expect(problemsOf(`${minimal}sentinel:\n  host: dragno\n`)).toEqual(["10:9: unknown host 'dragno' in 'sentinel'; did you mean 'dragon'?"]);
    expect(problemsOf(`${minimal}sentinel:\n  host: dragon\n  notify: write\n`)).toEqual([
      "11:11: notify: write needs 'user', the user whose terminal gets the message",
    ]);
    expect(problemsOf(`${minimal}sentinel:\n  host: dragon\n  prot: 22\n`)[0]).toMatch(/^11:3: unknown key 'prot' in 'sentinel'.*did you mean 'port'/);
  });
});
