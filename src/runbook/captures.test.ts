import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { revealCaptured } from './captures.js';
import { formatPlan, planOf } from './plan.js';
import type { LocalStep, RunStep } from './types.js';
import { problemsOf } from '../../test/support/runbook-problems.js';

const runbook = (steps: string, extra = '') => `name: t
hosts:
  new: { address: 127.0.0.1 }
vars:
  dir: /srv
${extra}phases:
  - name: disk
    steps:
${steps}`;

describe('capture:', () => {
  it('loads the three forms, keeps {{name}} in commands as written, and names the capturing steps', () => {
    const loaded = parseRunbook(
      runbook(`      - run: blkid -s UUID -o value /dev/vdb2
        host: new
        capture: root_uuid
      - run: sfdisk --json /dev/vdb
        host: new
        capture: { name: disk_id, json: partitiontable.id }
      - local: lsblk -no UUID,LABEL /dev/vdb2
        capture: { name: label, regex: 'LABEL=(\\S+)' }
      - run: echo {{root_uuid}} "in {{disk_id}}" '{{label}}' {{dir}}
        host: new
        title: root is {{root_uuid}}
        check: test -e /dev/disk/by-uuid/{{root_uuid}}
      - checkpoint: 'the disk {{disk_id}} has label {{label}}'
`),
      'rb.yaml',
    );
    const [first, second, third, fourth] = loaded.phases[0]!.steps as [RunStep, RunStep, LocalStep, RunStep];
    expect(first.capture).toEqual({ name: 'root_uuid', from: 'last_line' });
    expect(second.capture).toEqual({ name: 'disk_id', from: 'json', path: 'partitiontable.id' });
    expect(third.capture).toEqual({ name: 'label', from: 'regex', pattern: 'LABEL=(\\S+)', group: 1 });
    expect(fourth.command).toBe(`echo {{root_uuid}} "in {{disk_id}}" '{{label}}' /srv`);
    expect(fourth.title).toBe('root is {{root_uuid}}');
    expect(loaded.captures).toEqual({ root_uuid: 'disk-1', disk_id: 'disk-2', label: 'disk-3' });
  });

  it('reports a use before the capturing step, with its line:col and the capturing step', () => {
    expect(
      problemsOf(
        runbook(`      - run: mount UUID={{root_uuid}} /mnt
        host: new
      - run: blkid -s UUID -o value /dev/vdb2
        host: new
        capture: root_uuid
`),
      ),
    ).toEqual([
      "9:25: 'run' of step 1.1: {{root_uuid}} is captured by step 1.2 (line 13), after this step; move that step earlier, or use the value in a later step",
    ]);
  });

  it('reports a step that uses its own value', () => {
    expect(problemsOf(runbook(`      - run: echo {{x}}\n        host: new\n        capture: x\n`))).toEqual([
      expect.stringMatching(/^9:19: 'run' of step 1\.1: \{\{x\}\} is captured by this step itself/),
    ]);
  });

  it('lets fallback steps use what the phases capture, and not what a later fallback step captures', () => {
    const source = runbook(
      `      - run: echo id
        host: new
        capture: snap
`,
    ).concat(`fallback:
  - run: restore {{snap}} {{late}}
    host: new
  - run: echo late
    host: new
    capture: late
`);
    expect(problemsOf(source)).toEqual([
      expect.stringMatching(/^13:27: 'run' of fallback step F1: \{\{late\}\} is captured by step F2 \(line 17\), after this step/),
    ]);
  });

  it('refuses a name that is a variable or a secret, or that two steps capture', () => {
    const problems = problemsOf(
      runbook(
        `      - run: echo 1
        host: new
        capture: dir
      - run: echo 2
        host: new
        capture: { name: pw }
      - run: echo 3
        host: new
        capture: x
      - local: echo 4
        capture: x
`,
        'secrets:\n  pw: { from: ask }\n',
      ),
    );
    expect(problems).toEqual([
      "13:18: 'dir' is both a variable (vars) and a value step 1.1 captures; give the captured value another name",
      "16:26: 'pw' is both a secret and a value step 1.2 captures; give the captured value another name",
      "21:18: step 1.4 captures 'x', which step 1.3 (line 19) captures already; give one of them another name",
    ]);
  });

  it('refuses an invalid regular expression, a missing group and a bad JSON path', () => {
    const problems = problemsOf(
      runbook(`      - run: echo 1
        host: new
        capture: { name: a, regex: 'LABEL=(\\S+' }
      - run: echo 2
        host: new
        capture: { name: b, regex: 'LABEL=\\S+' }
      - run: echo 3
        host: new
        capture: { name: c, regex: '(a)(b)', group: 3 }
      - run: echo 4
        host: new
        capture: { name: d, json: 'a..b' }
      - run: echo 5
        host: new
        capture: { name: e, json: a, regex: b }
`),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^11:36: the regular expression of capture 'a' is not valid: .*\/LABEL=\(\\S\+\/m: Unterminated group$/),
      "14:36: capture 'b' takes group 1, but the regular expression has no group; put the part you want in (...)",
      "17:53: capture 'c' takes group 3, but the regular expression has only 2",
      "20:35: the JSON path of capture 'd' is not of the form a.b[0].c",
      "23:29: capture 'e' says both 'regex' and 'json'; a capture takes its value one way",
    ]);
  });

  it('refuses a captured value in host fields, reverts, upload paths and checkpoint confirm texts', () => {
    const problems = problemsOf(`name: t
hosts:
  new: { address: '{{ip}}' }
phases:
  - name: one
    steps:
      - local: echo 10.0.0.1
        capture: ip
      - upload: ./f
        to: /tmp/{{ip}}
        host: new
      - run: change
        host: new
        destructive: '{{ip}}'
        revert_after: 1m
        revert: undo {{ip}}
      - checkpoint: check it
        confirm: '{{ip}}'
`);
    expect(problems).toEqual([
      expect.stringMatching(/^3:20: 'address' of host 'new': .*host fields can use only variables/),
      expect.stringMatching(/^10:18: .*can stand only in run, check and local commands/),
      expect.stringMatching(/^16:22: .*a revert command is written to its host before the step runs/),
      expect.stringMatching(/^18:19: 'confirm' of step 1.4: .*can stand only in run, check and local commands/),
    ]);
  });

  it('lets an edit step put a captured value in its changes, and not in its path', () => {
    const problems = problemsOf(
      runbook(`      - run: blkid -s UUID -o value /dev/vdb2
        host: new
        capture: root_uuid
      - edit: /etc/{{root_uuid}}
        host: new
        ensure_lines:
          - line: 'UUID={{root_uuid}} / ext4 defaults 0 1'
`),
    );
    expect(problems).toEqual([expect.stringMatching(/^12:20: 'edit' of step 1\.2: \{\{root_uuid\}\} is a value step 1\.1 captures, which can stand only in/)]);
  });

  it('accepts captured names where the unknown-variable check would have refused them, and still refuses unknown ones', () => {
    expect(problemsOf(runbook(`      - local: echo v\n        capture: value\n      - local: echo {{value}} {{valeu}}\n`))).toEqual([
      "11:31: unknown variable 'valeu' in 'local' of step 1.2",
    ]);
  });
});

