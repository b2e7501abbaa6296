// The edit step's runner against a real sshd: files read and written over SSH (as root, as
// an ordinary user, through the real sudo), the backup beside the file, owner and mode
// kept, a file changed since its diff refused, undo, and a folder it cannot write in.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPool } from '../remote/host-pool.js';
import type { EditChange, EditStep, UndoStep } from '../runbook/types.js';
import { makeHome, poolFor, removeHome, scriptedInteraction } from '../../test/support/ssh-pool.js';
import { describeWithSshd } from '../../test/support/sshd.js';
import { withSshd } from '../../test/support/with-sshd.js';
import { hostsBecoming } from './become-hosts.js';
import { applyEdit, backupPathOf, MAX_EDIT_BYTES, missingMarkerOf, prepareEdit, undoEdit } from './edit-file.js';
import type { RemoteHosts } from './remote-hosts.js';

const SESSION = `s${process.pid}`;

function editStep(id: string, file: string, changes: EditChange[], extra: Partial<EditStep> = {}): EditStep {
  return {
    kind: 'edit',
    id,
    number: '1.1',
    phase: 'one',
    title: `edit ${file}`,
    at: { line: 1, col: 1 },
    needsHands: false,
    onFail: 'ask',
    host: 'dragon',
    path: file,
    changes,
    confirmText: 'dragon',
    ...extra,
  };
}

function undoStep(edit: EditStep): UndoStep {
  return { ...edit, kind: 'undo', id: `undo-${edit.id}`, stepId: edit.id, title: 'undo' } as UndoStep;
}

/** Output as the step's output would get it: what was written, and the notes. */
function recorder() {
  const written: string[] = [];
  const notes: string[] = [];
  return { written, notes, write: (chunk: Buffer) => written.push(chunk.toString()), note: (text: string) => notes.push(text) };
}

async function editOnce(hosts: RemoteHosts, step: EditStep) {
  const context = { hosts, sessionId: SESSION, signal: new AbortController().signal };
  const output = recorder();
  const { plan, prepared } = await prepareEdit(step, {}, context, output);
  return { plan, output, apply: () => applyEdit(step, prepared, context, output) };
}

const ctx = (hosts: RemoteHosts) => ({ hosts, sessionId: SESSION, signal: new AbortController().signal });

