import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { InteractiveShell } from '../remote/types.js';
import { EscapeReader, type HandShellRun, openHandShell, ShellKeys, shellEndText } from './hand-shell.js';

describe("the shell's escape (Enter ~.)", () => {
  const typed = (reader: EscapeReader, text: string) => {
    const read = reader.read(Buffer.from(text));
    return { typed: read.typed.toString(), cut: read.cut };
  };

  it('cuts only at the start of a line, as in OpenSSH', () => {
    const reader = new EscapeReader();
    expect(typed(reader, 'ls ~.bashrc\r')).toEqual({ typed: 'ls ~.bashrc\r', cut: false });
    expect(typed(reader, '~.')).toEqual({ typed: '', cut: true });
    expect(typed(new EscapeReader(), '~.')).toEqual({ typed: '', cut: true });
  });

  it('holds a ~ at the start of a line until the next key, across reads; ~~ sends one ~', () => {
    const reader = new EscapeReader();
    expect(typed(reader, '~')).toEqual({ typed: '', cut: false });
    expect(typed(reader, '/bin\r')).toEqual({ typed: '~/bin\r', cut: false });
    expect(typed(reader, '~~.')).toEqual({ typed: '~.', cut: false });
    expect(typed(reader, 'x\n~')).toEqual({ typed: 'x\n', cut: false });
    expect(typed(reader, '.')).toEqual({ typed: '', cut: true });
  });

  it('passes every other byte through untouched (a UTF-8 name, Ctrl-C, Ctrl-D)', () => {
    const reader = new EscapeReader();
    const bytes = Buffer.from('é名\x03\x04');
    expect(reader.read(bytes).typed.equals(bytes)).toBe(true);
  });
});

