import { shellQuote } from './shell-quote.js';

const REFERENCE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function referencedVars(template: string): string[] {
  return [...template.matchAll(REFERENCE)].map((match) => match[1]!);
}

/** Substitutes {{name}}; in commands every value is shell-quoted, in text it is inserted as is. */
export function interpolate(template: string, vars: Record<string, string>, as: 'command' | 'text'): string {
  return template.replace(REFERENCE, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) return whole;
    return as === 'command' ? shellQuote(value) : value;
  });
}
