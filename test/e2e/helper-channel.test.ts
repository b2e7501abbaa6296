// The helper channel end to end, as people use it: the upgrader's full-screen view in one
// terminal, helpers on site with the OpenSSH client in others, reaching nightshift through
// the reverse tunnel on the site host (a real sshd), and a console logged in on that host
// where wall calls for help while nobody has joined.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { parseKey } from '../../src/remote/keys.js';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, BIN, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, freePort, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { helperSshOptions } from '../support/helper-ssh.js';

const CODE = /code (\d{3}-\d{3}-\d{3})/;

describeWithSshd('the helper channel', () => {
  let sshd: Sshd;
  let dir: string;
  let tunnelPort: number;
  const terminals: TmuxSession[] = [];

  beforeAll(async () => {
    sshd = await Sshd.start({ privateRun: true });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-helpers-'));
    tunnelPort = await freePort();
    sshd.writeClientFiles(dir, 'site');
    writeFileSync(
      path.join(dir, 'drill.yaml'),
      `name: Helper drill
sites:
  upgrader: { name: Zurich, tz: Europe/Zurich }
  site: { name: Taipei, tz: Asia/Taipei }
hosts:
  site: {}
sentinel:
  host: site
  port: ${tunnelPort}
  every: 3s
phases:
  - name: swap
    steps:
      - checkpoint: Plug the modem into the new dragon
        by: sentinel
      - run: echo the cable is swapped
        host: site
        title: Swap the cable
        needs: hands
      - checkpoint: Both lights are green
        by: both
`,
    );
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  afterEach(() => {
    for (const terminal of terminals.splice(0)) terminal.kill();
  });

  const terminal = (command: string[], cols = 180, rows = 45) => {
    const session = TmuxSession.start(command, { cwd: ROOT, cols, rows, env: { SSH_AUTH_SOCK: '' } });
    terminals.push(session);
    return session;
  };
  const helperSsh = (user: string, knownHosts: string) => terminal(['ssh', ...helperSshOptions(tunnelPort, knownHosts, 'ask'), `${user}@127.0.0.1`], 120, 32);
  const currentCode = (screen: string) => CODE.exec(screen)![1]!;

  it.skipIf(!tmuxAvailable())(
    'chat both ways, checkpoints by role, a sentinel back by confirming, codes and lockout, hostile text, wall on the site',
    async () => {
      const stateDir = freshStateDir();
      // The site's console: someone logged in on the site host, where wall writes.
      // A plain sh, not the user's login shell: this machine's own dotfiles stay out of it.
      const console = terminal([
        'ssh',
        '-tt',
        '-F',
        path.join(dir, 'ssh_config'),
        '-o',
        `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
        'site',
        'exec /bin/sh -i',
      ]);
      await console.waitFor(/[#$]\s*$/m, 10_000, 'a shell prompt on the site host');

      const upgrader = TmuxSession.start([process.execPath, BIN, 'run', path.join(dir, 'drill.yaml'), ...clientFlags(dir)], {
        cwd: ROOT,
        cols: 180,
        rows: 45,
        env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
      });
      terminals.push(upgrader);
      // Nobody joined yet: the sentinel's checkpoint goes to the site's consoles.
      const waiting = await upgrader.waitFor(new RegExp(`site:${tunnelPort}`), 20_000, 'the tunnel open on the site host');
      expect(waiting).toContain('CHECKPOINT · 1.1 Plug the modem into the new dragon · waiting for the sentinel');
      expect(waiting).toContain('The sentinel confirms this on their screen (/ok)');
      const fingerprint = /key (SHA256:[A-Za-z0-9+/]{43})/.exec(waiting)![1]!;
      const broadcast = await console.waitFor(/the upgrader needs someone on site: Plug the modem/, 15_000, 'wall on the site console');
      expect(broadcast).toContain(`ssh -p ${tunnelPort} sentinel@localhost`);
      // ...and again at the interval while nobody has joined.
      await console.waitFor(/still waiting for someone on site: Plug the modem/, 15_000, 'the call repeated');

      // The sentinel joins through the tunnel; the key the upgrader reads out is the one ssh shows.
      const helperKnownHosts = path.join(dir, 'helper_known_hosts');
      const helper = helperSsh('sentinel', helperKnownHosts);
      const question = await helper.waitFor(/Are you sure you want to continue connecting/, 10_000, "ssh's question about the key");
      expect(question).toContain(fingerprint);
      helper.type('yes');
      helper.keys('Enter');
      await helper.waitFor(/Join code/, 10_000);
      helper.type('111-111-111');
      helper.keys('Enter');
      await helper.waitFor(/Join code[^\n]*\n[\s\S]*Join code/, 10_000, 'the wrong code refused and asked again');
      helper.type(currentCode(upgrader.screen()));
      helper.keys('Enter');
      const view = await helper.waitFor(/YOUR TURN · 1\.1/, 10_000, "the sentinel's checkpoint in the helper's view");
      expect(view).toContain('Plug the modem into the new dragon');
      expect(view).toContain('type  /ok  and press Enter');
      await upgrader.waitFor(/on site: sentinel \(sentinel\)/, 5000, 'the helper present on the upgrader screen');

      // Chat both ways, each message stamped with the writer's and the reader's clocks.
      helper.type('modem is in my hands');
      helper.keys('Enter');
      const heard = await upgrader.waitFor(/sentinel \(sentinel\): modem is in my hands/, 5000);
      expect(heard).toMatch(/\d\d:\d\d \(\d\d:\d\d sentinel's time\) sentinel \(sentinel\): modem is in my hands/);
      upgrader.keys('Tab');
      await upgrader.waitFor(/Message to the site/, 5000);
      upgrader.type('thanks, plug it in please');
      upgrader.keys('Enter');
      upgrader.keys('Escape');
      await helper.waitFor(/\(\d\d:\d\d \w+'s time\) \w+ \(upgrader\): thanks, plug it in please/, 5000, 'the upgrader message on the helper screen');

      // A hostile message: escape sequences that would clear the screen and retitle it.
      helper.type('look\x1b[2J\x1b]0;owned\x07 here\x1b[31m');
      helper.keys('Enter');
      const calm = await upgrader.waitFor(/sentinel \(sentinel\): look.* here/, 5000);
      // Shown as plain text: the screen was not cleared, the title not changed, no colour leaked.
      expect(calm).toContain('nightshift · Helper drill');
      expect(calm).toContain('sentinel (sentinel): modem is in my hands');
      expect(calm).not.toMatch(/\[2J|\[31m/);
      expect(upgrader.title()).not.toContain('owned');

      // The upgrader cannot confirm for the sentinel: only a sentinel connection can.
      upgrader.keys('y');
      await upgrader.waitFor(/not accepted: only the sentinel can confirm for the sentinel/, 5000);

      // An intruder guesses codes as an observer: locked out after five, even with the right one.
      const intruder = terminal(['bash', '--norc', '--noprofile'], 120, 32);
      // A clean screen first, so that prompts are counted for this login only.
      const clearIntruder = async () => {
        intruder.type('clear');
        intruder.keys('Enter');
        await intruder.waitFor((screen) => !screen.includes('Join code') && !screen.includes('Permission denied'), 5000, 'a clear screen');
      };
      const observerLogin = async () => {
        await clearIntruder();
        intruder.type(`ssh -p ${tunnelPort} -o UserKnownHostsFile=${helperKnownHosts} -o PubkeyAuthentication=no observer@127.0.0.1`);
        intruder.keys('Enter');
      };
      for (const tries of [3, 2]) {
        await observerLogin();
        for (let attempt = 0; attempt < tries; attempt++) {
          await intruder.waitFor((s) => (s.match(/Join code/g) ?? []).length > attempt, 10_000, `code prompt ${attempt + 1}`);
          intruder.type(`${tries}${attempt}0-000-000`);
          intruder.keys('Enter');
        }
        if (tries === 3) await intruder.waitFor(/Permission denied/, 10_000, 'the first connection turned away');
      }
      const locked = await upgrader.waitFor(/helpers LOCKED OUT until/, 15_000, 'the lockout in the status bar').catch((error: Error) => {
        throw new Error(`${error.message}\nthe intruder's screen:\n${intruder.screen()}`);
      });
      expect(locked).toContain('too many wrong codes');
      // While locked nobody is even asked for a code: a new login is turned away at once.
      await intruder.waitFor(/Too many wrong join codes/, 10_000, 'the intruder told of the lockout');
      await intruder.waitFor(/[#$]\s*$/m, 10_000, 'the shell back after the refusal');
      await observerLogin();
      const turnedAway = await intruder.waitFor(/Permission denied/, 10_000, 'a login during the lockout refused');
      expect(turnedAway).toContain('Too many wrong join codes');
      expect(turnedAway).not.toContain('Join code');

      // A new code from the upgrader ends the lockout; the observer joins and cannot confirm.
      upgrader.keys('Tab');
      upgrader.type('/code');
      upgrader.keys('Enter', 'Escape');
      const fresh = await upgrader.waitFor(/code \d{3}-\d{3}-\d{3} · site:/, 5000, 'a new code in the status bar');
      await intruder.waitFor(/[#$]\s*$/m, 10_000, 'the shell back after the refusal');
      // On the upgrader's machine, nightshift join finds the session and pins its key.
      await clearIntruder();
      intruder.type(`NIGHTSHIFT_STATE_DIR=${stateDir} ${process.execPath} ${BIN} join --observer`);
      intruder.keys('Enter');
      await intruder.waitFor(/Join code/, 10_000);
      expect(intruder.screen()).not.toContain('authenticity');
      intruder.type(currentCode(fresh));
      intruder.keys('Enter');
      await intruder.waitFor(/WAITING FOR THE SENTINEL · 1\.1/, 10_000, "the observer's view");
      intruder.type('/ok');
      intruder.keys('Enter');
      await intruder.waitFor(/not accepted: an observer only watches/, 5000);

      // The helper's view follows their terminal's size.
      helper.resize(90, 24);
      await helper.waitFor((screen) => screen.split('\n')[23]?.includes('/ok confirm · /away 60 lunch') === true, 5000, 'the view laid out again for 90x24');
      helper.resize(120, 32);

      // The sentinel goes to lunch, then confirms after all: whoever confirms is at the
      // machine, so they are back (one rule with the hold on needs: hands steps), and the
      // next step, which needs hands, is not held.
      helper.type('/away 60 lunch');
      helper.keys('Enter');
      await upgrader.waitFor(/sentinel \(sentinel, away: lunch, back \d\d:\d\d\)/, 5000);
      helper.type('/ok');
      helper.keys('Enter');
      await upgrader.waitFor(/sentinel \(sentinel\) is back/, 10_000, 'the sentinel back by confirming');
      // The step runs by itself, then both confirm the last checkpoint.
      const both = await upgrader.waitFor(/waiting for the upgrader and the sentinel/, 15_000, 'the checkpoint for both');
      expect(both).not.toContain('HELD · 1.2');
      // At the checkpoint, which prints nothing, the upgrader's output panel shows the step before.
      expect(both).toMatch(/│1\.2 Swap the cable \(/);
      // On request, the helper sees the output, read-only: of the same step.
      helper.keys('Tab');
      const output = await helper.waitFor(/output of 1\.2 Swap the cable/, 5000);
      expect(output).toContain('the cable is swapped');
      helper.keys('Tab');
      upgrader.keys('y');
      await helper.waitFor(/YOUR TURN · 1\.3/, 5000);
      helper.type('/ok');
      helper.keys('Enter');
      await upgrader.waitFor(/The run completed/, 10_000);
      upgrader.keys('q');
      expect(await upgrader.waitForExit()).toBe(0);
      // The helper is told why the channel closed.
      await helper.waitFor(/nightshift closed the helper channel: the run completed \(session \d{8}-\d{6}-[0-9a-f]{4}\)\./, 10_000, 'why it closed');

      const sessions = path.join(stateDir, 'sessions');
      const [session] = readdirSync(sessions);
      const journal = readJournal(path.join(sessions, session!, 'journal.jsonl'));
      const of = (type: string) => journal.filter((entry) => entry.type === type) as unknown as Array<Record<string, unknown>>;
      expect(of('step.confirmed').map((e) => [e['stepId'], e['role'], (e['by'] as { role: string }).role, e['relayed']])).toEqual([
        ['swap-1', 'sentinel', 'sentinel', false],
        ['swap-3', 'upgrader', 'upgrader', false],
        ['swap-3', 'sentinel', 'sentinel', false],
      ]);
      expect(of('step.refused').map((e) => (e['by'] as { role: string }).role)).toEqual(['upgrader', 'observer']);
      expect(of('step.held')).toHaveLength(0);
      const said = of('chat.message').map((e) => String(e['text']));
      expect(said.slice(0, 2)).toEqual(['modem is in my hands', 'thanks, plug it in please']);
      expect(said[2]).toMatch(/^look.* here$/);
      // eslint-disable-next-line no-control-regex
      expect(said[2]).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
      expect(of('chat.away')).toHaveLength(1);
      expect(of('chat.back')).toHaveLength(1);
      expect(of('chat.broadcast').length).toBeGreaterThanOrEqual(2);
      expect(of('helper.locked')).toHaveLength(1);
      expect(of('helper.refused').filter((e) => e['reason'] === 'wrong-code')).toHaveLength(6);
      // The helper trusted the key the session keeps for its endpoint (a resume shows the same).
      const endpointKey = parseKey(readFileSync(path.join(sessions, session!, 'helper-host-key'), 'utf8'));
      expect(readFileSync(helperKnownHosts, 'utf8')).toContain(`ssh-ed25519 ${endpointKey.getPublicSSH().toString('base64')}`);
    },
    180_000,
  );
});