describe('the keys from `!` on (ShellKeys)', () => {
  const terminal = () => {
    const input = Object.assign(new PassThrough(), { raw: [] as boolean[], setRawMode: (mode: boolean) => void input.raw.push(mode) });
    const output = Object.assign(new PassThrough(), { columns: 80, rows: 24 });
    return { input, output };
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('keeps what is typed while the shell opens and gives it to the shell first, then the keys as they come', async () => {
    const term = terminal();
    const keys = new ShellKeys(term);
    expect(term.input.raw).toEqual([true]);
    term.input.write('ls -l');
    term.input.write('\r');
    await settle();
    const sent: string[] = [];
    let cut = 0;
    keys.sendTo(
      (typed) => sent.push(typed.toString()),
      () => cut++,
    );
    expect(sent).toEqual(['ls -l\r']);
    term.input.write('\x03uptime\r~.');
    await settle();
    expect(sent).toEqual(['ls -l\r', '\x03uptime\r']);
    expect(cut).toBe(1);
    expect(keys.givenUp.aborted).toBe(false);
    await keys.release();
    expect(term.input.raw).toEqual([true, false]);
    term.input.write('after');
    await settle();
    expect(sent).toHaveLength(2);
  });

  it.each([
    ['Ctrl-C', 'y\x03'],
    ['Enter ~.', 'y\r~.'],
    ['~. as the first keys', '~.'],
  ])('gives up the opening on %s, and keeps nothing', async (_name, typed) => {
    const term = terminal();
    const keys = new ShellKeys(term);
    term.input.write(typed);
    await settle();
    expect(keys.givenUp.aborted).toBe(true);
    const sent: Buffer[] = [];
    keys.sendTo(
      (data) => sent.push(data),
      () => undefined,
    );
    expect(Buffer.concat(sent).toString()).not.toContain('\x03');
  });

  it('a ~ typed inside a line while the shell opens is kept as typed', async () => {
    const term = terminal();
    const keys = new ShellKeys(term);
    term.input.write('cd ~.ssh');
    await settle();
    expect(keys.givenUp.aborted).toBe(false);
    const sent: string[] = [];
    keys.sendTo(
      (data) => sent.push(data.toString()),
      () => undefined,
    );
    expect(sent).toEqual(['cd ~.ssh']);
  });
});

describe('opening the shell (openHandShell)', () => {
  const fakeShell = () => {
    let closed!: (status: { exitCode: number | null }) => void;
    const ended: boolean[] = [];
    const listeners: ((data: Buffer) => void)[] = [];
    const print = (text: string) => {
      for (const listener of listeners) listener(Buffer.from(text));
    };
    const shell: InteractiveShell = {
      where: 'root@127.0.0.1:2222',
      write: () => undefined,
      resize: () => undefined,
      onData: (listener) => void listeners.push(listener),
      end: () => {
        ended.push(true);
        closed({ exitCode: null });
      },
      closed: new Promise((resolve) => (closed = resolve)),
    };
    return { shell, ended, print, exit: (exitCode: number) => closed({ exitCode }) };
  };
  const runWith = (openShell: () => Promise<InteractiveShell>) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-hand-shell-'));
    const journal: string[] = [];
    const entries: Record<string, unknown>[] = [];
    const append = (type: string, entry: Record<string, unknown>) => {
      journal.push(type);
      entries.push({ type, ...entry });
    };
    const run = {
      hosts: { openShell } as unknown as HandShellRun['hosts'],
      session: { dir, journal: { append } } as unknown as HandShellRun['session'],
      upgrader: { role: 'upgrader', name: 'ana' } as HandShellRun['upgrader'],
    };
    return { run, journal, entries, dir };
  };
  const size = { cols: 80, rows: 24, term: 'xterm-256color' };

  it('given up while it opens: fails at once, and a shell that opens after is closed and never journaled', async () => {
    const { shell, ended } = fakeShell();
    let open!: (shell: InteractiveShell) => void;
    const { run, journal, dir } = runWith(() => new Promise((resolve) => (open = resolve)));
    const giving = new AbortController();
    const opening = openHandShell(run, 'target', null, size, giving.signal);
    giving.abort();
    await expect(opening).rejects.toThrow('given up while it opened');
    open(shell);
    await shell.closed;
    expect(ended).toEqual([true]);
    expect(journal).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('opened before anyone gave up: the shell is journaled and kept open', async () => {
    const { shell, ended } = fakeShell();
    const { run, journal, dir } = runWith(async () => shell);
    const giving = new AbortController();
    const opened = await openHandShell(run, 'target', 'step-1', size, giving.signal);
    giving.abort();
    await settleTicks();
    expect(opened.where).toBe(shell.where);
    expect(ended).toEqual([]);
    expect(journal).toEqual(['shell.opened']);
    shell.end();
    // The recording's files may still be opening: their folder going first stops the recording, nothing else.
    rmSync(dir, { recursive: true, force: true });
  });

  it('a recording that cannot be written (a full disk) stops, and the shell goes on to its end, which says so', async () => {
    const { shell, print, exit } = fakeShell();
    const { run, entries, dir } = runWith(async () => shell);
    mkdirSync(path.join(dir, 'shells'));
    symlinkSync('/dev/full', path.join(dir, 'shells', '1-target.cast'));
    const opened = await openHandShell(run, 'target', null, size);
    const input = Object.assign(new PassThrough(), { setRawMode: () => undefined });
    const output = Object.assign(new PassThrough(), { columns: 80, rows: 24 });
    const shown: string[] = [];
    output.on('data', (data: Buffer) => shown.push(data.toString()));
    const attached = opened.attach(new ShellKeys({ input, output }));
    print('before\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    print('after the disk filled\r\n');
    exit(0);
    const end = await attached;
    expect(end.exitCode).toBe(0);
    expect(end.bytes).toBe(31);
    expect(end.recordingError).toBe('ENOSPC: no space left on device, write');
    expect(shown.join('')).toBe('before\r\nafter the disk filled\r\n');
    expect(entries.at(-1)).toMatchObject({ type: 'shell.closed', exitCode: 0, bytes: 31, recordingError: 'ENOSPC: no space left on device, write' });
    expect(shellEndText(opened, end)).toMatch(
      /: it exited 0 after .*; its recording stopped \(ENOSPC: no space left on device, write\): shells\/1-target\.log keeps what came before$/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

function settleTicks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
