import { describe, expect, it } from 'vitest';
import { parseRunbook } from './load.js';
import { RunbookError } from './errors.js';

function problemsOf(source: string): string[] {
  try {
    parseRunbook(source, 'rb.yaml');
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
    throw error;
  }
  return [];
}

const minimal = `name: t
hosts:
  dragon: { address: 127.0.0.1 }
phases:
  - name: one
    steps:
      - run: echo hi
        host: dragon
`;

describe('parseRunbook', () => {
  it('loads a minimal runbook', () => {
    const runbook = parseRunbook(minimal, 'rb.yaml');
    expect(runbook.phases[0]!.steps[0]).toMatchObject({ kind: 'run', id: 'one-1', number: '1.1', command: 'echo hi' });
  });

  it('names the position of an unknown key with a hint', () => {
    expect(problemsOf(minimal.replace('host: dragon', 'hots: dragon'))).toEqual([
      "8:9: unknown key 'hots' in step 1.1; did you mean 'host'?",
    ]);
  });
});
