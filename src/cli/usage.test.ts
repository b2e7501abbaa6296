import { describe, expect, it } from 'vitest';
import { commandName, parseCommand } from './flags.js';
import { AGAIN, commandHelp, DEMO, JOIN, LAB, MAIN_HELP, RESUME, RUN } from './usage.js';
import { UserError } from './user-error.js';

describe('the commands as declared', () => {
  it('lists every flag a command parses in its --help, with its value name', () => {
    for (const spec of [RUN, DEMO, RESUME, AGAIN, JOIN, LAB]) {
      const help = commandHelp(commandName(spec))!;
      for (const [name, flag] of Object.entries(spec.flags)) {
        expect(help, `${commandName(spec)} --${name}`).toContain(`--${name}${flag.value !== undefined ? ` ${flag.value}` : ''}`);
      }
    }
    expect(commandHelp('run')).toContain('--known-hosts FILE     known_hosts file to verify host keys with');
    expect(commandHelp('nope')).toBeUndefined();
    expect(MAIN_HELP).toMatch(/^ {2}nightshift resume \[ID\] +go on with a paused or interrupted session$/m);
    expect(MAIN_HELP).toMatch(/^ {2}nightshift again \[ID\] +go again from a session that fell back or ended$/m);
    expect(commandHelp('run')).toContain('--from PHASE');
  });

  it('parses by the declaration: repeated values, defaults, and the words a command takes', () => {
    const run = parseCommand(RUN, ['rb.yaml', '--var', 'a=1', '--var', 'b=2', '--no-check']);
    expect(run.positionals).toEqual(['rb.yaml']);
    expect(run.values.var).toEqual(['a=1', 'b=2']);
    expect(run.values['no-check']).toBe(true);
    expect(run.values.keepalive).toBeUndefined();
    expect(parseCommand(DEMO, []).values.scenario).toBe('success');
  });

  it('refuses a wrong number of words as a usage error, exit status 2 and a hint', () => {
    const refusal = (() => {
      try {
        parseCommand(RUN, []);
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(refusal).toBeInstanceOf(UserError);
    expect((refusal as UserError).exit).toBe(2);
    expect((refusal as UserError).text()).toBe('nightshift: run needs exactly one runbook file\nRun nightshift --help for usage.\n');
  });

  it('leaves an unknown flag to the parser, which refuses it', () => {
    expect(() => parseCommand(JOIN, ['--nope'])).toThrow(/Unknown option '--nope'/);
  });
});
