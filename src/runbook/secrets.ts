// Secret variables: declared in the runbook with where their value comes from, never with
// the value. A command keeps its {{name}} as written (that is what screens, the journal and
// reports show); the value is put in, quoted for where it stands, only when the command is
// sent (revealCommand). Pure: reading and asking the values is the runner's (secret-values.ts).
import { interpolateCommand } from './interpolate.js';
import type { RawSecret } from './schema.js';
import { referenceSites } from './shell-context.js';
import type { SecretSpec } from './types.js';

type Path = readonly PropertyKey[];

/** The keys whose text is a shell command a secret may stand in. */
const SECRET_COMMAND_KEYS = new Set(['run', 'check', 'local']);

export const SECRET_PLACES = 'run, check and local commands and the command of a wait: command step';

/**
 * Why {{name}} of a secret cannot stand at `path`, or null when it can. `stepOf` gives the
 * raw step a path's last key belongs to (for `command`, only a wait step's is allowed).
 */
export function secretPlaceProblem(name: string, path: Path, parent: unknown): string | null {
  const key = path.at(-1);
  if (typeof key === 'string' && SECRET_COMMAND_KEYS.has(key) && path[0] !== 'hosts') return null;
  if (key === 'command' && typeof parent === 'object' && parent !== null && 'wait' in parent) return null;
  if (key === 'revert') {
    return `{{${name}}} is a secret, and a revert command waits in a file on the host until its timer fires; read the secret on the host instead (e.g. from a file only root can read)`;
  }
  return `{{${name}}} is a secret, which can stand only in ${SECRET_PLACES}, where its value is sent to the host and nowhere shown`;
}

/** The runbook's `secrets` section, checked: each names exactly the field its source needs. */
export function normalizeSecrets(
  raw: Record<string, RawSecret> | undefined,
  vars: Record<string, string>,
  report: (path: Path, message: string, key?: string) => void,
): Record<string, SecretSpec> {
  const secrets: Record<string, SecretSpec> = {};
  const needs = { ask: null, env: 'name', file: 'path', command: 'run' } as const;
  const examples = { env: 'name: API_TOKEN', file: 'path: ~/.config/site/db-password', command: 'run: pass show site/db' } as const;
  for (const [name, given] of Object.entries(raw ?? {})) {
    const path = ['secrets', name] as const;
    if (name in vars) report(path, `'${name}' is both a variable (vars) and a secret; give one of them another name`);
    const needed = needs[given.from];
    for (const key of ['prompt', 'name', 'path', 'run'] as const) {
      if (given[key] === undefined || key === needed || (key === 'prompt' && given.from === 'ask')) continue;
      report(path, `secret '${name}': '${key}' does not apply to from: ${given.from}`, key);
    }
    if (needed !== null && given[needed] === undefined) {
      const example = examples[given.from as keyof typeof examples];
      report(path, `secret '${name}' comes from ${given.from} but says not which; add ${example}`);
    }
    switch (given.from) {
      case 'ask':
        secrets[name] = { name, from: 'ask', prompt: given.prompt ?? name };
        break;
      case 'env':
        secrets[name] = { name, from: 'env', variable: given.name ?? '' };
        break;
      case 'file':
        secrets[name] = { name, from: 'file', path: given.path ?? '' };
        break;
      case 'command':
        secrets[name] = { name, from: 'command', command: given.run ?? '' };
        break;
    }
  }
  return secrets;
}

/** Why a --var cannot give secrets their values: one message per such --var. */
export function secretVarRefusals(cliVars: Record<string, string>, secrets: Record<string, SecretSpec>): Array<{ name: string; message: string }> {
  return Object.keys(cliVars)
    .filter((name) => name in secrets)
    .map((name) => ({
      name,
      message: `--var ${name}=... is refused: '${name}' is a secret of the runbook, and a value on the command line stays in the shell's history and shows in ps to every user of this machine; ${howGiven(secrets[name]!)}`,
    }));
}

function howGiven(secret: SecretSpec): string {
  switch (secret.from) {
    case 'ask':
      return 'nightshift asks for it, hidden, when the run starts';
    case 'env':
      return `nightshift reads it from the environment variable ${secret.variable}`;
    case 'file':
      return `nightshift reads it from ${secret.path}`;
    case 'command':
      return `nightshift reads it from what \`${secret.command}\` prints`;
  }
}

/**
 * After the plain variables are put into `template`, the secrets' references must stand
 * where they stood, quoted the same way, and no variable's value may have brought in a
 * reference of its own: otherwise revealCommand would put a value somewhere else.
 */
export function secretReferencesMoved(template: string, command: string, secrets: Record<string, SecretSpec>): boolean {
  const shape = (text: string) =>
    referenceSites(text)
      .filter((site) => site.name in secrets)
      .map((site) => `${site.name}:${'quoting' in site ? site.quoting : 'problem'}`)
      .join(' ');
  return shape(template) !== shape(command);
}

/** A command as sent: each secret's {{name}} replaced by its value, quoted for where it stands. */
export function revealCommand(command: string, values: ReadonlyMap<string, string>): string {
  if (values.size === 0) return command;
  const { command: revealed, problems } = interpolateCommand(command, Object.fromEntries(values));
  // The loader refused these already; a command that reaches here with one does not run.
  if (problems.length > 0) throw new Error(`a secret cannot be put into the command: ${problems[0]!.message}`);
  return revealed;
}
