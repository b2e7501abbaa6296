/** A text's first line, trimmed and cut to 72 characters: a default step title. */
export function firstLine(text: string): string {
  const line = text.trim().split('\n')[0]!.trim();
  return line.length > 72 ? `${line.slice(0, 71)}…` : line;
}