describeWithSshd('edit steps on a real host', () => {
  const host = withSshd({ sudoUsers: [{ name: 'nsedit', nopasswd: true }] }, { pool: true });
  let scratch: string;
  let userPool: HostPool;
  let userHome: string;

  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'ns-edit-'));
    userHome = makeHome();
    userPool = poolFor(host.sshd, { home: userHome, interaction: scriptedInteraction(), spec: { user: 'nsedit' } });
  });
  afterAll(async () => {
    await userPool?.close();
    removeHome(userHome);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('shows the diff, keeps the original beside the file, keeps owner and mode, and then has nothing to change', async () => {
    const file = path.join(scratch, 'sshd_config');
    writeFileSync(file, '#Port 22\nPasswordAuthentication yes\r\nUsePAM yes\n');
    chownSync(file, 1234, 5678);
    chmodSync(file, 0o640);
    const step = editStep('harden', file, [
      { kind: 'replace', pattern: '^#?PasswordAuthentication .*', with: 'PasswordAuthentication no' },
      { kind: 'ensure_line', line: 'PermitRootLogin no', after: '^#?Port ' },
    ]);
    const first = await editOnce(host.pool, step);
    expect(first.plan.changed).toBe(true);
    expect(first.output.written.join('')).toBe(
      `--- ${file}\n+++ ${file}\n@@ -1,3 +1,4 @@\n #Port 22\n-PasswordAuthentication yes\n+PermitRootLogin no\n+PasswordAuthentication no\n UsePAM yes\n`,
    );
    await first.apply();
    expect(readFileSync(file, 'utf8')).toBe('#Port 22\nPermitRootLogin no\nPasswordAuthentication no\r\nUsePAM yes\n');
    const stat = statSync(file);
    expect({ uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 }).toEqual({ uid: 1234, gid: 5678, mode: 0o640 });
    const backup = backupPathOf(file, SESSION, 'harden');
    expect(readFileSync(backup, 'utf8')).toBe('#Port 22\nPasswordAuthentication yes\r\nUsePAM yes\n');
    expect(statSync(backup).uid).toBe(1234);
    expect(first.output.notes.join('\n')).toContain(`the original is kept as ${backup}`);

    const again = await editOnce(host.pool, step);
    expect(again.plan).toEqual({ changed: false, diff: '' });
    expect(again.output.notes.join('\n')).toContain('nothing to change');

    const undone = recorder();
    await undoEdit(undoStep(step), ctx(host.pool), undone);
    expect(readFileSync(file, 'utf8')).toBe('#Port 22\nPasswordAuthentication yes\r\nUsePAM yes\n');
    expect(statSync(file).uid).toBe(1234);
    expect(undone.notes).toEqual([`nightshift: ${file} on dragon put back from ${backup}`]);
  });

  it('refuses to write a file that changed since its diff was shown, and leaves it as it is', async () => {
    const file = path.join(scratch, 'hostname');
    writeFileSync(file, 'dragon-old\n');
    const step = editStep('name', file, [{ kind: 'content', text: 'dragon\n' }]);
    const first = await editOnce(host.pool, step);
    writeFileSync(file, 'someone-else\n');
    await expect(first.apply()).rejects.toThrow(`the file changed since the diff was shown (${file} on dragon): go again to see the new diff`);
    expect(readFileSync(file, 'utf8')).toBe('someone-else\n');
  });

  it('creates a missing file with the given mode and a marker for the undo, which removes it', async () => {
    const file = path.join(scratch, 'new.conf');
    const step = editStep('create', file, [{ kind: 'ensure_line', line: 'a=1' }], { mode: 0o600 });
    const first = await editOnce(host.pool, step);
    expect(first.plan.diff).toBe(`--- /dev/null\n+++ ${file}\n@@ -0,0 +1 @@\n+a=1\n`);
    await first.apply();
    expect(readFileSync(file, 'utf8')).toBe('a=1\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(missingMarkerOf(backupPathOf(file, SESSION, 'create')))).toBe(true);
    await undoEdit(undoStep(step), ctx(host.pool), recorder());
    expect(existsSync(file)).toBe(false);
  });

  it('fails an undo without a backup of this session with the facts, naming backups of other sessions', async () => {
    const file = path.join(scratch, 'motd');
    writeFileSync(file, 'hello\n');
    writeFileSync(`${file}.nightshift-older-motd`, 'hi\n');
    const step = editStep('motd', file, [{ kind: 'content', text: 'x\n' }]);
    await expect(undoEdit(undoStep(step), ctx(host.pool), recorder())).rejects.toThrow(
      `there is no backup of ${file} on dragon from step motd of session ${SESSION} (${backupPathOf(file, SESSION, 'motd')} is missing): the step did not change it in that session; backups from other sessions: ${file}.nightshift-older-motd`,
    );
    expect(readFileSync(file, 'utf8')).toBe('hello\n');
  });

  it('refuses binary files, files over 1 MiB, symbolic links and folders', async () => {
    const binary = path.join(scratch, 'binary');
    writeFileSync(binary, Buffer.from([0x41, 0x00, 0x42]));
    const big = path.join(scratch, 'big');
    writeFileSync(big, 'x'.repeat(MAX_EDIT_BYTES + 1));
    const link = path.join(scratch, 'link');
    symlinkSync(big, link);
    const change: EditChange[] = [{ kind: 'ensure_line', line: 'a' }];
    await expect(editOnce(host.pool, editStep('b', binary, change))).rejects.toThrow('holds NUL bytes: it is a binary file');
    await expect(editOnce(host.pool, editStep('b', big, change))).rejects.toThrow(`has ${MAX_EDIT_BYTES + 1} bytes, more than the ${MAX_EDIT_BYTES}`);
    await expect(editOnce(host.pool, editStep('b', link, change))).rejects.toThrow(`is a symbolic link (to ${big})`);
    await expect(editOnce(host.pool, editStep('b', scratch, change))).rejects.toThrow('is not a regular file');
  });

  it('refuses a text that still holds a {{reference}} without a value, before reading anything', async () => {
    const file = path.join(scratch, 'never');
    await expect(editOnce(host.pool, editStep('ref', file, [{ kind: 'content', text: 'pw={{db_pw}}\n' }]))).rejects.toThrow(
      `the edit of ${file} holds {{db_pw}}, which has no value here (a secret, or a value not captured): nothing is changed`,
    );
    expect(existsSync(file)).toBe(false);
  });

  it('writes a file of almost 1 MiB in pieces', async () => {
    const file = path.join(scratch, 'large');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'y'.repeat(30)}`).join('\n');
    writeFileSync(file, `${lines}\n`);
    const first = await editOnce(host.pool, editStep('large', file, [{ kind: 'ensure_line', line: 'the end' }]));
    await first.apply();
    expect(readFileSync(file, 'utf8')).toBe(`${lines}\nthe end\n`);
  });

  describe('as an ordinary user', () => {
    it('fails closed in a folder it cannot write in, naming the backup and what to do; through sudo it works and root keeps the file', async () => {
      const home = host.sshd.sudoUserHome('nsedit');
      const folder = path.join(home, 'locked');
      mkdirSync(folder, { recursive: true });
      const file = path.join(folder, 'app.conf');
      writeFileSync(file, 'level=info\n');
      chownSync(file, 46_100, 65_534);
      chmodSync(folder, 0o555);
      chownSync(folder, 46_100, 65_534);
      const step = editStep('level', file, [{ kind: 'set', key: 'level', value: 'debug', separator: '=' }]);
      const first = await editOnce(userPool, step);
      await expect(first.apply()).rejects.toThrow(
        new RegExp(
          `^the original of ${file} on dragon cannot be kept as ${backupPathOf(file, SESSION, 'level').replaceAll('.', '\\.')} \\(.*Permission denied\\): nothing was changed\\. .*make its folder writable .*or give the step become: sudo$`,
        ),
      );
      expect(readFileSync(file, 'utf8')).toBe('level=info\n');

      const root = hostsBecoming(userPool, 'sudo');
      const rootFile = path.join(folder, 'root.conf');
      writeFileSync(rootFile, 'level=info\n');
      chmodSync(rootFile, 0o600);
      const asRoot = await editOnce(root, editStep('rootlevel', rootFile, [{ kind: 'set', key: 'level', value: 'debug', separator: '=' }]));
      await asRoot.apply();
      expect(readFileSync(rootFile, 'utf8')).toBe('level=debug\n');
      const stat = statSync(rootFile);
      expect({ uid: stat.uid, mode: stat.mode & 0o777 }).toEqual({ uid: 0, mode: 0o600 });
    });
  });
});
