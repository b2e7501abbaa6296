// Shell scripts for `revert_after`: a dead-man timer armed on the host before a change,
// like netplan try. The revert waits in a run folder of its own (run-folders.ts says where,
// after the step's run id `<session>/<step>.<attempt>.revert`):
//
//     command    the revert            fire      claims, then runs the revert
//     deadline   when it fires (epoch seconds, host clock)
//     how        "systemd UNIT" or "sleeper PID"
//     boot       the host's boot id when it was armed
//     armed/     made once, when the files are in place: a second arm finds it
//     claimed/   taken by whoever acts first: the timer firing or nightshift disarming,
//                which then marks it: disarmed, or fired (then exit and out of the revert)
//
// The claim (one mkdir, atomic) settles the race between a disarm and a timer firing at
// the same moment: the loser does nothing, so a revert is never cut off halfway.
// A transient systemd timer when systemd manages the host and we are root, else a sleeper
// in a session of its own (setsid; no nohup, which BusyBox lacks: a session leader has no
// terminal to hang up, and it ignores HUP all the same). Small values survive a full disk
// (host-shell.ts). Everything is POSIX sh, run by /bin/sh, the revert too.
import { shellQuote } from '../runbook/shell-quote.js';
import { BOOT_ID_FUNCTION, HostReport, SINK_FUNCTIONS, VALUE_FUNCTIONS } from './host-shell.js';
import { launcherChoice, runFolderFunctions } from './run-folders.js';

/** Exit statuses of the arm script. */
export const ARM_FAILURES: Record<number, string> = {
  97: 'the host has neither systemd-run (as root) nor setsid to keep a timer',
  98: 'the timer did not start within 10 s',
};
/** The arm script found no base it could write the revert's folder in; its skipped= lines say why. */
export const NO_REVERT_FOLDER = 95;
/** systemd-run refused the timer; its words are on stderr. */
export const SYSTEMD_TIMER_FAILED = 99;

export function revertRunId(sessionId: string, stepId: string, attempt: number): string {
  return `${sessionId}/${stepId}.${attempt}.revert`;
}

/** nightshift-revert-<session>-<step>-<attempt>: a unit name systemd takes as it is. */
export function revertUnitName(sessionId: string, stepId: string, attempt: number): string {
  return `nightshift-revert-${sessionId}-${stepId}-${attempt}`.replace(/[^A-Za-z0-9:_-]/g, '-');
}

const FIRE = [
  'd=${0%/*}',
  VALUE_FUNCTIONS,
  SINK_FUNCTIONS,
  'mkdir "$d/claimed" 2>/dev/null || exit 0',
  'put fired "$(date +%s)"',
  'if mkfifo "$d/out.pipe" 2>/dev/null; then',
  '  sink out < "$d/out.pipe" & po=$!',
  '  /bin/sh -c "$(cat "$d/command")" </dev/null >"$d/out.pipe" 2>&1',
  '  s=$?',
  '  settle $po',
  '  rm -f "$d/out.pipe"',
  'else',
  '  /bin/sh -c "$(cat "$d/command")" </dev/null >"$d/out" 2>&1',
  '  s=$?',
  'fi',
  'put exit $s',
].join('\n');

// The sleeper leads its own session and process group, so killing the group ends the sleep too.
const SLEEPER = ['d=${0%/*}', VALUE_FUNCTIONS, 'put pid $$', "trap '' HUP", 'sleep "$1"', 'exec /bin/sh "$d/fire"'].join('\n');

/** The systemd-run command that arms the timer (the systemd path of the arm script). */
export function systemdArmCommand(unit: string, seconds: number, fireScript: string): string {
  return `systemd-run --quiet --collect --on-active=${seconds} --unit=${shellQuote(unit)} /bin/sh ${fireScript}`;
}

