/** A count with its noun: "1 line", "2 lines", "12,000 lines"; `plural` for nouns that do not take an s. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? noun : plural}`;
}
