// The chunk scripts of an upload without SFTP, run here by real shells (dash, bash, BusyBox
// ash) with real dd (GNU and BusyBox's): every byte value must arrive as it was, at its block.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkLength, chunkScript, MAX_CHUNK_BYTES, printfFormat, resumePoint, SCRIPT_BUDGET, SHELL_BLOCK_SIZE } from './transfer-exec.js';

const work = mkdtempSync(path.join(tmpdir(), 'ns-transfer-exec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BUSYBOX = '/bin/busybox';
/** A PATH where printf and dd are BusyBox's, as on a BusyBox-only host. */
const busyboxBin = path.join(work, 'busybox-bin');
mkdirSync(busyboxBin);
for (const applet of ['printf', 'dd', 'sh']) symlinkSync(BUSYBOX, path.join(busyboxBin, applet));

const shells: Array<{ name: string; command: string[]; env: NodeJS.ProcessEnv }> = [
  { name: 'dash with GNU dd', command: ['dash', '-c'], env: process.env },
  { name: 'bash with GNU dd', command: ['bash', '-c'], env: process.env },
  { name: 'BusyBox ash with BusyBox dd', command: [path.join(busyboxBin, 'sh'), '-c'], env: { PATH: busyboxBin } },
];

function runIn(shell: (typeof shells)[number], script: string): { status: number | null; stdout: Buffer; stderr: string } {
  const result = spawnSync(shell.command[0]!, [...shell.command.slice(1), script], { env: shell.env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

const everyByte = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
// A leading dash (printf must not take it as an option), %, quotes, backslashes, digits after an escape, trailing newlines.
const tricky = Buffer.concat([Buffer.from('-n %s %% \' " \\ \\n \0' + '7'), everyByte, Buffer.from('\x00\x00123\n\n')]);

describe.each(shells)('chunk scripts under $name', (shell) => {
  it('printf writes every byte value as it was', () => {
    for (const bytes of [everyByte, tricky, randomBytes(30_000)]) {
      const result = runIn(shell, `printf '${printfFormat(bytes)}'`);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.equals(bytes)).toBe(true);
    }
  });

  it('writes a chunk at its block, cutting the file there first, and says so', () => {
    const file = path.join(work, `part '${shell.name}' $x`);
    writeFileSync(file, Buffer.alloc(5 * SHELL_BLOCK_SIZE, 'x'));
    const first = randomBytes(2 * SHELL_BLOCK_SIZE);
    const second = Buffer.concat([tricky, randomBytes(1000)]);
    for (const [block, bytes] of [
      [0, first],
      [2, second],
    ] as const) {
      const result = runIn(shell, chunkScript(file, block, bytes));
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.toString()).toBe('written\n');
    }
    expect(readFileSync(file).equals(Buffer.concat([first, second]))).toBe(true);
    // Sent again after a lost answer: the same file.
    expect(runIn(shell, chunkScript(file, 2, second)).status).toBe(0);
    expect(readFileSync(file).equals(Buffer.concat([first, second]))).toBe(true);
  });

  it('fails with what dd said when the file cannot be written', () => {
    const result = runIn(shell, chunkScript(path.join(work, 'no-such-folder', 'part'), 0, Buffer.from('data')));
    expect(result.status).toBe(1);
    expect(result.stdout.toString()).toBe('');
    expect(result.stderr).toMatch(/no-such-folder.*No such file or directory|No such file or directory/);
  });
});

describe('chunk length', () => {
  it('takes whole blocks while the escaped bytes fit the budget, at least one', () => {
    const random = randomBytes(MAX_CHUNK_BYTES);
    const length = chunkLength(random);
    expect(length % SHELL_BLOCK_SIZE).toBe(0);
    expect(length).toBeGreaterThanOrEqual(SHELL_BLOCK_SIZE);
    expect(printfFormat(random.subarray(0, length)).length).toBeLessThanOrEqual(SCRIPT_BUDGET);
    expect(printfFormat(random.subarray(0, length + SHELL_BLOCK_SIZE)).length).toBeGreaterThan(SCRIPT_BUDGET);
    // Plain text hardly grows: all of it fits.
    expect(chunkLength(Buffer.alloc(MAX_CHUNK_BYTES, 'a'))).toBe(MAX_CHUNK_BYTES);
    // Only escapes (4 bytes each): still one block at least.
    expect(chunkLength(Buffer.alloc(MAX_CHUNK_BYTES, 0))).toBe(Math.floor(SCRIPT_BUDGET / (4 * SHELL_BLOCK_SIZE)) * SHELL_BLOCK_SIZE);
    // A short last chunk goes whole.
    expect(chunkLength(Buffer.from('tail'))).toBe(4);
  });

  it('keeps a chunk script within the 128 KiB Linux takes in one argument', () => {
    const bytes = Buffer.alloc(MAX_CHUNK_BYTES, 0xff);
    const script = chunkScript(`/${'d'.repeat(200)}/${'f'.repeat(250)}`, 123_456, bytes.subarray(0, chunkLength(bytes)));
    expect(Buffer.byteLength(script)).toBeLessThan(128 * 1024);
    // And it runs as the launcher runs it: one argument of /bin/sh -c.
    expect(execFileSync('/bin/sh', ['-c', 'echo "${#1}"', 'sh', script], { encoding: 'utf8' }).trim()).toBe(String(script.length));
  });
});

describe('resume point', () => {
  it("is the partial file's last block boundary", () => {
    expect(resumePoint(3 * SHELL_BLOCK_SIZE + 10)).toBe(3 * SHELL_BLOCK_SIZE);
    expect(resumePoint(2 * SHELL_BLOCK_SIZE)).toBe(2 * SHELL_BLOCK_SIZE);
    expect(resumePoint(SHELL_BLOCK_SIZE - 1)).toBe(0);
  });
});
