// A lab tied to a process (`lab up --tether PID`): once that process has ended, a watcher
// beside the lab takes it down by itself. A test run or a script that is killed half way
// then leaves no guest running for hours, no bridge and no namespace behind.
import { readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { isAlive } from '../../store/lock.js';
import { LabError } from './lab-error.js';

export interface Tether {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat), so a reused pid is not taken for it. */
  startTime: string;
}

/** Field 22 of /proc/PID/stat, or undefined when there is no such process. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function tetherTo(pid: number): Tether {
  const startTime = Number.isInteger(pid) && pid > 0 ? startTimeOf(pid) : undefined;
  if (startTime === undefined || !isAlive(pid)) throw new LabError(`--tether ${pid}: there is no such process to tie the lab to.`);
  return { pid, startTime };
}

export function tetherHolds(tether: Tether): boolean {
  return isAlive(tether.pid) && startTimeOf(tether.pid) === tether.startTime;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * Starts the watcher, detached: it polls the tethered process every second while the lab's
 * state file exists, and runs `downCommand` (nightshift lab down) once the process is gone.
 * A lab taken down the ordinary way removes the state file, which ends the watcher.
 */
export async function watchTether(labDir: string, tether: Tether, downCommand: string[]): Promise<void> {
  const log = `${labDir}.tether.log`;
  const watcher = `#!/bin/sh
# Takes this lab down once process ${tether.pid} (started at tick ${tether.startTime}) has ended.
cd ${quote(labDir)} || exit 0
holds() { [ "$(sed 's/^.*) //' /proc/${tether.pid}/stat 2>/dev/null | cut -d' ' -f20)" = ${quote(tether.startTime)} ]; }
while [ -e lab.json ] && holds; do sleep 1; done
[ -e lab.json ] || exit 0
echo "$(date -u +%FT%TZ) process ${tether.pid} ended: taking the lab down" >> ${quote(log)}
cd /
exec ${downCommand.map(quote).join(' ')} >> ${quote(log)} 2>&1
`;
  const file = path.join(labDir, 'tether');
  await writeFile(file, watcher);
  await chmod(file, 0o755);
  const child = spawn('setsid', [file], { detached: true, stdio: 'ignore' });
  child.unref();
}
