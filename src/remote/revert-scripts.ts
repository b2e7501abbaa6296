// Shell scripts for `revert_after`: a dead-man timer armed on the host before a change,
// like netplan try. The revert waits in a folder beside the step's run folder:
//
//   runs/<session>/<step>.<attempt>.revert/
//     command    the revert            fire      claims, then runs the revert
//     deadline   when it fires (epoch seconds, host clock)
//     how        "systemd UNIT" or "sleeper PID"
//     claimed/   taken by whoever acts first: the timer firing or nightshift disarming,
//                which then marks it: disarmed, or fired (then exit and out of the revert)
//
// The claim (one mkdir, atomic) settles the race between a disarm and a timer firing at
// the same moment: the loser does nothing, so a revert is never cut off halfway.
// A transient systemd timer when systemd manages the host and we are root, else a sleeper
// in a session of its own. Everything is POSIX sh, run by /bin/sh, the revert too.
import { shellQuote } from '../runbook/shell-quote.js';
import { runFolder } from './detached-scripts.js';
import { HostReport } from './host-shell.js';

/** Exit statuses of the arm script. */
export const ARM_FAILURES: Record<number, string> = {
  95: 'its folder could not be created',
  97: 'the host has neither systemd-run (as root) nor setsid to keep a timer',
  98: 'the timer did not start within 10 s',
};

export function revertRunId(sessionId: string, stepId: string, attempt: number): string {
  return `${sessionId}/${stepId}.${attempt}.revert`;
}

/** nightshift-revert-<session>-<step>-<attempt>: a unit name systemd takes as it is. */
export function revertUnitName(sessionId: string, stepId: string, attempt: number): string {
  return `nightshift-revert-${sessionId}-${stepId}-${attempt}`.replace(/[^A-Za-z0-9:_-]/g, '-');
}

const FIRE = [
  'd=$(dirname "$0")',
  'mkdir "$d/claimed" 2>/dev/null || exit 0',
  'date +%s > "$d/fired"',
  '/bin/sh -c "$(cat "$d/command")" </dev/null >"$d/out" 2>&1',
  'echo $? > "$d/exit.tmp" && mv "$d/exit.tmp" "$d/exit"',
].join('\n');

// The sleeper leads its own session and process group, so killing the group ends the sleep too.
const SLEEPER = ['d=$(dirname "$0")', 'echo $$ > "$d/pid.tmp" && mv "$d/pid.tmp" "$d/pid"', 'sleep "$1"', 'exec /bin/sh "$d/fire"'].join('\n');

/** The systemd-run command that arms the timer (the systemd path of the arm script). */
export function systemdArmCommand(unit: string, seconds: number, fireScript: string): string {
  return `systemd-run --quiet --collect --on-active=${seconds} --unit=${shellQuote(unit)} /bin/sh ${fireScript}`;
}

/** Prints what `parseRevertStatus` reads: state, how, deadline, now, after a firing fired_at and exit, and end=ok. */
const REPORT = [
  'if [ -d "$d/claimed" ]; then',
  // Whoever claimed writes its mark right after: wait out that moment.
  '  i=0; while [ ! -e "$d/fired" ] && [ ! -e "$d/disarmed" ] && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done',
  '  if [ -e "$d/disarmed" ]; then echo state=disarmed',
  '  else',
  '    echo state=fired',
  '    [ -e "$d/fired" ] && echo "fired_at=$(cat "$d/fired")"',
  '    [ -e "$d/exit" ] && echo "exit=$(cat "$d/exit")"',
  '  fi',
  'else echo state=armed; fi',
  'echo "how=$(cat "$d/how" 2>/dev/null)"',
  'echo "deadline=$(cat "$d/deadline" 2>/dev/null)"',
  'echo "now=$(date +%s)"',
  'echo end=ok',
].join('\n');

/**
 * Arms the revert to run in `seconds` unless it already was (a resumed step runs this
 * again: it must find the timer it armed, not arm a second one), then reports it.
 */
export function armScript(options: { runId: string; unit: string; seconds: number; revert: string }): string {
  const { runId, unit, seconds, revert } = options;
  return [
    `d=${runFolder(runId)}`,
    'if mkdir -p "$d" 2>/dev/null && mkdir "$d/armed" 2>/dev/null; then',
    `  printf '%s' ${shellQuote(revert)} > "$d/command" || exit 95`,
    `  printf '%s\\n' ${shellQuote(FIRE)} > "$d/fire" || exit 95`,
    `  printf '%s\\n' ${shellQuote(SLEEPER)} > "$d/sleeper" || exit 95`,
    `  echo $(( $(date +%s) + ${seconds} )) > "$d/deadline"`,
    '  if [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then',
    `    ${systemdArmCommand(unit, seconds, '"$d/fire"')} >/dev/null 2>&1 || exit 97`,
    `    echo ${shellQuote(`systemd ${unit}`)} > "$d/how"`,
    '  elif command -v setsid >/dev/null 2>&1; then',
    `    setsid nohup /bin/sh "$d/sleeper" ${seconds} </dev/null >/dev/null 2>&1 &`,
    '    i=0',
    '    while [ ! -s "$d/pid" ]; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    '    echo "sleeper $(cat "$d/pid")" > "$d/how"',
    '  else',
    '    exit 97',
    '  fi',
    'fi',
    '[ -s "$d/how" ] || exit 98',
    REPORT,
  ].join('\n');
}

