// A command's flags, each declared once: what parseArgs reads (type, multiple, default) and
// what --help says of it (the value's name and the help sentence).
import { parseArgs } from 'node:util';
import { usageError } from './user-error.js';

export interface Flag {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value's name in --help: FILE, DURATION, NAME=VALUE. */
  readonly value?: string;
  /** The value when the flag is not given, applied by the parser and shown in --help. */
  readonly default?: string;
  readonly help: string;
}

export type Flags = Readonly<Record<string, Flag>>;

/** The words a command takes besides its flags, and what is said when they do not fit. */
export interface Arguments {
  readonly min: number;
  readonly max: number;
  readonly problem: string;
}

export interface CommandSpec<F extends Flags = Flags> {
  /** How the command is typed, as the top of its --help shows it (one or more lines, each `nightshift NAME ...`). */
  readonly usage: string;
  /** The command's line in `nightshift --help`: how it is typed there, and what it does. */
  readonly line: readonly [synopsis: string, summary: string];
  /** What the command does, before its options. */
  readonly about: string;
  readonly flags: F;
  /** After the options: exit statuses, plain-mode answers. */
  readonly after?: string;
  /** Absent: the command reads its arguments itself. */
  readonly args?: Arguments;
}

/** The command line after the command's name, read by the command's own declaration. */
export function parseCommand<F extends Flags>(spec: CommandSpec<F>, args: string[]) {
  const parsed = parseArgs({ args, allowPositionals: true, strict: true, options: spec.flags });
  const count = parsed.positionals.length;
  if (spec.args && (count < spec.args.min || count > spec.args.max)) throw usageError(spec.args.problem);
  return parsed;
}

const WIDTH = 90;
const HELP_COLUMN = 25;

/** Words wrapped at `WIDTH`, every line after the first indented to `indent`. */
function wrap(text: string, first: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - first;
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = WIDTH - indent;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.map((text, index) => (index === 0 ? text : `${' '.repeat(indent)}${text}`));
}

/** The "Options:" lines of a command's --help, in the order they are declared. */
export function optionsHelp(flags: Flags): string {
  return Object.entries(flags)
    .map(([name, flag]) => {
      const label = `  --${name}${flag.value !== undefined ? ` ${flag.value}` : ''}`;
      const help = `${flag.help}${flag.default !== undefined ? ` (default ${flag.default})` : ''}`;
      const lines = wrap(help, HELP_COLUMN, HELP_COLUMN);
      return label.length < HELP_COLUMN - 1 ? `${label.padEnd(HELP_COLUMN)}${lines.join('\n')}` : `${label}\n${' '.repeat(HELP_COLUMN)}${lines.join('\n')}`;
    })
    .join('\n');
}

/** The command's name: the word after `nightshift` in its usage. */
export function commandName(spec: CommandSpec): string {
  return spec.usage.split(' ')[1]!;
}

/** A command's whole --help text. */
export function commandHelpText(spec: CommandSpec): string {
  const options = Object.keys(spec.flags).length > 0 ? `\n\nOptions:\n${optionsHelp(spec.flags)}` : '';
  return `${spec.usage}\n\n${spec.about}${options}${spec.after !== undefined ? `\n\n${spec.after}` : ''}`;
}
