// The runbook's safety keys: revert_after with its revert, and preflight steps with their
// checks. Loader messages name file:line:col; the plan states what will happen.
import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';

function problemsOf(source: string): string[] {
  try {
    parseRunbook(source, 'rb.yaml');
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw error;
  }
  return [];
}

const withSteps = (steps: string) => `name: t
hosts:
  dragon: { address: 127.0.0.1 }
vars:
  address: 192.168.10.1/24
phases:
  - name: one
    steps:
${steps}`;

describe('revert_after', () => {
  const source = withSteps(`      - run: ip addr replace {{ address }} dev eth1
        host: dragon
        revert_after: 2m
        revert: ip addr del {{ address }} dev eth1
`);

  it('reads the delay and the revert command, variables substituted', () => {
    const step = parseRunbook(source, 'rb.yaml').phases[0]!.steps[0]!;
    expect(step).toMatchObject({ kind: 'run', revert: { afterMs: 120_000, command: 'ip addr del 192.168.10.1/24 dev eth1' } });
  });

  it('is stated in the plan', () => {
    const plan = planOf(parseRunbook(source, 'rb.yaml'));
    expect(plan.phases[0]!.steps[0]!.revert).toEqual({ after: '2m', command: 'ip addr del 192.168.10.1/24 dev eth1' });
    expect(formatPlan(plan)).toContain('revert after 2m unless confirmed from a new connection: ip addr del 192.168.10.1/24 dev eth1');
  });

  it('needs revert, and revert needs it', () => {
    expect(problemsOf(withSteps('      - run: "true"\n        host: dragon\n        revert_after: 30s\n'))).toEqual([
      "rb.yaml:11:9: step 1.1 has revert_after but no 'revert': the command that undoes the change on dragon",
    ]);
    expect(problemsOf(withSteps('      - run: "true"\n        host: dragon\n        revert: "false"\n'))).toEqual([
      "rb.yaml:11:9: 'revert' runs only when armed: add revert_after: DURATION to step 1.1",
    ]);
  });

  it('is refused on a local step, which has no host to arm it on', () => {
    expect(problemsOf(withSteps('      - local: "true"\n        revert_after: 30s\n        revert: "false"\n'))).toEqual([
      "rb.yaml:10:9: 'revert_after' arms a revert on the host the change is made on, and a local step has none: make the change in a run step (step 1.1)",
      "rb.yaml:11:9: 'revert' arms a revert on the host the change is made on, and a local step has none: make the change in a run step (step 1.1)",
    ]);
  });

  it('names a duration that is not one, and one too short', () => {
    expect(problemsOf(withSteps('      - run: "true"\n        host: dragon\n        revert_after: soon\n        revert: "false"\n'))[0]).toMatch(
      /^rb\.yaml:11:23: 'revert_after' of step 1\.1: a duration is a number with a unit/,
    );
    expect(problemsOf(withSteps('      - run: "true"\n        host: dragon\n        revert_after: 500ms\n        revert: "false"\n'))).toEqual([
      'rb.yaml:11:9: revert_after of step 1.1 must be at least 1s',
    ]);
  });
});
