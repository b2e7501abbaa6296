import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';

const source = `name: Swap
sites:
  upgrader: { name: Boston, tz: America/New_York }
  site: { name: Taipei, tz: Asia/Taipei }
hosts:
  dolphin: {}
vars:
  disk: /dev/sdb
phases:
  - name: partition
    steps:
      - run: sfdisk {{ disk }}
        host: dolphin
        destructive: "{{ disk }}"
        timeout: 5m
  - name: cutover
    title: Cut over
    steps:
      - checkpoint: Move the modem to the new dragon.
        by: sentinel
        confirm: dragon
        needs: hands
      - local: ping -c1 dragon
        on_fail: fallback
fallback:
  - note: Give the old dragon its identity back.
`;

describe('plan', () => {
  const plan = planOf(parseRunbook(source, 'swap.yaml'));

  it('numbers steps per phase and says who acts', () => {
    expect(plan.phases.map((phase) => phase.steps.map((step) => [step.number, step.who]))).toEqual([
      [['1.1', 'dolphin']],
      [
        ['2.1', 'sentinel'],
        ['2.2', 'local'],
      ],
    ]);
    expect(plan.fallback).toEqual([expect.objectContaining({ number: 'F1', who: 'everyone', kind: 'note', needsHands: false })]);
    expect(plan.phases[1]!.steps.map((step) => step.needsHands)).toEqual([true, false]);
  });

  it('prints a checklist with what is destructive and what must be typed', () => {
    const text = formatPlan(plan, 'swap.yaml');
    expect(text).toContain('Phase 2: Cut over');
    expect(text).toMatch(/\[ \] 1\.1 +dolphin +sfdisk \/dev\/sdb +\(DESTRUCTIVE, type "\/dev\/sdb" to run; timeout 5m\)/);
    expect(text).toMatch(/\[ \] 2\.1 +sentinel +Move the modem to the new dragon\. +\(type "dragon" to confirm; needs hands on site\)/);
    expect(text).toMatch(/\[ \] 2\.2 +local .*\(on failure: fallback\)/);
    expect(text).toMatch(/\$ ping -c1 dragon/);
    expect(text).toContain('upgrader: Boston (America/New_York); site: Taipei (Asia/Taipei)');
    expect(text).toContain('Fallback (from any failure, or by hand)');
  });
});
