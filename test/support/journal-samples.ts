// One entry of every journal entry type, as the program writes it: for the schema's tests
// and for tests that need a journal without running a runbook. The engine's entries are
// typed by engine/events.ts, so a field the engine adds shows up here first.
import type { EngineEmitted } from '../../src/engine/events.js';
import type { EntryFields, EntryType } from '../../src/store/journal.js';

const ana = { role: 'upgrader', name: 'ana' };
const mei = { role: 'sentinel' as const, name: 'mei' };
const started = {
  session: '20261203-030000-abcd',
  runbook: { name: 'Gateway swap', file: '/runbooks/gateway-swap.yaml', hash: 'f00d' },
  sites: { upgrader: { name: 'Massachusetts office', tz: 'America/New_York' }, site: { name: 'Taipei office', tz: 'Asia/Taipei' } },
  by: ana,
  host: 'laptop',
  pid: 4242,
};

type EngineFields = { [T in EngineEmitted['type']]: Omit<Extract<EngineEmitted, { type: T }>, 'type' | 'at'> };

/** Every variant of EngineEmitted, as the engine emits it (less `at`). */
export const ENGINE_SAMPLES: EngineFields = {
  'step.started': { stepId: 'a', attempt: 1 },
  'step.waiting': { stepId: 'a', for: 'confirmation', roles: ['sentinel'] },
  'step.approved': { stepId: 'a', by: { role: 'upgrader', name: 'ana' } },
  'step.confirmed': { stepId: 'a', role: 'sentinel', by: mei, relayed: false },
  'step.refused': { stepId: null, action: 'FALLBACK', by: { role: 'observer', name: 'obs' }, reason: 'an observer may not decide' },
  'step.held': { stepId: 'a', why: 'no sentinel has joined' },
  'step.released': { stepId: 'a' },
  'step.finished': { stepId: 'a', status: 'failed', exitCode: null, error: 'Lost dolphin', durationMs: 1200 },
  'step.skipped': { stepId: 'a', by: { role: 'upgrader', name: 'ana' }, reason: 'done by hand' },
  'step.checked': { stepId: 'a', exitCode: 0 },
  decision: { stepId: 'a', action: 'reattach', by: { role: 'upgrader', name: 'ana' }, attempt: 1 },
  'attempt.checked': { stepId: 'a', attempt: 1, state: 'ended', exitCode: 0 },
  'value.captured': { stepId: 'a', name: 'root_uuid', value: '0b1c2d3e-aaaa-bbbb-cccc-123456789abc' },
  'step.found-done': { stepId: 'a', output: 'UUID=0b1c2d3e-aaaa-bbbb-cccc-123456789abc / ext4 defaults 0 1' },
  'edit.prepared': { stepId: 'a', path: '/etc/hostname', changed: true, diff: '--- /etc/hostname\n+++ /etc/hostname\n@@ -1 +1 @@\n-dragon-old\n+dragon\n' },
  'fallback.started': { by: { role: 'upgrader', name: 'ana' }, reason: 'no route', fromStepId: 'a', scope: 'swap' },
  'run.finished': { outcome: 'completed' },
  'batch.started': { phase: 'update', batch: 1, hosts: ['vm1'], canary: true },
  'batch.finished': { phase: 'update', batch: 2, done: ['vm2'], failed: ['vm3'] },
  'host.started': { phase: 'update', host: 'vm2', batch: 2 },
  'host.finished': { phase: 'update', host: 'vm3', outcome: 'fell-back', reason: 'apt-get exited with status 100' },
  'rollout.halted': { phase: 'update', batch: 2, failed: ['vm3'], maxFail: 0, reason: '1 host failed, more than max_fail 0' },
};

