import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { shownStepIdOf } from './shown-step.js';

const runbook = parseRunbook(
  `name: shown
phases:
  - name: one
    steps:
      - local: echo unpacked
        id: unpack
      - checkpoint: the parts are in place
        id: look
      - note: the cable is next
        id: tell
      - local: echo moved
        id: move
`,
  'rb.yaml',
);
const IDLE = { kind: 'idle', typing: false } as const;
const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
const stepOf = (id: string) => steps.get(id)!;
const following = (focusStepId: string | undefined, lastStepId: string | null) =>
  shownStepIdOf({ history: null, hostStep: undefined, prompt: IDLE, focusStepId, lastStepId, stepOf });

describe('the step whose output is shown while the run is followed', () => {
  it('is the step in focus, even before it prints', () => {
    expect(following('move', 'unpack')).toBe('move');
    expect(following('unpack', null)).toBe('unpack');
  });

  it('at a checkpoint or a note, which print nothing, is the last step that printed', () => {
    expect(following('look', 'unpack')).toBe('unpack');
    expect(following('tell', 'unpack')).toBe('unpack');
    // Nothing printed yet: the checkpoint itself.
    expect(following('look', null)).toBe('look');
  });

  it("is the step looked back at, or the selected host's, before any of that", () => {
    expect(shownStepIdOf({ history: 'unpack', hostStep: undefined, prompt: IDLE, focusStepId: 'move', lastStepId: 'move', stepOf })).toBe('unpack');
    expect(shownStepIdOf({ history: null, hostStep: null, prompt: IDLE, focusStepId: 'move', lastStepId: 'move', stepOf })).toBeNull();
  });
});
