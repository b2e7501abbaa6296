import { describe, expect, it } from 'vitest';
import type { RunStep } from '../runbook/types.js';
import { PROBE_OUTPUT_LIMIT, probeDone } from './probe-done.js';

const step = { kind: 'run', id: 'a', host: 'h', command: 'make-it', check: 'test -f /done' } as RunStep;

describe('the probe asked before a step runs', () => {
  it('keeps what the check printed, with its exit status, secrets masked', async () => {
    const result = await probeDone(
      step,
      async (check, write) => {
        write(Buffer.from(`ran ${check} with hunter22\n`));
        return { exitCode: 0 };
      },
      (text) => text.replaceAll('hunter22', '{{db_pw}}'),
    );
    expect(result).toEqual({ exitCode: 0, output: 'ran test -f /done with {{db_pw}}\n' });
  });

  it('cuts a long output at the limit and says so', async () => {
    const result = await probeDone(step, async (_check, write) => {
      write(Buffer.alloc(PROBE_OUTPUT_LIMIT - 10, 'x'));
      write(Buffer.alloc(100, 'y'));
      write(Buffer.from('more'));
      return { exitCode: 1 };
    });
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe(`${'x'.repeat(PROBE_OUTPUT_LIMIT - 10)}${'y'.repeat(10)}\n[cut at ${PROBE_OUTPUT_LIMIT} bytes]`);
  });
});
