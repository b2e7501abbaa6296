// Shell scripts for commands that outlive their SSH channel. A step runs under a small
// wrapper started with systemd-run (when systemd manages the host and we are root) or
// setsid, in a folder of its own on the target:
//
//   command   the step's command          out, err  what it printed, appended
//   pid       the wrapper's pid (a process group and session leader)
//   exit      its exit status, written last (atomically)
//   started   made once, before the command starts: whoever finds it never starts it again
//
// One channel starts the command (once: starting again finds it started) and follows out
// and err from byte offsets nightshift counts itself, so after a dropped link exactly the
// missing bytes are asked for. A second one collects the status, reading only: its answer
// may be lost with the link, so it must be possible to ask again (and to attach again).
// Only once the result is recorded on nightshift's side is the output released; `started`
// and `exit` stay behind, so even then the command is never started a second time.
// Everything is POSIX sh, run by /bin/sh, the command too, whatever the login shell.
import { shellQuote } from '../runbook/shell-quote.js';

/** Exit statuses of the attach script, beyond the 0 of a complete follow. */
export const ATTACH_FAILURES: Record<number, string> = {
  94: 'the command already ended and its output was released after its result had been recorded; it is not started again',
  95: 'the run folder could not be created',
  96: 'the run folder is gone',
  97: 'this host has neither systemd-run nor setsid, so a detached step cannot run there (use attach: false)',
  98: 'the detached command did not start within 10 s',
};

/** The run folder, under the login's XDG state folder. */
export function runFolder(runId: string): string {
  return `"\${XDG_STATE_HOME:-$HOME/.local/state}/nightshift/runs/"${shellQuote(runId)}`;
}

const WRAPPER = [
  'd=$(dirname "$0")',
  'echo $$ > "$d/pid.tmp" && mv "$d/pid.tmp" "$d/pid"',
  // A handler (not an ignore, which the command would inherit): the wrapper outlives a
  // TERM sent to the group long enough to record the command's status.
  "trap 'true' TERM HUP INT",
  '/bin/sh -c "$(cat "$d/command")" </dev/null >>"$d/out" 2>>"$d/err"',
  'echo $? > "$d/exit.tmp" && mv "$d/exit.tmp" "$d/exit"',
].join('\n');

/**
 * Starts the command detached unless it already was, then prints its stdout on stdout and
 * its stderr on stderr from the given offsets until it has ended. Prints nothing else.
 */
export function attachScript(runId: string, command: string, offsets: { out: number; err: number }): string {
  return [
    `d=${runFolder(runId)}`,
    'if mkdir -p "$d" 2>/dev/null && mkdir "$d/started" 2>/dev/null; then',
    `  printf '%s' ${shellQuote(command)} > "$d/command" || exit 95`,
    `  printf '%s\\n' ${shellQuote(WRAPPER)} > "$d/run" || exit 95`,
    '  : > "$d/out"; : > "$d/err"',
    '  if [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then',
    `    systemd-run --quiet --collect --unit=${shellQuote(unitName(runId))} /bin/sh "$d/run" >/dev/null 2>&1 || exit 97`,
    '  elif command -v setsid >/dev/null 2>&1; then',
    '    setsid /bin/sh "$d/run" </dev/null >/dev/null 2>&1 &',
    '  else',
    '    exit 97',
    '  fi',
    'fi',
    '[ -d "$d/started" ] || exit 95',
    // Ended and released (its result was recorded): never run again, whoever asks.
    '[ -e "$d/exit" ] && [ ! -e "$d/out" ] && exit 94',
    'i=0',
    'while [ ! -s "$d/pid" ]; do',
    '  i=$((i+1)); [ $i -gt 100 ] && exit 98',
    '  sleep 0.1',
    'done',
    'pid=$(cat "$d/pid")',
    // Ended already (as when attaching again after a lost answer): its pid may belong to
    // another process by now, so the files are read to their end without following.
    'if [ -e "$d/exit" ]; then',
    '  follow() { tail -c +$(($2+1)) "$d/$1"; }',
    'elif tail --version 2>/dev/null | grep -q GNU; then',
    '  follow() { tail -c +$(($2+1)) --pid="$pid" --sleep-interval=0.1 -f "$d/$1"; }',
    'else',
    '  follow() {',
    '    off=$2; last=',
    '    while :; do',
    '      kill -0 "$pid" 2>/dev/null || last=1',
    '      size=$(wc -c < "$d/$1")',
    '      if [ "$size" -gt "$off" ]; then tail -c +$((off+1)) "$d/$1" | head -c $((size-off)); off=$size; fi',
    '      [ -n "$last" ] && return 0',
    '      sleep 0.1',
    '    done',
    '  }',
    'fi',
    '[ -e "$d/out" ] || exit 96',
    `follow out ${Math.max(0, Math.floor(offsets.out))} &`,
    `follow err ${Math.max(0, Math.floor(offsets.err))} >&2`,
    'wait',
  ].join('\n');
}

/**
 * Reports the run: `state=found` (or `gone`), `exit=` once the command ended, then `end=ok`.
 * Changes nothing, so it can be asked again after a drop.
 */
export function collectScript(runId: string): string {
  return [
    `d=${runFolder(runId)}`,
    '[ -d "$d/started" ] || { echo state=gone; echo end=ok; exit 0; }',
    'echo state=found',
    '[ -e "$d/exit" ] && echo "exit=$(cat "$d/exit")"',
    'echo end=ok',
  ].join('\n');
}

/**
 * Once the run's result is recorded: removes its output and scripts, keeping `started` and
 * `exit` (a few bytes) so that an attach that comes anyway fails instead of running it again.
 */
export function releaseScript(runId: string): string {
  return `d=${runFolder(runId)}; rm -f "$d/out" "$d/err" "$d/command" "$d/run" "$d/pid"; true`;
}

/** TERM to the run's process group (the wrapper records the command's status); nothing once it ended. */
export function stopScript(runId: string): string {
  return `d=${runFolder(runId)}; [ -e "$d/exit" ] || { pid=$(cat "$d/pid" 2>/dev/null) && kill -TERM -"$pid" 2>/dev/null; }; true`;
}

function unitName(runId: string): string {
  return `nightshift-${runId.replace(/[^A-Za-z0-9:_.-]/g, '-')}`;
}
