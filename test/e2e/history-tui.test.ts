// Looking back in the full-screen view, in a real terminal: j and k select a finished step
// and the output panel shows what it printed, every attempt, from its logs; End follows the
// run again; a step's number typed shows it too. At 140x45 and at 80x24.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

describe.skipIf(!tmuxAvailable())('looking back at a finished step', () => {
  const runs = tuiRuns('ns-history-tui-');

  it.each([
    [140, 45],
    [80, 24],
  ])(
    'at %ix%i: k and j select steps, their output comes back with every attempt, End follows the run',
    async (cols, rows) => {
      const mark = path.join(runs.dir, `tried-${cols}`);
      const term = runs.start(
        [
          'name: look back',
          'phases:',
          '  - name: prepare',
          '    steps:',
          '      - local: for part in usr var srv; do echo "unpacked /$part"; done',
          '        title: unpack',
          `      - local: if [ -f ${mark} ]; then echo second try works; else echo first try fails; touch ${mark}; exit 3; fi`,
          '        title: flaky',
          '      - checkpoint: the parts are in place',
          '',
        ].join('\n'),
        { cols, rows },
      );
      await term.waitFor(/FAILED · 1\.2/, 20_000, 'the failed step');
      term.keys('r');
      await term.waitFor(/CHECKPOINT · 1\.3/, 20_000, 'the checkpoint');
      expect(term.screen()).not.toContain('looking back');

      // The output panel's lines, in order (the runbook panel shares their rows on the left).
      const inOrder = (screen: string, texts: string[]) => {
        const rows = texts.map((text) => screen.split('\n').findIndex((line) => line.includes(text)));
        return rows.every((row, index) => row >= 0 && (index === 0 || row > rows[index - 1]!));
      };
      // The checkpoint prints nothing: the panel shows the step before it, as it ran last.
      let screen = term.screen();
      expect(screen).toMatch(/│1\.2 flaky \(locally\) /);
      expect(screen).toContain('second try works');
      expect(screen).not.toContain('attempt 1 of');

      term.keys('k');
      screen = await term.waitFor((text) => inOrder(text, ['unpacked /usr', 'unpacked /var', 'unpacked /srv']), 5000, "the first step's output");
      expect(screen).toMatch(/│1\.1 unpack \(locally\) +looking back · End follows│/);
      expect(screen).not.toContain('attempt 1 of');

      term.keys('j');
      const attempts = ['── attempt 1 of 2 ──', 'first try fails', '── attempt 2 of 2 ──', 'second try works'];
      screen = await term.waitFor((text) => text.includes('looking back') && inOrder(text, attempts), 5000, 'the step before the checkpoint, both attempts');
      expect(screen).toMatch(/│1\.2 flaky \(locally\) +looking back · End follows│/);

      term.keys('End');
      screen = await term.waitFor((text) => !text.includes('looking back') && !text.includes('attempt 1 of'), 5000, 'the run followed again');
      expect(screen).toMatch(/the parts are in place/);
      expect(screen).toContain('second try works');

      // A step by its number: a digit starts the field.
      term.type('1.1');
      await term.waitFor(/Look back at step/, 5000, 'the number field');
      term.keys('Enter');
      screen = await term.waitFor((text) => inOrder(text, ['unpacked /usr', 'unpacked /var', 'unpacked /srv']), 5000, 'step 1.1 by its number');
      expect(screen).toMatch(/│1\.1 unpack \(locally\) +looking back · End follows│/);
      term.type('9');
      term.keys('Enter');
      await term.waitFor(/there is no step 9: type a number as the runbook panel shows it/, 5000, 'a number that is no step');
      term.keys('End');
      await term.waitFor((text) => !text.includes('looking back'), 5000, 'the run followed again');

      term.keys('y');
      await term.waitFor(/The run completed/, 20_000, 'the end of the run');
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
    },
    90_000,
  );
});
