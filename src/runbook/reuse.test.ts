// Reuse in runbooks: templates with params, include of other files, YAML merge keys and x-
// keys. Each instance of a template runs on its own host; problems point at the file, line
// and column they are in, also inside an included file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RunbookError, type RunbookProblem } from './errors.js';
import { loadRunbook, parseRunbook } from './load.js';
import { runbookJsonSchema } from './schema.js';
import type { RunStep } from './types.js';
import { problemsOf } from '../../test/support/runbook-problems.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ns-reuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadProblems(file: string): Promise<RunbookProblem[]> {
  try {
    await loadRunbook(file);
  } catch (error) {
    if (error instanceof RunbookError) return error.problems;
    throw error;
  }
  return [];
}

/** Writes files (name → lines) under a fresh folder and returns its path. */
function files(contents: Record<string, string[]>): string {
  const root = mkdtempSync(path.join(dir, 'case-'));
  for (const [name, lines] of Object.entries(contents)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), `${lines.join('\n')}\n`);
  }
  return root;
}

const TEMPLATED = `name: two guests
hosts:
  vm1: {}
  vm2: {}
vars:
  mirror: http://mirror.example.net
templates:
  package-update:
    params: [guest]
    title: Update {{guest}}
    steps:
      - preflight: "{{guest}}"
        checks: [ { mem_available: 64M } ]
      - run: apt-get -o Mirror={{mirror}} -y upgrade; echo on {{guest}}
        host: "{{guest}}"
        title: upgrade {{guest}}
      - reboot: "{{ guest }}"
phases:
  - name: vm1
    use: package-update
    with: { guest: vm1 }
  - name: vm2
    use: package-update
    with: { guest: vm2 }
`;

