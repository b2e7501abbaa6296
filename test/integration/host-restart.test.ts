// A host that restarts under a detached step: the real sshd reads its boot id from a file
// bind-mounted over /proc/sys/kernel/random/boot_id in its own mount namespace. A "restart" is
// what the scripts see of a real one: every link gone, a new boot id, and the command's
// processes dead. The step must say that the host restarted and the command died with it,
// not that the link dropped and the command went on, and must not start it again.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('a host that restarts under a detached step', () => {
  const host = withSshd({ fakeBootId: true, home: {} }, { pool: true });

  it('fails the step saying the host restarted and the command died with it; it is not started again', async () => {
    const runId = `restart-${randomBytes(4).toString('hex')}/restore.1`;
    const folder = path.join(host.sshd.homeDir, '.local/state/nightshift/runs', runId);
    const starts = path.join(host.sshd.homeDir, `starts-${runId.replace('/', '-')}`);
    let stdout = '';
    const notices: string[] = [];
    const bootBefore = host.sshd.bootId();
    const running = host.pool.runDetached('dragon', `echo started >> ${starts}; echo before; sleep 60; echo after`, {
      runId,
      onStdout: (chunk) => (stdout += chunk.toString()),
      onStderr: () => {},
      onNotice: (text) => notices.push(text),
    });
    const outcome = running.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await waitFor(() => stdout === 'before\n', { what: 'the first line' });
    expect(readFileSync(path.join(folder, 'boot'), 'utf8').trim()).toBe(bootBefore);

    // The restart: a new boot id, every link dropped, the command gone with the old boot. The
    // links go first: a real restart takes the follower on the host with them, while one left
    // alive would see the command killed and report its missing status on the old link.
    const bootAfter = randomUUID();
    const group = -Number(readFileSync(path.join(folder, 'pid'), 'utf8').trim());
    host.sshd.setBootId(bootAfter);
    host.sshd.dropConnections();
    process.kill(group, 'SIGKILL');

    expect(await outcome).toBe(
      `dragon restarted while the command ran (boot id ${bootBefore} then, ${bootAfter} now): the command died with it and is not started again; see what it did before going on.`,
    );
    expect(notices).toEqual([
      expect.stringMatching(/^nightshift: the link to dragon dropped; reconnecting to follow the command on from byte 7 of stdout/),
      'nightshift: reconnected to dragon',
    ]);
    expect(stdout).toBe('before\n');
    expect(readFileSync(starts, 'utf8')).toBe('started\n');
  });
});
