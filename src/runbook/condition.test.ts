import { describe, expect, it } from 'vitest';
import { compileCondition, evaluate, hostsOf, type ConditionNames, type ConditionScope } from './condition.js';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import { allSteps, type ConditionExpr, type HostFacts } from './types.js';

const NAMES: ConditionNames = {
  vars: ['swap_mode', 'skip_swap', 'min_cpus', 'pattern'],
  secrets: ['db_pw'],
  captures: { root_uuid: { stepId: 'mkfs', before: true }, later: { stepId: 'tail', before: false } },
  hosts: ['old', 'new', 'old-dragon'],
  ownHost: 'new',
  stepKind: 'run',
};

const FACTS: Record<string, HostFacts> = {
  new: { systemd: true, cpus: 4, distro: 'debian', distro_like: '', distro_version: '12', kernel: '6.1.0-18-amd64', arch: 'x86_64' },
  old: { systemd: false, cpus: 1, distro: 'alpine', distro_like: '', distro_version: '3.19.1', kernel: '6.6.14-0-lts', arch: 'aarch64' },
  'old-dragon': { systemd: true, cpus: 10, distro: 'fedora', distro_like: 'rhel', distro_version: '40', kernel: '6.8', arch: 'x86_64' },
};

const SCOPE: ConditionScope = { values: { swap_mode: 'dual', skip_swap: 'false', min_cpus: '2', pattern: '^6\\.', root_uuid: 'abc' }, facts: FACTS };

function compiled(text: string, names = NAMES): ConditionExpr {
  const result = compileCondition(text, names);
  if ('problems' in result) throw new Error(result.problems.map((problem) => `${problem.index}: ${problem.message}`).join('\n'));
  return result.expr;
}

function problems(text: string, names = NAMES): Array<[number, string]> {
  const result = compileCondition(text, names);
  return 'problems' in result ? result.problems.map((problem) => [problem.index, problem.message]) : [];
}

const decide = (text: string) => evaluate(compiled(text), SCOPE);

describe('reading a condition', () => {
  it('reads facts, names, literals, not, and, or and parentheses, with and binding tighter than or', () => {
    expect(compiled('new.systemd')).toEqual({ kind: 'truthy', operand: { kind: 'fact', host: 'new', fact: 'systemd' } });
    expect(compiled('host.cpus >= 2 or not skip_swap and swap_mode == "dual"')).toEqual({
      kind: 'or',
      exprs: [
        { kind: 'compare', op: '>=', left: { kind: 'fact', host: 'new', fact: 'cpus' }, right: { kind: 'literal', value: 2 } },
        {
          kind: 'and',
          exprs: [
            { kind: 'not', expr: { kind: 'truthy', operand: { kind: 'name', name: 'skip_swap' } } },
            { kind: 'compare', op: '==', left: { kind: 'name', name: 'swap_mode' }, right: { kind: 'literal', value: 'dual' } },
          ],
        },
      ],
    });
    expect(compiled("(old.systemd or new.systemd) and 'x' != false")).toMatchObject({ kind: 'and', exprs: [{ kind: 'or' }, { kind: 'compare', op: '!=' }] });
    expect(compiled('old-dragon.arch =~ "x86"')).toMatchObject({ left: { kind: 'fact', host: 'old-dragon', fact: 'arch' } });
    expect(compiled('root_uuid != ""')).toMatchObject({ left: { kind: 'name', name: 'root_uuid' } });
    expect(compiled('-1.5 < new.cpus')).toMatchObject({ left: { kind: 'literal', value: -1.5 } });
    expect(hostsOf(compiled('old.systemd or (new.cpus > 1 and not old-dragon.kernel)'))).toEqual(['old', 'new', 'old-dragon']);
  });

  it('says what is wrong and where, with a hint', () => {
    expect(problems('new.sysd')).toEqual([[4, "unknown fact 'sysd'; the facts are systemd, cpus, distro, distro_like, distro_version, kernel, arch"]]);
    expect(problems('new.sytemd')).toEqual([
      [4, "unknown fact 'sytemd'; did you mean 'systemd'? The facts are systemd, cpus, distro, distro_like, distro_version, kernel, arch"],
    ]);
    expect(problems('swap_mod == "dual"')).toEqual([[0, "unknown variable 'swap_mod'; did you mean 'swap_mode'?"]]);
    expect(problems('x == 1')).toEqual([[0, "unknown variable 'x'; declare it under vars, or capture it in an earlier step"]]);
    expect(problems('systemd')).toEqual([[0, "unknown variable 'systemd'; for a fact of a host write HOST.systemd, e.g. host.systemd"]]);
    expect(problems('nwe.systemd')).toEqual([[0, "unknown host 'nwe' in nwe.systemd; did you mean 'new'?"]]);
    expect(problems('host.systemd', { ...NAMES, ownHost: undefined, stepKind: 'local' })).toEqual([
      [0, 'host.systemd on a local step has no host: name one, e.g. old.systemd'],
    ]);
    expect(problems('later == "x"')).toEqual([[0, "'later' is captured by step tail, which does not run before this one"]]);
    expect(problems('db_pw == "x"')).toEqual([[0, "'db_pw' is a secret: a condition cannot use it, as its value would show in the reason a step is skipped"]]);
    expect(problems('new.systemd && old.systemd')).toEqual([[12, "'&&' is written 'and' here"]]);
    expect(problems('new.cpus = 2')).toEqual([[9, "'=' alone does not compare: write '=='"]]);
    expect(problems('!new.systemd')).toEqual([[0, "'!' is written 'not' here"]]);
    expect(problems('{{swap_mode}} == "dual"')).toEqual([[0, 'a variable is named without {{ }} in a condition, e.g. swap_mode == "dual"']]);
    expect(problems('swap_mode == "dual')).toEqual([[13, 'this string has no closing "']]);
    expect(problems('(new.systemd or old.systemd')).toEqual([[27, "expected ')' to close the '(' at column 1, found the end of the condition"]]);
    expect(problems('new.systemd old.systemd')).toEqual([[12, "unexpected 'old.systemd': join conditions with 'and' or 'or'"]]);
    expect(problems('new.systemd and')).toEqual([[15, 'expected a value (a variable, HOST.FACT, a string or a number), found the end of the condition']]);
    expect(problems('new.kernel =~ "("')).toEqual([[14, expect.stringMatching(/^not a regular expression: /)]]);
    expect(problems('  ')).toEqual([[0, 'the condition is empty']]);
    // Every problem in the text is said, not only the first.
    expect(problems('nwe.systemd or new.cpuz > 1').map(([index]) => index)).toEqual([0, 19]);
  });
});