describe('templates', () => {
  it('makes one phase per use, each on its own host, with its own step ids and the template named', () => {
    const runbook = parseRunbook(TEMPLATED, 'rb.yaml');
    expect(runbook.phases.map((phase) => [phase.name, phase.title, phase.template])).toEqual([
      ['vm1', 'Update vm1', 'package-update'],
      ['vm2', 'Update vm2', 'package-update'],
    ]);
    expect(runbook.phases.map((phase) => phase.steps.map((step) => [step.id, 'host' in step ? step.host : null, step.title]))).toEqual([
      [
        ['vm1-1', 'vm1', 'preflight vm1: mem_available'],
        ['vm1-2', 'vm1', 'upgrade vm1'],
        ['vm1-3', 'vm1', 'reboot vm1'],
      ],
      [
        ['vm2-1', 'vm2', 'preflight vm2: mem_available'],
        ['vm2-2', 'vm2', 'upgrade vm2'],
        ['vm2-3', 'vm2', 'reboot vm2'],
      ],
    ]);
    const run = runbook.phases[1]!.steps[1] as RunStep;
    expect(run.command).toBe('apt-get -o Mirror=http://mirror.example.net -y upgrade; echo on vm2');
    // The step stands where the template wrote it.
    expect(run.at).toEqual({ line: 14, col: 9 });
    // Params are the phase's own: they do not become runbook variables.
    expect(runbook.vars).toEqual({ mirror: 'http://mirror.example.net' });
  });

  it('a reused YAML anchor copies the first host, a template instance runs on its own', () => {
    const anchored = parseRunbook(
      `name: anchors
hosts: { vm1: {}, vm2: {} }
phases:
  - name: vm1
    steps:
      - &upgrade { run: apt-get -y upgrade, host: vm1 }
  - name: vm2
    steps:
      - *upgrade
`,
      'rb.yaml',
    );
    expect(anchored.phases.map((phase) => (phase.steps[0] as RunStep).host)).toEqual(['vm1', 'vm1']);
    const templated = parseRunbook(TEMPLATED, 'rb.yaml');
    expect(templated.phases.map((phase) => (phase.steps[1] as RunStep).host)).toEqual(['vm1', 'vm2']);
  });

  it('quotes a param value for where it stands in a command, as a variable', () => {
    const runbook = parseRunbook(
      `name: hostile
hosts: { vm1: {} }
templates:
  t:
    params: [label]
    steps:
      - run: echo {{label}} > /tmp/x; echo "{{label}}"
        host: vm1
phases:
  - name: one
    use: t
    with: { label: "$(touch /tmp/pwned); \`id\` 'x'" }
`,
      'rb.yaml',
    );
    const { command } = runbook.phases[0]!.steps[0] as RunStep;
    const printed = execFileSync('sh', ['-c', command.replace(' > /tmp/x', '')], { encoding: 'utf8' });
    expect(printed).toBe("$(touch /tmp/pwned); `id` 'x'\n$(touch /tmp/pwned); `id` 'x'\n");
  });

  it('refuses a missing param, an unknown one and an unknown template at the with: or use:', () => {
    const base = TEMPLATED.split('phases:\n')[0];
    expect(
      problemsOf(`${base}phases:
  - name: vm1
    use: package-update
    with: { gust: vm1 }
  - name: vm2
    use: package-update
  - name: vm3
    use: package-updat
`),
    ).toEqual(
      [
        "21:13: template 'package-update' has no param 'gust'; did you mean 'guest'?",
        "21:11: template 'package-update' needs 'guest' in 'with' (e.g. with: { guest: ... })",
        "23:10: template 'package-update' needs 'guest' in 'with' (e.g. with: { guest: ... })",
        "25:10: unknown template 'package-updat'; did you mean 'package-update'?",
      ].sort(byPosition),
    );
  });

  it('an unknown host given as a param is reported at the value given for it', () => {
    const problems = problemsOf(TEMPLATED.replace('with: { guest: vm2 }', 'with: { guest: vm3 }'));
    expect(problems).toEqual([1, 2, 3].map((n) => `24:20: unknown host 'vm3' in step 2.${n}; did you mean 'vm1'?`));
  });

  it('a reference to no param and no variable is reported inside the template', () => {
    expect(problemsOf(TEMPLATED.replace('title: upgrade {{guest}}', 'title: upgrade {{gest}}'))).toEqual([
      "16:24: unknown variable 'gest' in 'title' of step 1.2; did you mean 'guest'?",
      "16:24: unknown variable 'gest' in 'title' of step 2.2; did you mean 'guest'?",
    ]);
  });

  it('a schema problem in a template step points into the template', () => {
    expect(problemsOf(TEMPLATED.replace('        title: upgrade', '        hots: vm1\n        title: upgrade'))[0]).toBe(
      "16:9: unknown key 'hots' in step 1.2; did you mean 'host'?",
    );
  });

  it('checks a template no phase uses, as the phase it would make, at its own lines', () => {
    const unused = TEMPLATED.replace(
      'phases:\n',
      [
        '  spare:',
        '    params: [guest]',
        '    steps:',
        '      - runn: echo {{guest}}',
        '        host: "{{guest}}"',
        '    fallback:',
        '      - note: hi',
        '        colour: red',
        'phases:\n',
      ].join('\n'),
    );
    expect(problemsOf(unused)).toEqual([
      "21:9: template 'spare' (no phase uses it): its step 1 needs exactly one of run, local, upload, reboot, preflight, checkpoint, wait, note, edit, undo, power_cycle; did you mean 'run' instead of 'runn'?",
      "25:9: template 'spare' (no phase uses it): unknown key 'colour' in its fallback step F1; allowed keys: note, id, title, needs, when",
    ]);
    // Written well, an unused template loads, and makes no phase.
    const fine = TEMPLATED.replace(
      'phases:\n',
      ['  spare:', '    params: [guest]', '    steps:', '      - run: echo {{guest}}', '        host: "{{guest}}"', 'phases:\n'].join('\n'),
    );
    expect(problemsOf(fine)).toEqual([]);
    expect(parseRunbook(fine, 'rb.yaml').phases.map((phase) => phase.name)).toEqual(['vm1', 'vm2']);
  });

  it('an id written in a template clashes between its uses, and the error says what to do', () => {
    expect(problemsOf(TEMPLATED.replace('        title: upgrade {{guest}}', '        title: upgrade {{guest}}\n        id: upgrade'))).toEqual([
      "17:9: step id 'upgrade' is already used by step 1.2; an id written in template 'package-update' is the same in every phase that uses it: leave it out (each phase numbers its own)",
    ]);
  });

  it('refuses steps beside use:', () => {
    expect(problemsOf(`${TEMPLATED}    steps: [ { note: hi } ]\n`)).toEqual([
      "25:5: a phase with use: takes its steps from template 'package-update'; drop 'steps' or 'use'",
    ]);
  });
});

