// Whatever a step does on its host or here, it does only once its start is on disk (the
// snapshot is written in the machine's subscriber, before any effect gets past its first
// await). Each step here copies the session's snapshot as the step sees it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { converse, freshStateDir } from '../support/cli.js';

it('every step acts only once the state that started it is saved', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-saved-'));
  try {
    const stateDir = freshStateDir();
    const runbook = path.join(dir, 'steps.yaml');
    const copy = (name: string) => `cp "$(ls -d '${stateDir}'/sessions/*)/snapshot.json" '${path.join(dir, name)}'`;
    writeFileSync(
      runbook,
      `name: Saved first
phases:
  - name: only
    steps:
${['a', 'b', 'c', 'd', 'e', 'f'].map((id) => `      - local: ${JSON.stringify(copy(`${id}.json`))}\n        id: ${id}\n`).join('')}`,
    );
    const run = converse(['run', runbook, '--plain', '--no-helpers'], () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir });
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const [index, id] of ids.entries()) {
      const seen = JSON.parse(readFileSync(path.join(dir, `${id}.json`), 'utf8')) as { machine: { context: { steps: Record<string, { status: string }> } } };
      const steps = seen.machine.context.steps;
      // This step's start is saved, and so is the end of the one before it.
      expect(steps[id]?.status, `${id}: ${JSON.stringify(steps)}`).toBe('running');
      if (index > 0) expect(steps[ids[index - 1]!]?.status, id).toBe('done');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
