import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';

const runbook = (steps: string, fallback = '') => `name: t
vars: { name: dragon }
hosts:
  new: { address: 127.0.0.1 }
phases:
  - name: one
    steps:
${steps}${fallback}`;

const problems = (text: string): string[] => {
  try {
    parseRunbook(text, 'rb.yaml');
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`);
    throw error;
  }
  return [];
};

describe('edit and undo steps in the runbook', () => {
  it('loads the changes in their order (replace, ensure_lines, set, block), with {{vars}} as text and the host name to approve', () => {
    const loaded = parseRunbook(
      runbook(
        `      - edit: /etc/ssh/sshd_config
        id: harden
        host: new
        become: sudo
        replace: [{ match: '^#?PasswordAuthentication .*', with: 'PasswordAuthentication no' }]
        ensure_lines: ["PermitRootLogin no", { line: "Port 22", after: "^#?Port " }]
        block: { marker: nightshift gateway, text: "gw {{name}}\\n" }
        set: { GRUB_TIMEOUT: 5 }
        mode: "600"
      - edit: /etc/hostname
        host: new
        content: "{{name}}\\n"
        destructive: yes-{{name}}
`,
        `fallback:
  - undo: harden
`,
      ),
      'rb.yaml',
    );
    const [harden, hostname] = loaded.phases[0]!.steps;
    expect(harden).toMatchObject({
      kind: 'edit',
      host: 'new',
      become: 'sudo',
      path: '/etc/ssh/sshd_config',
      mode: 0o600,
      confirmText: 'new',
      title: 'edit /etc/ssh/sshd_config on new',
      changes: [
        { kind: 'replace', pattern: '^#?PasswordAuthentication .*', with: 'PasswordAuthentication no' },
        { kind: 'ensure_line', line: 'PermitRootLogin no' },
        { kind: 'ensure_line', line: 'Port 22', after: '^#?Port ' },
        { kind: 'set', key: 'GRUB_TIMEOUT', value: '5', separator: '=' },
        { kind: 'block', marker: 'nightshift gateway', text: 'gw dragon\n' },
      ],
    });
    expect(hostname).toMatchObject({ kind: 'edit', changes: [{ kind: 'content', text: 'dragon\n' }], confirmText: 'yes-dragon' });
    expect(loaded.fallback[0]).toMatchObject({
      kind: 'undo',
      stepId: 'harden',
      host: 'new',
      become: 'sudo',
      path: '/etc/ssh/sshd_config',
      title: 'put back /etc/ssh/sshd_config on new (undo harden)',
    });
  });

  it('reports an undo of an unknown step, of a step that is no edit, and one before its edit, with where', () => {
    expect(
      problems(runbook(`      - edit: /etc/hostname\n        id: hostname\n        host: new\n        content: x\n`, `fallback:\n  - undo: hostnme\n`)),
    ).toEqual(["13:5 undo names step 'hostnme', which the runbook does not have; did you mean 'hostname'?"]);
    expect(problems(runbook(`      - run: 'true'\n        id: r\n        host: new\n      - undo: r\n`))).toEqual([
      "11:9 undo names step 'r', which is a run step: undo puts back a file an edit step changed",
    ]);
    expect(problems(runbook(`      - undo: e\n      - edit: /etc/x\n        id: e\n        host: new\n        content: x\n`))).toEqual([
      "8:9 undo of 'e' comes before that edit step: put it in the fallback or a later phase",
    ]);
  });

  it('reports content with other changes, no change at all, a bad regular expression, a line break in a line, and NUL', () => {
    const step = (body: string) => runbook(`      - edit: /etc/x\n        host: new\n${body}`);
    expect(problems(step(`        content: x\n        set: { A: 1 }\n`))).toEqual([
      '11:9 the edit of /etc/x has content (the whole file) and set: use one or the other',
    ]);
    expect(problems(step(`        mode: "644"\n`))).toEqual(['8:9 the edit of /etc/x says no change: give content, ensure_lines, replace, block or set']);
    expect(problems(step(`        replace: [{ match: '(', with: x }]\n`))[0]).toMatch(/^10:9 "\(" in the edit of \/etc\/x is no regular expression/);
    expect(problems(step(`        ensure_lines: ["a\\nb"]\n`))).toEqual([
      '10:9 each of ensure_lines in the edit of /etc/x is one line: "a\\nb" holds a line break',
    ]);
    expect(problems(step(`        content: "a\\0b"\n`))).toEqual(['8:9 the edit of /etc/x holds a NUL character, which no text file holds']);
    expect(problems(runbook(`      - edit: etc/x\n        host: new\n        content: x\n`))[0]).toMatch(/absolute path/);
    const withSecret = runbook(`      - edit: /etc/x\n        host: new\n        content: "pw={{db_pw}}"\n`).replace(
      'hosts:',
      'secrets:\n  db_pw: { from: ask }\nhosts:',
    );
    expect(problems(withSecret)).toEqual([expect.stringMatching(/^12:22 .*\{\{db_pw\}\} is a secret, which can stand only in/)]);
  });
});

describe('edit and undo steps in the plan', () => {
  it('say what each change does, what is typed to approve the diff, and which file an undo puts back', () => {
    const loaded = parseRunbook(
      runbook(
        `      - edit: /etc/ssh/sshd_config
        id: harden
        host: new
        become: sudo
        replace: [{ match: '^#?PasswordAuthentication .*', with: 'PasswordAuthentication no' }]
        ensure_lines: ["PermitRootLogin no"]
        block: { marker: gw, text: "a\\nb\\n" }
`,
        `fallback:
  - undo: harden
`,
      ),
      'rb.yaml',
    );
    const text = formatPlan(planOf(loaded));
    expect(text).toContain(
      '/etc/ssh/sshd_config (as root): replace /^#?PasswordAuthentication .*/ with "PasswordAuthentication no"; ensure "PermitRootLogin no"; block "gw" (2 lines); the diff is approved before it is made, the original kept beside it',
    );
    expect(text).toContain('type "new"');
    expect(text).toContain('undo step harden: put back /etc/ssh/sshd_config');
  });
});
