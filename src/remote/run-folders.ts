// Where a run's folder lives on a host: under the first base that can be written, in order
// the host's run_dir from the runbook, the login's XDG state folder
// (~/.local/state/nightshift), /var/tmp/nightshift-UID and /tmp/nightshift-UID. A home that
// is full or read-only does not stop a step: the next base is used, and why the others
// were passed over is reported (`skipped=BASE: what the host said`).
//
// A folder is made once, by the script that claims it (its marker made only where there is
// none: `started`, a file, or `armed`, a folder); every later script finds it by that marker
// in the same bases, in the same order.
// In the shared /var/tmp and /tmp only a base of the user's own that is no symbolic link is
// trusted, so another user cannot lay out a run folder for nightshift to follow.
import { shellQuote } from '../runbook/shell-quote.js';

function basesLine(runDir: string | undefined): string {
  const bases = [
    ...(runDir !== undefined ? [shellQuote(runDir)] : []),
    '"${XDG_STATE_HOME:-$HOME/.local/state}/nightshift"',
    '"/var/tmp/nightshift-$U"',
    '"/tmp/nightshift-$U"',
  ];
  return `set -- ${bases.join(' ')}`;
}

// The effective user id (what `id -u` prints) and the umask from the kernel's own account of
// this shell, read with the read builtin; `id` only where there is no /proc.
const USER_ID = [
  'U=; UMASK=; [ -r /proc/self/status ] && while read -r _k _r _e _; do case $_k in Umask:) UMASK=$_r ;; Uid:) U=$_e; break ;; esac; done 2>/dev/null </proc/self/status',
  '[ -n "$U" ] || U=$(id -u)',
].join('\n');

/**
 * Sets ID, U (the user id), UMASK (where /proc tells it) and the bases ("$@"), and defines `find_run MARK "$@"` (sets d to the folder that
 * holds MARK) and `make_run "$@"` (sets d to a new folder that `write_files FOLDER` filled,
 * printing a `skipped=` line for each base it could not use). POSIX sh.
 */
export function runFolderFunctions(runId: string, runDir: string | undefined): string {
  return [
    `ID=${shellQuote(runId)}`,
    USER_ID,
    basesLine(runDir),
    'trusted() { case $1 in /tmp/*|/var/tmp/*) [ -d "$1" ] && [ ! -L "$1" ] && [ -O "$1" ] ;; *) [ -d "$1" ] ;; esac; }',
    'find_run() {',
    '  m=$1; shift',
    '  for b do',
    '    if [ -e "$b/runs/$ID/$m" ] && trusted "$b"; then d=$b/runs/$ID; return 0; fi',
    '  done',
    '  return 1',
    '}',
    'prepare_run() {',
    '  [ -d "$1" ] || mkdir -p -m 700 "$1" || return 1',
    '  trusted "$1" || { echo "it belongs to another user or is a symbolic link" >&2; return 1; }',
    '  mkdir -p "$1/runs/$ID" || return 1',
    '  write_files "$1/runs/$ID" || { rm -rf "$1/runs/$ID"; return 1; }',
    '}',
    'make_run() {',
    '  for b do',
    // What the host said is kept only when a base fails: tried again then, to hear it (loud).
    '    if prepare_run "$b" 2>/dev/null || e=$(loud=1; prepare_run "$b" 2>&1); then d=$b/runs/$ID; return 0; fi',
    `    echo "skipped=$b: $(printf '%s' "$e" | tr '\\n\\r' '  ')"`,
    '  done',
    '  return 1',
    '}',
  ].join('\n');
}

/**
 * Sets `how` to the way a process is started apart from the login here: systemd-run (as root
 * under systemd), else setsid; exits 97 when there is neither. `indent` for a nested block.
 * After runFolderFunctions, whose U it reads (else it asks id).
 */
export function launcherChoice(indent = ''): string {
  return [
    'if [ "${U:-$(id -u)}" = 0 ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then how=systemd',
    'elif command -v setsid >/dev/null 2>&1; then how=setsid',
    'else exit 97; fi',
  ]
    .map((line) => indent + line)
    .join('\n');
}