/**
 * Disarms the revert unless it fired already: claims it, stops the timer or kills the
 * sleeper, and checks that it is gone (`gone=yes`). Reports the state it found.
 */
export function disarmScript(runId: string): string {
  return [
    `d=${runFolder(runId)}`,
    '[ -d "$d/armed" ] || { echo state=missing; echo end=ok; exit 0; }',
    'alive() { kill -0 "$1" 2>/dev/null || return 1; [ -r "/proc/$1/status" ] || return 0; ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status"; }',
    'if mkdir "$d/claimed" 2>/dev/null; then',
    '  date +%s > "$d/disarmed"',
    '  how=$(cat "$d/how"); gone=no; i=0',
    '  case "$how" in',
    '    systemd\\ *)',
    '      u=${how#systemd }',
    '      systemctl stop "$u.timer" 2>/dev/null',
    '      while [ $i -lt 50 ]; do systemctl is-active --quiet "$u.timer" || { gone=yes; break; }; i=$((i+1)); sleep 0.1; done ;;',
    '    sleeper\\ *)',
    '      p=${how#sleeper }',
    '      kill -TERM -"$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null',
    '      while [ $i -lt 50 ]; do alive "$p" || { gone=yes; break; }; i=$((i+1)); sleep 0.1; done ;;',
    '  esac',
    '  echo "gone=$gone"',
    'fi',
    REPORT,
  ].join('\n');
}

/** Reports the revert's state without touching it; `output=1` adds what the revert printed after a line `--- output`. */
export function revertStatusScript(runId: string, withOutput = false): string {
  return [
    `d=${runFolder(runId)}`,
    '[ -d "$d/armed" ] || { echo state=missing; echo end=ok; exit 0; }',
    REPORT,
    ...(withOutput ? ['if [ -e "$d/out" ]; then echo "--- output"; tail -c 16384 "$d/out"; fi'] : []),
  ].join('\n');
}

export type RevertState = 'armed' | 'disarmed' | 'fired' | 'missing';

export interface RevertStatus {
  state: RevertState;
  /** "systemd UNIT" or "sleeper PID". */
  how: string;
  /** Seconds until it fires, by the host's clock (negative once past). */
  secondsLeft: number | null;
  /** Host clock, epoch seconds. */
  firedAt?: number;
  /** The revert's exit status, once it ended. */
  exitCode?: number;
  /** After a disarm: whether the timer or sleeper was seen gone. */
  gone?: boolean;
  /** What the revert printed (only when asked for). */
  output?: string;
}

/** Reads what the arm, disarm and status scripts print; an answer without its end mark is no answer. */
export function parseRevertStatus(text: string): RevertStatus {
  const [head, output] = splitOnce(text, '\n--- output\n');
  const report = HostReport.read(head);
  const state = report?.get('state');
  if (!report || (state !== 'armed' && state !== 'disarmed' && state !== 'fired' && state !== 'missing')) {
    throw new Error(
      head.trim() === ''
        ? 'the host printed nothing about the revert, so the script did not run there'
        : `the host answered about the revert with something unexpected: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  const number = (key: string) => {
    const value = report.get(key)?.trim();
    return value !== undefined && /^-?\d+$/.test(value) ? Number(value) : undefined;
  };
  const deadline = number('deadline');
  const now = number('now');
  const firedAt = number('fired_at');
  const exitCode = number('exit');
  const gone = report.get('gone');
  return {
    state,
    how: report.get('how')?.trim() ?? '',
    secondsLeft: deadline !== undefined && now !== undefined ? deadline - now : null,
    ...(firedAt !== undefined ? { firedAt } : {}),
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(gone !== undefined ? { gone: gone === 'yes' } : {}),
    ...(output !== undefined ? { output } : {}),
  };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** "a systemd timer (unit X)" or "a sleeper (pid N)", for notes. */
export function describeTimer(how: string): string {
  if (how.startsWith('systemd ')) return `a systemd timer (${how.slice('systemd '.length)}.timer)`;
  if (how.startsWith('sleeper ')) return `a sleeper (pid ${how.slice('sleeper '.length)})`;
  return 'a timer';
}
