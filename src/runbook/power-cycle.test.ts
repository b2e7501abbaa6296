import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { problemsOf } from '../../test/support/runbook-problems.js';

describe('power_cycle', () => {
  it("power_cycle runs the host's power command locally, asked like a destructive step; a host without one is refused", () => {
    const text = (power: string) =>
      `name: t\nhosts:\n  dolphin: { address: 127.0.0.1${power} }\nphases:\n  - name: one\n    steps:\n      - power_cycle: dolphin\n`;
    const step = parseRunbook(text(", power: 'ipmitool -H bmc-dolphin chassis power cycle'"), 'rb.yaml').phases[0]!.steps[0];
    expect(step).toMatchObject({
      kind: 'local',
      title: 'Power-cycle dolphin out of band',
      command: 'ipmitool -H bmc-dolphin chassis power cycle',
      confirmText: 'dolphin',
    });
    expect(problemsOf(text(''))).toEqual(["7:22: step 1.1 power-cycles 'dolphin', which has no 'power' command under hosts"]);
  });
});
