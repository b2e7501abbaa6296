// What a command refuses to do and why, said to the user once at the command line's
// boundary (src/cli.tsx): `nightshift: MESSAGE`, a hint when there is one, and the exit status.
import type { RunbookError } from '../runbook/errors.js';
import { problemLine } from '../text/problem-line.js';
import { EXIT, type ExitStatus } from './exit.js';

export class UserError extends Error {
  /** The exit status the refusal ends nightshift with. */
  readonly exit: ExitStatus;
  /** Who speaks: "nightshift", or a command ("nightshift resume") when its messages say so. */
  readonly who: string;
  /** A line after the message: where to read more, what to type instead. */
  readonly hint: string | undefined;

  constructor(message: string, options: { exit?: ExitStatus; who?: string; hint?: string } = {}) {
    super(message);
    this.name = 'UserError';
    this.exit = options.exit ?? EXIT.error;
    this.who = options.who ?? 'nightshift';
    this.hint = options.hint;
  }

  /** What the user reads on stderr. */
  text(): string {
    return `${this.who}: ${this.message}\n${this.hint !== undefined ? `${this.hint}\n` : ''}`;
  }
}

/** A command line that does not say what to do: exit status 2, and where the usage is. */
export function usageError(message: string, options: { who?: string; help?: string } = {}): UserError {
  return new UserError(message, {
    exit: EXIT.usage,
    ...(options.who !== undefined ? { who: options.who } : {}),
    hint: `Run nightshift ${options.help !== undefined ? `${options.help} ` : ''}--help for usage.`,
  });
}

/** A runbook that does not load: its problems, one `file:line:col: sentence` line each. */
export class RunbookRefusal extends UserError {
  constructor(
    readonly error: RunbookError,
    exit: ExitStatus = EXIT.error,
  ) {
    super(error.message, { exit });
  }

  override text(): string {
    return this.error.problems.map(problemLine).join('');
  }
}
