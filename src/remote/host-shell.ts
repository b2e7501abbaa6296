// What the scripts nightshift runs on a host print to be judged: key=value lines ending
// with `end=ok`. An answer without its end mark (a script that never ran, or stopped
// half-way) counts for nothing, so nothing is judged on an empty answer.

/** The key=value lines a script printed, ending with `end=ok`. */
export class HostReport {
  private constructor(private readonly entries: ReadonlyArray<readonly [string, string]>) {}

  /** null when the last line is not `end=ok`: the script did not run to its end, so nothing it printed counts. */
  static read(stdout: string): HostReport | null {
    const lines = stdout.split('\n').filter((line) => line !== '');
    if (lines.at(-1) !== 'end=ok') return null;
    const entries: Array<[string, string]> = [];
    for (const line of lines.slice(0, -1)) {
      const at = line.indexOf('=');
      if (at > 0) entries.push([line.slice(0, at), line.slice(at + 1)]);
    }
    return new HostReport(entries);
  }

  /** The first value of `key`. */
  get(key: string): string | undefined {
    return this.entries.find(([name]) => name === key)?.[1];
  }

  all(key: string): string[] {
    return this.entries.filter(([name]) => name === key).map(([, value]) => value);
  }
}
