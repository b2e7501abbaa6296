import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { helperFilePath, readLiveHelperFile, removeHelperFile, writeHelperFile, type HelperFile } from './helper-file.js';

const dirs: string[] = [];
const sessionDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-helper-file-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const helper = (pid: number): HelperFile => ({ address: '127.0.0.1', port: 40222, fingerprint: 'SHA256:x', publicKey: 'ssh-ed25519 AAAA', pid });

describe("the helper channel's file", () => {
  it('is read back while the nightshift that wrote it runs, and gone once removed', () => {
    const dir = sessionDir();
    expect(readLiveHelperFile(dir)).toBeNull();
    writeHelperFile(dir, helper(process.pid));
    expect(readLiveHelperFile(dir)).toEqual(helper(process.pid));
    removeHelperFile(dir);
    expect(readLiveHelperFile(dir)).toBeNull();
  });

  it('counts for nothing when its nightshift is gone or it does not read', () => {
    const dir = sessionDir();
    // Beyond pid_max: no process has it.
    writeHelperFile(dir, helper(2 ** 22 + 1));
    expect(readLiveHelperFile(dir)).toBeNull();
    writeFileSync(helperFilePath(dir), '{"port": ');
    expect(readLiveHelperFile(dir)).toBeNull();
  });

  it('counts for nothing when its nightshift is a zombie nobody reaps', async () => {
    const dir = sessionDir();
    // The background sleep ends first; its parent, become `sleep 5`, never waits for it.
    const parent = spawn('/bin/sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
      await new Promise((resolve) => setTimeout(resolve, 500));
      writeHelperFile(dir, helper(pid));
      expect(readLiveHelperFile(dir)).toBeNull();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
