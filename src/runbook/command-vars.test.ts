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

describe('variables in host fields', () => {
  const hosts = (fields: string) => `name: hosts
vars:
  target: 192.0.2.7
  who: admin
hosts:
  dragon: { ${fields} }
phases:
  - name: one
    steps:
      - run: uptime
        host: dragon
`;

  it('are substituted in address, user, alias, identity_file and proxy_jump', () => {
    const runbook = parseRunbook(
      hosts("address: '{{target}}', user: '{{ who }}', alias: 'gw-{{who}}', identity_file: '/keys/{{who}} key', proxy_jump: '{{who}}@bastion'"),
      'rb.yaml',
    );
    expect(runbook.hosts['dragon']).toEqual({
      name: 'dragon',
      alias: 'gw-admin',
      address: '192.0.2.7',
      user: 'admin',
      identityFile: '/keys/admin key',
      proxyJump: 'admin@bastion',
    });
    expect(parseRunbook(hosts("address: '{{target}}'"), 'rb.yaml', { vars: { target: '10.0.0.9' } }).hosts['dragon']!.address).toBe('10.0.0.9');
  });

  it('name an unknown variable where it stands', () => {
    expect(problemsOf(hosts("address: '{{ targt }}'"))).toEqual(["6:23: unknown variable 'targt' in 'address' of host 'dragon'; did you mean 'target'?"]);
  });

  it.each([
    ['x"; touch p; echo "', 'holds a space'],
    ['a\nb', 'holds a control character'],
    ['-oProxyCommand=touch', 'starts with -'],
  ])('refuse a value that is not one word: %j', (value, flaw) => {
    expect(problemsOf(hosts("address: '{{target}}'"), { target: value })).toEqual([
      `6:22: 'address' of host 'dragon' is ${JSON.stringify(value)} (from {{target}}), which ${flaw}; it must be one word`,
    ]);
  });
});
