// What `nightshift check` asks a host before a run: one POSIX sh script that prints the
// facts as key=value lines ending with `end=ok` (see HostReport: a script that did not run
// to its end counts for nothing), and an SFTP session opened and closed again. The facts
// are judged elsewhere (runner/host-check.ts): here is only what the host said.
import type { SFTPWrapper } from 'ssh2';
import { shellQuote } from '../runbook/shell-quote.js';
import type { Connection } from './connection.js';
import { HostReport } from './host-shell.js';
import { runFolderFunctions } from './run-folders.js';

export interface ProbeRequest {
  /** The host's run_dir from the runbook, tried first as a run folder base. */
  runDir?: string;
  /** Commands the runbook's checks call on the host: each is looked up with `command -v`. */
  tools: string[];
  /** Whether to ask sudo (`sudo -n true`): only when the runbook uses it, since a refused sudo may be mailed to root. */
  sudo: boolean;
}

/** What the host said, as found; null fields: the probe printed nothing for it. */
export interface HostFacts {
  uid: string | null;
  /** The first of openssl, sha256sum, shasum found (the order uploads use), or null. */
  sha256Tool: string | null;
  setsid: boolean;
  systemdRun: boolean;
  systemctl: boolean;
  /** /run/systemd/system exists: systemd is the running init. */
  systemdRunning: boolean;
  /** Only asked when the request said so. */
  sudo?: SudoFact;
  /** The first base a run folder can be made in, and its free space. */
  runFolder: { base: string; freeKib: number | null } | null;
  /** Why each base before it (or every base) could not be used. */
  runFolderSkipped: string[];
  /** Tools of the request not found on the host's PATH. */
  missingTools: string[];
  /** Tools found. */
  foundTools: string[];
}

export type SudoFact = 'no-password' | 'needs-password' | 'refused' | 'missing';

/** Names that can be put in the script as they are: a tool name or an absolute path, nothing a shell reads otherwise. */
const SAFE_TOOL = /^[A-Za-z0-9_./+-]+$/;

export function probeScript(request: ProbeRequest): string {
  const tools = request.tools.filter((tool) => SAFE_TOOL.test(tool));
  return [
    // This script runs under /bin/sh through the launcher: getting here is the proof.
    'echo sh=ok',
    // The order transfer-remote-hash.ts tries them in.
    'for t in openssl sha256sum shasum; do if command -v $t >/dev/null 2>&1; then echo "sha256=$t"; break; fi; done',
    'command -v setsid >/dev/null 2>&1 && echo setsid=yes',
    'command -v systemd-run >/dev/null 2>&1 && echo systemd_run=yes',
    'command -v systemctl >/dev/null 2>&1 && echo systemctl=yes',
    '[ -d /run/systemd/system ] && echo systemd_running=yes',
    ...(request.sudo
      ? [
          'if ! command -v sudo >/dev/null 2>&1; then echo sudo=missing',
          'elif sudo -n true </dev/null >/dev/null 2>&1; then echo sudo=no-password',
          "elif sudo -n true 2>&1 </dev/null | grep -qi 'password'; then echo sudo=needs-password",
          'else echo sudo=refused; fi',
        ]
      : []),
    ...tools.map((tool) => {
      const quoted = shellQuote(tool);
      return `if command -v ${quoted} >/dev/null 2>&1; then echo tool=${quoted}; else echo notool=${quoted}; fi`;
    }),
    runFolderProbe(request.runDir),
    'echo end=ok',
  ].join('\n');
}

/**
 * The login's uid, and the first base a run could make its folder in (the same bases, in
 * the same order, and the same trust rule as run-folders.ts), proved by writing a file
 * there, and its free space. A base made only for this is removed again. Processes are
 * few (a fleet's check runs this on every host at once): the write is tried with the
 * builtin `true` (not special, so a failed redirection does not end the shell), and only
 * a failure is tried again in a subshell to read why.
 */
