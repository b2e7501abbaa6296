// The helper channel against the real OpenSSH client: typed into by hand in tmux, and driven
// without a terminal through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force, no controlling tty) for
// the many short attempts. An Ink component is rendered onto the helper's terminal as the
// helper view would be.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { render, Text, useInput, useWindowSize } from 'ink';
import ssh2 from 'ssh2';
import { createElement as h, useState } from 'react';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  fingerprintOf,
  isLoopbackAddress,
  JOIN_PROMPT,
  MAX_COLUMNS,
  MAX_ROWS,
  NEEDS_TERMINAL,
  startHelperEndpoint,
  type HelperEndpoint,
  type HelperEndpointEvent,
  type HelperEndpointOptions,
  type HelperTerminal,
} from '../../src/chat/helper-endpoint.js';
import { alternateScreenAfter, onlcr } from '../../src/chat/helper-endpoint-terminal.js';
import { generateEd25519KeyPair, type SshKeyPair } from '../../src/remote/keys.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { waitFor } from '../support/wait-for.js';

const sshInstalled = spawnSync('ssh', ['-V']).status === 0;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const BANNER = 'nightshift helper channel for dragon upgrade: type the join code the upgrader reads out.';

let hostKey: SshKeyPair;
let dir: string;
let askpass: string;
const cleanups: Array<() => unknown> = [];

