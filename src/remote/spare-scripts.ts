// Shell scripts for a spare way in (runbook `spare_access`): a second SSH server on another
// port, as do-release-upgrade starts an sshd on port 1022. It waits in a run folder of its
// own (run-folders.ts), after the id `<session>/<host>.spare`:
//
//     started    made once, when the server was started
//     pid        the server's listening process
//     server     "openssh PATH" or "dropbear PATH"
//     stopper    the sleeper that stops the server after its lifetime, should nobody else
//     stopped    when it was stopped (epoch seconds)
//
// OpenSSH's sshd is started with the host's own config and host keys, only on another port
// (-p overrides the config's Port), so the key the upgrader knows answers there too. Stopping
// it ends its listener; a session already logged in through it goes on (it is a process of
// its own), so the run that is using it is not cut off. POSIX sh, run by /bin/sh.
import { shellQuote } from '../runbook/shell-quote.js';
import { VALUE_FUNCTIONS } from './host-shell.js';
import { runFolderFunctions } from './run-folders.js';

/** Exit statuses of the start script. */
export const SPARE_FAILURES: Record<number, string> = {
  90: 'the host has neither an sshd nor a dropbear to start',
  91: 'the spare server did not start (its log says why)',
  92: 'no folder for it could be written on the host',
  93: 'the sshd config was refused by sshd -t',
};

export function spareRunId(sessionId: string, host: string): string {
  return `${sessionId}/${host}.spare`;
}

const REPORT = [
  'echo "pid=$(get pid)"',
  'echo "server=$(get server)"',
  'has stopped && echo "stopped=$(get stopped)"',
  'p=$(get pid); if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! has stopped; then echo alive=yes; else echo alive=no; fi',
  'if [ -s "$d/log" ]; then echo "log=$(tail -n 3 "$d/log" | tr "\\n\\r" "  ")"; fi',
].join('\n');

/**
 * Starts the spare server unless this run's is running already (a step tried again finds
 * it), with a sleeper that stops it after `lifetimeSeconds`; then reports it.
 */
export function spareStartScript(options: {
  runId: string;
  port: number;
  server?: 'openssh' | 'dropbear';
  config?: string;
  lifetimeSeconds: number;
  runDir?: string;
}): string {
  const { port, lifetimeSeconds } = options;
  const config = shellQuote(options.config ?? '/etc/ssh/sshd_config');
  const want = options.server ?? '';
  return [
    runFolderFunctions(options.runId, options.runDir),
    VALUE_FUNCTIONS,
    // A failure says what the server's log says.
    'fail() { [ -s "$d/log" ] && echo "log=$(tail -n 3 "$d/log" | tr "\\n\\r" "  ")"; exit "$1"; }',
    'if find_run started "$@" && [ -n "$(get pid)" ] && kill -0 "$(get pid)" 2>/dev/null && ! has stopped; then',
    '  echo again=yes',
    'else',
    '  write_files() { :; }',
    '  find_run started "$@" || make_run "$@" || exit 92',
    '  rm -f "$d/pid" "$d/stopped" "$d/log"; : > "$d/started"',
    '  s=',
    `  case ${shellQuote(want)} in`,
    '    openssh|"") for c in "$(command -v sshd 2>/dev/null)" /usr/sbin/sshd /usr/local/sbin/sshd; do [ -n "$c" ] && [ -x "$c" ] && { s=$c; k=openssh; break; }; done ;;',
    '  esac',
    `  if [ -z "$s" ] && [ ${shellQuote(want)} != openssh ]; then`,
    '    for c in "$(command -v dropbear 2>/dev/null)" /usr/sbin/dropbear /usr/local/sbin/dropbear; do [ -n "$c" ] && [ -x "$c" ] && { s=$c; k=dropbear; break; }; done',
    '  fi',
    '  [ -n "$s" ] || exit 90',
    '  put server "$k $s"',
    '  if [ $k = openssh ]; then',
    // sshd re-executes itself by its path, which must be absolute; -p replaces the config's Port.
    `    "$s" -t -f ${config} -p ${port} >"$d/log" 2>&1 || fail 93`,
    `    "$s" -f ${config} -p ${port} -o PidFile="$d/pid" -E "$d/log" </dev/null >/dev/null 2>&1 || fail 91`,
    '  else',
    `    "$s" -p ${port} -P "$d/pid" </dev/null >"$d/log" 2>&1 || fail 91`,
    '  fi',
    '  i=0; while [ ! -s "$d/pid" ] && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done',
    '  [ -s "$d/pid" ] || fail 91',
    // dropbear and sshd write the pid with a newline: put it back as one value.
    '  put pid "$(head -n 1 "$d/pid" 2>/dev/null)"',
    `  setsid /bin/sh -c 'sleep "$1"; kill "$(head -n 1 "$2/pid")" 2>/dev/null; date +%s > "$2/stopped"' spare-stopper ${lifetimeSeconds} "$d" </dev/null >/dev/null 2>&1 &`,
    '  put stopper $!',
    'fi',
    REPORT,
    'echo end=ok',
  ].join('\n');
}

/** Stops the spare's listener and its stopper (sessions logged in through it go on), then reports. */
export function spareStopScript(runId: string, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    'find_run started "$@" || { echo missing=yes; echo end=ok; exit 0; }',
    'if ! has stopped; then',
    '  p=$(get pid); [ -z "$p" ] || kill "$p" 2>/dev/null',
    '  q=$(get stopper); [ -z "$q" ] || kill -TERM -"$q" 2>/dev/null || kill "$q" 2>/dev/null',
    '  put stopped "$(date +%s)"',
    '  i=0; while [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done',
    'fi',
    REPORT,
    'echo end=ok',
  ].join('\n');
}
