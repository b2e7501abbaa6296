// HTML and SVG built from template literals: every interpolated value is escaped unless it
// is itself markup, so nothing read from a journal or a log can open a tag, and its control
// and invisible characters are shown, so that none can reorder or hide text.
import { visibleText } from '../output/neutralize.js';

export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Markup | string | number | boolean | null | undefined | readonly Value[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return visibleText(text).replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let text = strings[0] ?? '';
  values.forEach((value, index) => (text += render(value) + (strings[index + 1] ?? '')));
  return new Markup(text);
}
