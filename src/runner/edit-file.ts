// The edit step on its host: the file read (as bytes, through sudo when the step becomes
// root), the change worked out and shown as a diff, then, once approved, the original kept
// next to the file and the new text put in place by a rename, with the original's owner,
// group and mode. Every script ends by saying how it went on a line of its own: without that
// line nothing it did counts.
import { createHash } from 'node:crypto';
import type { EditPlan } from '../engine/setup.js';
import type { StepOutput } from '../output/step-output.js';
import { applyChanges, changeTexts, unifiedDiff } from '../runbook/edits.js';
import { interpolateText } from '../runbook/interpolate.js';
import { REFERENCE } from '../runbook/shell-context.js';
import { shellQuote } from '../runbook/shell-quote.js';
import type { EditChange, EditStep, UndoStep } from '../runbook/types.js';
import type { RemoteHosts } from './remote-hosts.js';

/** The largest file an edit step reads: beyond it, it is hardly a configuration file. */
export const MAX_EDIT_BYTES = 1024 * 1024;
/** Base64 characters sent per command (a multiple of 4; well under the kernel's 128 KiB for one argument). */
const CHUNK = 48 * 1024;
const VERDICT = 'nightshift-edit:';

/** Where the original of `path` is kept by this session's step `stepId`. */
export function backupPathOf(path: string, sessionId: string, stepId: string): string {
  return `${path}.nightshift-${safeName(sessionId)}-${safeName(stepId)}`;
}

/** The marker left instead of a backup when the step created the file. */
export function missingMarkerOf(backup: string): string {
  return `${backup}.missing`;
}

const safeName = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '_');

export interface EditContext {
  /** The hosts as the step reaches them (through sudo when it becomes root). */
  hosts: RemoteHosts;
  sessionId: string;
  signal: AbortSignal;
}

/** What the upgrader approved: the file as it was read, and the text it becomes. */
export interface PreparedEdit {
  /** sha256 of the file as read, or null when it was missing. */
  originalSha: string | null;
  after: string;
}

type FileState = { exists: false } | { exists: true; bytes: Buffer };

/** Runs a /bin/sh script on the step's host and returns what it printed, failing with its facts when it did not say how it went. */
async function runScript(hosts: RemoteHosts, host: string, script: string, signal: AbortSignal): Promise<{ stdout: string; verdict: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const result = await hosts.exec(host, `exec /bin/sh -c ${shellQuote(script)}`, {
    onStdout: (chunk) => out.push(chunk),
    onStderr: (chunk) => err.push(chunk),
    signal,
  });
  const stdout = Buffer.concat(out).toString('utf8');
  const lines = stdout.replace(/\n$/, '').split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (!last.startsWith(VERDICT)) {
    const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join('; ');
    const status = result.exitCode === null ? 'was killed' : `exited with status ${result.exitCode}`;
    throw new Error(`the script on ${host} ${status} without saying how it went${stderr ? ` (${stderr})` : ''}, so nothing it did counts`);
  }
  return { stdout, verdict: last.slice(VERDICT.length).trim() };
}

function readScript(path: string): string {
  return `p=${shellQuote(path)}
if [ -L "$p" ]; then echo "${VERDICT} symlink $(readlink "$p")"; exit 0; fi
if [ ! -e "$p" ]; then echo "${VERDICT} missing"; exit 0; fi
if [ ! -f "$p" ]; then echo "${VERDICT} not-a-file"; exit 0; fi
size=$(wc -c < "$p") || exit 1
size=$((size + 0))
if [ "$size" -gt ${MAX_EDIT_BYTES} ]; then echo "${VERDICT} too-big $size"; exit 0; fi
base64 < "$p" || exit 1
echo "${VERDICT} file $size"`;
}

