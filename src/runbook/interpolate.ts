import { REFERENCE, referenceSites, type Quoting } from './shell-context.js';
import { shellQuote } from './shell-quote.js';

export function referencedVars(template: string): string[] {
  return [...template.matchAll(REFERENCE)].map((match) => match[1]!);
}

/** Substitutes {{name}} in text for people (titles, notes, paths): the value as it is. */
export function interpolateText(template: string, vars: Record<string, string>): string {
  return template.replace(REFERENCE, (whole, name: string) => vars[name] ?? whole);
}

/** A reference in a command whose value cannot be quoted where it stands: where, and why. */
export interface CommandProblem {
  /** Offset of the reference in the command's text. */
  index: number;
  name: string;
  message: string;
}

/**
 * Substitutes {{name}} in a shell command, each value quoted for where it stands: a word of
 * its own outside quotes, escaped inside "...", closed and reopened inside '...'. A reference
 * that cannot be quoted safely is left as it is and named in `problems`; a command with
 * problems must not run. Unknown names are left as they are (the loader reports them).
 */
export function interpolateCommand(template: string, vars: Record<string, string>): { command: string; problems: CommandProblem[] } {
  const problems: CommandProblem[] = [];
  let command = '';
  let from = 0;
  for (const site of referenceSites(template)) {
    command += template.slice(from, site.index);
    from = site.index + site.length;
    const whole = template.slice(site.index, from);
    const value = vars[site.name];
    if ('problem' in site) {
      problems.push({ index: site.index, name: site.name, message: `{{${site.name}}} ${site.problem}` });
      command += whole;
    } else if (value === undefined) {
      command += whole;
    } else if (value.includes('\0')) {
      problems.push({ index: site.index, name: site.name, message: `the value of {{${site.name}}} holds a NUL character, which no shell can pass on` });
      command += whole;
    } else {
      command += quoteFor(site.quoting, value);
    }
  }
  return { command: command + template.slice(from), problems };
}

function quoteFor(quoting: Quoting, value: string): string {
  switch (quoting) {
    case 'word':
      return shellQuote(value);
    case 'double':
      return value.replace(/[\\"$`]/g, '\\$&');
    case 'single':
      return value.replaceAll("'", `'\\''`);
  }
}
