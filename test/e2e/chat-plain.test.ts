// The chat in plain mode: say TEXT at any question, messages printed as they come, a
// sentinel's checkpoint the upgrader cannot confirm for them unless relays are allowed,
// and the chat history there again after a resume.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir, waitForLine } from '../support/cli.js';

function writeRunbook(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-chat-'));
  const file = path.join(dir, 'chat.yaml');
  writeFileSync(
    file,
    `name: Chat drill
phases:
  - name: site
    steps:
      - checkpoint: The upgrader has coffee
      - checkpoint: The modem is in the new dragon
        by: sentinel
`,
  );
  return file;
}

describe('the chat in plain mode', () => {
  it('says, prints, refuses to confirm for the sentinel, and shows the history after a resume', async () => {
    const runbook = writeRunbook();
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
    let said = false;
    const first = converse(
      ['run', runbook, '--plain'],
      (line) => {
        if (/Waiting for the upgrader\. Type yes/.test(line)) {
          if (said) return 'yes';
          said = true;
          return 'say lunch at 13:00 your time?';
        }
        if (/upgrader\): lunch at 13:00 your time\?$/.test(line)) return 'yes';
        if (/Waiting for the sentinel: they confirm with \/ok in the helper channel/.test(line)) return 'yes';
        if (/not accepted .*only the sentinel can confirm for the sentinel/.test(line)) return 'pause';
        return undefined;
      },
      env,
    );
    expect(await first.exited, first.lines.join('\n') + first.stderr()).toBe(4);
    expect(first.lines.join('\n')).toMatch(/^helpers join with: .+ \(or ssh -p \d+ sentinel@127\.0\.0\.1\) · code \d{3}-\d{3}-\d{3}/m);
    // The run's events go to the helpers' chat; the upgrader's own lines say them already.
    expect(first.lines.join('\n')).not.toMatch(/chat: .*confirmed 1\.1/);

    // Resumed with --relay: the chat so far is printed, and the upgrader may record the sentinel's word.
    const second = converse(
      ['resume', '--plain', '--relay'],
      (line) => (/Type yes to confirm \(you record it for the sentinel\)/.test(line) ? 'yes' : undefined),
      env,
    );
    await waitForLine(second, /upgrader\): lunch at 13:00 your time\?$/);
    expect(await second.exited, second.lines.join('\n') + second.stderr()).toBe(0);

    const sessions = path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions');
    const [id] = readdirSync(sessions);
    const journal = readJournal(path.join(sessions, id!, 'journal.jsonl'));
    expect(journal.filter((e) => e.type === 'chat.message').map((e) => (e as unknown as { text: string }).text)).toEqual(['lunch at 13:00 your time?']);
    const confirmations = journal.filter((e) => e.type === 'step.confirmed') as unknown as Array<{ role: string; relayed: boolean }>;
    expect(confirmations.map((c) => [c.role, c.relayed])).toEqual([
      ['upgrader', false],
      ['sentinel', true],
    ]);
    expect(journal.some((e) => e.type === 'step.refused')).toBe(true);
  }, 60_000);
});
