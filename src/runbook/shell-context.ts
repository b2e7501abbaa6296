// Where each {{name}} stands in a command, as a POSIX shell (dash, bash) reads the text: in
// a plain word, inside "...", inside '...', or somewhere its value cannot be quoted safely
// (backticks, here-documents, ${...}, $((...)), comments, right after $ or \, an argument
// that a command reads as shell code again). The scanner follows quotes, $(...) and
// here-documents; after anything it cannot follow for sure, every later reference is refused.

export const REFERENCE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** REFERENCE at one position only (sticky). */
const REFERENCE_HERE = new RegExp(REFERENCE.source, 'y');
const OPEN_BRACE = 0x7b;

/** How a value is written where its reference stands. */
export type Quoting = 'word' | 'double' | 'single';

export type ReferenceSite =
  | { index: number; length: number; name: string; quoting: Quoting }
  | { index: number; length: number; name: string; problem: string };

type Frame =
  | { kind: 'plain'; sub: boolean; depth: number; wordStart: boolean; words: string[]; word: string }
  | { kind: 'double' }
  | { kind: 'single' }
  | { kind: 'backtick' }
  | { kind: 'param' }
  | { kind: 'arith'; depth: number };
type Plain = Extract<Frame, { kind: 'plain' }>;

/** Commands whose -c option is a command line for a shell. */
const SHELL_C_COMMANDS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox', 'su', 'runuser', 'flock', 'script']);
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'exec', 'command', 'builtin', 'nohup', 'nice', 'time', 'setsid', 'stdbuf', 'ionice']);
/** Wrappers whose next argument is not the command (a directory, a duration). */
const WRAPPERS_WITH_ARGUMENT = new Set(['chroot', 'timeout']);
const SUDO_OPTIONS_WITH_ARGUMENT = new Set(['-u', '-g', '-p', '-C', '-D', '-r', '-t', '-U', '-h']);
const SSH_OPTION_LETTERS_WITH_ARGUMENT = 'BbcDEeFIiJLlmOoPpQRSWw';

const ADVICE_VARIABLE = (name: string) => `set a shell variable first (${name}={{${name}}}) and use "$${name}" there`;

/** Scans already made: loading a runbook scans each command several times (a shipped one: 130 scans of 41 commands). */
const scanned = new Map<string, readonly ReferenceSite[]>();
const SCANS_KEPT = 1000;

/** Every {{name}} of `command`, in order, with how to quote its value or why it cannot be. */
export function referenceSites(command: string): readonly ReferenceSite[] {
  let sites = scanned.get(command);
  if (sites === undefined) {
    sites = Object.freeze(new Scanner(command).scan());
    if (scanned.size >= SCANS_KEPT) scanned.clear();
    scanned.set(command, sites);
  }
  return sites;
}

class Scanner {
  private i = 0;
  private readonly stack: Frame[] = [plainFrame(false)];
  private readonly sites: ReferenceSite[] = [];
  private readonly heredocs: Array<{ end: string; stripTabs: boolean }> = [];
  /** Set once the scanner meets something it cannot follow for sure: why. */
  private lost: string | null = null;

  constructor(private readonly text: string) {}

  scan(): ReferenceSite[] {
    const { text } = this;
    while (this.i < text.length) {
      if (this.takeReference()) continue;
      if (this.lost !== null) {
        this.i++;
        continue;
      }
      const frame = this.stack.at(-1)!;
      switch (frame.kind) {
        case 'plain':
          this.plain(frame);
          break;
        case 'double':
          this.double();
          break;
        case 'single':
          if (text[this.i] === "'") this.stack.pop();
          this.i++;
          break;
        case 'backtick':
          if (text[this.i] === '\\') this.i += 2;
          else {
            if (text[this.i] === '`') this.stack.pop();
            this.i++;
          }
          break;
        case 'param':
          this.param();
          break;
        case 'arith':
          this.arith(frame);
          break;
      }
    }
    return this.sites;
  }

  /** Asked at every character of every command: one expression, tried only where "{{" stands. */
  private referenceAt(at: number): RegExpExecArray | null {
    if (this.text.charCodeAt(at) !== OPEN_BRACE || this.text.charCodeAt(at + 1) !== OPEN_BRACE) return null;
    REFERENCE_HERE.lastIndex = at;
    return REFERENCE_HERE.exec(this.text);
  }

