import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_SESSION, TestJournal } from '../../test/support/test-journal.js';
import { listSessionIds } from './session-lookup.js';
import { capturedValuesOf, latestSessionOf, sessionsGoingAgainFrom, stepStatusesOf } from './session-links.js';

describe('sessions linked by going again', () => {
  let state: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    state = mkdtempSync(path.join(tmpdir(), 'ns-links-'));
    env = { NIGHTSHIFT_STATE_DIR: state };
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  /** A session folder whose journal starts a run of `runbook`, going again from `again` when given. */
  function session(id: string, runbook: { name: string; file: string }, again?: { from: string; session: string | null }) {
    const dir = path.join(state, 'sessions', id);
    mkdirSync(dir, { recursive: true });
    const journal = new TestJournal().add(0, 'run.started', {
      ...TEST_SESSION,
      session: id,
      runbook: { ...runbook, hash: 'f00d' },
      by: { role: 'upgrader', name: 'ana' },
      host: 'laptop',
      pid: 1,
      phases: [],
      steps: [],
      ...(again ? { again } : {}),
    });
    writeFileSync(path.join(dir, 'journal.jsonl'), journal.entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    return dir;
  }

  it('orders two sessions of one second by when they started, not by their random suffix', async () => {
    session('20261205-180546-f000', { name: 'swap', file: '/r/swap.yaml' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    session('20261205-180546-0aaa', { name: 'swap', file: '/r/swap.yaml' });
    session('20261205-180547-0000', { name: 'swap', file: '/r/swap.yaml' });
    expect(listSessionIds(env)).toEqual(['20261205-180546-f000', '20261205-180546-0aaa', '20261205-180547-0000']);
    expect(latestSessionOf({ name: 'swap', file: '/r/swap.yaml' }, undefined, env)).toBe('20261205-180547-0000');
  });

  it('finds the latest session of the same runbook file or name, never another runbook', () => {
    session('20261201-1', { name: 'swap', file: '/r/swap.yaml' });
    session('20261202-1', { name: 'swap', file: '/elsewhere/swap.yaml' });
    session('20261203-1', { name: 'other', file: '/r/other.yaml' });
    expect(latestSessionOf({ name: 'swap', file: '/r/swap.yaml' }, undefined, env)).toBe('20261202-1');
    expect(latestSessionOf({ name: 'renamed', file: '/r/swap.yaml' }, undefined, env)).toBe('20261201-1');
    expect(latestSessionOf({ name: 'new', file: '/r/new.yaml' }, undefined, env)).toBeNull();
  });

  it('finds the sessions that went again from one, by reading the others', () => {
    session('20261201-1', { name: 'swap', file: '/r/swap.yaml' });
    session('20261202-1', { name: 'swap', file: '/r/swap.yaml' }, { from: 'cutover', session: '20261201-1' });
    session('20261203-1', { name: 'swap', file: '/r/swap.yaml' }, { from: 'cutover', session: null });
    expect(sessionsGoingAgainFrom('20261201-1', env)).toEqual(['20261202-1']);
    expect(sessionsGoingAgainFrom('20261202-1', env)).toEqual([]);
  });

  it("reads a session's captured values and step statuses from its saved state, none when it saved none", () => {
    const dir = session('20261201-1', { name: 'swap', file: '/r/swap.yaml' });
    expect(capturedValuesOf(dir)).toEqual({});
    const machine = { status: 'done', context: { values: { root_uuid: 'abc', odd: 3 }, steps: { a: { status: 'done' }, b: { status: 'failed' } } } };
    writeFileSync(path.join(dir, 'snapshot.json'), JSON.stringify({ version: 1, runbookHash: 'f00d', savedAt: '', machine }));
    expect(capturedValuesOf(dir)).toEqual({ root_uuid: 'abc' });
    expect(stepStatusesOf(dir)).toEqual({ a: 'done', b: 'failed' });
  });
});