function byPosition(a: string, b: string): number {
  const [la, ca] = a.split(':').map(Number);
  const [lb, cb] = b.split(':').map(Number);
  return la! - lb! || ca! - cb!;
}

describe('include', () => {
  const main = (phases: string[]) => [
    'name: with includes',
    'hosts: { vm1: {}, vm2: {} }',
    'phases:',
    '  - name: first',
    '    steps: [ { note: start } ]',
    ...phases,
  ];

  it("puts the included file's phases where the include stands, and its templates to use", async () => {
    const root = files({
      'main.yaml': main(['  - include: common/finish.yaml', '  - name: vm2', '    use: finish-guest', '    with: { guest: vm2 }']),
      'common/finish.yaml': [
        'templates:',
        '  finish-guest:',
        '    params: [guest]',
        '    steps: [ { run: "echo done {{guest}}", host: "{{guest}}" } ]',
        'phases:',
        '  - name: vm1',
        '    use: finish-guest',
        '    with: { guest: vm1 }',
      ],
    });
    const runbook = await loadRunbook(path.join(root, 'main.yaml'));
    expect(runbook.phases.map((phase) => `${phase.name}:${phase.steps.map((step) => ('host' in step ? step.host : '-')).join(',')}`)).toEqual([
      'first:-',
      'vm1:vm1',
      'vm2:vm2',
    ]);
    expect(runbook.includes).toEqual([path.join(root, 'common/finish.yaml')]);
  });

  it('a problem inside the included file names that file, with its own line and column', async () => {
    const root = files({
      'main.yaml': main(['  - include: common/finish.yaml']),
      'common/finish.yaml': ['# the end', 'phases:', '  - name: last', '    steps:', '      - run: reboot', '        host: vm3'],
    });
    const problems = await loadProblems(path.join(root, 'main.yaml'));
    expect(problems).toEqual([
      { file: path.join(root, 'common/finish.yaml'), line: 6, col: 15, message: "unknown host 'vm3' in step 2.1; did you mean 'vm1'?" },
    ]);
  });

  it('a schema problem inside the included file names that file too', async () => {
    const root = files({
      'main.yaml': main(['  - include: finish.yaml']),
      'finish.yaml': ['phases:', '  - name: last', '    stepz: []'],
    });
    const problems = await loadProblems(path.join(root, 'main.yaml'));
    expect(problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`)).toEqual([
      "finish.yaml:3:5: unknown key 'stepz' in phase 2; did you mean 'steps'?",
    ]);
  });

  it('refuses a missing file and an include that comes back to its includer', async () => {
    const missing = files({ 'main.yaml': main(['  - include: nowhere.yaml']) });
    expect((await loadProblems(path.join(missing, 'main.yaml'))).map((p) => `${p.line}:${p.col}: ${p.message}`)).toEqual([
      `6:14: cannot read the included file ${path.join(missing, 'nowhere.yaml')}: no such file (the path is relative to ${path.join(missing, 'main.yaml')})`,
    ]);
    const circle = files({
      'main.yaml': main(['  - include: a.yaml']),
      'a.yaml': ['phases:', '  - include: b.yaml'],
      'b.yaml': ['phases:', '  - include: a.yaml'],
    });
    const problems = await loadProblems(path.join(circle, 'main.yaml'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: path.join(circle, 'b.yaml'), line: 2, col: 14 });
    expect(problems[0]!.message).toMatch(/'a\.yaml' includes itself again \(.*a\.yaml → .*b\.yaml → .*a\.yaml\)/);
  });

  it('refuses hosts or vars in an included file: they come from the main runbook', async () => {
    const root = files({
      'main.yaml': main(['  - include: more.yaml']),
      'more.yaml': ['hosts: { vm3: {} }', 'phases: [ { name: more, steps: [ { note: hi } ] } ]'],
    });
    const problems = await loadProblems(path.join(root, 'main.yaml'));
    expect(problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`)).toEqual([
      `more.yaml:1:1: an included file holds only templates and phases; 'hosts' belongs in the main runbook (${path.join(root, 'main.yaml')})`,
    ]);
  });

  it('the hash covers included files: changing one changes the runbook', async () => {
    const root = files({ 'main.yaml': main(['  - include: more.yaml']), 'more.yaml': ['phases: [ { name: more, steps: [ { note: hi } ] } ]'] });
    const before = (await loadRunbook(path.join(root, 'main.yaml'))).hash;
    writeFileSync(path.join(root, 'more.yaml'), 'phases: [ { name: more, steps: [ { note: bye } ] } ]\n');
    const after = (await loadRunbook(path.join(root, 'main.yaml'))).hash;
    expect(after).not.toBe(before);
  });
});