  /** A reference at the current position: classified, skipped, true. */
  private takeReference(): boolean {
    const match = this.referenceAt(this.i);
    if (!match) return false;
    const name = match[1]!;
    const site = { index: this.i, length: match[0].length, name };
    this.i += match[0].length;
    if (this.lost !== null) {
      this.sites.push({
        ...site,
        problem: `comes after ${this.lost}, and from there nightshift cannot tell for sure how the shell reads the command; write that part more simply`,
      });
      return true;
    }
    const frame = this.stack.at(-1)!;
    const base = this.basePlain();
    const rereader = this.stack.map((each) => (each.kind === 'plain' ? rereadingCommand(each) : null)).find((found) => found !== null) ?? null;
    let problem: string | null = null;
    if (frame.kind === 'backtick') problem = 'is inside backticks, where the shell reads backslashes in its value once more; use $(...) instead';
    else if (frame.kind === 'param') problem = `is inside \${...}, where its value cannot be quoted; ${ADVICE_VARIABLE(name)}`;
    else if (frame.kind === 'arith')
      problem = `is inside $((...)), where the shell evaluates its value as arithmetic; check that it is a number in a shell variable first and use that`;
    else if (rereader !== null) {
      problem = `is in what ${rereader} reads as shell code once more, where quoting it once does not keep its value from running as commands; pass it as an argument instead (e.g. sh -c '... "$1"' sh {{${name}}})`;
    }
    if (problem !== null) this.sites.push({ ...site, problem });
    else this.sites.push({ ...site, quoting: frame.kind === 'double' ? 'double' : frame.kind === 'single' ? 'single' : 'word' });
    if (base) {
      base.word += '\0';
      base.wordStart = false;
    }
    return true;
  }

  private refuseNext(problem: string | ((name: string) => string)): boolean {
    const match = this.referenceAt(this.i);
    if (!match) return false;
    const name = match[1]!;
    this.sites.push({ index: this.i, length: match[0].length, name, problem: typeof problem === 'string' ? problem : problem(name) });
    this.i += match[0].length;
    return true;
  }

