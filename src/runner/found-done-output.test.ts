import { describe, expect, it } from 'vitest';
import { RunOutputs } from './run-outputs.js';

describe('a step found done, on screen', () => {
  it("shows the check's output under nightshift's line, its terminal controls dropped as in any output", () => {
    const outputs = new RunOutputs(
      () => '/nowhere',
      () => {},
    );
    outputs.showFoundDone('move', '10.0.0.1/24\n\u001b[2Jcleared\n');
    const shown = outputs.of('move')!;
    expect(shown.ring.tail(10).map((line) => line.text)).toEqual(['nightshift: already done (check passed): not run', '10.0.0.1/24', 'cleared']);
    expect(outputs.lastStepId).toBe('move');
  });
});
