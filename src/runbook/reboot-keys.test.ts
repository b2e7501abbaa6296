// The reboot step's safety keys: `into` (a new root booted once through GRUB) and `root`
// (the root the machine must come back on).
import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';

const withStep = (step: string) => `name: t
hosts:
  dolphin: {}
vars:
  disk: /dev/vdb
phases:
  - name: boot
    steps:
${step}`;

describe('reboot into a new root once', () => {
  const source = withStep(`      - reboot: dolphin
        into:
          root: '{{disk}}1'
          panic: 30s
        hostname: dolphin
`);

  it('reads the new root with defaults for kernel and initrd; the root to come back on is the new one', () => {
    const step = parseRunbook(source, 'rb.yaml').phases[0]!.steps[0]!;
    expect(step).toMatchObject({
      kind: 'reboot',
      expectRoot: '/dev/vdb1',
      into: { root: '/dev/vdb1', kernel: '/vmlinuz', initrd: '/initrd.img', panicSeconds: 30 },
    });
  });

  it('is stated in the plan: once, what a panic or power-cycle does, default only when verified', () => {
    const text = formatPlan(planOf(parseRunbook(source, 'rb.yaml')));
    expect(text).toMatch(
      /boots \/dev\/vdb1 once \(GRUB one-shot entry; a panic reboots after 30s and a power-cycle brings the old root back\), made the default once verified; comes back as dolphin/,
    );
  });

  it('a typo under into is an error with its position', () => {
    try {
      parseRunbook(withStep(`      - reboot: dolphin\n        into:\n          root: /dev/vdb1\n          kernal: /boot/vmlinuz\n`), 'rb.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RunbookError);
      const [problem] = (error as RunbookError).problems;
      expect(`${problem!.line}:${problem!.col} ${problem!.message}`).toMatch(/^12:11 .*kernal/);
    }
  });

  it('a plain reboot may name the root to come back on', () => {
    const step = parseRunbook(withStep(`      - reboot: dolphin\n        root: UUID=1234\n`), 'rb.yaml').phases[0]!.steps[0]!;
    expect(step).toMatchObject({ kind: 'reboot', expectRoot: 'UUID=1234' });
    expect(step).not.toHaveProperty('into');
  });
});
