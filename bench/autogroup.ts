// Linux groups each session's processes for the scheduler (autogroup): every session gets an
// equal share of the cores, whatever its processes' nice values. The fleet's hosts start a
// session per login and per detached step, so on this machine 20 hosts at work would take
// 20 shares against nightshift's one, though on a real fleet they run elsewhere. While the
// fleet figure is measured the grouping is off (as root), so that the hosts' nice 19 holds;
// it is put back afterwards, and by the next bench when this one was killed outright.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SETTING = '/proc/sys/kernel/sched_autogroup_enabled';
/** In a bench's folder: the setting to put back, found by the next bench when this one was killed. */
export const AUTOGROUP_MARK = 'autogroup-was';

function setAutogroup(value: string): boolean {
  try {
    writeFileSync(SETTING, value);
    return true;
  } catch {
    return false;
  }
}

/** Runs `measure` with the scheduler's session groups off; `off` says whether they could be turned off (root only). */
export async function withoutAutogroups<T>(work: string, measure: (off: boolean) => Promise<T>): Promise<T> {
  const was = existsSync(SETTING) ? readFileSync(SETTING, 'utf8').trim() : null;
  if (was !== '1') return measure(false);
  const mark = path.join(work, AUTOGROUP_MARK);
  writeFileSync(mark, was);
  if (!setAutogroup('0')) {
    rmSync(mark, { force: true });
    return measure(false);
  }
  const restore = () => {
    setAutogroup(was);
    rmSync(mark, { force: true });
  };
  process.once('exit', restore);
  try {
    return await measure(true);
  } finally {
    process.off('exit', restore);
    restore();
  }
}

/** A killed bench's folder: puts back the setting it changed. */
export function restoreAutogroupsOf(dir: string): void {
  const mark = path.join(dir, AUTOGROUP_MARK);
  if (!existsSync(mark)) return;
  setAutogroup(readFileSync(mark, 'utf8').trim());
}
