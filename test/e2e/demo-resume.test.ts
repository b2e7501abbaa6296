// kill -9 at random moments of a demo-lab run, resumed each time: the lab comes back on
// the machines it left, and the session ends as an uninterrupted one does.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir, killAndResume, testSeed, typedAnswer } from '../support/cli.js';
import { journalStory } from '../support/journal-story.js';

function sessionDirOf(stateDir: string): string {
  const sessions = path.join(stateDir, 'sessions');
  const [id] = readdirSync(sessions);
  return path.join(sessions, id!);
}

/** Types what is asked; a step interrupted by the kill is run again; a failure pauses (and fails the test). */
const answers = (line: string) => {
  if (/Answer retry \(run it again\)/.test(line)) return 'retry';
  if (/Answer retry/.test(line)) return 'pause';
  return typedAnswer(line);
};

/** The demo's steps that run on this machine (a kill interrupts them; they are run again). */
const LOCAL_STEPS = new Set(['prepare-2']);

describe('nightshift demo killed and resumed', () => {
  it('kill -9 at random moments, resumed each time, ends as an uninterrupted demo does', async () => {
    const referenceState = freshStateDir();
    const whole = converse(['demo', '--plain'], answers, { NIGHTSHIFT_STATE_DIR: referenceState });
    expect(await whole.exited, whole.lines.join('\n') + whole.stderr()).toBe(0);
    const expected = journalStory(sessionDirOf(referenceState));

    const stateDir = freshStateDir();
    const env = { NIGHTSHIFT_STATE_DIR: stateDir };
    const first = converse(['demo', '--plain'], answers, env);
    const seed = testSeed();
    const { last: run, kills } = await killAndResume(first, () => converse(['resume', '--plain'], answers, env), {
      rounds: 6,
      minMs: 100,
      maxMs: 1400,
      seed,
    });
    const code = await run.exited;
    const story = `seed ${seed}, kills after ${kills.join(', ')} ms\n${run.lines.join('\n')}\n${run.stderr()}`;
    // A kill that lands after the session closed (the run had finished, the process not yet
    // exited) leaves nothing to resume: then the journal must say it completed.
    const finishedBeforeTheKill = code === 1 && /There is no paused or interrupted session/.test(run.stderr());
    if (finishedBeforeTheKill) {
      const closing = readJournal(path.join(sessionDirOf(stateDir), 'journal.jsonl')).at(-1);
      expect(closing, story).toMatchObject({ type: 'session.closed', outcome: 'completed' });
    } else expect(code, story).toBe(0);
    expect(kills.length, 'the demo ended before any kill: nothing was tested').toBeGreaterThan(0);

    const dir = sessionDirOf(stateDir);
    const entries = readJournal(path.join(dir, 'journal.jsonl'));
    const actual = journalStory(dir);
    expect(actual.events, story).toEqual(expected.events);
    expect(actual.outputs, story).toEqual(expected.outputs);
    // Every remote step is a detached command or a wait: followed again after a kill, never run again.
    const remote = Object.keys(expected.outputs).filter((stepId) => !LOCAL_STEPS.has(stepId));
    for (const stepId of remote) expect(actual.attempts[stepId], `${stepId}: ${story}`).toEqual([1]);
    expect(entries.filter((entry) => entry.type === 'session.resumed').length).toBeGreaterThanOrEqual(1);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    // One session all along, and its temporary lab went with it once it finished (unless
    // the last kill came while the lab was being taken down, after the session closed).
    expect(entries.filter((entry) => entry.type === 'run.started')).toHaveLength(1);
    const meta = JSON.parse(readFileSync(path.join(dir, 'session.json'), 'utf8')) as { demo: { labDir: string } };
    if (!finishedBeforeTheKill) expect(existsSync(meta.demo.labDir), story).toBe(false);
  }, 180_000);
});
