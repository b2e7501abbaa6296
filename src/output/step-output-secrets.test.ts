import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretMasker } from './secret-mask.js';
import { StepOutput } from './step-output.js';

describe('StepOutput with secrets', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const logFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-secret-output-'));
    dirs.push(dir);
    return path.join(dir, 'step.1.log');
  };
  const secrets = new SecretMasker([{ name: 'pw', value: 'Valuable-1' }]);

  it('writes, shows and passes on masked lines, a value split across chunks and streams included', async () => {
    const file = logFile();
    const seen: string[] = [];
    const output = new StepOutput(file, { secrets, onLines: (lines) => seen.push(...lines) });
    output.write(Buffer.from('pw is Valu'));
    output.write(Buffer.from('err Valuable'), true);
    output.write(Buffer.from('able-1\n'));
    output.write(Buffer.from('-1\n'), true);
    output.note('nightshift: the command said Valuable-1');
    await output.close();
    // The log interleaves the streams as their bytes are passed on.
    expect(readFileSync(file, 'utf8')).toBe('pw is err «secret pw»\n«secret pw»\n');
    expect(seen).toEqual(['pw is «secret pw»', 'err «secret pw»', 'nightshift: the command said «secret pw»']);
    expect(
      output.ring
        .tail(10)
        .map((line) => line.text)
        .join('\n'),
    ).not.toContain('Valuable');
  });

  it('counts held bytes only once passed on, and a continued log goes on from what it holds', async () => {
    const file = logFile();
    const first = new StepOutput(file, { secrets });
    first.write(Buffer.from('a Valuable-1 b Valu'));
    // 'Valu' is held: the host resends it after a resume from these offsets.
    expect(first.stdoutBytes).toBe('a Valuable-1 b '.length);
    const saved = { stdout: first.stdoutBytes, stderr: first.stderrBytes, log: first.bytes };
    expect(saved.log).toBe(Buffer.byteLength('a «secret pw» b '));
    // nightshift stops here (the held part never reaches the log); a resume follows on.
    const second = new StepOutput(file, { secrets, continueAt: saved });
    second.write(Buffer.from('Valuable-1 c\n'));
    await second.close();
    expect(readFileSync(file, 'utf8')).toBe('a «secret pw» b «secret pw» c\n');
    expect(second.stdoutBytes).toBe(Buffer.byteLength('a Valuable-1 b Valuable-1 c\n'));
  });
});