function runFolderProbe(runDir: string | undefined): string {
  return [
    runFolderFunctions('check', runDir),
    'echo "uid=$U"',
    // A newline, for cutting df's header line off.
    "nl='",
    "'",
    'for b do',
    '  made=',
    '  if [ ! -d "$b" ]; then e=$(mkdir -p -m 700 "$b" 2>&1) && made=1 || { echo "runfolder_skip=$b: $(printf \'%s\' "$e" | tr \'\\n\\r\' \'  \')"; continue; }; fi',
    '  if ! trusted "$b"; then echo "runfolder_skip=$b: it belongs to another user or is a symbolic link"; continue; fi',
    '  f="$b/.nightshift-check.$$"',
    '  if true 2>/dev/null >"$f"; then',
    '    rm -f "$f"',
    '    echo "runfolder=$b"',
    // The second line's fourth field; read from a command substitution, not through a pipe,
    // whose reading end would be a process more.
    '    r=$(df -Pk "$b" 2>/dev/null); r=${r#*"$nl"}; set -f; set -- $r; set +f; echo "runfolder_free_kib=$4"',
    '    [ -z "$made" ] || rmdir "$b" 2>/dev/null',
    '    break',
    '  fi',
    '  e=$( (: > "$f") 2>&1 )',
    '  rm -f "$f" 2>/dev/null',
    "  echo \"runfolder_skip=$b: $(printf '%s' \"$e\" | tr '\\n\\r' '  ')\"",
    '  [ -z "$made" ] || rmdir "$b" 2>/dev/null',
    'done',
  ].join('\n');
}

/** The facts in what the probe printed; null when it did not run to its end (nothing it printed counts). */
export function readProbe(stdout: string): HostFacts | null {
  const report = HostReport.read(stdout);
  if (report?.get('sh') !== 'ok') return null;
  const free = report.get('runfolder_free_kib');
  const base = report.get('runfolder');
  const sudo = report.get('sudo');
  return {
    uid: report.get('uid') ?? null,
    sha256Tool: report.get('sha256') ?? null,
    setsid: report.get('setsid') === 'yes',
    systemdRun: report.get('systemd_run') === 'yes',
    systemctl: report.get('systemctl') === 'yes',
    systemdRunning: report.get('systemd_running') === 'yes',
    ...(sudo === 'no-password' || sudo === 'needs-password' || sudo === 'refused' || sudo === 'missing' ? { sudo } : {}),
    runFolder: base !== undefined ? { base, freeKib: free !== undefined && /^\d+$/.test(free) ? Number(free) : null } : null,
    runFolderSkipped: report.all('runfolder_skip'),
    missingTools: report.all('notool'),
    foundTools: report.all('tool'),
  };
}

export type SftpFact = { available: true } | { available: false; error: string };

/** How long the probe's SFTP session waits for an upload to take it (see Connection.keepSftp). */
const KEEP_SFTP_MS = 60_000;

/**
 * Opens an SFTP session and makes sure its server answers a request, then keeps it for the
 * first upload. Bounded by `timeoutMs`. ssh2 hands the session over once the server answered
 * its limits@openssh.com request, when the server has that extension (OpenSSH 8.7 and later):
 * then that answer is the proof, and asking where the session starts would cost one more
 * round trip before the first step.
 */
export function probeSftpOn(connection: Connection, timeoutMs = 10_000): Promise<SftpFact> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (fact: SftpFact) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(fact);
    };
    const timer = setTimeout(() => finish({ available: false, error: `no answer within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
    if (!connection.isAlive) return finish({ available: false, error: 'the connection dropped' });
    try {
      connection.client.sftp((error, sftp) => {
        if (error) return finish({ available: false, error: error.message });
        sftp.on('error', () => {});
        // Kept only for a probe still waiting: one that ran out of time already said "not available".
        const answered = (failure?: Error) => {
          if (failure || settled) sftp.end();
          else connection.keepSftp(sftp, KEEP_SFTP_MS);
          finish(failure ? { available: false, error: failure.message } : { available: true });
        };
        if (answeredLimits(sftp)) answered();
        else sftp.realpath('.', (realpathError) => answered(realpathError ?? undefined));
      });
    } catch (error) {
      finish({ available: false, error: (error as Error).message });
    }
  });
}

/** ssh2 sets maxOpenHandles from the answer to its limits@openssh.com request, and only then. */
function answeredLimits(sftp: SFTPWrapper): boolean {
  return (sftp as unknown as { maxOpenHandles?: number }).maxOpenHandles !== undefined;
}
