import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { nextStep, refusedText } from './use-upgrader-keys.js';

const runbook = parseRunbook(
  [
    'name: look back',
    'phases:',
    '  - name: one',
    '    steps:',
    '      - local: echo a',
    '        id: a',
    '      - local: echo b',
    '        id: b',
    '    fallback:',
    '      - local: echo undo',
    '        id: undo',
    '  - name: two',
    '    steps:',
    '      - local: echo c',
    '        id: c',
    '',
  ].join('\n'),
  'look-back.yaml',
);
describe('j and k', () => {
  it("go through the runbook panel's steps, a phase's fallback after its steps, and past either end follow the run", () => {
    expect(nextStep(runbook, null, 1)).toBe('a');
    expect(nextStep(runbook, null, -1)).toBe('c');
    expect(nextStep(runbook, 'a', 1)).toBe('b');
    expect(nextStep(runbook, 'b', 1)).toBe('undo');
    expect(nextStep(runbook, 'undo', 1)).toBe('c');
    expect(nextStep(runbook, 'c', 1)).toBeNull();
    expect(nextStep(runbook, 'a', -1)).toBeNull();
    expect(nextStep(runbook, 'c', -1)).toBe('undo');
  });
});

describe("a refusal on the upgrader's screen", () => {
  it("is the upgrader's own, or a helper's by name, its text neutralized", () => {
    const upgrader = { name: 'ana' };
    expect(refusedText({ by: { role: 'upgrader', name: 'ana' }, action: 'RETRY', reason: 'attempt 1 may still run' }, upgrader)).toBe(
      'not accepted: attempt 1 may still run',
    );
    const helper = refusedText({ by: { role: 'sentinel', name: 'bo\u001b[2J' }, action: 'CONFIRM', reason: 'the checkpoint asks for "cable"' }, upgrader);
    expect(helper).toMatch(/^bo.* \(sentinel\): \/ok not accepted: the checkpoint asks for "cable"$/);
    expect(helper).not.toContain('\u001b');
  });
});