  /** The unquoted level (top or inside $(...)) the current quotes sit in, when they sit directly in one. */
  private basePlain(): Plain | null {
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const frame = this.stack[k]!;
      if (frame.kind === 'plain') return frame;
      if (frame.kind !== 'double' && frame.kind !== 'single') return null;
    }
    return null;
  }

  private appendToWord(chars: string): void {
    const base = this.basePlain();
    if (base) {
      base.word += chars;
      base.wordStart = false;
    }
  }

  private endWord(frame: Plain): void {
    // Inside $(...), a case pattern's ) would look like the end of it.
    if (frame.sub && frame.word === 'case') this.lose('case inside $(...)');
    if (frame.word !== '') frame.words.push(frame.word);
    frame.word = '';
  }

  /** A command ends here (a newline, ; & |, or a parenthesis): the next word is a command's first. */
  private endCommand(frame: Plain): void {
    this.endWord(frame);
    frame.words = [];
    frame.wordStart = true;
  }

  private lose(why: string): void {
    this.lost ??= why;
  }

  private plain(frame: Plain): void {
    const { text } = this;
    const c = text[this.i]!;
    const next = text[this.i + 1];
    if (c === ' ' || c === '\t') {
      this.endWord(frame);
      frame.wordStart = true;
      this.i++;
    } else if (c === '\n') {
      this.endCommand(frame);
      this.i++;
      this.readHeredocBodies();
    } else if (c === '\\') {
      if (next === '\n') {
        this.i += 2;
        return;
      }
      this.i++;
      if (this.refuseNext("comes right after a backslash, which would take its value's first character as quoted; remove the backslash")) return;
      this.appendToWord(`\\${next ?? ''}`);
      this.i++;
    } else if (c === "'") {
      this.appendToWord(c);
      this.stack.push({ kind: 'single' });
      this.i++;
    } else if (c === '"') {
      this.appendToWord(c);
      this.stack.push({ kind: 'double' });
      this.i++;
    } else if (c === '`') {
      frame.wordStart = false;
      this.stack.push({ kind: 'backtick' });
      this.i++;
    } else if (c === '$') {
      this.dollar();
    } else if (c === '#' && frame.wordStart) {
      this.comment();
    } else if (c === ';' || c === '&' || c === '|') {
      this.endCommand(frame);
      this.i++;
    } else if (c === '(') {
      this.endCommand(frame);
      if (frame.sub) frame.depth++;
      this.i++;
    } else if (c === ')') {
      this.endCommand(frame);
      this.i++;
      if (frame.sub) {
        if (frame.depth === 0) {
          this.stack.pop();
          this.appendToWord('$()');
        } else frame.depth--;
      }
    } else if (c === '<' && next === '<') {
      this.endWord(frame);
      this.heredoc();
    } else if (c === '<' || c === '>') {
      this.endWord(frame);
      frame.wordStart = true;
      this.i++;
    } else {
      frame.word += c;
      frame.wordStart = false;
      this.i++;
    }
  }

  /** `$` in a plain word or in "...": what it opens, if anything. */
  private dollar(): void {
    const { text } = this;
    const next = text[this.i + 1];
    if (this.referenceAt(this.i + 1)) {
      this.i++;
      this.refuseNext('comes right after $, where the shell would read its value as a variable name or a quoting; write the $ apart from it');
    } else if (next === '(' && text[this.i + 2] === '(') {
      this.appendToWord('$((');
      this.stack.push({ kind: 'arith', depth: 0 });
      this.i += 3;
    } else if (next === '(') {
      this.appendToWord('$(');
      this.stack.push(plainFrame(true));
      this.i += 2;
    } else if (next === '{') {
      this.appendToWord('${');
      this.stack.push({ kind: 'param' });
      this.i += 2;
    } else if (next === "'" && this.stack.at(-1)!.kind === 'plain') {
      this.lose("$'...' (which /bin/sh and bash read differently)");
      this.i += 2;
    } else if (next === '"' && this.stack.at(-1)!.kind === 'plain') {
      this.appendToWord('$"');
      this.stack.push({ kind: 'double' });
      this.i += 2;
    } else {
      this.appendToWord('$');
      this.i++;
    }
  }

  private double(): void {
    const { text } = this;
    const c = text[this.i]!;
    if (c === '"') {
      this.stack.pop();
      this.appendToWord(c);
      this.i++;
    } else if (c === '\\') {
      this.i++;
      if (this.refuseNext('comes right after a backslash inside "...", which would take its value\'s first character as quoted; remove the backslash')) return;
      this.appendToWord(`\\${text[this.i] ?? ''}`);
      this.i++;
    } else if (c === '`') {
      this.stack.push({ kind: 'backtick' });
      this.i++;
    } else if (c === '$') {
      this.dollar();
    } else {
      this.appendToWord(c);
      this.i++;
    }
  }

  private param(): void {
    const { text } = this;
    const c = text[this.i]!;
    if (c === '\\') this.i += 2;
    else if (c === '}') {
      this.stack.pop();
      this.i++;
    } else if (c === "'") {
      if (this.stack.at(-2)?.kind === 'double') this.lose(`'...' inside "\${...}" (which shells read differently)`);
      else this.stack.push({ kind: 'single' });
      this.i++;
    } else if (c === '"') {
      this.stack.push({ kind: 'double' });
      this.i++;
    } else if (c === '`') {
      this.stack.push({ kind: 'backtick' });
      this.i++;
    } else if (c === '$') this.dollar();
    else this.i++;
  }

  private arith(frame: Extract<Frame, { kind: 'arith' }>): void {
    const { text } = this;
    const c = text[this.i]!;
    if (c === '(') {
      frame.depth++;
      this.i++;
    } else if (c === ')') {
      if (frame.depth > 0) {
        frame.depth--;
        this.i++;
      } else if (text[this.i + 1] === ')') {
        this.stack.pop();
        this.i += 2;
      } else {
        this.lose('$(( closed by a single ) (a subshell inside $(...) or a mistake)');
        this.i++;
      }
    } else if (c === '$') this.dollar();
    else if (c === '`') {
      this.stack.push({ kind: 'backtick' });
      this.i++;
    } else if (c === '"' || c === "'") {
      this.lose('quotes inside $((...))');
      this.i++;
    } else this.i++;
  }

  private comment(): void {
    const { text } = this;
    while (this.i < text.length && text[this.i] !== '\n') {
      if (this.refuseNext('is in a shell comment, where a line break in its value would end the comment and run the rest; leave it out of the comment'))
        continue;
      this.i++;
    }
  }

  /** `<<END` or `<<-END`: notes the end word; the body starts after the line ends. */
  private heredoc(): void {
    const { text } = this;
    this.i += 2;
    if (text[this.i] === '<') {
      this.lose('<<< (a here-string, which /bin/sh does not know)');
      return;
    }
    let stripTabs = false;
    if (text[this.i] === '-') {
      stripTabs = true;
      this.i++;
    }
    while (text[this.i] === ' ' || text[this.i] === '\t') this.i++;
    let end = '';
    let quote: string | null = null;
    while (this.i < text.length) {
      const c = text[this.i]!;
      if (this.referenceAt(this.i) || c === '$' || c === '`') {
        this.lose('a here-document whose end word is not plain text');
        return;
      }
      if (quote !== null) {
        if (c === quote) quote = null;
        else end += c;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '\\') {
        this.i++;
        end += text[this.i] ?? '';
      } else if (/[\s;&|<>()]/.test(c)) break;
      else end += c;
      this.i++;
    }
    if (end === '' || quote !== null) {
      this.lose('a here-document without an end word nightshift can read');
      return;
    }
    this.heredocs.push({ end, stripTabs });
    const frame = this.stack.at(-1)!;
    if (frame.kind === 'plain') frame.wordStart = true;
  }

  /** After the line that started them: the bodies of pending here-documents, each to its end line. */
  private readHeredocBodies(): void {
    const { text } = this;
    for (const { end, stripTabs } of this.heredocs.splice(0)) {
      while (this.i < text.length) {
        const lineEnd = text.indexOf('\n', this.i) === -1 ? text.length : text.indexOf('\n', this.i);
        const line = text.slice(this.i, lineEnd);
        if ((stripTabs ? line.replace(/^\t+/, '') : line) === end) {
          this.i = Math.min(text.length, lineEnd + 1);
          break;
        }
        while (this.i < lineEnd) {
          if (this.refuseNext((name) => `is inside a here-document, where its value cannot be quoted; ${ADVICE_VARIABLE(name)}`)) continue;
          this.i++;
        }
        this.i = lineEnd + 1;
      }
    }
    this.i = Math.min(this.i, text.length);
  }
}

