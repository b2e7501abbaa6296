import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { resolveSecrets, SecretError } from './secret-values.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ns-secret-values-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runbookWith(secrets: string) {
  const file = path.join(dir, 'rb.yaml');
  const source = `name: t\nsecrets:\n${secrets}\nphases:\n  - name: one\n    steps:\n      - local: echo\n`;
  writeFileSync(file, source);
  return parseRunbook(source, file, { absoluteFile: file });
}

describe('resolveSecrets', () => {
  const never = async () => null;

  it('reads each source: env, a file (one newline dropped, relative to the runbook), a command, an answer', async () => {
    writeFileSync(path.join(dir, 'key.txt'), 'from-a-file\n\n');
    const runbook = runbookWith(
      `  a: { from: env, name: NS_A }\n  b: { from: file, path: key.txt }\n  c: { from: command, run: "printf 'from %s\\\\n' command" }\n  d: { from: ask, prompt: D please }`,
    );
    const asked: string[] = [];
    const secrets = await resolveSecrets(runbook, {
      env: { NS_A: 'from-env' },
      ask: async (secret) => (asked.push(secret.prompt), 'typed-answer'),
    });
    expect(asked).toEqual(['D please']);
    expect(secrets.reveal('x {{a}} "{{b}}" {{c}} {{d}}')).toBe(`x from-env "from-a-file\n" 'from command' typed-answer`);
    expect(secrets.masker.maskText('from-env from-a-file\n typed-answer')).toBe('«secret a» «secret b» «secret d»');
  });

  it('says which secret cannot be had, and what to do', async () => {
    const fail = (secrets: string, env: NodeJS.ProcessEnv = {}) => resolveSecrets(runbookWith(secrets), { env, ask: never });
    await expect(fail('  a: { from: env, name: NS_MISSING }')).rejects.toThrow(
      "the secret 'a' comes from the environment variable NS_MISSING, which is not set; set it (export NS_MISSING) and start again",
    );
    await expect(fail('  a: { from: file, path: nothing-here }')).rejects.toThrow(
      /the secret 'a' comes from the file .*nothing-here, which cannot be read: ENOENT/,
    );
    await expect(fail('  a: { from: command, run: "echo partial-value; echo no such entry >&2; exit 1" }')).rejects.toThrow(
      /the secret 'a' comes from the command `.*`, which failed \(1\): no such entry$/,
    );
    await expect(fail('  a: { from: ask }')).rejects.toThrow("the secret 'a' was asked, but the input ended before an answer came");
    await expect(fail('  a: { from: env, name: NS_SHORT }', { NS_SHORT: 'abc' })).rejects.toThrow(/shorter than 4 characters/);
    await expect(fail('  a: { from: env, name: NS_EMPTY }', { NS_EMPTY: '' })).rejects.toBeInstanceOf(SecretError);
  });
});
