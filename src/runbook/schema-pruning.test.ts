// lint shows every problem of a file in one round: what the schema refuses, and what the
// checks after it find in the rest.
import { describe, expect, it } from 'vitest';
import { problemsOf } from '../../test/support/runbook-problems.js';

const RUNBOOK = `name: one round
hosts:
  dragon: { port: banana }
  dolphin: {}
phases:
  - name: one
    steps:
      - run: cat /etc/hostname
        host: dragon
        capture: { name: old_name, from: stdout }
        timeout: 3 parsecs
      - run: echo {{old_name}}
        host: nosuchhost
      - rum: echo a kind mistyped
        host: dolphin
      - checkpoint: looked
        by: nobody
      - run: echo {{nope}}
        host: dolphin
fallback:
  - run: echo back
    host: elephant
`;

describe('problems of the schema and of the rest, in one round', () => {
  it("lists the schema's refusals and the unknown hosts and variables of the rest, in file order", () => {
    expect(problemsOf(RUNBOOK)).toEqual([
      `3:19: 'port' of host 'dragon' must be a number, not a string ("banana")`,
      "10:36: unknown key 'from' in 'capture' of step 1.1; allowed keys: name, last_line, regex, group, json",
      "11:18: 'timeout' of step 1.1: a duration is a number with a unit: 500ms, 30s, 5m, 2h or 1h30m",
      "13:15: unknown host 'nosuchhost' in step 1.2; declare it under hosts",
      "14:9: step 1.3 needs exactly one of run, local, upload, reboot, preflight, checkpoint, wait, note, edit, undo, power_cycle; did you mean 'run' instead of 'rum'?",
      "17:13: 'by' of step 1.4 must be one of upgrader, sentinel, both, not 'nobody'",
      "18:19: unknown variable 'nope' in 'run' of step 1.5",
      "22:11: unknown host 'elephant' in fallback step F1; declare it under hosts",
    ]);
  });

  it('says nothing of a place only because something was left out of it (a disk check less its mistyped key)', () => {
    const problems = problemsOf(`name: disk
hosts:
  dragon: {}
phases:
  - name: one
    steps:
      - preflight: dragon
        checks:
          - disk: { device: /dev/vdb, serail: X }
`);
    expect(problems).toEqual(["9:39: unknown key 'serail' in 'checks.0.disk' of step 1.1; did you mean 'serial'?"]);
  });
});
