// The revert scripts run here by the real /bin/sh with a temporary HOME (the sleeper path:
// no systemd here); the systemd path is checked by its command text.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { armScript, disarmScript, parseRevertStatus, revertStatusScript, revertUnitName, systemdArmCommand } from './revert-scripts.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** A temporary folder, removed after the tests (with what the scripts left in it). */
const scratchFolder = scratchFolders();

function setup() {
  const home = scratchFolder('ns-revert-');
  const env = { ...process.env, HOME: home, XDG_STATE_HOME: '' };
  const sh = (script: string) => parseRevertStatus(execFileSync('/bin/sh', ['-c', script], { env, encoding: 'utf8' }));
  return { home, sh, marker: path.join(home, 'reverted') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the revert scripts', () => {
  it('arm a sleeper once, and a disarm stops it for good', { timeout: 10_000 }, async () => {
    const { sh, marker } = setup();
    const arm = { runId: 's1/net-1.1.revert', unit: 'u', seconds: 3, revert: `echo undone; touch '${marker}'` };
    const armed = sh(armScript(arm));
    expect(armed.state).toBe('armed');
    expect(armed.secondsLeft).toBeGreaterThanOrEqual(2);
    expect(armed.how).toMatch(/^sleeper \d+$/);
    // Armed again (a resumed step): the same sleeper, not a second one.
    expect(sh(armScript(arm)).how).toBe(armed.how);
    const disarmed = sh(disarmScript(arm.runId));
    expect(disarmed).toMatchObject({ state: 'disarmed', gone: true });
    await sleep(3500);
    expect(existsSync(marker)).toBe(false);
    // Disarming again finds it disarmed.
    expect(sh(disarmScript(arm.runId)).state).toBe('disarmed');
  });

  it('fire when not disarmed in time; a late disarm finds it fired and leaves it', async () => {
    const { sh, marker } = setup();
    const runId = 's1/net-1.2.revert';
    sh(armScript({ runId, unit: 'u', seconds: 1, revert: `echo undone; touch '${marker}'` }));
    await sleep(1800);
    expect(existsSync(marker)).toBe(true);
    expect(sh(disarmScript(runId))).toMatchObject({ state: 'fired', exitCode: 0 });
    const status = sh(revertStatusScript(runId, true));
    expect(status).toMatchObject({ state: 'fired', exitCode: 0, output: 'undone\n' });
    expect(status.secondsLeft).toBeLessThanOrEqual(0);
  });

  it('a disarm after a restart of the host signals no pid of the earlier boot', () => {
    const { home, sh, marker } = setup();
    const runId = 's1/net-1.3.revert';
    const armed = sh(armScript({ runId, unit: 'u', seconds: 30, revert: `touch '${marker}'` }));
    const pid = Number(armed.how.replace('sleeper ', ''));
    const folder = path.join(home, '.local/state/nightshift/runs', runId);
    // What the folder looks like after a restart: armed in another boot.
    writeFileSync(path.join(folder, 'boot'), '00000000-0000-0000-0000-000000000000\n');
    try {
      expect(sh(disarmScript(runId))).toMatchObject({ state: 'disarmed', gone: true });
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      process.kill(-pid, 'SIGKILL');
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('say when nothing was armed', () => {
    const { sh } = setup();
    expect(sh(disarmScript('s1/none.1.revert')).state).toBe('missing');
  });

  it('arm a systemd timer with the revert unit named by session, step and attempt', () => {
    const unit = revertUnitName('20240501-031500-ab12', 'net.move', 2);
    expect(unit).toBe('nightshift-revert-20240501-031500-ab12-net-move-2');
    expect(systemdArmCommand(unit, 120, '"$d/fire"')).toBe(`systemd-run --quiet --collect --on-active=120 --unit=${unit} /bin/sh "$d/fire"`);
    const arm = armScript({ runId: 'x', unit, seconds: 120, revert: 'true' });
    expect(arm).toContain('  if [ "$own_uid" = 0 ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then how=systemd\n');
    expect(arm).toContain(`    e=$(systemd-run --quiet --collect --on-active=120 --unit=${unit} /bin/sh "$d/fire" 2>&1 </dev/null)`);
    expect(disarmScript('x')).toContain('systemctl stop "$u.timer"');
  });

  it('refuse an answer that is not theirs, or that did not come to its end', () => {
    expect(() => parseRevertStatus('Welcome to the machine\n')).toThrow(/unexpected/);
    expect(() => parseRevertStatus('')).toThrow('the host printed nothing about the revert, so the script did not run there');
    expect(() => parseRevertStatus('state=disarmed\ngone=yes\n')).toThrow(/unexpected/);
    expect(parseRevertStatus('state=disarmed\ngone=yes\nend=ok\n')).toMatchObject({ state: 'disarmed', gone: true });
  });
});
