// POSIX sh functions shared by the scripts that keep files on a host (detached runs, reverts).
// A full disk must not cost a status or a pid: small values fall back to a symbolic link's
// target, which needs no free block (ext4 keeps a short one in the inode, tmpfs in memory).
// Output goes through a sink that notices when the host can no longer write it, and says
// so, instead of losing it without a word.

/**
 * put NAME VALUE, get NAME, has NAME: small values in the folder $d, kept even on a full disk;
 * put_once NAME VALUE for a value written once, by one writer.
 * getv NAME sets v to the value's first line, in the shell itself (no subshell, as $(get) is).
 */
export const VALUE_FUNCTIONS = [
  `put() { { printf '%s\\n' "$2" > "$d/$1.tmp" && mv -f "$d/$1.tmp" "$d/$1"; } 2>/dev/null || { rm -f "$d/$1.tmp"; ln -s "$2" "$d/$1"; }; }`,
  // Read with the read builtin: a value is one line, and a process per value is what a busy host feels.
  `get() { if [ -L "$d/$1" ]; then readlink "$d/$1"; elif [ -f "$d/$1" ]; then while IFS= read -r _v || [ -n "$_v" ]; do printf '%s\\n' "$_v"; done 2>/dev/null <"$d/$1"; fi; }`,
  `getv() { v=; if [ -L "$d/$1" ]; then v=$(readlink "$d/$1"); elif [ -f "$d/$1" ]; then IFS= read -r v 2>/dev/null <"$d/$1"; fi; :; }`,
  // A value is never empty (a line at least): an empty file is one still being written by put_once.
  'has() { [ -s "$d/$1" ] || [ -L "$d/$1" ]; }',
  // For a value its one writer writes once (a run's exit): in place, a process (mv) less than put.
  `put_once() { { printf '%s\\n' "$2" > "$d/$1"; } 2>/dev/null || { rm -f "$d/$1"; ln -s "$2" "$d/$1"; }; }`,
].join('\n');

/**
 * boot_id: prints the host's boot id, nothing where the kernel keeps none; read_boot_id sets
 * _b to it (empty where there is none). Neither starts a process.
 */
export const BOOT_ID_FUNCTION = [
  `read_boot_id() { _b=; [ -r /proc/sys/kernel/random/boot_id ] && IFS= read -r _b 2>/dev/null </proc/sys/kernel/random/boot_id; :; }`,
  `boot_id() { read_boot_id; [ -z "$_b" ] || printf '%s\\n' "$_b"; }`,
].join('\n');

/**
 * sink NAME: appends stdin to $d/NAME; when a write fails, records why in NAME.cut (ENOSPC,
 * EROFS, EDQUOT, EFBIG or EIO) and reads the rest away, so the command is not stopped by a
 * broken pipe. It ignores TERM: stopping a run's process group leaves it to drain.
 *
 * settle PID...: waits for the sinks, but at most 3 s once the command ended: a child it left
 * in the background may hold the pipe open for ever (its later output is not the step's).
 */
export const SINK_FUNCTIONS = [
  'sink() {',
  "  trap '' TERM HUP INT",
  '  if w=$(cat 2>&1 >>"$d/$1"); then return 0; fi',
  "  case $w in *'No space'*) w=ENOSPC ;; *'Read-only'*) w=EROFS ;; *[Qq]uota*) w=EDQUOT ;; *'too large'*) w=EFBIG ;; *) w=EIO ;; esac",
  '  put "$1.cut" "$w"',
  '  cat >/dev/null',
  '}',
  'settle() {',
  // Ended already, or a moment after the command, as they mostly are (zombies, or reaped): no
  // timer is needed to wait for them. They are looked at a few times (each look is a few hundred
  // reads by the read builtin, time in which the sinks get a processor) before a timer, which
  // costs two processes, is started.
  '  if [ -d /proc/self ]; then',
  '    _i=0',
  '    while [ $_i -lt 40 ]; do',
  '      _i=$((_i+1))',
  '      for _p do _s=; { read -r _ _ _s _ </proc/$_p/stat; } 2>/dev/null; case $_s in Z|"") ;; *) _s=running; break ;; esac; done',
  '      [ "$_s" = running ] || { wait "$@"; return; }',
  '    done',
  '  fi',
  "  late=; trap 'late=1' USR1",
  // The timer holds no fd 9: a TERM that comes before its trap is set leaves its sleep
  // behind for 3 s, which must not hold the detached wrapper's lock (detached-scripts.ts).
  "  ( sleep 3 & p=$!; trap 'kill $p 2>/dev/null; exit 0' TERM; wait $p; kill -USR1 $$ 2>/dev/null ) 9<&- & w=$!",
  '  until wait "$@"; do [ -z "$late" ] || break; done',
  '  kill $w 2>/dev/null',
  '}',
].join('\n');

/** What a sink recorded, as a phrase: "no space left on the device". */
export function describeWriteFailure(code: string): string {
  switch (code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EDQUOT':
      return 'the disk quota is exceeded';
    case 'EFBIG':
      return 'the file grew too large';
    default:
      return 'a write error';
  }
}

/** The key=value lines a script printed, ending with `end=ok`. */
export class HostReport {
  private constructor(private readonly entries: ReadonlyArray<readonly [string, string]>) {}

  /** null when the last line is not `end=ok`: the script did not run to its end, so nothing it printed counts. */
  static read(stdout: string): HostReport | null {
    const lines = stdout.split('\n').filter((line) => line !== '');
    if (lines.at(-1) !== 'end=ok') return null;
    const entries: Array<[string, string]> = [];
    for (const line of lines.slice(0, -1)) {
      const at = line.indexOf('=');
      if (at > 0) entries.push([line.slice(0, at), line.slice(at + 1)]);
    }
    return new HostReport(entries);
  }

  /** The first value of `key`. */
  get(key: string): string | undefined {
    return this.entries.find(([name]) => name === key)?.[1];
  }

  all(key: string): string[] {
    return this.entries.filter(([name]) => name === key).map(([, value]) => value);
  }
}
