import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { matchesSearch, nextStep, refusedText, searchScroll } from './use-upgrader-keys.js';

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

describe('searching the output', () => {
  const lines = Array.from({ length: 60 }, (_, index) => ((index + 1) % 20 === 10 ? `line ${index + 1} ERROR code 17` : `line ${index + 1} ok`));

  it('goes back from the bottom line to the match before, or on to the one after; none that way is null', () => {
    // Searched anew, the bottom line itself may be the match (here line 60 is not).
    expect(searchScroll(lines, 'error', 0, true, true)).toBe(10);
    expect(searchScroll(lines, 'error', 10, true)).toBe(30);
    expect(searchScroll(lines, 'error', 30, true)).toBe(50);
    expect(searchScroll(lines, 'error', 50, true)).toBeNull();
    expect(searchScroll(lines, 'error', 50, false)).toBe(30);
    expect(searchScroll(lines, 'error', 10, false)).toBeNull();
  });

  it('matches regardless of case unless the text has a capital', () => {
    expect(matchesSearch('line 10 ERROR code 17', 'error')).toBe(true);
    expect(matchesSearch('line 10 ERROR code 17', 'Error')).toBe(false);
    expect(matchesSearch('line 10 ERROR code 17', 'ERROR')).toBe(true);
  });
});
