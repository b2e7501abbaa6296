// The values of a runbook's secrets, read or asked at the start of every run and resume,
// before step 1, and kept in memory only: never in the session's files, never on a screen.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { SecretMasker } from '../output/secret-mask.js';
import { revealCommand } from '../runbook/secrets.js';
import type { Runbook, SecretSpec } from '../runbook/types.js';

/** Values shorter than this would be masked wherever those few characters happen to appear. */
export const SHORTEST_SECRET = 4;

/** What a run needs of its secrets: the values to put into commands, and the masker for everything shown or written. */
export class SecretValues {
  readonly masker: SecretMasker;

  constructor(private readonly values: ReadonlyMap<string, string>) {
    this.masker = new SecretMasker([...values].map(([name, value]) => ({ name, value })));
  }

  static none(): SecretValues {
    return new SecretValues(new Map());
  }

  /** The command as sent to where it runs: each {{secret}} replaced by its value, quoted for where it stands. */
  reveal(command: string): string {
    return revealCommand(command, this.values);
  }
}

export class SecretError extends Error {}

/** Asks for a secret, hidden; null when no answer can come (input ended). */
export type AskSecret = (secret: Extract<SecretSpec, { from: 'ask' }>) => Promise<string | null>;

export interface SecretSources {
  ask: AskSecret;
  env?: NodeJS.ProcessEnv;
  /** Kills a `from: command` that takes longer than this. */
  commandTimeoutMs?: number;
}

/** Reads or asks every secret of the runbook, in the order declared; throws SecretError saying which and what to do. */
export async function resolveSecrets(runbook: Runbook, sources: SecretSources): Promise<SecretValues> {
  const values = new Map<string, string>();
  for (const secret of Object.values(runbook.secrets)) {
    const value = await valueOf(secret, runbook, sources);
    if (value.length < SHORTEST_SECRET) {
      throw new SecretError(
        `the secret '${secret.name}' (${sourceText(secret)}) is ${value.length === 0 ? 'empty' : `shorter than ${SHORTEST_SECRET} characters`}: it could not be masked without masking every place those characters appear; give it a longer value`,
      );
    }
    if (value.includes('\0')) throw new SecretError(`the secret '${secret.name}' (${sourceText(secret)}) holds a NUL character, which no shell can pass on`);
    values.set(secret.name, value);
  }
  return new SecretValues(values);
}

function sourceText(secret: SecretSpec): string {
  switch (secret.from) {
    case 'ask':
      return 'asked';
    case 'env':
      return `from the environment variable ${secret.variable}`;
    case 'file':
      return `from the file ${secret.path}`;
    case 'command':
      return `from the command \`${secret.command}\``;
  }
}

async function valueOf(secret: SecretSpec, runbook: Runbook, sources: SecretSources): Promise<string> {
  const folder = dirname(runbook.file);
  switch (secret.from) {
    case 'ask': {
      const answer = await sources.ask(secret);
      if (answer === null) throw new SecretError(`the secret '${secret.name}' was asked, but the input ended before an answer came`);
      return answer;
    }
    case 'env': {
      const value = (sources.env ?? process.env)[secret.variable];
      if (value === undefined) {
        throw new SecretError(
          `the secret '${secret.name}' comes from the environment variable ${secret.variable}, which is not set; set it (export ${secret.variable}) and start again`,
        );
      }
      return value;
    }
    case 'file': {
      const file = secret.path === '~' || secret.path.startsWith('~/') ? homedir() + secret.path.slice(1) : resolve(folder, secret.path);
      try {
        return dropNewline(await readFile(file, 'utf8'));
      } catch (error) {
        throw new SecretError(
          `the secret '${secret.name}' comes from the file ${file}, which cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
    }
    case 'command':
      return dropNewline(await commandOutput(secret, folder, sources.commandTimeoutMs ?? 60_000));
  }
}

function commandOutput(secret: Extract<SecretSpec, { from: 'command' }>, cwd: string, timeout: number): Promise<string> {
  return new Promise((done, fail) => {
    // Its input is closed: nightshift's own stays for its questions.
    const child = execFile('/bin/sh', ['-c', secret.command], { cwd, timeout, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const said = stderr.trim().split('\n').at(-1)?.slice(0, 200);
        const how = error.killed ? `did not finish within ${timeout / 1000}s` : `failed (${error.code ?? error.signal ?? error.message})`;
        // What it printed on stdout may be (part of) the value: never shown.
        fail(new SecretError(`the secret '${secret.name}' comes from the command \`${secret.command}\`, which ${how}${said ? `: ${said}` : ''}`));
      } else done(stdout);
    });
    child.stdin?.end();
  });
}

function dropNewline(text: string): string {
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
