// `nightshift join`: what a helper runs to join an upgrader's session. On the machine that
// runs the session it finds the helper channel itself and pins its key; elsewhere (the site
// host at the end of the tunnel) it joins the given port, or the usual one when it answers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SENTINEL_PORT } from '../runbook/types.js';
import { sessionsDir } from '../store/paths.js';
import { listSessionIds } from '../store/session-lookup.js';
import { readLiveHelperFile } from '../store/helper-file.js';
import { EXIT } from './exit.js';
import { UserError } from './user-error.js';

export interface JoinOptions {
  /** PORT or HOST:PORT; absent: a session on this machine, else localhost:2222 when it answers. */
  target?: string;
  observer: boolean;
  /** Print the ssh command instead of running it. */
  dryRun: boolean;
  /** The usual port of the site tunnel's end, tried when no port is given and no session here has a channel open. */
  tunnelPort?: number;
}

interface Target {
  host: string;
  port: number;
  /** Known for a session on this machine: the key is pinned, no question asked. */
  publicKey?: string;
  session?: string;
}

export async function joinCommand(options: JoinOptions, out: { stdout(text: string): void; stderr(text: string): void }): Promise<number> {
  const target =
    options.target !== undefined ? parseTarget(options.target) : (localSession() ?? (await tunnelEnd(options.tunnelPort ?? DEFAULT_SENTINEL_PORT)));
  if (!target) throw new UserError(`"${options.target}" is not PORT or HOST:PORT`, { who: 'nightshift join', exit: EXIT.usage });
  const user = options.observer ? 'observer' : 'sentinel';
  const args = ['-p', String(target.port), '-o', 'PubkeyAuthentication=no', '-o', 'ServerAliveInterval=15'];
  let scratch: string | undefined;
  if (target.publicKey) {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'nightshift-join-'));
    const knownHosts = path.join(scratch, 'known_hosts');
    writeFileSync(knownHosts, `[${target.host}]:${target.port} ${target.publicKey}\n`);
    args.push('-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes');
  }
  args.push(`${user}@${target.host}`);
  const shown = `ssh ${args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg}'`)).join(' ')}`;
  if (options.dryRun) {
    out.stdout(`${shown}\n`);
    return EXIT.completed;
  }
  out.stderr(`nightshift join: ${target.session ? `session ${target.session}: ` : ''}${shown}\n`);
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn('ssh', args, { stdio: 'inherit' });
      child.on('error', (error) =>
        reject(new Error((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no ssh client found: install OpenSSH (openssh-client)' : error.message)),
      );
      child.on('exit', (code) => resolve(code ?? EXIT.error));
    });
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

function parseTarget(text: string): Target | null {
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(text);
  if (!match) return null;
  return { host: match[1] ?? 'localhost', port: Number(match[2]) };
}

/**
 * The site tunnel's end on this machine, when something answers there. Otherwise ssh would
 * only say "Connection refused", as if the upgrader's channel were down.
 */
async function tunnelEnd(port: number): Promise<Target> {
  if (await answers('localhost', port)) return { host: 'localhost', port };
  throw new UserError(`no session on this machine has its helper channel open, and nothing answers on localhost:${port}, the usual end of the site tunnel.`, {
    who: 'nightshift join',
    hint: 'Ask the upgrader which port to join (their status bar shows it), then: nightshift join PORT (or HOST:PORT).',
  });
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    const settle = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => settle(true));
    socket.once('timeout', () => settle(false));
    socket.once('error', () => settle(false));
  });
}

/** The newest session on this machine whose helper channel is open. */
function localSession(): Target | null {
  const dir = sessionsDir();
  for (const id of listSessionIds().reverse()) {
    const helper = readLiveHelperFile(path.join(dir, id));
    if (!helper) continue;
    const host = helper.address === '0.0.0.0' ? '127.0.0.1' : helper.address;
    return { host, port: helper.port, publicKey: helper.publicKey, session: id };
  }
  return null;
}
