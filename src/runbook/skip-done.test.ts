import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';
import type { Step } from './types.js';

const runbook = (top: string, phase: string, step: string) => `name: t
hosts:
  h: {}
${top}phases:
  - name: one
${phase}    steps:
      - run: make-it
        host: h
        check: test -f /done
${step}      - run: other
        host: h
`;

function skipDoneOf(text: string): Record<string, boolean | undefined> {
  const steps: Step[] = parseRunbook(text, 'rb.yaml').phases[0]!.steps;
  return Object.fromEntries(steps.map((step) => [step.id, step.skipDone]));
}

describe('skip_done', () => {
  it('is off unless asked for', () => {
    expect(skipDoneOf(runbook('', '', ''))).toEqual({ 'one-1': undefined, 'one-2': undefined });
  });

  it('on the runbook or the phase, applies to the steps with a check only', () => {
    expect(skipDoneOf(runbook('skip_done: true\n', '', ''))).toEqual({ 'one-1': true, 'one-2': undefined });
    expect(skipDoneOf(runbook('', '    skip_done: true\n', ''))).toEqual({ 'one-1': true, 'one-2': undefined });
  });

  it("the nearest one given wins: a step's own false over its phase's true", () => {
    expect(skipDoneOf(runbook('skip_done: true\n', '', '        skip_done: false\n'))).toEqual({ 'one-1': undefined, 'one-2': undefined });
  });

  it('on a step without a check is an error at its line, saying what to add', () => {
    const text = runbook('', '', '').replace('      - run: other\n        host: h\n', '      - run: other\n        host: h\n        skip_done: true\n');
    try {
      parseRunbook(text, 'rb.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RunbookError);
      const problem = (error as RunbookError).problems[0]!;
      expect(`${problem.line}:${problem.col}: ${problem.message}`).toMatch(/^12:20: step 1.2: skip_done: true needs a `check:`/);
    }
  });

  it('plan shows the check a step is skipped by', () => {
    const plan = planOf(parseRunbook(runbook('', '    skip_done: true\n', ''), '/rb.yaml', { absoluteFile: '/rb.yaml' }));
    expect(plan.phases[0]!.steps[0]!.skipDoneCheck).toBe('test -f /done');
    const text = formatPlan(plan);
    expect(text).toMatch(/1\.1 +h +make-it  \(skipped when its check says it is done\)/);
    expect(text).toMatch(/^ +done if: test -f \/done$/m);
    expect(text).not.toMatch(/1\.2 .*skipped when/);
  });
});
