// Variables that the loader keeps as text (preflight checks, a reboot's new root) reach a
// shell through the scripts nightshift writes around them: each stays one word there. What
// goes into a GRUB menu entry is refused when GRUB would read it as script.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunbookError } from '../../src/runbook/errors.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { PreflightStep, RebootStep } from '../../src/runbook/types.js';
import { inspectScript } from '../../src/runner/one-shot-scripts.js';
import { checkScript } from '../../src/runner/preflight-checks.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ns-script-vars-'));
const marker = path.join(dir, 'pwned');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runbook = (into: string) => `name: scripts
vars:
  v: harmless
hosts:
  dolphin: {}
phases:
  - name: one
    steps:
      - preflight: dolphin
        checks:
          - fstab: '{{v}}'
          - disk: { device: '{{v}}', serial: '{{v}}' }
          - address_free: { address: '{{v}}', interface: '{{v}}' }
      - reboot: dolphin
        into: ${into}
`;

describe('variables in the scripts around preflight checks and a reboot into a new root', () => {
  it.each([`x"; touch ${marker}; echo "`, `'; touch ${marker}; '`, `$(touch ${marker})`, `\`touch ${marker}\``, `a\ntouch ${marker}`])(
    '%j stays one word in every script',
    (value) => {
      const loaded = parseRunbook(runbook("{ root: '{{v}}' }"), 'rb.yaml', { vars: { v: value } });
      const [preflight, reboot] = loaded.phases[0]!.steps as [PreflightStep, RebootStep];
      const scripts = [...preflight.checks.map(checkScript), inspectScript(reboot.into!)];
      for (const script of scripts) execFileSync('/bin/sh', ['-c', script], { cwd: dir, stdio: 'ignore' });
      expect(existsSync(marker)).toBe(false);
      expect(preflight.checks[1]).toEqual({ kind: 'disk', device: value, serial: value });
      expect(reboot.into!.root).toBe(value);
    },
  );

  it('refuses kernel, initrd and arguments that GRUB would read as script, where they are written', () => {
    const problems = (() => {
      try {
        parseRunbook(runbook("{ root: /dev/vdb1, kernel: '/boot/{{v}}', args: 'console=ttyS0 {{v}}' }"), 'rb.yaml', {
          vars: { v: 'x; }\nmenuentry evil {' },
        });
      } catch (error) {
        if (error instanceof RunbookError) return error.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
        throw error;
      }
      return [];
    })();
    expect(problems).toEqual([
      `15:42: 'into.kernel' of step 1.2 is "/boot/x; }\\nmenuentry evil {", but it goes into a GRUB menu entry, where only letters, digits and . , : = / + @ % ~ - _ are safe`,
      `15:63: 'into.args' of step 1.2 is "console=ttyS0 x; }\\nmenuentry evil {", but it goes into a GRUB menu entry, where only letters, digits, spaces and . , : = / + @ % ~ - _ are safe`,
    ]);
  });
});
