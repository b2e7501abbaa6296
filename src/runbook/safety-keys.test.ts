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

describe('preflight steps', () => {
  const source = withSteps(`      - preflight: dragon
        checks:
          - fstab: true
          - mem_available: 256M
          - disk: { device: /dev/vdb, ptuuid: 0a1b2c3d }
          - address_free: { address: 192.168.10.1, interface: eth1 }
          - grubenv: true
`);

  it('reads the checks, and asks to type the disk id', () => {
    const step = parseRunbook(source, 'rb.yaml').phases[0]!.steps[0]!;
    expect(step).toMatchObject({
      kind: 'preflight',
      host: 'dragon',
      confirmText: '0a1b2c3d',
      checks: [
        { kind: 'fstab', path: '/etc/fstab' },
        { kind: 'mem_available', bytes: 256 * 1024 ** 2, size: '256M' },
        { kind: 'disk', device: '/dev/vdb', ptuuid: '0a1b2c3d' },
        { kind: 'address_free', address: '192.168.10.1', interface: 'eth1' },
        { kind: 'grubenv' },
      ],
    });
  });

  it('is a checklist in the plan', () => {
    const text = formatPlan(planOf(parseRunbook(source, 'rb.yaml')));
    expect(text).toMatch(/1\.1 +dragon +preflight dragon: fstab, mem_available, disk, address_free, grubenv +\(type "0a1b2c3d" to confirm\)/);
    expect(text).toContain('check disk /dev/vdb: ptuuid 0a1b2c3d');
    expect(text).toContain('check address_free: nobody answers for 192.168.10.1 on eth1');
  });

  it('names an unknown check where it is, with a hint', () => {
    expect(problemsOf(withSteps('      - preflight: dragon\n        checks:\n          - memavailable: 1G\n'))).toEqual([
      "rb.yaml:11:13: 'memavailable' is no check in 'checks.0' of step 1.1; did you mean 'mem_available'?",
    ]);
    expect(problemsOf(withSteps('      - preflight: dragon\n        checks:\n          - smart: true\n'))).toEqual([
      "rb.yaml:11:13: 'smart' is no check in 'checks.0' of step 1.1; the checks are fstab, mem_available, disk, address_free, grubenv",
    ]);
  });

  it('names a wrong size, a disk without its id, an unknown key in a check and an unknown host', () => {
    expect(problemsOf(withSteps('      - preflight: dragon\n        checks:\n          - mem_available: lots\n'))[0]).toMatch(
      /^rb\.yaml:11:28: 'checks\.0\.mem_available' of step 1\.1: a size is a number with K, M or G/,
    );
    expect(problemsOf(withSteps('      - preflight: dragon\n        checks:\n          - disk: { device: /dev/vdb }\n'))).toEqual([
      "rb.yaml:11:19: 'checks.0.disk' of step 1.1 needs exactly one of serial and ptuuid: the id the upgrader types to go on",
    ]);
    expect(problemsOf(withSteps('      - preflight: dragon\n        checks:\n          - disk: { device: /dev/vdb, serail: X }\n'))[0]).toMatch(
      /^rb\.yaml:11:39: unknown key 'serail' in 'checks\.0\.disk' of step 1\.1; did you mean 'serial'\?/,
    );
    expect(problemsOf(withSteps('      - preflight: dragno\n        checks:\n          - grubenv: true\n'))).toEqual([
      "rb.yaml:9:20: unknown host 'dragno' in step 1.1; did you mean 'dragon'?",
    ]);
  });
});
