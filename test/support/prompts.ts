// A runbook with a step of each kind a prompt is about, for the prompt and key map tests.
import { parseRunbook } from '../../src/runbook/load.js';
import { allSteps, type Step } from '../../src/runbook/types.js';

export const PROMPT_RUNBOOK = parseRunbook(
  `name: prompts
hosts:
  dragon: {}
phases:
  - name: all
    steps:
      - run: make-partitions
        host: dragon
        id: parts
        destructive: disk0
      - checkpoint: the modem is in
        id: modem
        by: upgrader
      - checkpoint: type the word
        id: typed
        by: upgrader
        confirm: dragon
      - checkpoint: the lights are green
        id: lights
        by: sentinel
      - reboot: dragon
        id: boot
fallback:
  - run: restore
    host: dragon
`,
  'rb.yaml',
);

export const stepOf = (id: string): Step => allSteps(PROMPT_RUNBOOK).find((step) => step.id === id)!;
