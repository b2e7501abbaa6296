import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { RunbookError } from './errors.js';
import type { LoadOptions } from './load.js';
import { formatPlan, planOf } from './plan.js';

const template = `templates:
  update:
    params: [guest]
    title: Update {{guest}}
    steps:
      - run: apt-get -y upgrade --on {{guest}}
        host: "{{guest}}"
      - run: uname -r
        host: "{{guest}}"
        capture: kernel
      - run: echo {{kernel}} {{guest}}
        host: "{{guest}}"
    fallback:
      - run: apt-get -y install old
        host: "{{guest}}"
`;

function load(phases: string, options: LoadOptions & { files?: Record<string, string> } = {}, groups = 'groups:\n  guests: [vm1, vm2, vm3, vm4, vm5]\n') {
  const { files, ...rest } = options;
  return parseRunbook(`name: fleet\n${groups}${template}phases:\n${phases}`, '/rb/fleet.yaml', {
    ...rest,
    readInclude: (absolute) => files?.[absolute],
  });
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`);
    throw error;
  }
  throw new Error('no problem reported');
}

const fleetPhase = '  - name: update\n    for_each: guests\n    use: update\n';

describe('a for_each phase as loaded', () => {
  it('is one phase with each host its own steps, ids BASE@HOST, batches, checkpoints and its hosts declared as ssh aliases', () => {
    const runbook = load(
      `  - name: first\n    steps:\n      - note: hi\n${fleetPhase}    canary: 1\n    serial: "50%"\n    max_fail: 1\n  - name: last\n    steps:\n      - note: bye\n`,
    );
    expect(runbook.phases.map((phase) => phase.name)).toEqual(['first', 'update', 'last']);
    expect(runbook.phaseOrder).toEqual(['first', 'update', 'last']);
    const update = runbook.phases[1]!;
    expect(update.title).toBe('Update each of guests');
    expect(update.fleet).toMatchObject({
      group: 'guests',
      as: 'guest',
      hosts: ['vm1', 'vm2', 'vm3', 'vm4', 'vm5'],
      batches: [['vm1'], ['vm2', 'vm3', 'vm4'], ['vm5']],
      canary: true,
      maxFail: 1,
      parallel: 20,
      written: { serial: '50%', maxFail: '1' },
    });
    const vm2 = update.fleet!.perHost['vm2']!;
    expect(vm2.steps.map((step) => [step.id, step.number, 'host' in step ? step.host : '', step.instanceOf])).toEqual([
      ['update-1@vm2', '2.1@vm2', 'vm2', { host: 'vm2', baseId: 'update-1' }],
      ['update-2@vm2', '2.2@vm2', 'vm2', { host: 'vm2', baseId: 'update-2' }],
      ['update-3@vm2', '2.3@vm2', 'vm2', { host: 'vm2', baseId: 'update-3' }],
    ]);
    expect(vm2.steps[0]).toMatchObject({ command: 'apt-get -y upgrade --on vm2' });
    expect(vm2.fallback.map((step) => step.id)).toEqual(['update-fallback-1@vm2']);
    expect(update.steps.slice(-4).map((step) => step.id)).toEqual(['update-canary', 'update-halt-1', 'update-halt-2', 'update-halt-3']);
    expect(runbook.phases[2]!.steps[0]!.number).toBe('3.1');
    expect(runbook.hosts['vm4']).toMatchObject({ alias: 'vm4' });
    expect(runbook.groups).toEqual({ guests: ['vm1', 'vm2', 'vm3', 'vm4', 'vm5'] });
  });

  it('takes its own steps with {{host}}, and --hosts and --limit choose the hosts', () => {
    const phases =
      '  - name: own\n    for_each: guests\n    serial: 2\n    steps:\n      - run: hostname\n        host: "{{host}}"\n        title: on {{host}}\n';
    const runbook = load(phases, { select: { patterns: ['vm*,!vm2'], limit: 3 } });
    // The hosts left out are not logged in to: not even checked.
    expect(Object.keys(runbook.hosts)).toEqual(['vm1', 'vm3', 'vm4']);
    expect(runbook.phases[0]!.fleet!.hosts).toEqual(['vm1', 'vm3', 'vm4']);
    expect(runbook.phases[0]!.fleet!.batches).toEqual([['vm1', 'vm3'], ['vm4']]);
    expect(runbook.phases[0]!.steps[0]).toMatchObject({ id: 'own-1@vm1', title: 'on vm1', host: 'vm1' });
  });

  it('reads a group from an inventory file and from the ssh config aliases', () => {
    const runbook = load(
      fleetPhase,
      { files: { '/rb/hosts.txt': '# the web tier\nweb1\nweb2  # spare\n\n' }, sshAliases: () => ['db1', 'web3', 'web-4'] },
      'groups:\n  guests: { file: hosts.txt }\n  web: { aliases: "web*" }\n',
    );
    expect(runbook.groups).toEqual({ guests: ['web1', 'web2'], web: ['web3', 'web-4'] });
  });

  it('says each mistake once, where it was written, with a way out', () => {
    expect(problemsOf(() => load('  - name: update\n    for_each: guest\n    use: update\n'))).toEqual(["21:15 unknown group 'guest'; did you mean 'guests'?"]);
    expect(problemsOf(() => load(`${fleetPhase}    serial: 0\n    max_fail: lots\n`))).toEqual([
      `23:13 'serial' is a whole number of hosts (at least 1) or a percentage of them, e.g. serial: 2 or serial: "25%"`,
      `24:15 'max_fail' is a whole number of hosts (at least 0) or a percentage of them, e.g. max_fail: 2 or max_fail: "25%"`,
    ]);
    expect(problemsOf(() => load(fleetPhase, { select: { patterns: ['db*'] } }))).toEqual([
      "21:15 no host of group 'guests' (vm1, vm2, vm3, vm4, vm5) is selected by --hosts db*: phase 'update' would run on none",
    ]);
    // A mistake in the template is said once, not once per host.
    const text = `name: fleet\ngroups:\n  guests: [vm1, vm2, vm3]\ntemplates:\n  t:\n    params: [guest]\n    steps:\n      - run: x\n        host: "{{guest}}"\n        on_fail: sometimes\nphases:\n  - name: p\n    for_each: guests\n    use: t\n`;
    expect(problemsOf(() => parseRunbook(text, 'rb.yaml'))).toHaveLength(1);
  });

  it('refuses a hostile name from an inventory file instead of taking it as a host', () => {
    const problems = problemsOf(() =>
      load(fleetPhase, { files: { '/rb/hosts.txt': 'vm1\n$(reboot)\nvm2; rm -rf /\n' } }, 'groups:\n  guests: { file: hosts.txt }\n'),
    );
    expect(problems.join('\n')).toContain("'$(reboot)' in group 'guests' is not a host name nightshift can use");
    expect(problems.join('\n')).toContain("'vm2; rm -rf /' in group 'guests' is not a host name nightshift can use");
  });

  it('plans the steps once, as each host runs them, with the rollout in a line', () => {
    const text = formatPlan(planOf(load(`${fleetPhase}    canary: 1\n    serial: 2\n`)));
    expect(text).toContain(
      'for each of 5 hosts of guests (vm1, vm2, vm3, vm4, vm5); canary vm1 first, then a checkpoint; 2 at a time (2 batches); at most 20 at once; stops and asks after a batch with a failed host',
    );
    expect(text).toContain('[ ] 1.1   each guest  apt-get -y upgrade --on {{guest}}');
    expect(text).toContain('[ ] 1.F1  each guest');
    expect(text).not.toContain('@vm');
  });

  it('refuses per: batch outside a for_each phase', () => {
    expect(problemsOf(() => load('  - name: one\n    steps:\n      - checkpoint: all good\n        per: batch\n'))).toEqual([
      '23:14 step 1.1: per: batch belongs in a for_each phase (its hosts go in batches)',
    ]);
  });
});
