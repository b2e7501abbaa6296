import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { lastStepOnEachHost } from './last-steps.js';

describe("each host's last step", () => {
  it('is the last one in the runbook on that host, fallbacks and local steps not counted', () => {
    const runbook = parseRunbook(
      [
        'name: last steps',
        'hosts:',
        '  web: {}',
        '  db: {}',
        'phases:',
        '  - name: one',
        '    steps:',
        '      - { id: w1, run: "true", host: web }',
        '      - { id: d1, run: "true", host: db }',
        '      - { id: here, local: "true" }',
        '  - name: two',
        '    steps:',
        '      - { id: w2, run: "true", host: web }',
        '      - { id: pause, checkpoint: "Look" }',
        '    fallback:',
        '      - { id: back, run: "true", host: db }',
      ].join('\n'),
      'last.yaml',
    );
    expect(Object.fromEntries(lastStepOnEachHost(runbook))).toEqual({ web: 'w2', db: 'd1' });
  });

  it("is each guest's own last step in a for_each phase", () => {
    const file = path.join(import.meta.dirname, '../../runbooks/demo-fleet.yaml');
    const runbook = parseRunbook(readFileSync(file, 'utf8'), file);
    const last = lastStepOnEachHost(runbook);
    const guests = runbook.groups?.guests ?? [];
    expect(guests.length).toBeGreaterThan(1);
    const steps = runbook.phases.flatMap((phase) => phase.steps);
    for (const guest of guests) {
      const own = steps.filter((step) => 'host' in step && step.host === guest);
      expect(own.length).toBeGreaterThan(1);
      expect(last.get(guest)).toBe(own.at(-1)!.id);
    }
  });
});
