// A key file with a passphrase, named by IdentityFile in the ssh config, against the real
// sshd: the built binary asks for the passphrase (again after a wrong one), logs in with it,
// and never shows or records what was typed: not in plain mode, not on a real terminal
// (no echo, checked on the raw bytes), not in full screen (stars).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientFlags, BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

// Starts with ? and !: keys of the view elsewhere, in a passphrase only what is typed.
const WRONG = '?!wrong-Horse-4417';
const RIGHT = 'Correct-Staple-9921';

/** Every file under `dir`, read as text. */
function allText(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    text += statSync(file).isDirectory() ? allText(file) : readFileSync(file, 'utf8');
  }
  return text;
}

describeWithSshd('nightshift run with a key file that has a passphrase', () => {
  let sshd: Sshd;
  let key: KeyPair;
  let dir: string;
  let args: string[];
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start({ authorizeClientKey: false });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-passphrase-'));
    key = await generateKeyPair(dir, 'locked_key', { passphrase: RIGHT });
    await sshd.authorize(key.publicLine);
    sshd.writeClientFiles(dir, 'target', { identityFile: key.privateKeyFile });
    writeFileSync(
      path.join(dir, 'locked.yaml'),
      [
        'name: locked key',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: login',
        '    steps:',
        '      - run: echo logged in as $(id -un)',
        '        host: target',
        '      - run: echo still logged in',
        '        host: target',
        '',
      ].join('\n'),
    );
    // A foreground login, then a checkpoint: an answer typed after the passphrase, which must echo.
    writeFileSync(
      path.join(dir, 'locked-checkpoint.yaml'),
      [
        'name: locked key',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: login',
        '    steps:',
        '      - run: echo logged in as $(id -un)',
        '        host: target',
        '        attach: false',
        '      - checkpoint: The login worked.',
        '',
      ].join('\n'),
    );
    args = ['run', path.join(dir, 'locked.yaml'), ...clientFlags(dir)];
  });
  afterEach(() => tmux?.kill());
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plain mode: asks again after a wrong passphrase, logs in with the right one, and neither is echoed or journaled', async () => {
    const stateDir = freshStateDir();
    let asked = 0;
    const run = converse(
      ['run', '--plain', ...args.slice(1)],
      (line) => {
        if (/Answer retry/.test(line)) return 'pause';
        if (!line.includes(`Passphrase for ${key.privateKeyFile}`)) return undefined;
        asked++;
        return asked === 1 ? WRONG : RIGHT;
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    const code = await run.exited;
    const printed = run.lines.join('\n') + run.stderr();
    expect(code, printed).toBe(0);
    expect(asked).toBe(2);
    expect(printed).toMatch(/^\? Passphrase for .*locked_key \(empty line skips this key\):/m);
    expect(printed).toMatch(/^\? That passphrase did not unlock the key\. Passphrase for .*locked_key/m);
    expect(printed).toContain(`target| logged in as ${sshd.user}`);
    expect(printed).toContain('target| still logged in');
    expect(printed).not.toContain(WRONG);
    expect(printed).not.toContain(RIGHT);
    const recorded = allText(stateDir);
    expect(recorded).toContain('logged in as');
    expect(recorded).not.toContain(WRONG);
    expect(recorded).not.toContain(RIGHT);
  }, 60_000);

  it.skipIf(!tmuxAvailable())(
    'full screen: what is typed shows as stars, and the run goes on after the right passphrase',
    async () => {
      const stateDir = freshStateDir();
      // --no-check: the check before the run would ask in plain lines, before the full-screen view.
      tmux = TmuxSession.start([process.execPath, BIN, ...args, '--no-check'], { cwd: ROOT, env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' } });
      const term = tmux;
      await term.waitFor(/Passphrase for .*locked_key/, 20_000, 'the passphrase prompt');
      // Its first key alone, as a person types it.
      term.type(WRONG.slice(0, 1));
      await term.waitFor(/> \*\s/, 5000, 'the first character as a star');
      term.type(WRONG.slice(1, 2));
      await term.waitFor(/> \*\*\s/, 5000, 'the second character as a star');
      term.type(WRONG.slice(2));
      let screen = await term.waitFor(new RegExp(`\\*{${WRONG.length}}`), 5000, 'the typed passphrase as stars');
      expect(screen).not.toContain(WRONG);
      term.keys('Enter');
      // Asked again, saying why, with an empty field.
      await term.waitFor(
        (s) => /That passphrase did not unlock the key\./.test(s) && /Passphrase for .*locked_key/.test(s) && !/\*{4,}/.test(s),
        10_000,
        'the prompt again, empty, saying why',
      );
      term.type(RIGHT);
      screen = await term.waitFor(new RegExp(`\\*{${RIGHT.length}}`), 5000, 'the second passphrase as stars');
      expect(screen).not.toContain(RIGHT);
      term.keys('Enter');
      screen = await term.waitFor(/The run completed/, 30_000, 'the run to complete');
      expect(screen).not.toContain(WRONG);
      expect(screen).not.toContain(RIGHT);
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
      const recorded = allText(stateDir);
      expect(recorded).toContain('still logged in');
      expect(recorded).not.toContain(WRONG);
      expect(recorded).not.toContain(RIGHT);
    },
    90_000,
  );

  // On a real terminal the echo is checked on the raw bytes written to it, not only on the screen.
  it.skipIf(!tmuxAvailable())(
    'plain mode on a terminal: what is typed is not echoed, and the terminal echoes again afterwards',
    async () => {
      const stateDir = freshStateDir();
      tmux = TmuxSession.start([process.execPath, BIN, 'run', '--plain', '--no-helpers', path.join(dir, 'locked-checkpoint.yaml'), ...clientFlags(dir)], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
      });
      const term = tmux;
      const recording = await term.recordOutput();
      const prompts = (screen: string) => screen.split('\n').filter((line) => line.includes('Passphrase for')).length;

      await term.waitFor(/Passphrase for .*locked_key \(empty line skips this key\):/, 20_000, 'the passphrase prompt');
      term.type(WRONG);
      // Give the terminal time to echo, were echo on.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(term.screen()).not.toContain(WRONG);
      term.keys('Enter');
      await term.waitFor((screen) => prompts(screen) === 2, 10_000, 'the prompt again after the wrong passphrase');
      expect(term.screen()).toMatch(/That passphrase did not unlock the key\. Passphrase for .*locked_key/);
      term.type(RIGHT);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(term.screen()).not.toContain(RIGHT);
      term.keys('Enter');

      await term.waitFor(/Type yes to confirm/, 30_000, 'the checkpoint after logging in');
      // Echo is back for what is not secret.
      term.type('yes');
      await term.waitFor(/^yes$/m, 5000, 'the answer echoed');
      term.keys('Enter');
      expect(await term.waitForExit(20_000)).toBe(0);
      await recording.stop();

      const screen = term.screen();
      expect(screen).toContain(`target| logged in as ${sshd.user}`);
      const written = Buffer.concat(recording.chunks.map((chunk) => chunk.data)).toString('utf8');
      expect(written).toContain('logged in as');
      for (const secret of [WRONG, RIGHT]) {
        expect(screen).not.toContain(secret);
        expect(written).not.toContain(secret);
        expect(allText(stateDir)).not.toContain(secret);
      }
    },
    90_000,
  );
});
