import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';
import { allSteps } from './types.js';
import { problemsOf } from '../../test/support/runbook-problems.js';

const head = `name: t
hosts:
  old: { address: 127.0.0.1 }
  new: { address: 127.0.0.1 }
phases:
  - name: prepare
    steps:
      - run: echo prepare
        host: old
  - name: swap
    steps:
      - run: ip addr add 10.0.0.2/24 dev eth1
        host: new
        on_fail: fallback
`;

describe('a phase fallback', () => {
  it('is numbered P.F<n> under its phase, with ids <phase>-fallback-<n>, and what follows it', () => {
    const runbook = parseRunbook(
      `${head}    fallback:\n      - run: ip addr del 10.0.0.2/24 dev eth1\n        host: new\n      - local: echo told\n    fallback_then: outer\nfallback:\n  - run: swap back\n    host: old\n`,
      'rb.yaml',
    );
    const swap = runbook.phases[1]!;
    expect(swap.fallbackThen).toBe('outer');
    expect(swap.fallback).toMatchObject([
      { id: 'swap-fallback-1', number: '2.F1', phase: 'swap', kind: 'run', host: 'new' },
      { id: 'swap-fallback-2', number: '2.F2', phase: 'swap', kind: 'local' },
    ]);
    expect(runbook.phases[0]!.fallback).toBeUndefined();
    expect(allSteps(runbook).map((step) => step.id)).toEqual(['prepare-1', 'swap-1', 'swap-fallback-1', 'swap-fallback-2', 'fallback-1']);
  });

  it('is enough for on_fail: fallback in its phase, and not in another', () => {
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: new\n`)).toEqual([]);
    const other = head.replace('        host: old\n', '        host: old\n        on_fail: fallback\n');
    expect(problemsOf(`${other}    fallback:\n      - run: undo\n        host: new\n`)).toEqual([
      "10:18: step 1.1 says on_fail: fallback but the runbook has no 'fallback' steps",
    ]);
  });

  it('refuses a phase fallback step that falls back, with its line and column', () => {
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: new\n        on_fail: fallback\n`)).toEqual([
      "18:18: fallback step 2.F1 cannot fall back again; use ask or continue (a failure there goes on to the runbook's fallback by itself)",
    ]);
  });

  it('refuses fallback_then without a phase fallback, and outer without a runbook fallback', () => {
    expect(problemsOf(`${head}    fallback_then: stop\nfallback:\n  - run: back\n    host: old\n`)).toEqual([
      "15:20: phase 2 says fallback_then but has no 'fallback' steps; add them, or remove fallback_then",
    ]);
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: new\n    fallback_then: outer\n`)).toEqual([
      "18:20: phase 2 says fallback_then: outer but the runbook has no 'fallback' steps to go on to; add them, or say fallback_then: stop",
    ]);
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: new\n    fallback_then: later\n`)[0]).toMatch(/^18:20: .*fallback_then/);
  });

  it('says where a problem inside a phase fallback step is, and checks its host', () => {
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: new\n        colour: red\n`)).toEqual([
      expect.stringMatching(/^18:9: unknown key 'colour' in fallback step 2\.F1; allowed keys: run, host/),
    ]);
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: nwe\n`)).toEqual([
      "17:15: unknown host 'nwe' in fallback step 2.F1; did you mean 'new'?",
    ]);
  });

  it('refuses a phase fallback step id that clashes with another step', () => {
    expect(problemsOf(`${head}    fallback:\n      - run: undo\n        host: new\n        id: swap-1\n`)[0]).toMatch(
      /^18:9: step id 'swap-1' is already used by step 2\.1/,
    );
  });

  it('is planned under its phase', () => {
    const runbook = parseRunbook(`${head}    fallback:\n      - run: ip addr del 10.0.0.2/24 dev eth1\n        host: new\n`, 'rb.yaml');
    const text = formatPlan(planOf(runbook));
    expect(text).toMatch(/Fallback of phase swap[^\n]*\n[^\n]*2\.F1[^\n]*ip addr del 10\.0\.0\.2\/24 dev eth1/);
  });
});

describe('a phase fallback in a template', () => {
  it('is made for each phase that uses the template, its hosts and commands taking the params', () => {
    const runbook = parseRunbook(
      `name: t
hosts:
  a: {}
  b: {}
templates:
  swap:
    params: [h]
    steps:
      - run: add on {{h}}
        host: "{{h}}"
        on_fail: fallback
    fallback:
      - run: del on {{h}}
        host: "{{h}}"
phases:
  - name: one
    use: swap
    with: { h: a }
  - name: two
    use: swap
    with: { h: b }
`,
      'rb.yaml',
    );
    expect(runbook.phases.map((phase) => phase.fallback)).toEqual([
      [expect.objectContaining({ id: 'one-fallback-1', number: '1.F1', host: 'a', command: 'del on a' })],
      [expect.objectContaining({ id: 'two-fallback-1', number: '2.F1', host: 'b', command: 'del on b' })],
    ]);
  });
});

describe('an undo in a phase fallback', () => {
  it('is just a step there, tied to the edit step it names', () => {
    const runbook = parseRunbook(
      `name: t
hosts:
  new: {}
phases:
  - name: harden
    steps:
      - edit: /etc/ssh/sshd_config
        id: sshd
        host: new
        set: { MaxAuthTries: 3 }
        separator: " "
        on_fail: fallback
    fallback:
      - undo: sshd
`,
      'rb.yaml',
    );
    expect(runbook.phases[0]!.fallback).toEqual([
      expect.objectContaining({ kind: 'undo', number: '1.F1', id: 'harden-fallback-1', stepId: 'sshd', host: 'new' }),
    ]);
  });
});