/** The file as it is on the host: its bytes, or missing. */
export async function readRemoteFile(hosts: RemoteHosts, host: string, path: string, signal: AbortSignal): Promise<FileState> {
  const { stdout, verdict } = await runScript(hosts, host, readScript(path), signal);
  const [kind, detail] = verdict.split(/ (.*)/s);
  switch (kind) {
    case 'missing':
      return { exists: false };
    case 'symlink':
      throw new Error(`${path} on ${host} is a symbolic link (to ${detail}): edit the file it points to, so that the link stays a link`);
    case 'not-a-file':
      throw new Error(`${path} on ${host} is not a regular file (a directory or a device?): an edit step changes text files only`);
    case 'too-big':
      throw new Error(`${path} on ${host} has ${detail} bytes, more than the ${MAX_EDIT_BYTES} an edit step reads: change it with a run step`);
    case 'file': {
      const body = stdout.slice(0, stdout.lastIndexOf(VERDICT));
      const bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
      if (bytes.length !== Number(detail)) {
        throw new Error(
          `${path} on ${host} came over as ${bytes.length} bytes but has ${detail}: it changed while it was read, or the transfer was damaged; try again`,
        );
      }
      return { exists: true, bytes };
    }
    default:
      throw new Error(`reading ${path} on ${host} ended with '${verdict}', which nightshift does not know, so nothing it read counts`);
  }
}