describe('YAML merge keys and x- keys', () => {
  it('a step built with <<: gets the anchor keys, and its own keys win', () => {
    const runbook = parseRunbook(
      `name: merge
hosts: { vm1: {}, vm2: {} }
x-upgrade: &upgrade
  run: apt-get -y upgrade
  host: vm1
  timeout: 10m
phases:
  - name: one
    steps:
      - <<: *upgrade
      - <<: *upgrade
        host: vm2
        title: upgrade vm2
`,
      'rb.yaml',
    );
    expect(runbook.phases[0]!.steps.map((step) => [(step as RunStep).host, step.title, (step as RunStep).command, (step as RunStep).timeoutMs])).toEqual([
      ['vm1', 'apt-get -y upgrade', 'apt-get -y upgrade', 600_000],
      ['vm2', 'upgrade vm2', 'apt-get -y upgrade', 600_000],
    ]);
  });

  it('x- keys anywhere below the top are refused with what to do instead', () => {
    expect(
      problemsOf(`name: x
hosts: { vm1: { x-note: mine } }
x-fine: 1
phases:
  - name: one
    x-steps: &s [ { note: hi } ]
    steps: *s
`),
    ).toEqual([
      "2:17: 'x-note': x- keys are allowed only at the top of the runbook; define the anchor there",
      "6:5: 'x-steps': x- keys are allowed only at the top of the runbook; define the anchor there",
    ]);
  });
});

describe('the published JSON Schema', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(runbookJsonSchema());

  it('accepts templates, use, include and top-level x- keys as written in a file', () => {
    expect(validate(parse(TEMPLATED))).toBe(true);
    expect(validate({ name: 'x', 'x-steps': [{ note: 'hi' }], phases: [{ include: 'common/finish.yaml' }] })).toBe(true);
    // What a phase may say beside its steps, it may say beside use: too (the loader takes it).
    const beside = { when: 'go == "yes"', skip_done: true, fallback: [{ note: 'back' }], fallback_then: 'stop' };
    expect(validate({ name: 'x', phases: [{ name: 'a', use: 't', with: { guest: 'vm1' }, ...beside }] })).toBe(true);
    expect(parseRunbook(`${TEMPLATED.replace('with: { guest: vm1 }', 'with: { guest: vm1 }\n    when: "1 == 1"')}`, 'rb.yaml').phases[0]!.when?.text).toBe(
      '1 == 1',
    );
  });

  it('rejects an unknown key beside use:, and x- keys below the top, as the loader does', () => {
    expect(validate({ name: 'x', phases: [{ name: 'a', use: 't', wiht: {} }] })).toBe(false);
    expect(validate({ name: 'x', phases: [{ name: 'a', 'x-a': 1, steps: [{ note: 'hi' }] }] })).toBe(false);
  });
});

describe('the runbook hash', () => {
  it('is the sha256 of the file alone when nothing is included, as before', async () => {
    const { createHash } = await import('node:crypto');
    expect(parseRunbook(TEMPLATED, 'rb.yaml').hash).toBe(createHash('sha256').update(TEMPLATED).digest('hex'));
  });
});
