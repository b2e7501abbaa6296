import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { OutputTail } from './hooks.js';
import { OutputPanel } from './output-panel.js';

function panel(total: number): string {
  const lines = Array.from({ length: Math.min(total, 3) }, (_, index) => ({ text: `line ${index + 1}`, stderr: false }));
  const tail: OutputTail = { stepId: null, lines, progress: null, revert: null, total, bytes: total * 7, path: null };
  return stripVTControlCharacters(renderToString(<OutputPanel step={null} tail={tail} width={60} height={5} scroll={0} />, { columns: 60 }));
}

describe('the output panel', () => {
  it('counts the lines in its heading, one line as one', () => {
    expect(panel(1)).toMatch(/ 1 line│/);
    expect(panel(2)).toMatch(/ 2 lines│/);
    expect(panel(250_000)).toMatch(/ 250,000 lines│/);
  });
});
