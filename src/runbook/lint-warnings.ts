// lint's warnings: characters that can disguise runbook text on a terminal, and a sudo
// password passed in a command.
import { isScalar, visit } from 'yaml';
import { parseSource, type SourceFile } from './compose.js';
import type { RunbookProblem } from './errors.js';
import { CONTROL_CHARACTERS, INVISIBLE_CHARACTERS } from './hidden-characters.js';

const HIDDEN = new RegExp(`[${CONTROL_CHARACTERS}${INVISIBLE_CHARACTERS}]`, 'g');

const NAMES: Record<number, string> = {
  0x1b: 'ESC',
  0x0d: 'CR',
  0x07: 'BEL',
  0x08: 'BS',
  0x7f: 'DEL',
  0x9b: 'CSI',
  0x85: 'NEL',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
};

function nameOf(char: string): string {
  const code = char.codePointAt(0)!;
  return NAMES[code] ?? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** sudo reading its password from stdin: -S (alone or among other letters) or --stdin among sudo's own options, before the command. */
const SUDO_STDIN = /\bsudo(?:\s+(?:-[ugpCDhrtTU]\s*[^\s-]\S*|-[A-Za-z-]+))*?\s+(?:-[A-Za-z]*S[A-Za-z]*|--stdin)(?=\s|$)/;

type Judge = (text: string, raw: string) => { at: number; message: string } | null;

/** The two warnings, in the order of the file: one walk over the parse the runbook is loaded from (compose.ts: parseSource). */
export function lintWarnings(parsed: SourceFile): RunbookProblem[] {
  return warningsAtScalars(parsed, [hiddenCharacters, sudoPassword]).sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * A warning at every text that feeds sudo a password on its stdin (`echo {{pw}} | sudo -S`):
 * the password is then on a command line and in every record of the command.
 */
export function sudoPasswordWarnings(source: string, file: string): RunbookProblem[] {
  return warningsAtScalars(parseSource(source, file, file), [sudoPassword]);
}

const sudoPassword: Judge = (text, raw) => {
  if (!SUDO_STDIN.test(text)) return null;
  return {
    at: raw.indexOf('sudo'),
    message:
      'warning: this command gives sudo a password on its stdin (sudo -S), so the password stands in the command; ' +
      'use become: sudo on the host or step instead (nightshift asks the password once, hidden, and gives it only to sudo), ' +
      'or a secret (secrets: { NAME: { from: ask } })',
  };
};

/** A warning for every text of the runbook that holds such characters, at the first one (or at the text when written as an escape). */
const hiddenCharacters: Judge = (text, raw) => {
  const found = [...new Set([...text.matchAll(HIDDEN)].map((match) => nameOf(match[0])))];
  if (found.length === 0) return null;
  return {
    at: raw.search(new RegExp(HIDDEN.source)),
    message: `warning: this text holds ${found.join(', ')}, which a terminal acts on or which hide text; nightshift shows them as ^X or <U+XXXX>, but a command is safer without them (printf '\\033' writes an ESC)`,
  };
};

/**
 * Walks the runbook's text values: each judge gets each value and its source text, and says
 * where in the source text (an offset; -1 for its start) a warning stands, or null.
 */
function warningsAtScalars({ source, file, doc, lineCounter }: SourceFile, judges: readonly Judge[]): RunbookProblem[] {
  const warnings: RunbookProblem[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return;
      const raw = source.slice(node.range[0], node.range[1]);
      for (const judge of judges) {
        const verdict = judge(node.value, raw);
        if (!verdict) continue;
        const { line, col } = lineCounter.linePos(node.range[0] + Math.max(0, verdict.at));
        warnings.push({ file, line, col, message: verdict.message });
      }
    },
  });
  return warnings;
}
