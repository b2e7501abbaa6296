import { describe, expect, it } from 'vitest';
import {
  newPromptTag,
  passwordFlaw,
  SudoCredentials,
  SudoNeedsTtyError,
  SudoPasswordRefusedError,
  SudoPromptReader,
  SudoRefusedError,
  sudoFailure,
  sudoLauncher,
} from './become.js';
import { LAUNCHER } from './launcher.js';

const access = { host: 'dragon', user: 'ops' };

describe('the sudo launcher line', () => {
  it('is one line any login shell passes to sudo as it is: no newline, no "!", no backslash, quotes only around the tag and the script', () => {
    const tag = newPromptTag();
    for (const line of [sudoLauncher(tag), sudoLauncher(tag, { bytes: 1234 })]) {
      expect(line).not.toMatch(/[\n!\\]/);
      expect(line.startsWith(`exec sudo -S -k -H -p '${tag}' /bin/sh -c '`)).toBe(true);
      expect(line.split("'")).toHaveLength(5);
    }
    expect(sudoLauncher(tag)).toBe(LAUNCHER.replace('exec /bin/sh -c', `exec sudo -S -k -H -p '${tag}' /bin/sh -c`));
    expect(sudoLauncher(tag, { bytes: 1234 })).toContain('dd bs=1 count=1234');
  });

  it('has a prompt tag sudo takes literally (no %) and that differs every time', () => {
    const tag = newPromptTag();
    expect(tag).toMatch(/^[a-z0-9-]+:$/);
    expect(newPromptTag()).not.toBe(tag);
  });

  it('refuses a password sudo -S would cut', () => {
    expect(passwordFlaw(`quo'te"s $x ;`)).toBeNull();
    expect(passwordFlaw('two\nlines')).toMatch(/line break/);
    expect(passwordFlaw('cr\r')).toMatch(/line break/);
  });
});

describe('SudoPromptReader', () => {
  it('takes the prompt off, even cut between chunks, and counts it', () => {
    const reader = new SudoPromptReader('TAG-x:');
    expect(reader.feed(Buffer.from('motd line\nTA'))).toEqual({ rest: Buffer.from('motd line\n'), prompts: 0 });
    expect(reader.feed(Buffer.from('G-x:'))).toEqual({ rest: Buffer.alloc(0), prompts: 1 });
    const second = reader.feed(Buffer.from('Sorry, try again.\nTAG-x:'));
    expect(second).toEqual({ rest: Buffer.alloc(0), prompts: 1 });
  });

  it('gives back a held start of a tag that was not one when the pid line came', () => {
    const reader = new SudoPromptReader('TAG-x:');
    expect(reader.feed(Buffer.from('abc TA')).rest.toString()).toBe('abc ');
    expect(reader.stop().toString()).toBe('TA');
    expect(reader.feed(Buffer.from('TAG-x:')).rest.toString()).toBe('TAG-x:');
  });

  it("in a pty drops the empty lines sudo prints after the hidden input, and keeps others' line ends", () => {
    const reader = new SudoPromptReader('T:', true);
    expect(reader.feed(Buffer.from('T:')).prompts).toBe(1);
    expect(reader.feed(Buffer.from('\r\n')).rest.toString()).toBe('');
    expect(reader.feed(Buffer.from('noise')).rest.toString()).toBe('noise');
    expect(reader.feed(Buffer.from('\n\n')).rest.toString()).toBe('\n');
  });
});

describe('sudoFailure', () => {
  it('tells requiretty, no rule, refused passwords, a missing sudo and the rest apart, naming host and user', () => {
    expect(sudoFailure(access, 'sudo: sorry, you must have a tty to run sudo\n', 1)).toBeInstanceOf(SudoNeedsTtyError);
    const noRule = sudoFailure(access, 'ops is not in the sudoers file.\n', 1);
    expect(noRule).toBeInstanceOf(SudoRefusedError);
    expect(noRule.message).toMatch(/^sudo on dragon does not let ops run commands as root .*\/etc\/sudoers\.d\/ on dragon/);
    expect(sudoFailure(access, 'sudo: 3 incorrect password attempts\n', 1)).toBeInstanceOf(SudoPasswordRefusedError);
    expect(sudoFailure(access, 'sh: 1: exec: sudo: not found\n', 127).message).toMatch(/^sudo is not installed on dragon, or not on the PATH of ops/);
    expect(sudoFailure(access, '', 1).message).toMatch(/^sudo on dragon did not start the command as root for ops .*exit status 1/);
  });

  it('quotes what the host said without what could drive a terminal', () => {
    expect(sudoFailure(access, 'sudo: \x1b[2Jweird failure\n', 1).message).not.toContain('\x1b');
  });
});

describe('SudoCredentials', () => {
  it('asks once per host, shares the question between commands, and asks again (saying so) after a refusal', async () => {
    const questions: Array<[string, string, boolean]> = [];
    const answers = ['first', 'second'];
    const credentials = new SudoCredentials(
      {
        askSudoPassword: async (host, user, retry) => {
          questions.push([host, user, retry]);
          return answers.shift() ?? null;
        },
      },
      (host) => host === 'tty-host',
    );
    const one = credentials.accessFor('dragon', 'ops');
    const two = credentials.accessFor('dragon', 'ops');
    expect(await Promise.all([one.password(), two.password()])).toEqual(['first', 'first']);
    expect(await credentials.accessFor('dragon', 'ops').password()).toBe('first');
    expect(questions).toEqual([['dragon', 'ops', false]]);
    one.forget();
    expect(await two.password()).toBe('second');
    expect(questions).toEqual([
      ['dragon', 'ops', false],
      ['dragon', 'ops', true],
    ]);
    expect(credentials.accessFor('tty-host', 'ops').needsPty).toBe(true);
    expect(one.needsPty).toBe(false);
    one.markNeedsPty();
    expect(credentials.accessFor('dragon', 'ops').needsPty).toBe(true);
  });

  it('gives null when no password is given, and keeps nothing for a host whose question was declined', async () => {
    expect(await new SudoCredentials({ askSudoPassword: async () => null }, () => false).accessFor('dragon', 'ops').password()).toBeNull();
    let asked = 0;
    const credentials = new SudoCredentials({ askSudoPassword: async () => (++asked === 1 ? null : 'later') }, () => false);
    expect(await credentials.accessFor('dragon', 'ops').password()).toBeNull();
    expect(await credentials.accessFor('dragon', 'ops').password()).toBe('later');
  });
});
