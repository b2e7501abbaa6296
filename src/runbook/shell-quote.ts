const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes a value for a POSIX shell so it is always one word, whatever it contains. */
export function shellQuote(value: string): string {
  if (value !== '' && SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
