import chalk from 'chalk';
import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../engine/events.js';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { PromptPanel } from './prompt-panel.js';
import { RunbookPanel } from './runbook-panel.js';

const runbook = parseRunbook(
  `name: Swap
hosts:
  new: {}
phases:
  - name: swap
    steps:
      - run: ip addr add
        host: new
        title: add the address
        on_fail: fallback
    fallback:
      - run: ip addr del
        host: new
        title: take the address away
  - name: after
    steps:
      - note: done
fallback:
  - local: swap back
    title: swap everything back
`,
  'swap.yaml',
);

describe('the runbook panel', () => {
  it("shows a phase's own fallback under that phase, before the next phase and the runbook's fallback", () => {
    const steps: Record<string, StepRecord> = Object.fromEntries(
      allSteps(runbook).map((step) => [step.id, { status: 'pending', attempts: 0, confirmations: [] } satisfies StepRecord]),
    );
    steps['swap-fallback-1'] = { status: 'running', attempts: 1, confirmations: [], startedAt: 0 };
    const text = stripVTControlCharacters(
      renderToString(<RunbookPanel runbook={runbook} steps={steps} focusId="swap-fallback-1" width={60} height={12} now={1000} />, { columns: 60 }),
    );
    const lines = text.split('\n');
    const row = (pattern: RegExp) => {
      const index = lines.findIndex((line) => pattern.test(line));
      expect(index, `${pattern} in\n${text}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    expect(row(/1 swap/)).toBeLessThan(row(/1\.1 add the address/));
    expect(row(/1\.1 add the address/)).toBeLessThan(row(/↩ fallback of swap/));
    expect(row(/↩ fallback of swap/)).toBeLessThan(row(/1\.F1 take the address away/));
    expect(row(/1\.F1 take the address away/)).toBeLessThan(row(/2 after/));
    expect(row(/2 after/)).toBeLessThan(row(/F1 swap everything back/));
  });

  it('marks the selected step and the text cursor in shapes when colours are off, where inverse and bold do not show', () => {
    const steps: Record<string, StepRecord> = Object.fromEntries(
      allSteps(runbook).map((step) => [step.id, { status: 'pending', attempts: 0, confirmations: [] } satisfies StepRecord]),
    );
    const draw = () => {
      const panel = renderToString(<RunbookPanel runbook={runbook} steps={steps} focusId="swap-1" width={60} height={12} now={1000} />, { columns: 60 });
      const prompt = renderToString(
        <PromptPanel
          prompt={{ kind: 'question', question: { kind: 'passphrase', keyFile: '/k', retry: false, answer: () => {} }, typing: true }}
          hints={[]}
          text="abc"
          message={null}
          width={60}
        />,
        { columns: 60 },
      );
      return { panel: stripVTControlCharacters(panel), prompt: stripVTControlCharacters(prompt) };
    };
    const level = chalk.level;
    try {
      chalk.level = 0;
      const plain = draw();
      expect(plain.panel).toMatch(/▸· 1\.1 add the address/);
      expect(plain.panel).not.toMatch(/▸· 1\.F1/);
      expect(plain.prompt).toContain('> ***_');
      chalk.level = 3;
      const coloured = draw();
      expect(coloured.panel).not.toContain('▸');
      expect(coloured.prompt).not.toContain('***_');
    } finally {
      chalk.level = level;
    }
  });
});
