// Looking back at a step: every attempt from its logs, and its live output while it runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { RunOutputs } from './run-outputs.js';

// Three local steps: a and b run in the tests, c never does.
const runbook = parseRunbook(
  `name: look back\nphases:\n  - name: one\n    steps:\n${['a', 'b', 'c'].map((id) => `      - local: echo ${id}\n        id: ${id}\n`).join('')}`,
  'look-back.yaml',
);
const step = (id: string) => allSteps(runbook).find((each) => each.id === id)!;

describe('a step looked back at', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const outputsIn = () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-history-'));
    return new RunOutputs(
      (stepId, attempt) => path.join(dir, `${stepId}-${attempt}.log`),
      () => {},
    );
  };

  it('shows every attempt from its logs, each headed, after the step is no longer running', async () => {
    const outputs = outputsIn();
    const first = outputs.start(step('b'));
    first.write(Buffer.from('attempt-one line\nfailed here\n'));
    await first.close();
    const second = outputs.start(step('b'));
    second.write(Buffer.from('attempt-two line\n'));
    // Running: the live output, which only has this attempt.
    expect(outputs.history('b')).toBe(outputs.of('b'));
    await second.close();
    const shown = outputs.history('b')!;
    expect(shown.ring.tail(10).map((line) => line.text)).toEqual([
      '── attempt 1 of 2 ──',
      'attempt-one line',
      'failed here',
      '── attempt 2 of 2 ──',
      'attempt-two line',
    ]);
    expect(shown.path).toBe(path.join(dir, 'b-2.log'));
    // Read once, until the step runs again.
    expect(outputs.history('b')).toBe(shown);
    const third = outputs.start(step('b'));
    await third.close();
    expect(outputs.history('b')!.ring.tail(1)[0]!.text).toBe('── attempt 3 of 3 ──');
  });

  it('shows one attempt without a heading, and a step that never ran has nothing to show', async () => {
    const outputs = outputsIn();
    const only = outputs.start(step('a'));
    only.write(Buffer.from('\u001b[2Jjust this\n'));
    await only.close();
    expect(
      outputs
        .history('a')!
        .ring.tail(10)
        .map((line) => line.text),
    ).toEqual(['just this']);
    expect(outputs.history('c')).toBeUndefined();
  });
});
