// How a helper's OpenSSH client reaches the helper channel in the tests: on its port, the
// channel's key pinned in its own known_hosts, a password (the join code) and never a key.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HelperFile } from '../../src/store/helper-file.js';

/** `ssh` options for a helper login on `port`; `hostKey` 'ask' lets the client ask about an unknown key. */
export function helperSshOptions(port: number | string, knownHosts: string, hostKey: 'yes' | 'ask' = 'yes'): string[] {
  return ['-p', String(port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', `StrictHostKeyChecking=${hostKey}`, '-o', 'PubkeyAuthentication=no'];
}

/** What a helper needs to log in, read from a plain run's "helpers join with:" line and its session's helper.json; the key pinned in `dir`/known_hosts. */
export function helperLoginOf(lines: readonly string[], stateDir: string, dir: string): { port: string; code: string; knownHosts: string; sessionDir: string } {
  const joinLine = lines.find((line) => line.startsWith('helpers join with:'));
  const match = joinLine && /ssh -p (\d+) sentinel@127\.0\.0\.1\) · code (\d{3}-\d{3}-\d{3})/.exec(joinLine);
  if (!match) throw new Error(`no join line among:\n${lines.join('\n')}`);
  const sessions = path.join(stateDir, 'sessions');
  const sessionDir = path.join(sessions, readdirSync(sessions)[0]!);
  const helper = JSON.parse(readFileSync(path.join(sessionDir, 'helper.json'), 'utf8')) as HelperFile;
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${match[1]} ${helper.publicKey}\n`);
  return { port: match[1]!, code: match[2]!, knownHosts, sessionDir };
}

/** OpenSSH without a terminal (its own session), the code typed by SSH_ASKPASS; resolves with the exit status and how long it ran. */
export function sshWithCode(
  dir: string,
  args: string[],
  code: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; ms: number; stderr: string }> {
  const askpass = path.join(dir, 'askpass');
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$NS_CODE"\n', { mode: 0o755 });
  const started = Date.now();
  const child = spawn('ssh', args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', NS_CODE: code },
  });
  // Well past any bound: a connection left open is the failure being looked for.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(killer);
      resolve({ status, ms: Date.now() - started, stderr });
    }),
  );
}
