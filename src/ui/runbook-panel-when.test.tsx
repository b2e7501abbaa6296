import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../engine/events.js';
import { parseRunbook } from '../runbook/load.js';
import { RunbookPanel } from './runbook-panel.js';

const runbook = parseRunbook(
  `name: panel
hosts:
  new: {}
phases:
  - name: prepare
    steps:
      - run: systemctl daemon-reload
        host: new
        id: reload
        title: reload units
        when: new.systemd
      - run: uptime
        host: new
        id: up
`,
  'rb.yaml',
);

describe('the runbook panel', () => {
  it('shows why a step was skipped, a hostile fact neutralized', () => {
    const steps: Record<string, StepRecord> = {
      reload: { status: 'skipped', attempts: 0, confirmations: [], skipReason: 'when new.systemd (new.distro is "\u001b[2Jx")' },
      up: { status: 'pending', attempts: 0, confirmations: [] },
    };
    const raw = renderToString(<RunbookPanel runbook={runbook} steps={steps} focusId="up" width={100} height={4} now={0} />, { columns: 100 });
    const text = stripVTControlCharacters(raw);
    expect(text).toContain('1.1 reload units · skipped: when new.systemd (new.distro is "^[[2Jx")');
    expect(raw).not.toContain('\u001b[2J');
  });
});
