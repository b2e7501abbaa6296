// The bench's program on a pseudo-terminal: a program that ends before drawing what a figure
// waits for fails the figure at once, with what it drew, instead of after the wait's limit.
import { describe, expect, it } from 'vitest';
import { PtyProgram } from '../../bench/pty.js';

describe("the bench's program on a pty", () => {
  it('fails a wait for a marker as soon as the program ends without drawing it, showing its last lines', async () => {
    const program = new PtyProgram(`sh -c 'printf "\\033[31mnightshift: cannot start: no such runbook\\033[0m\\n"; exit 3'`);
    const started = performance.now();
    const error = await program.next('never drawn', 600_000).then(
      () => new Error('the wait resolved'),
      (caught: unknown) => caught as Error,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('ended (status 3) before drawing "never drawn"');
    expect(error.message).toContain('nightshift: cannot start: no such runbook');
    expect(await program.exited).toBe(3);
    // Asked again afterwards: the same answer, at once.
    await expect(program.next('later')).rejects.toThrow(/ended \(status 3\)/);
  });

  it('still resolves with the moment a marker is drawn', async () => {
    const program = new PtyProgram(`sh -c 'sleep 0.2; echo ready; sleep 0.2'`);
    const at = await program.next('ready', 10_000);
    expect(at).toBeGreaterThan(program.startedAt);
    expect(await program.exited).toBe(0);
  });
});
