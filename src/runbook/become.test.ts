import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';
import type { Step } from './types.js';

const runbook = (hostExtra: string, steps: string) => `name: t
hosts:
  dragon: { address: 127.0.0.1${hostExtra} }
  dolphin: { address: 127.0.0.2 }
phases:
  - name: one
    steps:
${steps}`;

const becomeOf = (step: Step | undefined) => (step && 'become' in step ? step.become : undefined);

describe('become in the runbook', () => {
  it("a host's become: sudo reaches its run, upload, wait, reboot and preflight steps; other hosts' steps stay the user's", () => {
    const loaded = parseRunbook(
      runbook(
        ', become: sudo',
        `      - run: apt-get -y upgrade
        host: dragon
      - upload: rb.yaml
        to: /etc/x
        host: dragon
      - wait: command
        command: systemctl is-active ssh
        host: dragon
      - reboot: dragon
      - preflight: dragon
        checks:
          - mem_available: 100M
      - run: id -u
        host: dolphin
`,
      ),
      'rb.yaml',
    );
    expect(loaded.hosts['dragon']).toMatchObject({ become: 'sudo' });
    expect(loaded.hosts['dolphin']?.become).toBeUndefined();
    expect(loaded.phases[0]!.steps.map(becomeOf)).toEqual(['sudo', 'sudo', 'sudo', 'sudo', 'sudo', undefined]);
  });

  it("a step's become overrides its host's: sudo on a plain host, none or false on a sudo host", () => {
    const loaded = parseRunbook(
      runbook(
        ', become: sudo, become_pty: true',
        `      - run: whoami
        host: dragon
        become: none
      - run: whoami
        host: dragon
        become: false
      - run: whoami
        host: dolphin
        become: sudo
`,
      ),
      'rb.yaml',
    );
    expect(loaded.hosts['dragon']).toMatchObject({ become: 'sudo', becomePty: true });
    expect(loaded.phases[0]!.steps.map(becomeOf)).toEqual([undefined, undefined, 'sudo']);
  });

  it('refuses another value, naming the field', () => {
    let problems: string[] = [];
    try {
      parseRunbook(runbook(', become: su', '      - run: id\n        host: dragon\n        become: true\n'), 'rb.yaml');
    } catch (error) {
      if (!(error instanceof RunbookError)) throw error;
      problems = error.problems.map((problem) => problem.message);
    }
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems.join('\n')).toMatch(/become/);
  });
});