describe('evaluating a condition', () => {
  it('says whether it holds and what decided it', () => {
    expect(decide('new.systemd')).toEqual({ holds: true, found: 'new.systemd is true' });
    expect(decide('old.systemd')).toEqual({ holds: false, found: 'old.systemd is false' });
    expect(decide('not old.systemd')).toEqual({ holds: true, found: 'old.systemd is false' });
    expect(decide('old.distro == "debian" and old.cpus >= 2')).toEqual({ holds: false, found: 'old.distro is "alpine"' });
    expect(decide('old.systemd or new.cpus < 2')).toEqual({ holds: false, found: 'old.systemd is false; new.cpus is 4' });
    expect(decide('old.systemd or new.cpus > 2')).toEqual({ holds: true, found: 'new.cpus is 4' });
    expect(decide('swap_mode == "dual" or not skip_swap')).toEqual({ holds: true, found: 'swap_mode is "dual"' });
    expect(decide('not skip_swap')).toEqual({ holds: true, found: 'skip_swap is "false"' });
    expect(decide('new.cpus >= min_cpus')).toEqual({ holds: true, found: 'new.cpus is 4, min_cpus is "2"' });
    expect(decide('new.kernel =~ pattern').holds).toBe(true);
    expect(decide('old.kernel =~ "^6\\\\.1"').holds).toBe(false);
  });

  it('compares numbers as numbers and anything else as text', () => {
    expect(decide('old-dragon.cpus > new.cpus').holds).toBe(true);
    expect(decide('old.distro_version >= 3.2').holds).toBe(false);
    expect(decide('old.distro_version > "3.2"').holds).toBe(false);
    expect(decide('new.distro_version == 12').holds).toBe(true);
    expect(decide('new.systemd == true').holds).toBe(true);
    expect(decide('new.distro_like == ""').holds).toBe(true);
  });

  it('fails when a value or the facts of a host are missing', () => {
    expect(() => evaluate(compiled('root_uuid == "x"'), { values: {}, facts: FACTS })).toThrow(/'root_uuid' has no value yet/);
    expect(() => evaluate(compiled('new.systemd'), { values: {}, facts: {} })).toThrow('the facts of new were not gathered');
  });

  it('shows a hostile fact quoted, its control characters escaped', () => {
    const hostile = { ...FACTS, old: { ...FACTS['old']!, distro: '$(reboot)\u001b[2J\nok' } };
    expect(evaluate(compiled('old.distro == "debian"'), { values: {}, facts: hostile }).found).toBe('old.distro is "$(reboot)\\u001b[2J\\nok"');
  });
});

const runbook = (when: string, extra = '') => `name: when load
hosts:
  new: {}
vars:
  swap_mode: dual
${extra}phases:
  - name: one
    steps:
      - run: reload
        host: new
      - local: echo
        when: ${when}
`;

function loadProblems(text: string): string[] {
  try {
    parseRunbook(text, 'rb.yaml');
    return [];
  } catch (error) {
    if (!(error instanceof RunbookError)) throw error;
    return error.problems.map((problem) => `${problem.line}:${problem.col}: ${problem.message}`);
  }
}