/** Prints what `parseRevertStatus` reads: state, how, deadline, now, after a firing fired_at and exit, and end=ok. */
const REPORT = [
  'if [ -d "$d/claimed" ]; then',
  // Whoever claimed writes its mark right after: wait out that moment.
  '  i=0; while ! has fired && ! has disarmed && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done',
  '  if has disarmed; then echo state=disarmed',
  '  else',
  '    echo state=fired',
  '    has fired && echo "fired_at=$(get fired)"',
  '    has exit && echo "exit=$(get exit)"',
  '    has out.cut && echo "out_cut=$(get out.cut)"',
  '  fi',
  'else echo state=armed; fi',
  'echo "how=$(get how)"',
  'echo "deadline=$(get deadline)"',
  'echo "now=$(date +%s)"',
  'echo "dir=$d"',
].join('\n');

/**
 * Arms the revert to run in `seconds` unless it already was (a resumed step runs this
 * again: it must find the timer it armed, not arm a second one), then reports it, with a
 * `skipped=` line for each run folder base it could not use.
 */
export function armScript(options: { runId: string; unit: string; seconds: number; revert: string; runDir?: string }): string {
  const { runId, unit, seconds, revert } = options;
  return [
    runFolderFunctions(runId, options.runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'if ! find_run armed "$@"; then',
    launcherChoice('  '),
    '  write_files() {',
    `    printf '%s' ${shellQuote(revert)} | cat > "$1/command" &&`,
    `    printf '%s\\n' ${shellQuote(FIRE)} | cat > "$1/fire" &&`,
    `    printf '%s\\n' ${shellQuote(SLEEPER)} | cat > "$1/sleeper"`,
    '  }',
    `  make_run "$@" || exit ${NO_REVERT_FOLDER}`,
    `  mkdir "$d/armed" || exit ${NO_REVERT_FOLDER}`,
    `  b=$(boot_id); [ -z "$b" ] || put boot "$b"`,
    `  put deadline $(( $(date +%s) + ${seconds} ))`,
    '  if [ $how = systemd ]; then',
    `    e=$(${systemdArmCommand(unit, seconds, '"$d/fire"')} 2>&1 </dev/null) || { echo "$e" >&2; exit ${SYSTEMD_TIMER_FAILED}; }`,
    `    put how ${shellQuote(`systemd ${unit}`)}`,
    '  else',
    `    setsid /bin/sh "$d/sleeper" ${seconds} </dev/null >/dev/null 2>&1 &`,
    '    i=0',
    '    while ! has pid; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    '    put how "sleeper $(get pid)"',
    '  fi',
    'fi',
    'has how || exit 98',
    REPORT,
    'echo end=ok',
  ].join('\n');
}

/**
 * Disarms the revert unless it fired already: claims it, stops the timer or kills the
 * sleeper, and checks that it is gone (`gone=yes`). Reports the state it found. A sleeper
 * of an earlier boot died with it: its pid, someone else's by now, is left alone.
 */
export function disarmScript(runId: string, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'find_run armed "$@" || { echo state=missing; echo end=ok; exit 0; }',
    'alive() { kill -0 "$1" 2>/dev/null || return 1; [ -r "/proc/$1/status" ] || return 0; ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status"; }',
    'if mkdir "$d/claimed" 2>/dev/null; then',
    '  put disarmed "$(date +%s)"',
    `  how=$(get how); gone=no; i=0; b=$(get boot)`,
    `  [ -z "$b" ] || [ "$b" = "$(boot_id)" ] || how=rebooted`,
    '  case "$how" in',
    '    systemd\\ *)',
    '      u=${how#systemd }',
    '      systemctl stop "$u.timer" 2>/dev/null',
    '      while [ $i -lt 50 ]; do systemctl is-active --quiet "$u.timer" || { gone=yes; break; }; i=$((i+1)); sleep 0.1; done ;;',
    '    sleeper\\ *)',
    '      p=${how#sleeper }',
    '      kill -TERM -"$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null',
    '      while [ $i -lt 50 ]; do alive "$p" || { gone=yes; break; }; i=$((i+1)); sleep 0.1; done ;;',
    '    rebooted) gone=yes ;;',
    '  esac',
    '  echo "gone=$gone"',
    'fi',
    REPORT,
    'echo end=ok',
  ].join('\n');
}