beforeAll(() => {
  hostKey = generateEd25519KeyPair('nightshift helper channel test');
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One endpoint with everything it reports collected; closed after the test. */
interface Lab {
  endpoint: HelperEndpoint;
  events: HelperEndpointEvent[];
  helpers: HelperTerminal[];
  /** Keys the Ink component's useInput saw, per helper id. */
  keys: Map<string, string[]>;
  /** How many times each helper's onClose listener ran. */
  closes: Map<string, number>;
}

async function startLab(options: Partial<HelperEndpointOptions> = {}): Promise<Lab> {
  dir = mkdtempSync(path.join(tmpdir(), 'ns-helper-'));
  askpass = path.join(dir, 'askpass');
  // Prints the code from the environment; notes every prompt it was asked.
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$1" >> "$NS_ASKED"\nprintf "%s\\n" "$NS_CODE"\n', { mode: 0o755 });
  const lab: Lab = { endpoint: undefined as unknown as HelperEndpoint, events: [], helpers: [], keys: new Map(), closes: new Map() };
  lab.endpoint = await startHelperEndpoint({
    hostKey: hostKey.privateKey,
    label: 'dragon upgrade',
    failureDelayMs: 50,
    onEvent: (event) => lab.events.push(event),
    onHelper: (terminal) => {
      lab.helpers.push(terminal);
      const keys: string[] = [];
      lab.keys.set(terminal.id, keys);
      const instance = render(h(Hello, { terminal, keys }), {
        stdin: terminal.input,
        stdout: terminal.output,
        interactive: true,
        patchConsole: false,
        exitOnCtrlC: false,
        alternateScreen: true,
      });
      terminal.onClose(() => {
        lab.closes.set(terminal.id, (lab.closes.get(terminal.id) ?? 0) + 1);
        instance.unmount();
      });
    },
    ...options,
  });
  const saved = dir;
  cleanups.push(() => rmSync(saved, { recursive: true, force: true }));
  cleanups.push(() => lab.endpoint.close());
  return lab;
}

function Hello({ terminal, keys }: { terminal: HelperTerminal; keys: string[] }) {
  const { columns, rows } = useWindowSize();
  const [typed, setTyped] = useState('');
  useInput((input, key) => {
    const name = key.upArrow ? '<up>' : key.return ? '<enter>' : input;
    keys.push(name);
    setTyped((before) => before + name);
  });
  return h(Text, null, `hello ${terminal.role} ${columns}x${rows} typed:${typed}`);
}

function sshOptions(port: number): string[] {
  return [
    '-F',
    '/dev/null',
    '-p',
    String(port),
    '-o',
    `UserKnownHostsFile=${path.join(dir, 'kh')}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    'PubkeyAuthentication=no',
    '-o',
    'GSSAPIAuthentication=no',
  ];
}

function inTmux(lab: Lab, user: string, extra: string[] = []): TmuxSession {
  const tmux = TmuxSession.start(['ssh', ...sshOptions(lab.endpoint.port), ...extra, `${user}@127.0.0.1`], { cols: 80, rows: 24 });
  cleanups.push(() => tmux.kill());
  return tmux;
}

interface Attempt {
  child: ChildProcess;
  /** Exit status (255: ssh itself failed, e.g. permission denied). */
  done: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** The prompts the askpass program was asked, one a line. */
  asked(): string[];
  ms(): number;
}

/** OpenSSH with no terminal at all (setsid), the code typed by SSH_ASKPASS. */
function attempt(
  lab: Lab,
  user: string,
  code: string,
  extra: string[] = [],
  args: string[] = [],
  program: 'ssh' | 'sftp' = 'ssh',
  host = `${user}@127.0.0.1`,
): Attempt {
  const asked = path.join(dir, `asked-${Math.random().toString(36).slice(2)}`);
  const started = Date.now();
  let ended = 0;
  // sftp spells ssh's -p as -P.
  const options = sshOptions(lab.endpoint.port).map((option) => (program === 'sftp' && option === '-p' ? '-P' : option));
  const child = spawn(program, [...options, '-o', 'BatchMode=no', ...extra, host, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', NS_CODE: code, NS_ASKED: asked },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = new Promise<number | null>((resolve) =>
    child.once('close', (status) => {
      ended = Date.now();
      resolve(status);
    }),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  void done.then(() => clearTimeout(killer));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    done,
    stdout: () => stdout,
    stderr: () => stderr,
    asked: () => (existsSync(asked) ? readFileSync(asked, 'utf8').split('\n').filter(Boolean) : []),
    ms: () => (ended || Date.now()) - started,
  };
}

/** One keyboard-interactive try, no second chance: as a brute-forcing client would. */
const ONE_TRY = ['-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1'];

interface SilentSocket {
  /** Resolves with how long the socket lived, from connected to closed. */
  closed: Promise<number>;
  isClosed(): boolean;
  /** Bytes the server sent. */
  received(): number;
  destroy(): void;
}

/** What `promise` resolves with, or Infinity when it has not within `ms`. */
function atMost(promise: Promise<number>, ms: number): Promise<number> {
  return Promise.race([promise, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), ms))]);
}

/** A TCP connection that says nothing at all; it resolves once connected. */
function openSilent(port: number): Promise<SilentSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    cleanups.push(() => socket.destroy());
    let received = 0;
    let ended = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('error', () => {});
    socket.once('connect', () => {
      const connectedAt = Date.now();
      const closed = new Promise<number>((done) =>
        socket.once('close', () => {
          ended = true;
          done(Date.now() - connectedAt);
        }),
      );
      resolve({ closed, isClosed: () => ended, received: () => received, destroy: () => socket.destroy() });
    });
    socket.once('close', () => reject(new Error('closed before it connected')));
  });
}

function refusals(lab: Lab) {
  return lab.events.flatMap((event) => (event.type === 'refused' ? [event.reason] : []));
}

describe.skipIf(!sshInstalled || !tmuxAvailable())('the helper channel with the OpenSSH client', () => {
  test('a helper types the code at the prompt, sees the Ink app, which follows resizes and gets keys', async () => {
    const lab = await startLab({ failureDelayMs: 200 });
    const tmux = inTmux(lab, 'sentinel');
    await tmux.waitFor((screen) => screen.includes(JOIN_PROMPT.trim()), 10_000, 'the join code prompt');
    expect(tmux.screen().replace(/\n/g, '')).toContain(BANNER);

    // A wrong code: asked again, with a word about it.
    tmux.type('111-222-333');
    tmux.keys('Enter');
    await tmux.waitFor(/That was not the join code/, 5000);
    expect(refusals(lab)).toEqual(['wrong-code']);

    // The right one, with spaces instead of dashes.
    const code = lab.endpoint.code();
    tmux.type(code.replace(/-/g, ' '));
    tmux.keys('Enter');
    await tmux.waitFor(/hello sentinel 80x24 typed:$/m, 10_000);
    expect(lab.helpers.map((helper) => [helper.role, helper.id])).toEqual([['sentinel', 'sentinel']]);
    expect(lab.events).toContainEqual(expect.objectContaining({ type: 'joined', role: 'sentinel', id: 'sentinel' }));
    // One-time: the code that let this helper in is gone.
    expect(lab.endpoint.code()).not.toBe(code);

    tmux.resize(100, 30);
    await tmux.waitFor(/hello sentinel 100x30 typed:$/m, 5000);
    const helper = lab.helpers[0]!;
    expect([helper.output.columns, helper.output.rows]).toEqual([100, 30]);

    tmux.type('x');
    tmux.keys('Up');
    await tmux.waitFor(/typed:x<up>$/m, 5000);
    expect(lab.keys.get('sentinel')).toEqual(['x', '<up>']);

    // The fingerprint nightshift shows is the key the client saw and wrote down.
    const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'kh')], { encoding: 'utf8' });
    expect(listed.split(/\s+/)[1]).toBe(lab.endpoint.fingerprint);
    expect(fingerprintOf(hostKey.publicKey)).toBe(lab.endpoint.fingerprint);

    helper.close('The upgrader closed your session. Thanks!');
    expect(await tmux.waitForExit(5000)).toBe(0);
    // Back on the normal screen, where the login was, with the last word below it.
    const after = tmux.screen();
    expect(after).toMatch(/That was not the join code[\s\S]*The upgrader closed your session\. Thanks!/);
    expect(after).not.toContain('hello sentinel');
    expect(lab.closes.get('sentinel')).toBe(1);
    expect(lab.events.at(-1)).toEqual({ type: 'left', role: 'sentinel', id: 'sentinel' });
    helper.close('again'); // harmless
    expect(lab.closes.get('sentinel')).toBe(1);
  });

  test('wrong codes answered late lock everybody out; the right code is refused then; a new code ends it', async () => {
    const lab = await startLab({ maxFailures: 3, failureDelayMs: 300, lockoutMs: 60_000 });
    let changes = 0;
    lab.endpoint.subscribe(() => changes++);

    for (let i = 0; i < 3; i++) {
      const wrong = attempt(lab, 'sentinel', '000-000-000', ONE_TRY);
      expect(await wrong.done).toBe(255);
      expect(wrong.stderr()).toMatch(/Permission denied/);
      expect(wrong.asked()).toEqual([`(sentinel@127.0.0.1) ${JOIN_PROMPT}`]);
      expect(wrong.ms()).toBeGreaterThanOrEqual(300);
    }
    expect(refusals(lab)).toEqual(['wrong-code', 'wrong-code', 'wrong-code']);
    const lockedUntil = lab.endpoint.lockedUntil();
    expect(lockedUntil).toBeGreaterThan(Date.now() + 50_000);
    expect(lab.events).toContainEqual({ type: 'locked', until: lockedUntil, failures: 3 });
    expect(changes).toBe(1);

    // The right code, typed at the prompt: there is no prompt, only the reason, at once.
    const prompted = attempt(lab, 'sentinel', lab.endpoint.code(), ['-tt']);
    expect(await prompted.done).toBe(255);
    expect(prompted.stderr()).toContain('Too many wrong join codes: nobody can join for about a minute, unless the upgrader draws a new code.');
    expect(prompted.asked()).toEqual([]);
    // The right code as a password: refused as well.
    const password = attempt(lab, 'observer', lab.endpoint.code(), ['-tt', '-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1']);
    expect(await password.done).toBe(255);
    expect(password.asked()).toEqual(["observer@127.0.0.1's password: "]);
    expect(password.ms()).toBeLessThan(3000);
    expect(lab.helpers).toEqual([]);
    expect(refusals(lab).slice(3)).toEqual(['locked-out', 'locked-out']);

    const code = lab.endpoint.newCode();
    expect(lab.endpoint.lockedUntil()).toBeNull();
    expect(lab.events.slice(-2)).toEqual([
      { type: 'code-changed', reason: 'drawn' },
      { type: 'unlocked', reason: 'new-code' },
    ]);
    expect(changes).toBe(3);

    const joined = attempt(lab, 'sentinel', code.replace(/-/g, ''), ['-tt', ...ONE_TRY]);
    await waitFor(() => lab.helpers.length === 1, { what: 'the helper with the new code' });
    expect(lab.helpers[0]!.role).toBe('sentinel');
    expect(changes).toBe(4); // the one-time code was used up
    await waitFor(() => joined.stdout().includes('hello sentinel'), { what: 'the Ink app on the -tt client' });

    // The helper's client goes away: the session ends once, and closing it later is harmless.
    process.kill(-joined.child.pid!, 'SIGKILL');
    await waitFor(() => lab.closes.get('sentinel') === 1, { what: 'onClose' });
    lab.helpers[0]!.close('too late');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lab.closes.get('sentinel')).toBe(1);
    expect(lab.events.filter((event) => event.type === 'left')).toHaveLength(1);
  });

  test('observer@ joins as an observer with the password method; close() ends the server and every session', async () => {
    const lab = await startLab();
    const observer = attempt(lab, 'observer', lab.endpoint.code(), ['-tt', '-o', 'PreferredAuthentications=password']);
    await waitFor(() => lab.helpers.length === 1, { what: 'the observer' });
    expect(lab.helpers[0]!.role).toBe('observer');
    expect(lab.helpers[0]!.id).toBe('observer');
    // A second observer gets a distinct id. Their client has a key, but is told at once (after
    // the "none" attempt every client makes, not counted) that only the code will do.
    const clientKey = path.join(dir, 'client_key');
    writeFileSync(clientKey, generateEd25519KeyPair('a helper').privateKey, { mode: 0o600 });
    const second = attempt(lab, 'observer', lab.endpoint.code(), ['-tt', '-o', 'PubkeyAuthentication=yes', '-o', 'IdentitiesOnly=yes', '-i', clientKey, '-v']);
    await waitFor(() => lab.helpers.length === 2, { what: 'the second observer' });
    expect(lab.helpers[1]!.id).toBe('observer-2');
    await waitFor(() => second.stdout().includes('hello observer'), { what: 'the Ink app' });
    expect(second.stderr()).toContain('Authentications that can continue: keyboard-interactive,password');
    expect(second.stderr()).not.toContain('Offering public key');
    expect(refusals(lab)).toEqual([]);

    const started = Date.now();
    await lab.endpoint.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await observer.done).toBe(0);
    expect(await second.done).toBe(0);
    expect(observer.stdout()).toContain('nightshift closed the helper channel.');
    expect([...lab.closes.values()]).toEqual([1, 1]);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: lab.endpoint.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    await lab.endpoint.close(); // a second close is harmless
  });

  test('an unknown user is refused and told which users there are; no code is asked', async () => {
    const lab = await startLab();
    const root = attempt(lab, 'root', lab.endpoint.code());
    expect(await root.done).toBe(255);
    expect(root.stderr()).toContain(`nightshift's helper channel has no user "root"`);
    expect(root.stderr()).toMatch(/Permission denied/);
    expect(root.asked()).toEqual([]);
    expect(lab.events).toEqual([{ type: 'refused', username: 'root', reason: 'unknown-user', from: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }]);
  });

  test('a user name with escape sequences and C0/C1 controls is reported neutralized, to the journal and to the client', async () => {
    const lab = await startLab();
    // OpenSSH refuses such names on its command line, not in a config file.
    const config = path.join(dir, 'hostile_config');
    writeFileSync(config, 'Host hostile\n  HostName 127.0.0.1\n  User "\x1b]0;pwned\x07\x1b[2Jevil\u009b31m\u0085x"\n');
    const osc = attempt(lab, '', lab.endpoint.code(), ['-F', config], [], 'ssh', 'hostile');
    expect(await osc.done).toBe(255);
    // C1 controls alone pass its check on -l.
    const c1 = attempt(lab, 'c1\u009b2J\u0085\u0090q', lab.endpoint.code());
    expect(await c1.done).toBe(255);
    const names = lab.events.flatMap((event) => (event.type === 'refused' ? [event.username] : []));
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).not.toMatch(ANY_CONTROL);
    expect(names[0]).toContain('evil');
    expect(names[1]).toMatch(/^c1/);
    // What the client prints of it is neutralized too.
    for (const stderr of [osc.stderr(), c1.stderr()]) {
      expect(stderr).toContain('has no user');
      const said = /has no user "([^"]*)"/.exec(stderr)![1]!;
      expect(said).not.toMatch(ANY_CONTROL);
    }
  });

  test(`a helper's terminal size is clamped to ${MAX_COLUMNS}x${MAX_ROWS} and at least 1x1, from the pty request and from window changes`, async () => {
    const lab = await startLab();
    // OpenSSH with the size of its terminal set to 6000x6000: its pty request says so.
    const ttyFile = path.join(dir, 'tty');
    const ssh = ['ssh', ...sshOptions(lab.endpoint.port), 'sentinel@127.0.0.1'].map((arg) => `'${arg}'`).join(' ');
    const tmux = TmuxSession.start(['sh', '-c', `tty > '${ttyFile}'; stty rows 6000 cols 6000; exec ${ssh}`], { cols: 80, rows: 24 });
    cleanups.push(() => tmux.kill());
    await tmux.waitFor((screen) => screen.includes(JOIN_PROMPT.trim()), 10_000, 'the join code prompt');
    tmux.type(lab.endpoint.code());
    tmux.keys('Enter');
    await waitFor(() => lab.helpers.length === 1, { what: 'the helper' });
    const helper = lab.helpers[0]!;
    expect([helper.output.columns, helper.output.rows]).toEqual([MAX_COLUMNS, MAX_ROWS]);
    await tmux.waitFor(/hello sentinel 500x200 typed:/, 5000);

    // Window changes: the kernel tells ssh (SIGWINCH) when the size of its terminal is set.
    const tty = readFileSync(ttyFile, 'utf8').trim();
    const resize = async (cols: number, rows: number, expected: [number, number]) => {
      execFileSync('stty', ['-F', tty, 'rows', String(rows), 'cols', String(cols)]);
      await waitFor(() => helper.output.columns === expected[0] && helper.output.rows === expected[1], {
        what: `${expected.join('x')} after stty ${cols}x${rows}`,
        timeoutMs: 5000,
      });
    };
    await resize(100, 30, [100, 30]);
    await resize(9000, 9000, [MAX_COLUMNS, MAX_ROWS]);
    await resize(120, 9000, [120, MAX_ROWS]);
    // Zero (unknown) changes nothing; the next real size still gets through.
    execFileSync('stty', ['-F', tty, 'rows', '0', 'cols', '0']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([helper.output.columns, helper.output.rows]).toEqual([120, MAX_ROWS]);
    await resize(30, 10, [30, 10]);
    await tmux.waitFor(/hello sentinel 30x10 typed:/, 5000);

    // Sizes no terminal has, as 32-bit numbers straight from a client.
    const client = new ssh2.Client();
    cleanups.push(() => client.end());
    const code = lab.endpoint.code();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve()).on('error', reject);
      client.on('keyboard-interactive', (_name, _instructions, _lang, _prompts, finish) => finish([code]));
      client.connect({ host: '127.0.0.1', port: lab.endpoint.port, username: 'observer', tryKeyboard: true, hostVerifier: () => true });
    });
    const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
      client.shell({ term: 'xterm', cols: 0, rows: 0xffffffff, width: 0, height: 0 }, (error, stream) => (error ? reject(error) : resolve(stream))),
    );
    await waitFor(() => lab.helpers.length === 2, { what: 'the raw client' });
    const raw = lab.helpers[1]!;
    expect([raw.output.columns, raw.output.rows]).toEqual([80, MAX_ROWS]);
    channel.setWindow(7, 0xffffffff, 0, 0);
    await waitFor(() => raw.output.columns === MAX_COLUMNS && raw.output.rows === 7, { what: 'the absurd window change clamped', timeoutMs: 5000 });
    channel.setWindow(0, 0, 0, 0);
    channel.setWindow(1, 1, 0, 0);
    await waitFor(() => raw.output.columns === 1 && raw.output.rows === 1, { what: '1x1', timeoutMs: 5000 });
  });

  test('without a terminal, with a command, sftp or a remote forward: no helper session', async () => {
    const lab = await startLab();
    const noPty = attempt(lab, 'sentinel', lab.endpoint.code(), ['-T']);
    expect(await noPty.done).toBe(1);
    expect(noPty.stderr()).toContain(NEEDS_TERMINAL);

    const command = attempt(lab, 'sentinel', lab.endpoint.code(), ['-tt'], ['uptime']);
    expect(await command.done).toBe(1);
    expect(command.stderr()).toContain(NEEDS_TERMINAL);

    const sftp = attempt(lab, 'sentinel', lab.endpoint.code(), [], [], 'sftp');
    expect(await sftp.done).not.toBe(0);
    expect(sftp.stderr()).toMatch(/subsystem request failed/);

    const forward = attempt(lab, 'sentinel', lab.endpoint.code(), ['-N', '-R', '0:127.0.0.1:9', '-o', 'ExitOnForwardFailure=yes']);
    expect(await forward.done).toBe(255);
    expect(forward.stderr()).toMatch(/remote port forwarding failed/);

    expect(lab.helpers).toEqual([]);
    expect(refusals(lab)).toEqual(['no-terminal', 'no-terminal']);
  });

  test('connections that never log in are closed after the handshake time; past the cap new ones are closed at once', async () => {
    const lab = await startLab({ handshakeTimeoutMs: 1500, maxPendingLogins: 3 });
    // Sockets that never send the SSH ident line, as a script opening them would.
    const silent = await Promise.all([0, 1, 2].map(() => openSilent(lab.endpoint.port)));
    // Over the cap: closed at once, and nothing but the close.
    const extra = await openSilent(lab.endpoint.port);
    expect(await atMost(extra.closed, 3000)).toBeLessThan(1000);
    expect(extra.received()).toBe(0);
    // A real helper is turned away while the cap is reached...
    const turnedAway = attempt(lab, 'sentinel', lab.endpoint.code(), ['-tt', ...ONE_TRY]);
    expect(await turnedAway.done).toBe(255);
    expect(turnedAway.stderr()).toMatch(/Connection closed|Connection reset/);
    expect(lab.events.filter((event) => event.type === 'crowded')).toEqual([{ type: 'crowded', limit: 3, refused: 1 }]);
    // ...the silent ones are closed after the handshake time (they only got the server's ident)...
    const lasted = await Promise.all(silent.map((socket) => atMost(socket.closed, 8000)));
    console.log(`silent connections closed after ${lasted.join(', ')} ms (handshake time 1500 ms)`);
    for (const ms of lasted) {
      expect(ms).toBeGreaterThanOrEqual(1400);
      expect(ms).toBeLessThan(6000);
    }
    // ...and then a real helper joins.
    const joined = attempt(lab, 'sentinel', lab.endpoint.code(), ['-tt', ...ONE_TRY]);
    await waitFor(() => lab.helpers.length === 1, { what: 'the helper once the silent connections are gone' });
    await waitFor(() => joined.stdout().includes('hello sentinel'), { what: 'the Ink app' });
    // Logged in, a helper no longer counts against the cap: three more silent ones are taken.
    const more = await Promise.all([0, 1, 2].map(() => openSilent(lab.endpoint.port)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(more.map((socket) => socket.isClosed())).toEqual([false, false, false]);
    for (const socket of more) socket.destroy();
  });

  test('a client that shakes hands but never answers the code prompt is closed after the login grace', async () => {
    const lab = await startLab({ loginGraceMs: 1500 });
    const client = new ssh2.Client();
    cleanups.push(() => client.end());
    let prompted = false;
    const started = Date.now();
    const ended = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now() - started)));
    client.on('error', () => {});
    // Asked for the code, it never answers.
    client.on('keyboard-interactive', () => (prompted = true));
    client.connect({ host: '127.0.0.1', port: lab.endpoint.port, username: 'sentinel', tryKeyboard: true, hostVerifier: () => true });
    const lasted = await ended;
    expect(prompted).toBe(true);
    expect(lasted).toBeGreaterThanOrEqual(1400);
    expect(lasted).toBeLessThan(6000);
  });

  test('a connection that logged in but opens no terminal (ssh -N) is closed, and the refusal says so', async () => {
    const lab = await startLab({ terminalWithinMs: 1500 });
    const code = lab.endpoint.code();
    const quiet = attempt(lab, 'sentinel', code, ['-N', ...ONE_TRY]);
    await waitFor(() => lab.events.some((event) => event.type === 'code-changed' && event.reason === 'used'), { what: 'the code used' });
    expect(await quiet.done).toBe(255);
    console.log(`ssh -N with a valid code ended after ${quiet.ms()} ms (bound 1500 ms)`);
    expect(quiet.ms()).toBeGreaterThanOrEqual(1400);
    expect(quiet.ms()).toBeLessThan(6000);
    expect(lab.events).toContainEqual({ type: 'refused', username: 'sentinel', reason: 'no-session', from: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(lab.helpers).toEqual([]);
    // A helper who opens their terminal at once is not affected, however long they stay.
    const helper = attempt(lab, 'sentinel', lab.endpoint.code(), ['-tt', ...ONE_TRY]);
    await waitFor(() => helper.stdout().includes('hello sentinel'), { what: 'the Ink app' });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(lab.helpers[0]!.closed).toBe(false);
    expect(refusals(lab)).toEqual(['no-session']);
  });

  test('it listens on loopback only unless told otherwise', async () => {
    await expect(startHelperEndpoint({ hostKey: hostKey.privateKey, address: '0.0.0.0', onHelper: () => {} })).rejects.toThrow(
      /0\.0\.0\.0, which is not a loopback address/,
    );
    await expect(startHelperEndpoint({ hostKey: hostKey.privateKey, address: '::', onHelper: () => {} })).rejects.toThrow(/not a loopback address/);
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost'].map(isLoopbackAddress)).toEqual([true, true, true, true, true]);
    expect(['0.0.0.0', '10.0.0.1', '::', 'dragon.example'].map(isLoopbackAddress)).toEqual([false, false, false, false]);
    const open = await startHelperEndpoint({ hostKey: hostKey.privateKey, address: '0.0.0.0', allowNonLoopback: true, onHelper: () => {} });
    expect(open.address).toBe('0.0.0.0');
    await open.close();
  });

  test("output gets the pty's newline translation; the alternate screen is followed", () => {
    expect(onlcr(Buffer.from('a\nb\r\nc\n')).toString()).toBe('a\r\nb\r\nc\r\n');
    expect(onlcr(Buffer.from('\nx'), 0x0d).toString()).toBe('\nx');
    expect(onlcr(Buffer.from('\nx'), 0x61).toString()).toBe('\r\nx');
    expect(alternateScreenAfter(Buffer.from('\x1b[?1049hdraw'), false)).toBe(true);
    expect(alternateScreenAfter(Buffer.from('plain text'), true)).toBe(true);
    expect(alternateScreenAfter(Buffer.from('\x1b[?1049h…\x1b[?1049l'), false)).toBe(false);
  });
});
