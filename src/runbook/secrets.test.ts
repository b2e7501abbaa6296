import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import { revealCommand } from './secrets.js';
import type { RunStep } from './types.js';

const runbook = (secrets: string, steps: string, vars = '') => `name: t
hosts:
  dragon: { address: 127.0.0.1 }
${vars}secrets:
${secrets}
phases:
  - name: one
    steps:
${steps}`;

const ok = runbook(
  `  db_pw: { from: ask, prompt: Database password }
  api: { from: env, name: API_TOKEN }
  key: { from: file, path: ~/site.key }
  pass: { from: command, run: pass show site/db }`,
  `      - run: echo {{db_pw}} "in {{api}} quotes" 'and {{key}} single' {{dir}}
        host: dragon
        check: test -n {{pass}}
      - wait: command
        command: 'curl -H "Authorization: {{api}}" x'
        host: dragon
      - local: echo {{pass}}
`,
  'vars:\n  dir: "/srv/a b"\n',
);

function problemsOf(source: string, vars?: Record<string, string>): string[] {
  try {
    parseRunbook(source, 'rb.yaml', vars ? { vars } : {});
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('secret variables', () => {
  it('are declared with their source and stay {{name}} in commands until they are sent', () => {
    const loaded = parseRunbook(ok, 'rb.yaml');
    expect(loaded.secrets).toEqual({
      db_pw: { name: 'db_pw', from: 'ask', prompt: 'Database password' },
      api: { name: 'api', from: 'env', variable: 'API_TOKEN' },
      key: { name: 'key', from: 'file', path: '~/site.key' },
      pass: { name: 'pass', from: 'command', command: 'pass show site/db' },
    });
    expect(loaded.vars).toEqual({ dir: '/srv/a b' });
    const step = loaded.phases[0]!.steps[0] as RunStep;
    expect(step.command).toBe(`echo {{db_pw}} "in {{api}} quotes" 'and {{key}} single' '/srv/a b'`);
    const values = new Map([
      ['db_pw', `it's "$x"`],
      ['api', 'a"$b`c\\'],
      ['key', "k'ey"],
    ]);
    expect(revealCommand(step.command, values)).toBe(`echo 'it'\\''s "$x"' "in a\\"\\$b\\\`c\\\\ quotes" 'and k'\\''ey single' '/srv/a b'`);
  });

  it('are refused where a value would be shown or stored, and in revert', () => {
    const problems = problemsOf(
      runbook(
        '  pw: { from: ask }',
        `      - run: echo ok
        title: sets {{pw}}
        host: dragon
        revert_after: 1m
        revert: echo {{pw}}
      - note: the password is {{pw}}
      - reboot: dragon
        command: echo {{pw}} | sudo -S reboot
`,
      ),
    );
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/'title' of step 1.1: \{\{pw\}\} is a secret, which can stand only in run, check and local commands/);
    expect(problems.join('\n')).toMatch(/\{\{pw\}\} is a secret, and a revert command waits in a file on the host/);
  });

  it('are refused inside backticks as any variable is', () => {
    expect(problemsOf(runbook('  pw: { from: ask }', '      - run: echo `echo {{pw}}`\n        host: dragon\n'))).toEqual([
      expect.stringMatching(/\{\{pw\}\} is inside backticks/),
    ]);
  });

  it('say what a source needs, and what does not belong', () => {
    const problems = problemsOf(
      runbook(
        `  a: { from: env }
  b: { from: file, run: cat x }`,
        '      - run: echo {{a}} {{b}}\n        host: dragon\n',
      ),
    );
    expect(problems.join('\n')).toContain("secret 'a' comes from env but says not which; add name: API_TOKEN");
    expect(problems.join('\n')).toContain("secret 'b': 'run' does not apply to from: file");
    expect(problems.join('\n')).toContain("secret 'b' comes from file but says not which; add path:");
    expect(problemsOf(runbook('  c: { from: keyring }', '      - run: echo\n        host: dragon\n'))).toEqual([
      "5:14: 'secrets.c.from' must be one of ask, env, file, command, not 'keyring'",
    ]);
  });

  it('refuses a value given with --var, saying why', () => {
    const problems = problemsOf(ok, { db_pw: 'hunter2' });
    expect(problems).toEqual([expect.stringMatching(/--var db_pw=\.\.\. is refused: 'db_pw' is a secret .* shell's history and shows in ps/)]);
    expect(problems[0]).not.toContain('hunter2');
  });

  it('refuses a variable whose value brings in a secret reference', () => {
    const source = runbook('  pw: { from: ask }', '      - run: echo {{x}} {{pw}}\n        host: dragon\n', 'vars:\n  x: "{{pw}}"\n');
    expect(problemsOf(source).join('\n')).toMatch(/cannot tell for sure where its secrets stand/);
  });
});