describe('revealCaptured', () => {
  const book = { captures: { uuid: 'disk-1', label: 'disk-2' } };
  const numberOf = (id: string) => ({ 'disk-1': '1.1', 'disk-2': '1.2' })[id] ?? '?';

  it('puts each value in quoted for where it stands, leaving other references alone', () => {
    const value = `$(touch /tmp/x) 'a' "b"`;
    expect(revealCaptured(`echo {{uuid}} "{{uuid}}" '{{uuid}}' {{other}}`, book, { uuid: value }, numberOf)).toBe(
      `echo '$(touch /tmp/x) '\\''a'\\'' "b"' "\\$(touch /tmp/x) 'a' \\"b\\"" '$(touch /tmp/x) '\\''a'\\'' "b"' {{other}}`,
    );
  });

  it('fails closed when a value was not captured, naming the step that captures it', () => {
    expect(() => revealCaptured('mount UUID={{uuid}} /mnt', book, {}, numberOf)).toThrow(/\{\{uuid\}\} has no value: step 1\.1 that captures it did not run/);
  });

  it('refuses a value with a NUL', () => {
    expect(() => revealCaptured('echo {{label}}', book, { label: 'a\0b' }, numberOf)).toThrow(/NUL/);
  });

  it('leaves a command without captured references as it is', () => {
    expect(revealCaptured('echo {{uuid', book, {}, numberOf)).toBe('echo {{uuid');
  });
});

describe('the plan', () => {
  it('says what each step captures, and from where', () => {
    const text = formatPlan(
      planOf(
        parseRunbook(
          runbook(`      - run: blkid -s UUID -o value /dev/vdb2
        host: new
        capture: root_uuid
      - local: lsblk
        capture: { name: label, regex: 'LABEL=(\\S+)' }
      - run: sfdisk --json /dev/vdb
        host: new
        capture: { name: disk_id, json: partitiontable.id }
`),
          'rb.yaml',
        ),
      ),
    );
    expect(text).toContain('captures {{root_uuid}}: the last non-empty line of stdout');
    expect(text).toContain('captures {{label}}: group 1 of /LABEL=(\\S+)/ in stdout');
    expect(text).toContain('captures {{disk_id}}: partitiontable.id of stdout as JSON');
  });
});
