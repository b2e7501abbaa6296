import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../remote/types.js';
import { parseRunbook } from '../runbook/load.js';
import { StatusBar } from './status-bar.js';

const runbook = parseRunbook(
  `name: Swap
sites:
  upgrader: { name: Boston, tz: America/New_York }
  site: { name: Taipei, tz: Asia/Taipei }
hosts:
  dragon: {}
  dolphin: {}
  elephant: {}
phases:
  - name: look
    steps:
      - run: uptime
        host: dragon
`,
  'swap.yaml',
);

// Sunday 18:15 in Boston is Monday 07:15 in Taipei.
const NOW = Date.UTC(2026, 10, 29, 23, 15, 0);

function hosts(): Record<string, ConnectionState> {
  return {
    dragon: { state: 'connected', since: NOW - 60_000 },
    // Two logins have failed since the link dropped; the third is due in 4.2 s.
    dolphin: { state: 'reconnecting', since: NOW - 20_000, attempt: 2, nextTryAt: NOW + 4200, error: 'connect ECONNREFUSED' },
    elephant: { state: 'lost', since: NOW - 5000, error: 'no login within 5m' },
  };
}

/** The bar as a terminal `width` columns wide shows it (ink-testing-library's terminal is only 100 wide). */
function bar(props: { now: number; width: number; helpers?: string }): string {
  const frame = renderToString(<StatusBar sessionId="20261129-231500-ab12" runbook={runbook} hosts={hosts()} {...props} />, { columns: props.width });
  return stripVTControlCharacters(frame);
}

describe('the status bar', () => {
  it('spells out a reconnecting host (attempt, seconds to the next try) and a lost one; both sites with clocks', () => {
    expect(bar({ now: NOW, width: 160 })).toBe(
      '20261129-231500-ab12  ● dragon  ↻ dolphin reconnecting (attempt 3 in 5s)  ✗ elephant lost'.padEnd(160 - 42) +
        'Boston Sun 18:15  Taipei Mon 07:15  ? keys',
    );
    // The countdown follows the clock it is given, and never goes below zero.
    expect(bar({ now: NOW + 1000, width: 160 })).toContain('↻ dolphin reconnecting (attempt 3 in 4s)');
    expect(bar({ now: NOW + 9000, width: 160 })).toContain('↻ dolphin reconnecting (attempt 3 in 0s)');
  });

  it('says a host is reached through its spare way in', () => {
    const through = { dragon: { state: 'connected' as const, since: NOW, through: 'the spare way in on port 1022 (the main port: connection refused)' } };
    const frame = stripVTControlCharacters(
      renderToString(<StatusBar sessionId="20261129-231500-ab12" runbook={runbook} hosts={through} now={NOW} width={160} />, { columns: 160 }),
    );
    expect(frame).toMatch(/^20261129-231500-ab12 {2}● dragon via spare {2}/);
  });

  it('keeps the hosts before the join code when room is short, but never hides a lockout', () => {
    const coded = bar({ now: NOW, width: 140, helpers: 'code 123-456-789 · port 40000' });
    expect(coded).toMatch(
      /^20261129-231500-ab12  ● dragon  ↻ dolphin reconnecting \(attempt 3 in 5s\)  ✗ elephant lost\s+Boston Sun 18:15  Taipei Mon 07:15  \? keys$/,
    );
    // With room for all of it, the code follows the hosts whole; a column less and it is left out.
    const code = 'code 123-456-789 · port 40000';
    const whole = `20261129-231500-ab12  ● dragon  ↻ dolphin reconnecting (attempt 3 in 5s)  ✗ elephant lost  ${code}  Boston Sun 18:15  Taipei Mon 07:15  ? keys`;
    expect(bar({ now: NOW, width: [...whole].length, helpers: code })).toBe(whole);
    expect(bar({ now: NOW, width: [...whole].length - 1, helpers: code })).not.toContain('code');

    const lockout = 'helpers LOCKED OUT until 18:20 (too many wrong codes) · /code in the chat makes a new one';
    const locked = bar({ now: NOW, width: 180, helpers: lockout });
    expect(locked).toContain(lockout);
    expect(locked).toMatch(/^20261129-231500-ab12  ● dragon/);
    expect(locked).toMatch(/Boston Sun 18:15  Taipei Mon 07:15  \? keys$/);
  });

  it('counts the hundreds of hosts by state when they do not fit, naming those in trouble first', () => {
    const many: Record<string, ConnectionState> = {};
    for (let index = 1; index <= 200; index++) many[`h${index}`] = { state: index <= 20 ? 'connected' : 'idle', since: NOW };
    many['h150'] = { state: 'lost', since: NOW - 5000, error: 'no login within 5m' };
    const frame = stripVTControlCharacters(
      renderToString(<StatusBar sessionId="20261129-231500-ab12" runbook={runbook} hosts={many} now={NOW} width={140} />, { columns: 140 }),
    );
    expect(frame).toMatch(/^20261129-231500-ab12  ✗ h150 lost  ● 20 connected  ○ 179 idle\s+Boston Sun 18:15  Taipei Mon 07:15  \? keys$/);
  });

  it('never wraps on a narrow terminal: the clocks give way first, and the session id is whole or not there', () => {
    const wide = parseRunbook(
      'name: Swap\nsites:\n  upgrader: { name: Massachusetts office, tz: America/New_York }\n  site: { name: Taipei office, tz: Asia/Taipei }\nhosts:\n  dragon: {}\nphases:\n  - name: look\n    steps:\n      - run: uptime\n        host: dragon\n',
      'swap.yaml',
    );
    const draw = (width: number) =>
      stripVTControlCharacters(
        renderToString(
          <StatusBar sessionId="20261129-231500-ab12" runbook={wide} hosts={{ dragon: { state: 'connected', since: NOW } }} now={NOW} width={width} />,
          {
            columns: width,
          },
        ),
      );
    expect(draw(120)).toMatch(/^20261129-231500-ab12  ● dragon +Massachusetts office Sun 18:15  Taipei office Mon 07:15  \? keys$/);
    for (const width of [100, 80, 60, 40, 30]) {
      const line = draw(width);
      expect(line.split('\n'), `at ${width}`).toHaveLength(1);
      expect([...line].length, `at ${width}`).toBeLessThanOrEqual(width);
      // The id whole, or none of it.
      expect(line.includes('20261129-231500-ab12') || !line.includes('20261129'), line).toBe(true);
      expect(line, `at ${width}`).toMatch(/18:15 .*07:15/);
    }
    expect(draw(80)).toMatch(/^20261129-231500-ab12  ● dragon +Massachusetts office 18:15  Taipei office 07:15$/);
  });
});
