import { describe, expect, it } from 'vitest';
import { shown } from '../text/shown-runbook.js';
import { parseRunbook } from './load.js';
import { formatPlan, planOf } from './plan.js';

const source = `name: plan when
hosts:
  new: {}
vars:
  swap_mode: dual
phases:
  - name: prepare
    steps:
      - run: systemctl daemon-reload
        host: new
        when: new.systemd
      - checkpoint: look at the console
        when: "swap_mode == '\\e]0;pwned\\a\\n'"
  - name: swap
    when: swap_mode == "dual"
    steps:
      - run: swapon -a
        host: new
`;

describe('plan shows when:', () => {
  it("shows each step's own condition under it and the phase's at the phase", () => {
    const plan = planOf(parseRunbook(source, 'rb.yaml'));
    expect(plan.phases[0]!.steps[0]!.when).toEqual(['new.systemd']);
    expect(plan.phases[1]!.when).toBe('swap_mode == "dual"');
    expect(plan.phases[1]!.steps[0]!.when).toBeUndefined();
    const text = formatPlan(shown(plan), 'rb.yaml');
    expect(text).toContain('only when new.systemd\n');
    expect(text).toContain('Phase 2: swap (each step only when swap_mode == "dual")');
    // A condition's string with escape sequences and a line break is shown, never acted on.
    expect(text).toContain("only when swap_mode == '^[]0;pwned^G^J'");
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\x1b|\x07/);
  });
});
