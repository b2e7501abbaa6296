// The server nightshift logs in to for an ssh config alias is the one `ssh -F cfg alias`
// reaches, for the configs that used to part ways: Match exec, an Include inside a Host block,
// % tokens, and a jump host with a ProxyJump of its own. Four real sshds on 127.0.0.1, each
// telling its name in NS_MARK and logging its logins: the same sshds must log a login, once
// each, for ssh and for nightshift, and the command must run on the same one.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HostPool } from '../../src/remote/host-pool.js';
import { resolveJumpHosts } from '../../src/remote/proxy-jump.js';
import { resolveHost, SshConfigError } from '../../src/remote/ssh-config.js';
import type { HostSpec } from '../../src/runbook/types.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { sleep } from '../support/wait-for.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { makeHome, removeHome, run, scriptedInteraction } from '../support/ssh-pool.js';

const NAMES = ['alpha', 'bravo', 'charlie', 'delta'] as const;
type Name = (typeof NAMES)[number];

describeWithSshd('resolving hosts as ssh does, against real sshds', () => {
  const sshds = {} as Record<Name, Sshd>;
  let dir: string;
  let home: string;
  let configFile: string;
  /** The same without the Match exec block, which the own parser refuses wherever it is. */
  let configWithoutExec: string;
  let knownHosts: string;
  let shared: KeyPair;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-resolution-'));
    home = makeHome();
    shared = await generateKeyPair(dir, 'shared_key');
    await Promise.all(
      NAMES.map(async (name) => {
        sshds[name] = await Sshd.start({ env: { NS_MARK: name } });
      }),
    );
    for (const name of NAMES) await sshds[name].authorize(shared.publicLine);
    // The % tokens case: a key only delta accepts, found only if IdentityFile's tokens expand as ssh expands them.
    mkdirSync(path.join(dir, 'keys'));
    copyFileSync(sshds.delta.clientKey.privateKeyFile, path.join(dir, 'keys', `tokens-host_${sshds.delta.user}@127.0.0.1_${sshds.delta.port}`));
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, NAMES.map((name) => `${sshds[name].knownHostsLine()}\n`).join(''));
    // Included inside `Host include-host` only: for other hosts ssh never reads its `Host *`.
    writeFileSync(path.join(dir, 'charlie.conf'), `Host *\n  Port ${sshds.charlie.port}\n`);
    configFile = path.join(dir, 'config');
    configWithoutExec = path.join(dir, 'config-without-exec');
    const port = (name: Name) => sshds[name].port;
    // Taken for exec-host only: ssh runs the command; it used to count as false (alpha).
    const matchExec = ['Match originalhost exec-host exec "test %n = exec-host"', `  Port ${port('bravo')}`];
    const lines = (withMatchExec: boolean) => [
      'Host exec-host',
      `  IdentityFile ${shared.privateKeyFile}`,
      ...(withMatchExec ? matchExec : []),
      'Host include-host',
      `  Include ${path.join(dir, 'charlie.conf')}`,
      'Host tokens-host',
      `  Port ${port('delta')}`,
      `  IdentityFile ${path.join(dir, 'keys')}/%n_%r@%h_%p`,
      'Host nested',
      `  Port ${port('delta')}`,
      '  ProxyJump hop-a,hop-b',
      // hop-a is reached with its own settings: its ProxyJump (charlie) is followed.
      'Host hop-a',
      `  Port ${port('alpha')}`,
      '  ProxyJump hop-c',
      // hop-b is reached with -J hop-a: its own ProxyJump (a dead port) never counts.
      'Host hop-b',
      `  Port ${port('bravo')}`,
      '  ProxyJump nowhere',
      'Host hop-c',
      `  Port ${port('charlie')}`,
      'Host nowhere',
      '  Port 1',
      'Host *',
      '  HostName 127.0.0.1',
      `  Port ${port('alpha')}`,
      `  IdentityFile ${shared.privateKeyFile}`,
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ];
    writeFileSync(configFile, lines(true).join('\n'));
    writeFileSync(configWithoutExec, lines(false).join('\n'));
  });
  afterAll(async () => {
    await Promise.all(NAMES.map((name) => sshds[name]?.stop()));
    if (home) removeHome(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Logins each sshd has logged so far. */
  function logins(): Record<Name, number> {
    return Object.fromEntries(
      NAMES.map((name) => [
        name,
        sshds[name]
          .log()
          .split('\n')
          .filter((line) => line.includes('Accepted publickey')).length,
      ]),
    ) as Record<Name, number>;
  }

  /** Which sshds logged a login while `action` ran, and what it answered. */
  async function loginsDuring(action: () => Promise<string>): Promise<{ answer: string; logins: Partial<Record<Name, number>> }> {
    const before = logins();
    const answer = await action();
    // sshd logs the login before the session starts, so the line is in its pipe by the time the
    // command answered; which sshds logged one is the question, so there is no line to wait for:
    // a moment lets this process read every pipe.
    await sleep(100);
    const after = logins();
    const changed = Object.fromEntries(NAMES.filter((name) => after[name] !== before[name]).map((name) => [name, after[name] - before[name]]));
    return { answer, logins: changed };
  }

  function sshMark(alias: string): Promise<string> {
    const env = { ...process.env };
    delete env['SSH_AUTH_SOCK'];
    return new Promise((resolve, reject) => {
      const child = spawn('ssh', ['-F', configFile, alias, 'echo $NS_MARK'], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(stdout.trim()) : reject(new Error(`ssh ${alias} exited ${code}: ${stderr}`))));
    });
  }

  async function nightshiftMark(alias: string, env: NodeJS.ProcessEnv = { HOME: home }, sshConfigFile = configFile): Promise<string> {
    const pool = new HostPool(
      { [alias]: { name: alias, alias } },
      { sshConfigFile, knownHostsFiles: [knownHosts], env, readyTimeoutMs: 10_000, interaction: scriptedInteraction({ acceptHostKey: false }) },
    );
    try {
      const result = await run(pool, 'echo $NS_MARK', alias);
      if (result.exitCode !== 0) throw new Error(`echo on ${alias} exited ${result.exitCode}: ${result.stderr}`);
      return result.stdout.trim();
    } finally {
      await pool.close();
    }
  }

  const cases: Array<{ alias: string; reaches: Name; logins: Partial<Record<Name, number>> }> = [
    { alias: 'exec-host', reaches: 'bravo', logins: { bravo: 1 } },
    { alias: 'include-host', reaches: 'charlie', logins: { charlie: 1 } },
    { alias: 'plain-host', reaches: 'alpha', logins: { alpha: 1 } },
    { alias: 'tokens-host', reaches: 'delta', logins: { delta: 1 } },
    { alias: 'nested', reaches: 'delta', logins: { alpha: 1, bravo: 1, charlie: 1, delta: 1 } },
  ];

  test.each(cases)('$alias: nightshift logs in where ssh -F cfg $alias does ($reaches)', async ({ alias, reaches, logins: expected }) => {
    const ssh = await loginsDuring(() => sshMark(alias));
    const nightshift = await loginsDuring(() => nightshiftMark(alias));
    expect(ssh).toEqual({ answer: reaches, logins: expected });
    expect(nightshift).toEqual(ssh);
  });

  // ssh -v: ssh -J hop-a -W [127.0.0.1]:delta hop-b, then ssh -W [127.0.0.1]:alpha hop-a, then ssh -W [127.0.0.1]:charlie hop-c.
  test('the nested route goes charlie, alpha, bravo, then delta, as ssh -v shows ssh going', async () => {
    const resolve = (spec: HostSpec) => resolveHost(spec, { configFile, env: { HOME: home } });
    const route = await resolveJumpHosts(await resolve({ name: 'nested', alias: 'nested' }), { hosts: {}, resolve });
    const portOf = Object.fromEntries(NAMES.map((name) => [sshds[name].port, name]));
    expect(route.map((stop) => portOf[stop.host.port])).toEqual(['charlie', 'alpha', 'bravo']);
  });

  describe('without ssh (the own parser)', () => {
    const noSsh = () => ({ HOME: home, PATH: path.join(dir, 'no-bin') });

    test.each(cases.filter((entry) => entry.alias !== 'exec-host'))(
      '$alias: the same server as ssh ($reaches)',
      async ({ alias, reaches, logins: expected }) => {
        const nightshift = await loginsDuring(() => nightshiftMark(alias, noSsh(), configWithoutExec));
        expect(nightshift).toEqual({ answer: reaches, logins: expected });
      },
    );

    test('Match exec is refused, naming the line, and nothing is logged in to', async () => {
      const before = logins();
      const error = await nightshiftMark('exec-host', noSsh()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SshConfigError);
      expect((error as Error).message).toContain(`${configFile} line 3: Match originalhost exec-host exec "test %n = exec-host"`);
      expect(logins()).toEqual(before);
    });
  });
});
