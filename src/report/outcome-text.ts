// How a session ended, in words: shared by the record (its events) and every report format.
export function outcomeText(outcome: string): string {
  switch (outcome) {
    case 'completed':
      return 'completed';
    case 'fell-back':
      return 'ended after the fallback';
    case 'paused':
      return 'paused';
    case 'interrupted':
      return 'interrupted';
    case 'unfinished':
      return 'no end recorded';
    default:
      return outcome;
  }
}
