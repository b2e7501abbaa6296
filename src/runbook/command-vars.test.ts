// Variables reach a shell through every command a runbook holds; each is quoted for where it
// stands, or the runbook is refused at the reference's own line and column.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import type { Step } from './types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ns-command-vars-'));
const marker = path.join(dir, 'pwned');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(source: string, vars: Record<string, string> = {}): string[] {
  try {
    parseRunbook(source, 'rb.yaml', { vars });
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
    throw error;
  }
  return [];
}

/** The same "..." form in every field that holds a command. */
const EVERY_COMMAND = `name: every command
vars:
  v: harmless
hosts:
  dragon: { address: 127.0.0.1 }
phases:
  - name: one
    steps:
      - run: printf '%s' "{{v}}"
        host: dragon
        check: printf '%s' "{{v}}"
        revert_after: 1m
        revert: printf '%s' "{{v}}"
      - local: printf '%s' "{{v}}"
        check: printf '%s' "{{v}}"
      - wait: command
        host: dragon
        command: printf '%s' "{{v}}"
      - reboot: dragon
        command: printf '%s' "{{v}}"
`;

function commandsOf(step: Step): string[] {
  switch (step.kind) {
    case 'run':
      return [step.command, step.check!, step.revert!.command];
    case 'local':
      return [step.command, step.check!];
    case 'wait':
      return step.until.kind === 'command' ? [step.until.command] : [];
    case 'reboot':
      return [step.command];
    default:
      return [];
  }
}

describe('variables in commands', () => {
  it.each([`x"; touch ${marker}; echo "`, `'; touch ${marker}; '`, `$(touch ${marker})`, `\`touch ${marker}\``, `a\nb\\`])(
    'run, check, revert, local, wait and reboot commands pass %j to /bin/sh and bash byte for byte',
    (value) => {
      const runbook = parseRunbook(EVERY_COMMAND, 'rb.yaml', { vars: { v: value } });
      const commands = runbook.phases[0]!.steps.flatMap(commandsOf);
      expect(commands).toHaveLength(7);
      for (const command of commands) {
        for (const shell of ['/bin/sh', 'bash']) {
          expect(execFileSync(shell, ['-c', command], { encoding: 'utf8' })).toBe(value);
        }
      }
      expect(existsSync(marker)).toBe(false);
    },
  );

  it('refuses forms it cannot quote at the line and column of the reference, saying how to write it', () => {
    const source = `name: refused
vars:
  v: value
hosts:
  dragon: {}
phases:
  - name: one
    steps:
      - run: |
          echo start
          cat > /etc/motd <<EOF
          welcome to {{ v }}
          EOF
        host: dragon
      - local: echo \`hostname {{v}}\`
      - wait: command
        host: dragon
        command: "echo ok # {{v}}"
`;
    expect(problemsOf(source)).toEqual([
      `12:22: 'run' of step 1.1: {{v}} is inside a here-document, where its value cannot be quoted; set a shell variable first (v={{v}}) and use "$v" there`,
      "15:31: 'local' of step 1.2: {{v}} is inside backticks, where the shell reads backslashes in its value once more; use $(...) instead",
      "18:29: 'command' of step 1.3: {{v}} is in a shell comment, where a line break in its value would end the comment and run the rest; leave it out of the comment",
    ]);
  });
});