describe('loading when:', () => {
  it('points into the condition as written, quoted or not', () => {
    expect(loadProblems(runbook('new.sysd'))).toEqual([
      "12:19: when: unknown fact 'sysd'; the facts are systemd, cpus, distro, distro_like, distro_version, kernel, arch",
    ]);
    expect(loadProblems(runbook(`'swap_mod == "dual"'`))).toEqual(["12:16: when: unknown variable 'swap_mod'; did you mean 'swap_mode'?"]);
    expect(loadProblems(runbook('host.systemd'))).toEqual(['12:15: when: host.systemd on a local step has no host: name one, e.g. new.systemd']);
  });

  it('puts a phase condition first in each step, and reports its problems once', () => {
    const text = `name: phase when
hosts:
  new: {}
phases:
  - name: one
    when: host.systemd
    steps:
      - run: a
        host: new
      - run: b
        host: new
  - name: two
    when: host.cpus > 1
    steps:
      - checkpoint: look
      - note: see
`;
    expect(loadProblems(text)).toEqual(['13:11: when: host.cpus on a checkpoint step has no host: name one, e.g. new.cpus']);
    const fixed = parseRunbook(text.replace('host.cpus', 'new.cpus'), 'rb.yaml');
    expect(allSteps(fixed).map((step) => step.when?.map((condition) => `${condition.scope}:${condition.text}`))).toEqual([
      ['phase:host.systemd'],
      ['phase:host.systemd'],
      ['phase:new.cpus > 1'],
      ['phase:new.cpus > 1'],
    ]);
    expect(allSteps(fixed)[0]!.when![0]!.expr).toEqual({ kind: 'truthy', operand: { kind: 'fact', host: 'new', fact: 'systemd' } });
  });

  it('refuses a secret, and takes a condition with quotes, escapes and line breaks as text', () => {
    const secret = 'secrets:\n  db_pw: { from: env, name: DB_PW }\n';
    expect(loadProblems(runbook('db_pw == "x"', secret))).toEqual([
      "14:15: when: 'db_pw' is a secret: a condition cannot use it, as its value would show in the reason a step is skipped",
    ]);
    const hostile = parseRunbook(runbook(`"swap_mode == '\\e[2J\\n\\"'"`), 'rb.yaml');
    const condition = allSteps(hostile)[1]!.when![0]!;
    expect(condition.text).toBe(`swap_mode == '\u001b[2J\n"'`);
    expect(evaluate(condition.expr, { values: { swap_mode: 'dual' }, facts: {} })).toEqual({ holds: false, found: 'swap_mode is "dual"' });
  });
});

describe('when: in templates and included files', () => {
  it("a template's when: reads each use's own host and its params", () => {
    const text = `name: templates
hosts:
  vm1: {}
  vm2: {}
templates:
  update:
    params: [guest, family]
    when: family == "debian"
    steps:
      - run: apt-get -y upgrade
        host: "{{guest}}"
        when: host.systemd
phases:
  - name: vm1
    use: update
    with: { guest: vm1, family: debian }
  - name: vm2
    use: update
    with: { guest: vm2, family: fedora }
`;
    const runbook = parseRunbook(text, 'rb.yaml');
    const [first, second] = allSteps(runbook);
    expect(first!.when!.map((condition) => condition.expr)).toEqual([
      { kind: 'compare', op: '==', left: { kind: 'literal', value: 'debian' }, right: { kind: 'literal', value: 'debian' } },
      { kind: 'truthy', operand: { kind: 'fact', host: 'vm1', fact: 'systemd' } },
    ]);
    expect(evaluate(second!.when![0]!.expr, { values: {}, facts: {} })).toEqual({ holds: false, found: '"fedora" == "debian"' });
    expect(second!.when![1]!.expr).toEqual({ kind: 'truthy', operand: { kind: 'fact', host: 'vm2', fact: 'systemd' } });
  });

  it('a problem in an included file is reported there, at its line and column', () => {
    const included = `phases:
  - name: tail
    steps:
      - run: echo
        host: new
        when: new.cpu > 1
`;
    const text = `name: include
hosts:
  new: {}
phases:
  - include: tail.yaml
`;
    let problems: string[] = [];
    try {
      parseRunbook(text, 'rb.yaml', { absoluteFile: '/nowhere/rb.yaml', readInclude: (file) => (file === '/nowhere/tail.yaml' ? included : undefined) });
    } catch (error) {
      if (!(error instanceof RunbookError)) throw error;
      problems = error.problems.map((problem) => `${problem.file}:${problem.line}:${problem.col}: ${problem.message}`);
    }
    expect(problems).toEqual([
      "tail.yaml:6:19: when: unknown fact 'cpu'; did you mean 'cpus'? The facts are systemd, cpus, distro, distro_like, distro_version, kernel, arch",
    ]);
  });
});