/** The file's text; binary files (NUL, or not UTF-8) are refused. */
function textOf(bytes: Buffer, path: string, host: string): string {
  if (bytes.includes(0)) throw new Error(`${path} on ${host} holds NUL bytes: it is a binary file, and an edit step changes text files only`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path} on ${host} is not UTF-8 text: an edit step changes text files only; change it with a run step`);
  }
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The step's changes with the values captured so far put in (as text). */
function changesWith(changes: readonly EditChange[], values: Record<string, string>): EditChange[] {
  const text = (value: string) => interpolateText(value, values);
  return changes.map((change): EditChange => {
    switch (change.kind) {
      case 'content':
        return { ...change, text: text(change.text) };
      case 'ensure_line':
        return { ...change, line: text(change.line), ...(change.after !== undefined ? { after: text(change.after) } : {}) };
      case 'replace':
        return { ...change, pattern: text(change.pattern), with: text(change.with) };
      case 'block':
        return { ...change, marker: text(change.marker), text: text(change.text) };
      case 'set':
        return { ...change, value: text(change.value) };
    }
  });
}

/** Reads the file and works out the change: its diff is written to the step's output, for the approval below it. */
export async function prepareEdit(
  step: EditStep,
  values: Record<string, string>,
  context: EditContext,
  output: Pick<StepOutput, 'write' | 'note'>,
): Promise<{ plan: EditPlan; prepared: PreparedEdit }> {
  const changes = changesWith(step.changes, values);
  for (const text of changes.flatMap(changeTexts)) {
    const left = new RegExp(REFERENCE.source).exec(text);
    if (left) throw new Error(`the edit of ${step.path} holds ${left[0]}, which has no value here (a secret, or a value not captured): nothing is changed`);
  }
  const file = await readRemoteFile(context.hosts, step.host, step.path, context.signal);
  const before = file.exists ? textOf(file.bytes, step.path, step.host) : null;
  let after: string;
  try {
    after = applyChanges(before, changes);
  } catch (error) {
    throw new Error(`${step.path} on ${step.host}: ${(error as Error).message}`);
  }
  if (after.includes('\0')) throw new Error(`the new ${step.path} would hold a NUL character (from a value put in): nothing is changed`);
  const prepared = { originalSha: file.exists ? sha256(file.bytes) : null, after };
  if (before === after) {
    output.note(`nightshift: ${step.path} on ${step.host} is already as the step makes it: nothing to change`);
    return { plan: { changed: false, diff: '' }, prepared };
  }
  const diff = unifiedDiff(step.path, before, after);
  output.write(Buffer.from(diff));
  output.note(
    `nightshift: the change to ${step.path} on ${step.host} is shown above; approving it keeps the original as ${backupPathOf(step.path, context.sessionId, step.id)}`,
  );
  return { plan: { changed: true, diff }, prepared };
}

/**
 * Puts the approved text in place: refused when the file is no longer the one diffed; the
 * original kept next to it first (or a marker when there was none), then a temporary file
 * written beside it, given the original's owner, group and mode, renamed over it, synced.
 */
export async function applyEdit(step: EditStep, prepared: PreparedEdit | undefined, context: EditContext, output: Pick<StepOutput, 'note'>): Promise<void> {
  const { hosts, signal } = context;
  if (prepared === undefined) {
    throw new Error(
      `the diff approved for ${step.path} on ${step.host} is not known to this nightshift (it was started again since): retry the step to read the file again and see its diff`,
    );
  }
  const backup = backupPathOf(step.path, context.sessionId, step.id);
  const temp = `${step.path}.nightshift-new-${safeName(context.sessionId)}-${safeName(step.id)}`;
  const newSha = sha256(prepared.after);
  const vars = `p=${shellQuote(step.path)}; b=${shellQuote(backup)}; m=${shellQuote(missingMarkerOf(backup))}; t=${shellQuote(temp)}
want=${prepared.originalSha ?? 'missing'}
fail() { echo "${VERDICT} $*"; exit 0; }
current() { if [ -e "$p" ] || [ -L "$p" ]; then sha256sum < "$p" | cut -d' ' -f1; else echo missing; fi; }`;
  const check = `now=$(current) || fail unreadable
if [ "$now" = ${newSha} ]; then rm -f "$t.b64"; fail already; fi
[ "$now" = "$want" ] || { rm -f "$t.b64"; fail changed; }`;
  const start = await runScript(
    hosts,
    step.host,
    `${vars}
${check}
if [ "$want" = missing ]; then
  [ -e "$b" ] || [ -e "$m" ] || err=$( (umask 077; : > "$m") 2>&1) || fail "backup $err"
else
  [ -e "$b" ] || [ -e "$m" ] || err=$(cp -p "$p" "$b.tmp" 2>&1 && mv -f "$b.tmp" "$b" 2>&1) || { rm -f "$b.tmp"; fail "backup $err"; }
fi
err=$( (umask 077; : > "$t.b64") 2>&1) || fail "temp $err"
echo "${VERDICT} ready"`,
    signal,
  );
  if (start.verdict === 'already') {
    output.note(`nightshift: ${step.path} on ${step.host} already is as approved: nothing left to do`);
    return;
  }
  refuseBy(start.verdict, step, backup);
  const encoded = Buffer.from(prepared.after).toString('base64');
  for (let at = 0; at < encoded.length; at += CHUNK) {
    const piece = await runScript(
      hosts,
      step.host,
      `printf '%s' ${encoded.slice(at, at + CHUNK)} >> ${shellQuote(`${temp}.b64`)} && echo "${VERDICT} ok"`,
      signal,
    );
    if (piece.verdict !== 'ok') throw new Error(`writing beside ${step.path} on ${step.host} failed (${piece.verdict})`);
  }
  const modeOfNew = (step.mode ?? 0o644).toString(8);
  const done = await runScript(
    hosts,
    step.host,
    `${vars}
${check}
err=$(base64 -d < "$t.b64" 2>&1 > "$t") || { rm -f "$t" "$t.b64"; fail "decode $err"; }
rm -f "$t.b64"
[ "$(sha256sum < "$t" | cut -d' ' -f1)" = ${newSha} ] || { rm -f "$t"; fail damaged; }
if [ "$want" = missing ]; then
  err=$(chmod ${modeOfNew} "$t" 2>&1) || { rm -f "$t"; fail "mode $err"; }
else
  mode=$(stat -c %a "$p") && owner=$(stat -c %u:%g "$p") || { rm -f "$t"; fail "stat"; }
  err=$(chown "$owner" "$t" 2>&1) || { rm -f "$t"; fail "owner $owner $err"; }
  err=$(chmod "$mode" "$t" 2>&1) || { rm -f "$t"; fail "mode $err"; }
fi
err=$(mv -f "$t" "$p" 2>&1) || { rm -f "$t"; fail "rename $err"; }
sync
echo "${VERDICT} done"`,
    signal,
  );
  if (done.verdict === 'already') return;
  refuseBy(done.verdict, step, backup);
  if (done.verdict !== 'done') throw new Error(`writing ${step.path} on ${step.host} ended with '${done.verdict}'`);
  output.note(
    `nightshift: ${step.path} on ${step.host} changed (sha256 ${newSha.slice(0, 16)}…); the original is kept as ${prepared.originalSha === null ? `${missingMarkerOf(backup)} (there was no file)` : backup}`,
  );
}

/** A script's verdict other than going on, as the error the upgrader reads. */
function refuseBy(verdict: string, step: EditStep, backup: string): void {
  const [kind, detail = ''] = verdict.split(/ (.*)/s);
  const where = `${step.path} on ${step.host}`;
  switch (kind) {
    case 'ready':
    case 'done':
      return;
    case 'changed':
      throw new Error(`the file changed since the diff was shown (${where}): go again to see the new diff (retry the step); nothing was changed`);
    case 'unreadable':
      throw new Error(`${where} cannot be read any more: nothing was changed`);
    case 'backup':
      throw new Error(
        `the original of ${where} cannot be kept as ${backup} (${detail.trim() || 'no reason given'}): nothing was changed. nightshift changes a file only with its backup beside it: make its folder writable (a read-only or full filesystem?), or give the step become: sudo`,
      );
    case 'temp':
    case 'rename':
      throw new Error(
        `the new ${where} cannot be written beside it (${detail.trim()}): the file is unchanged; make its folder writable, or give the step become: sudo`,
      );
    case 'owner':
    case 'mode':
      throw new Error(`the new ${where} cannot be given the original's ${kind} (${detail.trim()}): the file is unchanged; give the step become: sudo`);
    case 'decode':
    case 'damaged':
      throw new Error(`the new ${where} arrived damaged (${kind} ${detail.trim()}): the file is unchanged; try again`);
    default:
      throw new Error(`changing ${where} ended with '${verdict}', which nightshift does not know`);
  }
}

