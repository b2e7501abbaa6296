import { describe, expect, it } from 'vitest';
import { TEST_SESSION, TestJournal } from '../../test/support/test-journal.js';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-markdown.js';
import { sessionRecordOf } from './session-record.js';

const paths = { sessionDir: '/state/sessions/20261204-070000-abcd' };
const ana = { role: 'upgrader', name: 'ana' };

/** A rollout over vm1..vm3 (a canary, then a batch of two) where vm3 failed at 2.2 and was skipped; `evil` names vm3 otherwise. */
function rolloutJournal(vm3 = 'vm3') {
  const step = (host: string, base: number, title: string) => ({
    id: `update-${base}@${host}`,
    number: `1.${base}@${host}`,
    phase: 'update',
    title,
    kind: 'run',
    place: `on ${host}`,
    command: 'apt-get -y upgrade',
  });
  const hosts = ['vm1', 'vm2', vm3];
  const journal = new TestJournal()
    .add(0, 'run.started', {
      ...TEST_SESSION,
      by: ana,
      host: 'laptop',
      pid: 4242,
      phases: [{ name: 'update', title: 'Update the guests' }],
      steps: hosts.flatMap((host) => [step(host, 1, 'refresh the package lists'), step(host, 2, 'install the updates')]),
    })
    .add(1, 'batch.started', { phase: 'update', batch: 1, hosts: ['vm1'], canary: true })
    .add(1, 'host.started', { phase: 'update', host: 'vm1', batch: 1 })
    .add(61, 'host.finished', { phase: 'update', host: 'vm1', outcome: 'done' })
    .add(61, 'batch.finished', { phase: 'update', batch: 1, done: ['vm1'], failed: [] })
    .add(90, 'batch.started', { phase: 'update', batch: 2, hosts: ['vm2', vm3], canary: false })
    .add(90, 'host.started', { phase: 'update', host: 'vm2', batch: 2 })
    .add(90, 'host.started', { phase: 'update', host: vm3, batch: 2 })
    .add(91, 'step.started', { stepId: `update-2@${vm3}`, attempt: 1 })
    .add(95, 'step.finished', { stepId: `update-2@${vm3}`, status: 'failed', exitCode: 100, error: 'exited with status 100', durationMs: 4000 })
    .add(120, 'decision', { stepId: null, action: 'skip-host', by: ana, reason: 'disk full, look tomorrow', host: vm3 })
    .add(120, 'host.finished', { phase: 'update', host: vm3, outcome: 'skipped', reason: 'disk full, look tomorrow' })
    .add(150, 'host.finished', { phase: 'update', host: 'vm2', outcome: 'done' })
    .add(150, 'batch.finished', { phase: 'update', batch: 2, done: ['vm2'], failed: [vm3] })
    .add(150, 'rollout.halted', { phase: 'update', batch: 2, failed: [vm3], maxFail: 0, reason: '1 host failed, more than max_fail 0' })
    .add(160, 'run.finished', { outcome: 'paused' });
  return sessionRecordOf({ entries: journal.entries });
}

describe('the report of a rollout', () => {
  it('reads each host’s outcome, the step it failed at, and each batch’s times', () => {
    const record = rolloutJournal();
    expect(record.rollouts).toHaveLength(1);
    const rollout = record.rollouts![0]!;
    expect(rollout.hosts.map((host) => [host.host, host.batch, host.outcome])).toEqual([
      ['vm1', 1, 'done'],
      ['vm2', 2, 'done'],
      ['vm3', 2, 'skipped'],
    ]);
    expect(rollout.hosts[2]).toMatchObject({ reason: 'disk full, look tomorrow', failedStep: { stepId: 'update-2@vm3', error: 'exited with status 100' } });
    expect(rollout.batches.map((batch) => [batch.batch, batch.canary, batch.endedAt! - batch.startedAt])).toEqual([
      [1, true, 60_000],
      [2, false, 60_000],
    ]);
    expect(rollout.batches[1]!.halted?.reason).toBe('1 host failed, more than max_fail 0');
    expect(record.decisions[0]).toMatchObject({ action: 'skip-host', host: 'vm3' });
  });

  it('has a table of hosts and a timeline per batch in Markdown and HTML', () => {
    const record = rolloutJournal();
    const markdown = reportMarkdown(record, new Map(), paths);
    expect(markdown).toContain('## Rollout of phase update');
    expect(markdown).toContain('3 hosts: 2 done, 0 failed, 0 fell back, 1 skipped.');
    expect(markdown).toContain('| vm3 | 2 | skipped | 1.2@vm3 install the updates: exited with status 100 | disk full, look tomorrow | 30s |');
    expect(markdown).toContain('| vm1 | 1 | done |  |  | 1m |');
    expect(markdown).toMatch(/\| canary batch 1\/2: vm1 \| 1 done \| [^|]+ \| [^|]+ \| 1m \|/);
    expect(markdown).toMatch(/\| batch 2\/2: vm2 vm3 \| 1 done, 1 failed \(vm3\); the rollout halted: 1 host failed, more than max\\_fail 0 \|/);
    expect(markdown).toContain('| host vm3 | skip-host | ana (upgrader) | disk full, look tomorrow |');
    const page = reportHtml(record, new Map(), paths);
    expect(page).toContain('<h2>Rollout of phase update</h2>');
    expect(page).toContain('<tr class="host-skipped"><td>vm3</td><td>2</td><td>skipped</td><td>1.2@vm3 install the updates: exited with status 100</td>');
    expect(page).toContain('<td>canary batch 1/2: vm1</td><td>1 done</td>');
    expect(page).toContain('the rollout halted: 1 host failed, more than max_fail 0');
  });

  it('shows a hostile host name as text in both formats', () => {
    const evil = 'vm3\u001b]0;owned\u0007<img src=x>|*';
    const record = rolloutJournal(evil);
    const markdown = reportMarkdown(record, new Map(), paths);
    const page = reportHtml(record, new Map(), paths);
    for (const text of [markdown, page]) {
      expect(text).not.toContain('\u001b');
      expect(text).not.toContain('<img');
    }
    expect(markdown).toContain('| vm3^\\[\\]0;owned^G&lt;img src=x&gt;\\|\\* | 2 | skipped |');
    expect(page).toContain('<td>vm3^[]0;owned^G&lt;img src=x&gt;|*</td>');
  });
});
