/** A count with its noun: "1 line", "2 lines", "12,000 lines"; `plural` for nouns that do not take an s. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${grouped(count)} ${count === 1 ? noun : plural}`;
}

/**
 * A whole number with its thousands grouped as en-US writes them ("12,000"), without ICU's
 * number format: its first use costs a start 12 ms (lint and plan count everything they say).
 */
export function grouped(count: number): string {
  if (!Number.isSafeInteger(count)) return count.toLocaleString('en-US');
  const digits = String(Math.abs(count));
  let text = digits.slice(0, digits.length % 3 || 3);
  for (let at = text.length; at < digits.length; at += 3) text += `,${digits.slice(at, at + 3)}`;
  return count < 0 ? `-${text}` : text;
}