/** Puts back the file an edit step changed, from the backup its step kept in `context.sessionId` (or removes the file it created). */
export async function undoEdit(step: UndoStep, context: EditContext, output: Pick<StepOutput, 'note'>): Promise<void> {
  const backup = backupPathOf(step.path, context.sessionId, step.stepId);
  const temp = `${step.path}.nightshift-undo-${safeName(context.sessionId)}-${safeName(step.stepId)}`;
  const { verdict } = await runScript(
    context.hosts,
    step.host,
    `p=${shellQuote(step.path)}; b=${shellQuote(backup)}; m=${shellQuote(missingMarkerOf(backup))}; t=${shellQuote(temp)}
fail() { echo "${VERDICT} $*"; exit 0; }
if [ -f "$b" ]; then
  err=$(cp -p "$b" "$t" 2>&1) || { rm -f "$t"; fail "copy $err"; }
  err=$(mv -f "$t" "$p" 2>&1) || { rm -f "$t"; fail "rename $err"; }
  sync; echo "${VERDICT} restored"
elif [ -e "$m" ]; then
  err=$(rm -f "$p" 2>&1) || fail "remove $err"
  sync; echo "${VERDICT} removed"
else
  others=$(ls -d "$p".nightshift-*-${shellQuote(safeName(step.stepId))} 2>/dev/null | tr '\\n' ' ')
  echo "${VERDICT} none $others"
fi`,
    context.signal,
  );
  const [kind, detail = ''] = verdict.split(/ (.*)/s);
  const where = `${step.path} on ${step.host}`;
  switch (kind) {
    case 'restored':
      output.note(`nightshift: ${where} put back from ${backup}`);
      return;
    case 'removed':
      output.note(`nightshift: ${where} removed: step ${step.stepId} had created it`);
      return;
    case 'none':
      throw new Error(
        `there is no backup of ${where} from step ${step.stepId} of session ${context.sessionId} (${backup} is missing): the step did not change it in that session${
          detail.trim() ? `; backups from other sessions: ${detail.trim()} (put one back by hand if it is the right one)` : ''
        }`,
      );
    default:
      throw new Error(`putting back ${where} failed (${verdict}): look at ${backup} and the file on the host`);
  }
}