/** One entry of every type the journal knows. */
export const ENTRY_SAMPLES: { [T in EntryType]: EntryFields<T> } = {
  ...ENGINE_SAMPLES,
  'run.started': {
    ...started,
    phases: [{ name: 'restore', title: 'Restore root' }],
    steps: [{ id: 'a', number: '1.1', phase: 'restore', title: 'Restore root', kind: 'run', place: 'on dolphin', command: 'tar -xzf root.tar.gz' }],
    again: { from: 'restore', session: '20261202-231500-ab12' },
  },
  'session.resumed': { ...started, stepId: 'a', interrupted: true },
  'session.paused': { by: ana, reason: 'lunch', stepId: null },
  'session.closed': { outcome: 'interrupted' },
  'host.state': { host: 'dolphin', state: 'reconnecting', error: 'read ECONNRESET' },
  'output.closed': { stepId: 'a', attempt: 1, file: 'output/a.1.log', bytes: 10, lines: 2 },
  'shell.opened': { host: 'dragon', where: 'ana@192.0.2.1', by: ana, stepId: 'a', file: 'shells/1-dragon.log', cast: 'shells/1-dragon.cast' },
  'shell.closed': { host: 'dragon', file: 'shells/1-dragon.log', exitCode: 0, cut: false, bytes: 1200, durationMs: 65_000 },
  'journal.torn': { line: 7, text: '{"seq":7,' },
  'journal.invalid': { entrySeq: 3, entryType: 'step.started', problem: 'attempt: expected number' },
  'snapshot.failed': { file: '/s/snapshot.json', error: 'ENOSPC: no space left on device', lastSavedAt: null, fromSeq: 3 },
  'snapshot.recovered': { file: '/s/snapshot.json', failures: 2 },
  'snapshot.stale-accepted': { savedAt: '2026-12-03T02:59:00.000Z', steps: ['a'] },
  'runbook.changed': { hash: 'beef', previous: 'f00d', changes: [{ kind: 'changed', stepId: 'a' }] },
  'host.facts': {
    host: 'dolphin',
    facts: { systemd: true, cpus: 2, distro: 'debian', distro_like: '', distro_version: '12', kernel: '6.1.0-18-amd64', arch: 'x86_64' },
  },
  'revert.armed': { stepId: 'a', attempt: 1, host: 'dolphin', how: 'systemd-run', deadline: 1, afterMs: 60_000 },
  'revert.disarmed': { stepId: 'a', attempt: 1, host: 'dolphin' },
  'revert.kept': { stepId: 'a', attempt: 1, host: 'dolphin', deadline: 1, why: 'the step failed' },
  'revert.unconfirmed': { stepId: 'a', attempt: 1, host: 'dolphin', deadline: 1, error: 'timed out' },
  'revert.fired': { stepId: 'a', attempt: 1, host: 'dolphin', firedAt: 2, exitCode: 0 },
  'revert.unseen': { stepId: 'a', attempt: 1, host: 'dolphin', deadline: 1 },
  'guard.armed': { guard: 'swap', host: 'dolphin', how: 'sleeper 42', deadline: 1, afterMs: 600_000 },
  'guard.extended': { guard: 'swap', host: 'dolphin', deadline: 2 },
  'guard.committed': { guard: 'swap', host: 'dolphin' },
  'guard.fired': { guard: 'swap', host: 'dolphin', by: 'deadline', firedAt: 3, exitCode: 0 },
  'guard.spare-up': { guard: 'swap', host: 'dolphin', port: 2022, server: 'openssh /usr/sbin/sshd' },
  'guard.spare-stopped': { guard: 'swap', host: 'dolphin' },
  'reboot.prepared': { stepId: 'a', attempt: 1, host: 'dolphin', bootId: 'b1' },
  'reboot.down': { stepId: 'a', host: 'dolphin' },
  'reboot.back': { stepId: 'a', host: 'dolphin', bootId: 'b2', hostname: 'dolphin' },
  'reboot.verified': { stepId: 'a', host: 'dolphin', bootId: 'b2', hostname: 'dolphin', root: '/dev/vda2', uuid: 'u' },
  'reboot.abandoned': { stepId: 'a', host: 'dolphin', reason: 'another system booted' },
  'helper.joined': { role: 'sentinel', id: 'mei', from: '127.0.0.1' },
  'helper.left': { role: 'sentinel', id: 'mei' },
  'helper.failed': { id: 'mei', message: 'boom' },
  'helper.refused': { username: 'root', reason: 'unknown-user', from: '127.0.0.1' },
  'helper.locked': { until: 1, failures: 5 },
  'helper.crowded': { limit: 8, refused: 3 },
  'helper.unlocked': { reason: 'expired' },
  'helper.code-changed': { reason: 'used' },
  'helper.tunnel-refused': { host: 'dragon', addresses: ['0.0.0.0'], error: 'refused' },
  'chat.joined': { id: 'mei', name: 'mei', role: 'sentinel' },
  'chat.left': { id: 'mei', name: 'mei', role: 'sentinel' },
  'chat.message': { from: mei, text: 'cable moved', tz: 'Asia/Taipei' },
  'chat.away': { id: 'mei', name: 'mei', role: 'sentinel', minutes: 10, reason: 'lunch' },
  'chat.back': { id: 'mei', name: 'mei', role: 'sentinel' },
  'chat.refused': { id: 'mei', name: 'mei', role: 'sentinel', reason: 'too-fast', refused: 2 },
  'chat.renamed': { id: 'mei', from: 'mei', to: 'mei2', role: 'sentinel' },
  'chat.broadcast': { where: 'wall on dragon', text: 'nightshift: waiting' },
};

/** The fields of a sample entry of `type`. */
export function sample<T extends EntryType>(type: T): EntryFields<T> {
  return structuredClone(ENTRY_SAMPLES[type]);
}