function plainFrame(sub: boolean): Plain {
  return { kind: 'plain', sub, depth: 0, wordStart: true, words: [], word: '' };
}

/** The command that reads the word being built as shell code again (eval, sh -c, ssh ...), if any. */
function rereadingCommand(frame: Plain): string | null {
  const words = frame.words.map((word) => word.replace(/["']/g, ''));
  let k = 0;
  while (k < words.length) {
    const word = words[k]!;
    const name = word.slice(word.lastIndexOf('/') + 1);
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) k++;
    else if (WRAPPERS.has(name)) {
      k++;
      while (k < words.length && words[k]!.startsWith('-')) k += name === 'sudo' && SUDO_OPTIONS_WITH_ARGUMENT.has(words[k]!) ? 2 : 1;
    } else if (WRAPPERS_WITH_ARGUMENT.has(name)) {
      k++;
      while (k < words.length && words[k]!.startsWith('-')) k++;
      k++;
    } else break;
  }
  if (k >= words.length) return null;
  const command = words[k]!.slice(words[k]!.lastIndexOf('/') + 1);
  const at = words.length;
  if (command === 'eval' || command === 'watch') return command;
  if (SHELL_C_COMMANDS.has(command)) {
    const option = words.findIndex((word, index) => index > k && /^-[A-Za-z]*c[A-Za-z]*$|^--command$/.test(word));
    return option !== -1 && at === option + 1 ? `${command} -c` : null;
  }
  if (command === 'ssh') {
    let index = k + 1;
    while (index < words.length && words[index]!.startsWith('-')) {
      index += sshOptionWords(words[index]!);
    }
    return at > index ? 'ssh (the command for the far side)' : null;
  }
  return null;
}

/** How many words an ssh option takes: 2 when its value is the next word (-p 22, -vp 22), else 1. */
function sshOptionWords(option: string): number {
  if (option === '--') return 1;
  for (let k = 1; k < option.length; k++) {
    if (SSH_OPTION_LETTERS_WITH_ARGUMENT.includes(option[k]!)) return k === option.length - 1 ? 2 : 1;
  }
  return 1;
}
