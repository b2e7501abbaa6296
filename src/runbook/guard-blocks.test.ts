import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';
import { allSteps } from './types.js';
import { problemsOf } from '../../test/support/runbook-problems.js';

const runbook = (guard: string, extra = '') => `name: t
hosts:
  dragon: { address: 127.0.0.1 }
  dolphin: { address: 127.0.0.1 }
vars:
  address: 192.168.10.1
phases:
  - name: prepare
    steps:
      - run: echo prepare
        host: dolphin
  - name: swap
${guard}
    steps:
      - run: ip addr add {{address}}/24 dev eth0
        host: dolphin
      - checkpoint: The modem cable is in the new dragon
      - run: ip route replace default via 203.0.113.1
        host: dolphin
        on_fail: ask
  - name: verify
    steps:
      - local: dig @{{address}} example.org
${extra}`;

const swapGuard = `    guard:
      revert_after: 10m
      revert:
        dolphin: ip addr del {{address}}/24 dev eth0
        dragon: ip addr add {{address}}/24 dev eth0
      through: verify`;

describe('guard: on a phase', () => {
  it('arms before the block, commits after its last phase, and fires first in the fallback of each phase in it', () => {
    const book = parseRunbook(runbook(swapGuard, 'fallback:\n  - run: echo back\n    host: dragon\n'), 'rb.yaml');
    const ids = allSteps(book).map((step) => `${step.number} ${step.id}`);
    expect(ids).toEqual([
      '1.1 prepare-1',
      '2.0 swap-guard',
      '2.1 swap-1',
      '2.2 swap-2',
      '2.3 swap-3',
      '2.F0 swap-guard-fire',
      '3.1 verify-1',
      '3.2 swap-guard-commit',
      '3.F0 verify-guard-fire',
      'F1 fallback-1',
    ]);
    const [swap, verify] = [book.phases[1]!, book.phases[2]!];
    expect(swap.steps[0]).toMatchObject({
      kind: 'guard',
      action: 'arm',
      onFail: 'fallback',
      guard: {
        id: 'swap',
        afterMs: 600_000,
        phases: ['swap', 'verify'],
        steps: ['swap-1', 'swap-2', 'swap-3', 'verify-1'],
        reverts: [
          { host: 'dolphin', command: 'ip addr del 192.168.10.1/24 dev eth0' },
          { host: 'dragon', command: 'ip addr add 192.168.10.1/24 dev eth0' },
        ],
      },
    });
    // Without a fallback of their own, the block's phases fire and go on to the runbook's.
    expect([swap.fallbackThen, verify.fallbackThen]).toEqual(['outer', 'outer']);
    expect(book.phases[0]!.fallback).toBeUndefined();
    // Inside the block a failure falls back (and fires) unless the step says otherwise.
    expect(swap.steps.map((step) => ('onFail' in step ? step.onFail : null))).toEqual(['fallback', 'fallback', 'ask', 'ask']);
    expect(verify.steps.map((step) => ('onFail' in step ? step.onFail : null))).toEqual(['fallback', 'fallback']);
    expect(book.phases[0]!.steps[0]).toMatchObject({ onFail: 'ask' });
  });

  it('is put first in a phase fallback of its own, which keeps what follows it', () => {
    const book = parseRunbook(
      runbook(
        `${swapGuard.replace('      through: verify\n', '').replace(/\n {6}through: verify$/, '')}\n    fallback:\n      - run: echo own\n        host: dolphin`,
      ),
      'rb.yaml',
    );
    const swap = book.phases[1]!;
    expect(swap.fallback?.map((step) => step.id)).toEqual(['swap-guard-fire', 'swap-fallback-1']);
    expect(swap.fallbackThen).toBeUndefined();
    expect(swap.steps.at(-1)).toMatchObject({ id: 'swap-guard-commit', number: '2.4', action: 'commit' });
    expect(book.phases[2]!.guard).toBeUndefined();
  });

  it('is in the plan, with each host and its revert', () => {
    const text = formatPlan(planOf(parseRunbook(runbook(swapGuard), 'rb.yaml')));
    expect(text).toMatch(/2\.0 .*Arm the guard: dolphin, dragon revert by themselves in 10m unless it is committed/);
    expect(text).toMatch(/dolphin: ip addr del 192\.168\.10\.1\/24 dev eth0/);
    expect(text).toMatch(/3\.2 .*Commit the guard: the changes stay on dolphin, dragon/);
  });

  it('says what is wrong with one, all in one round', () => {
    const problems = problemsOf(
      runbook(`    guard:
      revert_after: 5s
      revert:
        dolphn: ip addr del {{adress}}/24 dev eth0
      through: prepare`),
    );
    expect(problems).toEqual([
      "14:21: the guard of phase 'swap' needs a revert_after of at least 10s: time for its steps and the commit",
      "16:9: unknown host 'dolphn' in the guard of phase 'swap'; did you mean 'dolphin'?",
      "16:29: unknown variable 'adress' in 'guard.revert.dolphn' of phase 2; did you mean 'address'?",
      "17:16: the guard of phase 'swap' goes through 'prepare', which comes before it; through names a later phase",
    ]);
  });

  it('refuses guards that overlap, and a guard on no host', () => {
    const overlapping = runbook(swapGuard).replace(
      '  - name: verify\n',
      '  - name: verify\n    guard:\n      revert_after: 1m\n      revert:\n        dragon: echo back\n',
    );
    expect(problemsOf(overlapping)).toEqual([expect.stringMatching(/phase 'verify' is already guarded by phase 'swap': guards do not nest or overlap/)]);
    expect(problemsOf(runbook('    guard:\n      revert_after: 1m\n      revert: {}'))).toEqual([
      expect.stringMatching(/a guard needs at least one host under revert/),
    ]);
  });

  it('gives a guard host its spare way in, and refuses one no guard would start or on the main port', () => {
    const withSpare = runbook(swapGuard).replace('  dolphin: { address: 127.0.0.1 }', '  dolphin: { address: 127.0.0.1, spare_access: { port: 1022 } }');
    const arm = parseRunbook(withSpare, 'rb.yaml').phases[1]!.steps[0]!;
    expect(arm).toMatchObject({ guard: { reverts: [{ host: 'dolphin', spare: { port: 1022, lifetimeMs: 7_200_000 } }, { host: 'dragon' }] } });
    expect(problemsOf(withSpare)).toEqual([]);
    expect(formatPlan(planOf(parseRunbook(withSpare, 'rb.yaml')))).toMatch(/dolphin: first a spare SSH server on port 1022, proved by a login through it/);
    const unguarded = runbook(swapGuard).replace(
      '  dragon: { address: 127.0.0.1 }',
      '  dragon: { address: 127.0.0.1 }\n  elephant: { address: 127.0.0.1, port: 2200, spare_access: { port: 2200 } }',
    );
    expect(problemsOf(unguarded)).toEqual([
      "4:61: host 'elephant' has spare_access, which a guard starts, but no guard names it under revert",
      "4:69: the spare way in to 'elephant' needs a port of its own, not the one its main SSH server listens on",
    ]);
  });

  it('gives a spare way in the other names of its machine (also), and refuses an unknown one, the host itself, or a name with a spare already', () => {
    const withSpare = (also: string, extraHosts = '') =>
      runbook(swapGuard).replace(
        '  dolphin: { address: 127.0.0.1 }',
        `  dolphin: { address: 127.0.0.1, spare_access: { port: 1022, also: ${also} } }${extraHosts}`,
      );
    const book = parseRunbook(withSpare('[dragon]'), 'rb.yaml');
    expect(book.phases[1]!.guard?.reverts[0]).toMatchObject({ host: 'dolphin', spare: { port: 1022, lifetimeMs: 7_200_000, also: ['dragon'] } });
    expect(book.hosts['dolphin']?.spareAccess?.also).toEqual(['dragon']);
    expect(formatPlan(planOf(book))).toMatch(
      /dolphin: first a spare SSH server on port 1022, proved by a login through it; once the block moved the addresses, a login to dragon that the main port does not answer goes there too, and it is stopped through the first of dolphin, dragon that answers/,
    );
    expect(problemsOf(withSpare('[dragn, dolphin]'))).toEqual([
      "4:69: unknown host 'dragn' in the spare_access of 'dolphin'; did you mean 'dragon'?",
      "4:76: the spare way in to 'dolphin' names 'dolphin' itself under also: list the other hosts that reach this machine once the block moved its addresses",
    ]);
    expect(
      problemsOf(withSpare('[dragon]').replace('  dragon: { address: 127.0.0.1 }', '  dragon: { address: 127.0.0.1, spare_access: { port: 1023 } }')),
    ).toEqual(["4:69: host 'dragon' already has a spare way in of its own: a login to it tries one spare port, so name it under one spare_access only"]);
    expect(problemsOf(withSpare('[]'))).toEqual(["4:68: 'spare_access.also' of host 'dolphin': Too small: expected array to have >=1 items"]);
  });

  it('takes the other names a machine is reached by once the block moved its addresses', () => {
    const guard = `    guard:
      revert_after: 10m
      revert:
        dragon: { run: ip addr add 192.168.10.1/24 dev eth0, also: [dolphin] }
        dolphin: { run: ip addr del 192.168.10.1/24 dev eth0, also: [dragn] }`;
    expect(problemsOf(runbook(guard))).toEqual(["17:70: unknown host 'dragn' in the guard of phase 'swap'; did you mean 'dragon'?"]);
    const book = parseRunbook(runbook(guard.replace('[dragn]', '[dragon]')), 'rb.yaml');
    expect(book.phases[1]!.guard?.reverts).toEqual([
      { host: 'dragon', command: 'ip addr add 192.168.10.1/24 dev eth0', also: ['dolphin'] },
      { host: 'dolphin', command: 'ip addr del 192.168.10.1/24 dev eth0', also: ['dragon'] },
    ]);
  });
});
