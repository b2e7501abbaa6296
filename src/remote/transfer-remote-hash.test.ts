// The target's hashing command, run here by the real /bin/sh with each of the tools it may
// find (sha256sum, shasum, openssl) and with none.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_HASH_TOOL_STATUS, parseSha256, remoteHashCommand, waitingHashCommand } from './transfer-remote-hash.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

const work = scratch('ns-remote-hash-');
const data = randomBytes(300_000);
// Quotes, a dollar and spaces: the path must reach the tool as one word, unexpanded.
const file = path.join(work, `it's a $HOME file.bin`);
writeFileSync(file, data);

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A PATH holding only head and the given tools. */
function pathWith(...tools: string[]): string {
  const bin = scratch('ns-bin-');
  for (const tool of ['head', ...tools]) {
    const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found) throw new Error(`${tool} is not installed here`);
    symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

function run(command: string, searchPath: string) {
  const result = spawnSync('/bin/sh', ['-c', command], { env: { PATH: searchPath }, encoding: 'utf8' });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe.each([
  ['sha256sum', ['sha256sum']],
  ['shasum', ['shasum', 'perl']],
  ['openssl', ['openssl']],
])('the hashing command with only %s', (_, tools) => {
  const searchPath = pathWith(...tools);

  it('prints the digest of the whole file', () => {
    const result = run(remoteHashCommand(file), searchPath);
    expect(result.status).toBe(0);
    expect(parseSha256(result.stdout)).toBe(sha256(data));
  });

  it('prints the digest of a prefix', () => {
    for (const length of [0, 1, 65_536, data.length]) {
      const result = run(remoteHashCommand(file, length), searchPath);
      expect(parseSha256(result.stdout)).toBe(sha256(data.subarray(0, length)));
    }
  });

  it('only checks for a tool when no file is given, and names it', () => {
    expect(run(remoteHashCommand(''), searchPath)).toMatchObject({ status: 0, stdout: expect.stringMatching(new RegExp(`^tool=${tools[0]}`)) });
  });
});

describe('the hashing command without any tool, or without the file', () => {
  it('says which tools it looked for', () => {
    const result = run(remoteHashCommand(file), pathWith());
    expect(result.status).toBe(NO_HASH_TOOL_STATUS);
    expect(result.stderr).toContain('none of sha256sum, shasum or openssl is installed');
  });

  it('fails on a missing file instead of hashing nothing', () => {
    const result = run(remoteHashCommand(path.join(work, 'missing')), pathWith('sha256sum'));
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
  });
});

describe('the hashing command started before the file is complete', () => {
  /** Runs it with `input` on fd 3, as the launcher gives it the channel's input. */
  function runWaiting(input: string, searchPath = pathWith('sha256sum')) {
    const result = spawnSync('/bin/sh', ['-c', `${waitingHashCommand(file)} 3<&0`], { env: { PATH: searchPath }, input, encoding: 'utf8' });
    return { stdout: result.stdout, stderr: result.stderr, status: result.status };
  }

  it('names its tool, and hashes the whole file once told "go"', () => {
    const result = runWaiting('go\n');
    expect(result.stdout).toMatch(/^tool=sha256sum\n/);
    expect(parseSha256(result.stdout.replace(/^tool=.*$/m, ''))).toBe(sha256(data));
  });

  it('ends without hashing when its input ends first, or says anything but "go"', () => {
    for (const input of ['', 'stop\n', 'go on\n']) {
      const result = runWaiting(input);
      expect(result.status, JSON.stringify(input)).toBe(0);
      expect(parseSha256(result.stdout)).toBeNull();
    }
  });

  it('without any tool, says so before waiting', () => {
    const result = runWaiting('go\n', pathWith());
    expect(result.status).toBe(NO_HASH_TOOL_STATUS);
    expect(result.stdout).toBe('');
  });
});

describe('parseSha256', () => {
  const digest = 'a'.repeat(32) + '0123456789ABCDEF'.repeat(2);
  it('reads the formats of sha256sum, shasum and openssl 1.1 and 3', () => {
    expect(parseSha256(`${digest}  -\n`)).toBe(digest.toLowerCase());
    expect(parseSha256(`${digest} *-\n`)).toBe(digest.toLowerCase());
    expect(parseSha256(`(stdin)= ${digest}\n`)).toBe(digest.toLowerCase());
    expect(parseSha256(`SHA2-256(stdin)= ${digest}\n`)).toBe(digest.toLowerCase());
  });
  it('finds nothing in other text', () => {
    expect(parseSha256('')).toBeNull();
    expect(parseSha256(`${digest}ff  -`)).toBeNull();
    expect(parseSha256('sha256sum: -: No such file or directory')).toBeNull();
  });
});