/**
 * Runs the revert now unless it was claimed already (`guard:` firing on a failure): the fire
 * script, detached, since the revert may cut the very connection that asked for it. Waits up
 * to `waitSeconds` for it to end, then reports with what it printed.
 */
export function fireNowScript(runId: string, waitSeconds: number, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    'find_run armed "$@" || { echo state=missing; echo end=ok; exit 0; }',
    // Committed (its timer stopped) and then fallen back all the same: the revert is taken back.
    'if has disarmed && ! has fired; then rm -f "$d/disarmed"; rmdir "$d/claimed" 2>/dev/null; fi',
    'if [ ! -d "$d/claimed" ]; then',
    '  if command -v setsid >/dev/null 2>&1; then setsid /bin/sh "$d/fire" </dev/null >/dev/null 2>&1 &',
    '  else /bin/sh "$d/fire" </dev/null >/dev/null 2>&1 & fi',
    '  i=0; while [ ! -d "$d/claimed" ] && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done',
    'fi',
    `i=0; while has fired && ! has exit && [ $i -lt ${waitSeconds * 10} ]; do i=$((i+1)); sleep 0.1; done`,
    REPORT,
    'echo end=ok',
    'if [ -e "$d/out" ]; then echo "--- output"; tail -c 16384 "$d/out"; fi',
  ].join('\n');
}

/**
 * Moves an armed revert's deadline `seconds` later (`+` on the screen): a second timer is
 * started before the first is stopped, so there is never a moment without one; whichever
 * fires first claims the revert, the other then does nothing.
 */
export function extendScript(runId: string, unit: string, seconds: number, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    'find_run armed "$@" || { echo state=missing; echo end=ok; exit 0; }',
    'if [ ! -d "$d/claimed" ]; then',
    `  n=$(( $(get deadline) + ${seconds} )); left=$(( n - $(date +%s) )); [ $left -gt 0 ] || left=1`,
    '  old=$(get how); k=1; has extended && k=$(( $(get extended) + 1 ))',
    '  case "$old" in',
    '    systemd\\ *)',
    `      u=${shellQuote(unit)}-ext$k`,
    `      e=$(systemd-run --quiet --collect --on-active=$left --unit="$u" /bin/sh "$d/fire" 2>&1 </dev/null) || { echo "$e" >&2; exit ${SYSTEMD_TIMER_FAILED}; }`,
    '      put how "systemd $u"; put deadline $n; put extended $k',
    '      systemctl stop "${old#systemd }.timer" 2>/dev/null ;;',
    '    *)',
    '      rm -f "$d/pid"',
    '      setsid /bin/sh "$d/sleeper" $left </dev/null >/dev/null 2>&1 &',
    '      i=0; while ! has pid; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    '      put how "sleeper $(get pid)"; put deadline $n; put extended $k',
    '      p=${old#sleeper }; kill -TERM -"$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null ;;',
    '  esac',
    'fi',
    REPORT,
    'echo end=ok',
  ].join('\n');
}

/** Reports the revert's state without touching it; `withOutput` adds what the revert printed after a line `--- output`. */
export function revertStatusScript(runId: string, withOutput = false, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    'find_run armed "$@" || { echo state=missing; echo end=ok; exit 0; }',
    REPORT,
    'echo end=ok',
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
  /** Why the host could not write all the revert printed (ENOSPC, EROFS, ...). */
  outputCut?: string;
  /** The revert's folder on the host. */
  dir?: string;
  /** Run folder bases the arm could not use, each with what the host said. */
  skipped?: string[];
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
  const outputCut = report.get('out_cut');
  const dir = report.get('dir');
  const skipped = report.all('skipped');
  return {
    state,
    how: report.get('how')?.trim() ?? '',
    secondsLeft: deadline !== undefined && now !== undefined ? deadline - now : null,
    ...(firedAt !== undefined ? { firedAt } : {}),
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(gone !== undefined ? { gone: gone === 'yes' } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(outputCut !== undefined ? { outputCut } : {}),
    ...(dir !== undefined ? { dir } : {}),
    ...(skipped.length > 0 ? { skipped } : {}),
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
