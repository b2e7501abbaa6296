import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchFolders } from '../../test/support/scratch-folder.js';
import { scriptedInteraction } from '../../test/support/ssh-pool.js';
import { waitFor } from '../../test/support/wait-for.js';
import { HostPool } from '../remote/host-pool.js';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { createRun, type Run } from '../runner/run.js';
import { createSession } from '../store/session.js';
import { App } from './app.js';
import { Questions } from './questions.js';

const scratch = scratchFolders();

/** A run of one local step that fails, in its own state folder. */
function failingRun(): Run {
  const dir = scratch('nightshift-app-hints-');
  const file = path.join(dir, 'runbook.yaml');
  const text = 'name: hints\nphases:\n  - name: one\n    steps:\n      - title: fails every time\n        local: "exit 1"\n';
  writeFileSync(file, text);
  const runbook = parseRunbook(text, file);
  const session = createSession(runbook, { runbookFile: file, vars: {}, connect: {} }, { NIGHTSHIFT_STATE_DIR: path.join(dir, 'state') });
  return createRun({ runbook, hosts: new HostPool({}, { interaction: scriptedInteraction() }), session });
}

describe('the keys offered under a prompt', () => {
  let done: (() => Promise<void>) | undefined;
  afterEach(async () => done?.());

  it('are those of the machine as drawn, also while the live machine is a frame ahead', async () => {
    const run = failingRun();
    const questions = new Questions();
    const app = () => <App run={run} questions={questions} onLeave={() => {}} />;
    const view = render(app());
    done = async () => {
      view.unmount();
      await run.stop();
    };
    run.start();
    const stepId = allSteps(run.runbook)[0]!.id;
    await waitFor(() => /FAILED ·/.test(view.lastFrame() ?? ''), { timeoutMs: 10_000 });
    expect(view.lastFrame()).toMatch(/r retry · s skip \(with a reason\)/);

    // The retry starts at once; the failure stays drawn until the next frame. A frame drawn
    // meanwhile (a key, a clock tick) still shows the failure, and offers its keys.
    run.send({ type: 'RETRY', stepId, by: run.upgrader });
    expect(run.whyNot({ type: 'RETRY', stepId, by: run.upgrader })).not.toBeNull();
    view.rerender(app());
    const frame = view.lastFrame() ?? '';
    expect(frame).toMatch(/FAILED · 1\.1 fails every time/);
    expect(frame).toMatch(/r retry · s skip \(with a reason\)/);
  });
});
