// Plain mode on a real terminal (tmux), asked for a key's passphrase: what is typed is never
// echoed (checked on the raw bytes written to the terminal, not only on the screen), nor
// printed, nor journaled, and the terminal echoes again once it has been read.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

const WRONG = 'wrong-Horse-4417';
const RIGHT = 'Correct-Staple-9921';

function allText(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    text += statSync(file).isDirectory() ? allText(file) : readFileSync(file, 'utf8');
  }
  return text;
}

describeWithSshd('nightshift run --plain on a terminal, with a key file that has a passphrase', () => {
  let sshd: Sshd;
  let key: KeyPair;
  let dir: string;
  let stateDir: string | undefined;
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start({ authorizeClientKey: false });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-passphrase-tty-'));
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
        '        attach: false',
        '      - checkpoint: The login worked.',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => tmux?.kill());
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it.skipIf(!tmuxAvailable())('does not echo what is typed, asks again after a wrong one, and echoes again afterwards', async () => {
    stateDir = freshStateDir();
    tmux = TmuxSession.start(
      [process.execPath, BIN, 'run', '--plain', '--no-helpers', path.join(dir, 'locked.yaml'), '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      { cwd: ROOT, env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' } },
    );
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
  }, 90_000);
});
