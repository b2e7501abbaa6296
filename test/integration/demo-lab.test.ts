// The embedded demo lab, driven by the real OpenSSH client, and the shipped demo runbook run
// step by step against it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoLabError, startDemoLab, type DemoLab } from '../../src/lab/demo-lab.js';
import { checkDemoTools, findTool, LAB_PATH } from '../../src/lab/preflight.js';
import { FAILING_FLEET_HOST, FLEET_HOST_NAMES } from '../../src/lab/fleet-hosts.js';
import { isAlive } from '../../src/store/lock.js';
import { SITE } from '../../src/lab/site-plan.js';
import { generateEd25519KeyPair, parseKey } from '../../src/remote/keys.js';
import { loadRunbook } from '../../src/runbook/load.js';
import type { Runbook, Step } from '../../src/runbook/types.js';
import { waitFor } from '../support/wait-for.js';

interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function newLab(scenario: 'success' | 'wrong-route' | 'fleet' = 'success'): Promise<DemoLab> {
  const lab = await startDemoLab({ scenario });
  cleanups.push(async () => {
    await lab.close();
    rmSync(lab.dir, { recursive: true, force: true });
  });
  return lab;
}

function sshArgs(lab: DemoLab, knownHostsFile = lab.knownHostsFile, configFile = lab.sshConfigFile): string[] {
  return [
    '-F',
    configFile,
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
  ];
}

/** An environment without an agent, so that only the keys named in the config are offered. */
function clientEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  return env;
}

function runSsh(args: string[], input = ''): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { env: clientEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function ssh(lab: DemoLab, host: string, command: string, input = ''): Promise<SshResult> {
  return runSsh([...sshArgs(lab), host, command], input);
}

/** Waits for the pid a remote command writes; should a test fail, the process is not left behind. */
async function waitForPid(file: string): Promise<number> {
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'), { what: `${path.basename(file)} is written` });
  const pid = Number(readFileSync(file, 'utf8').trim());
  cleanups.push(() => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  return pid;
}

const sshAvailable = findTool('ssh', process.env.PATH ?? LAB_PATH) !== undefined;
if (!sshAvailable) console.warn('\n*** demo-lab tests SKIPPED: the OpenSSH client (ssh) is not installed: apt-get install openssh-client ***\n');

describe.skipIf(!sshAvailable)('demo lab over OpenSSH', () => {
  let lab: DemoLab;
  let startupMs: number;

  beforeAll(async () => {
    const started = performance.now();
    lab = await newLab();
    startupMs = performance.now() - started;
  });

  it('starts quickly and keeps everything inside its folder', async () => {
    console.info(`demo lab start-up: ${startupMs.toFixed(0)} ms`);
    expect(startupMs).toBeLessThan(1500);
    // dolphin's commands wait until its tarballs are packed; then the scratch trees are gone.
    const listing = await ssh(lab, 'dolphin', 'ls restore');
    expect(listing.stdout.split('\n')).toEqual(expect.arrayContaining(['root.tar.gz', 'usr.tar.gz', 'var.tar.gz', 'SHA256SUMS']));
    for (const file of [lab.sshConfigFile, lab.knownHostsFile, lab.identityFile]) {
      expect(path.relative(lab.dir, file).startsWith('..')).toBe(false);
    }
    for (const host of Object.values(lab.hosts)) expect(path.relative(lab.dir, host.root).startsWith('..')).toBe(false);
    expect(existsSync(path.join(lab.dir, 'build'))).toBe(false);
    expect(existsSync(lab.runbookFile)).toBe(true);
  });

  it('pins three different host keys, one per port', () => {
    const lines = readFileSync(lab.knownHostsFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const host of Object.values(lab.hosts)) {
      expect(lines.filter((line) => line.startsWith(`[127.0.0.1]:${host.port} ssh-ed25519 `))).toHaveLength(1);
    }
    expect(new Set(lines.map((line) => line.split(' ')[2])).size).toBe(3);
  });

  it('lets the real ssh client in with StrictHostKeyChecking=yes, and each host runs in its own sandbox', async () => {
    for (const name of ['dragon', 'dolphin', 'elephant'] as const) {
      const result = await ssh(lab, name, 'pwd; cat etc/hostname; echo "$HOSTNAME $HOME $LANG"; echo "$PATH"');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const [pwd, hostname, env, searchPath] = result.stdout.trim().split('\n');
      expect(pwd).toBe(lab.host(name).root);
      expect(hostname).toBe(name);
      expect(env).toBe(`${name} ${lab.host(name).root} C`);
      expect(searchPath!.split(':')).toEqual(expect.arrayContaining(['/usr/sbin', '/sbin', '/usr/bin', '/bin']));
    }
  });

  it('refuses a host whose key is not the pinned one', async () => {
    // dolphin's key written down for dragon's port: the client must refuse to talk to dragon.
    const lines = readFileSync(lab.knownHostsFile, 'utf8').trim().split('\n');
    const dolphinKey = lines
      .find((line) => line.startsWith(`[127.0.0.1]:${lab.host('dolphin').port} `))!
      .split(' ')
      .slice(1);
    const wrong = path.join(lab.dir, 'wrong_known_hosts');
    writeFileSync(wrong, `[127.0.0.1]:${lab.host('dragon').port} ${dolphinKey.join(' ')}\n`);
    const result = await runSsh([...sshArgs(lab, wrong), 'dragon', 'echo reached']);
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
  });

  it('passes exit codes, stdout and stderr through separately', async () => {
    const result = await ssh(lab, 'dragon', 'echo to-stdout; echo to-stderr >&2; exit 7');
    expect(result).toEqual({ code: 7, stdout: 'to-stdout\n', stderr: 'to-stderr\n' });
    const missing = await ssh(lab, 'elephant', 'cat no/such/file');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no\/such\/file/);
  });

  it('pipes the client input to the command', async () => {
    const input = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const result = await ssh(lab, 'dolphin', 'cat > piped.txt; wc -l < piped.txt', input);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('1999');
    expect(readFileSync(path.join(lab.host('dolphin').root, 'piped.txt'), 'utf8')).toBe(input);
  });

  it('streams a large output completely', async () => {
    const result = await ssh(lab, 'dolphin', 'tar -tzf restore/usr.tar.gz');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').length).toBeGreaterThan(1000);
  });

  it('refuses a client key that is not the lab key', async () => {
    const other = generateEd25519KeyPair('other');
    const otherKey = path.join(lab.dir, 'other_key');
    writeFileSync(otherKey, other.privateKey, { mode: 0o600 });
    const config = path.join(lab.dir, 'other_config');
    writeFileSync(
      config,
      `Host dragon\n  HostName 127.0.0.1\n  Port ${lab.host('dragon').port}\n  User nightshift\n  IdentityFile ${otherKey}\n  IdentitiesOnly yes\n`,
      { mode: 0o600 },
    );
    const result = await runSsh([...sshArgs(lab, lab.knownHostsFile, config), '-o', 'PasswordAuthentication=no', 'dragon', 'echo reached']);
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it("refuses the lab key's public half when the signature is not made with it", async () => {
    const labPublic = ssh2.utils.parseKey(readFileSync(`${lab.identityFile}.pub`)) as ssh2.ParsedKey;
    const impostor = parseKey(generateEd25519KeyPair('impostor').privateKey);
    // An agent that offers the lab's public key but signs with another key.
    class LyingAgent extends ssh2.BaseAgent<ssh2.ParsedKey> {
      getIdentities(cb: (error: Error | undefined, keys?: ssh2.ParsedKey[]) => void) {
        cb(undefined, [labPublic]);
      }
      sign(_key: ssh2.ParsedKey, data: Buffer, ...rest: unknown[]) {
        const cb = rest.at(-1) as (error: Error | undefined, signature?: Buffer) => void;
        cb(undefined, impostor.sign(data));
      }
    }
    const client = new ssh2.Client();
    const outcome = await new Promise<string>((resolve) => {
      client.once('ready', () => resolve('authenticated')).on('error', (error) => resolve(error.message));
      client.connect({
        host: '127.0.0.1',
        port: lab.host('dragon').port,
        username: 'nightshift',
        agent: new LyingAgent(),
        hostVerifier: (key: Buffer) => readFileSync(lab.knownHostsFile, 'utf8').includes(key.toString('base64')),
      });
    });
    client.end();
    expect(outcome).toMatch(/authentication methods failed/);
  });

  it('gives a shell only on a pty (an interactive sh that exits with its status), and refuses the sftp subsystem', async () => {
    const shell = await runSsh([...sshArgs(lab), '-T', 'dragon']);
    expect(shell.code).toBe(255);
    expect(shell.stderr).toMatch(/shell request failed/);
    const sftp = await runSsh([...sshArgs(lab), '-s', 'dragon', 'sftp']);
    expect(sftp.code).toBe(255);
    expect(sftp.stderr).toMatch(/subsystem request failed/);
    const pty = await runSsh([...sshArgs(lab), '-tt', 'dragon'], '[ -t 0 ] && [ -t 1 ] && echo on-a-$((1+1))-tty; cat etc/hostname; exit 3\n');
    expect(pty.stdout).toMatch(/^(dragon:demo# )?on-a-2-tty\r?$/m);
    expect(pty.stdout).toMatch(/^dragon\r?$/m);
    expect(pty.code).toBe(3);
  });

  it('kills the remote process group when the client goes away', async () => {
    const pidFile = path.join(lab.host('dragon').root, 'sleeper.pid');
    const child = spawn('ssh', [...sshArgs(lab), 'dragon', 'sleep 300 & echo $! > sleeper.pid; wait'], {
      env: clientEnv(),
      stdio: 'ignore',
    });
    const sleeper = await waitForPid(pidFile);
    expect(isAlive(sleeper)).toBe(true);
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGKILL');
    await closed;
    await waitFor(() => !isAlive(sleeper), { what: `the remote sleep ${sleeper} is gone`, timeoutMs: 5000 });
  });

  it('forwards a signal request to the whole process group', async () => {
    const pidFile = path.join(lab.host('elephant').root, 'signalled.pid');
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve()).on('error', reject);
      client.connect({
        host: '127.0.0.1',
        port: lab.host('elephant').port,
        username: 'nightshift',
        privateKey: readFileSync(lab.identityFile),
        hostVerifier: (key: Buffer) => readFileSync(lab.knownHostsFile, 'utf8').includes(key.toString('base64')),
      });
    });
    try {
      const outcome = await new Promise<{ code: unknown; signal: unknown }>((resolve, reject) => {
        client.exec('sleep 300 & echo $! > signalled.pid; wait', (error, stream) => {
          if (error) return reject(error);
          stream.resume();
          stream.stderr.resume();
          stream.once('close', (code: unknown, signal: unknown) => resolve({ code, signal }));
          void waitForPid(pidFile).then(() => stream.signal('TERM'), reject);
        });
      });
      expect(outcome.signal).toBe('SIGTERM');
      const sleeper = await waitForPid(pidFile);
      await waitFor(() => !isAlive(sleeper), { what: 'the background sleep is gone', timeoutMs: 5000 });
    } finally {
      client.end();
    }
  });

  it('drops the connections to one host on request, and new ones still work', async () => {
    const pidFile = path.join(lab.host('dolphin').root, 'dropped.pid');
    const running = runSsh([...sshArgs(lab), 'dolphin', 'sleep 300 & echo $! > dropped.pid; wait']);
    const sleeper = await waitForPid(pidFile);
    lab.dropConnections('dolphin');
    const result = await running;
    expect(result.code).toBe(255);
    await waitFor(() => !isAlive(sleeper), { what: 'the dropped command is gone', timeoutMs: 5000 });
    expect((await ssh(lab, 'dolphin', 'echo back')).stdout).toBe('back\n');
    expect(() => lab.dropConnections('unicorn')).toThrow(DemoLabError);
  });

  it('listens on 127.0.0.1 only', async () => {
    const ports = new Set(Object.values(lab.hosts).map((host) => host.port));
    const listening: string[] = [];
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (!existsSync(table)) continue;
      for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
        const [, local, , state] = row.trim().split(/\s+/);
        const [address, portHex] = local!.split(':');
        if (state === '0A' && ports.has(parseInt(portHex!, 16))) listening.push(`${table}:${address}`);
      }
    }
    expect(listening.sort()).toEqual(['/proc/net/tcp:0100007F', '/proc/net/tcp:0100007F', '/proc/net/tcp:0100007F']);
    const otherAddresses = Object.values(os.networkInterfaces())
      .flat()
      .filter((info) => info && !info.internal && info.family === 'IPv4')
      .map((info) => info!.address);
    for (const address of otherAddresses) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: address, port: lab.host('dragon').port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(outcome, `connecting to ${address}`).not.toBe('connected');
    }
  });
});

describe.skipIf(!sshAvailable)('demo lab life cycle', () => {
  it('stops listening and kills running commands on close', async () => {
    const lab = await newLab();
    const pidFile = path.join(lab.host('dragon').root, 'closing.pid');
    const running = runSsh([...sshArgs(lab), 'dragon', 'sleep 300 & echo $! > closing.pid; wait']);
    const sleeper = await waitForPid(pidFile);
    await lab.close();
    expect((await running).code).toBe(255);
    await waitFor(() => !isAlive(sleeper), { what: 'the command is gone after close', timeoutMs: 5000 });
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: lab.host('dragon').port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect(existsSync(lab.host('dragon').root)).toBe(true);
  });

  it('reuses its own earlier folder but refuses a folder holding something else', async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'nightshift-lab-test-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const dir = path.join(parent, 'lab');
    const first = await startDemoLab({ dir });
    writeFileSync(path.join(first.host('dragon').root, 'etc/hostname'), 'changed\n');
    await first.close();
    const second = await startDemoLab({ dir });
    await second.close();
    expect(readFileSync(path.join(second.host('dragon').root, 'etc/hostname'), 'utf8')).toBe('dragon\n');

    const foreign = path.join(parent, 'foreign');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'thesis.tex'), 'precious');
    await expect(startDemoLab({ dir: foreign })).rejects.toThrow(DemoLabError);
    expect(readdirSync(foreign)).toEqual(['thesis.tex']);
  });

  it('names the missing tool and its Debian package', () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'nightshift-lab-path-'));
    cleanups.push(() => rmSync(bin, { recursive: true, force: true }));
    for (const tool of ['sh', 'tar', 'gzip', 'sha256sum', 'awk', 'sed', 'grep']) {
      const found = findTool(tool);
      if (found) symlinkSync(found, path.join(bin, tool));
    }
    expect(() => checkDemoTools(bin)).toThrow(DemoLabError);
    expect(() => checkDemoTools(bin)).toThrow(/`sfdisk`.*apt-get install fdisk/);
    expect(() => checkDemoTools()).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// The shipped demo runbook, step by step, as the engine would run it.

interface StepOutcome {
  step: Step;
  result: SshResult;
}

async function runStep(lab: DemoLab, runbook: Runbook, step: Step): Promise<SshResult | undefined> {
  switch (step.kind) {
    case 'run':
      return ssh(lab, step.host, step.command);
    case 'wait':
      expect(step.until.kind).toBe('ssh');
      return ssh(lab, step.host, 'true');
    case 'local': {
      const result = spawnSync('/bin/sh', ['-c', step.command], { cwd: path.dirname(runbook.file), encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    }
    default:
      return undefined; // notes and checkpoints are for the humans
  }
}

/** Runs steps in order until one fails; returns what ran. */
async function runSteps(lab: DemoLab, runbook: Runbook, steps: Step[]): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const result = await runStep(lab, runbook, step);
    if (!result) continue;
    outcomes.push({ step, result });
    if (result.code !== 0) break;
  }
  return outcomes;
}

function describeFailure(outcomes: StepOutcome[]): string {
  const failed = outcomes.find((outcome) => outcome.result.code !== 0);
  return failed ? `step ${failed.step.number} (${failed.step.title}) exited ${failed.result.code}: ${failed.result.stderr}` : 'none';
}

const read = (root: string, file: string) => readFileSync(path.join(root, file), 'utf8');

describe.skipIf(!sshAvailable)('the demo runbook in the lab', () => {
  it("says the lab's names and addresses in its vars", async () => {
    const lab = await newLab();
    const runbook = await loadRunbook(lab.runbookFile);
    expect(runbook.vars).toMatchObject({
      domain: SITE.domain,
      isp_gateway: SITE.ispGateway,
      dragon_public: SITE.dragonPublic,
      dragon_private: SITE.dragonPrivate,
      dolphin_address: SITE.dolphin,
      elephant_address: SITE.elephant,
    });
    expect(Object.keys(runbook.hosts).sort()).toEqual(['dolphin', 'dragon', 'elephant']);
  });

  it('success: every step passes, twice in a row, and dolphin ends up as dragon', async () => {
    const lab = await newLab('success');
    const runbook = await loadRunbook(lab.runbookFile);
    const main = runbook.phases.flatMap((phase) => phase.steps);

    const first = await runSteps(lab, runbook, main);
    expect(describeFailure(first)).toBe('none');
    expect(first.filter((outcome) => outcome.step.kind === 'run').length).toBe(main.filter((s) => s.kind === 'run').length);
    const restoreLines = first
      .filter((outcome) => outcome.step.phase === 'restore')
      .reduce((sum, outcome) => sum + outcome.result.stdout.split('\n').length, 0);
    expect(restoreLines).toBeGreaterThan(2000);

    // Retrying after a failure means running a step again: every step must survive that.
    const second = await runSteps(lab, runbook, main);
    expect(describeFailure(second)).toBe('none');

    const dolphin = lab.host('dolphin').root;
    const newRoot = path.join(dolphin, runbook.vars.new_root!);
    expect(read(newRoot, 'etc/hostname')).toBe('dragon\n');
    expect(read(newRoot, 'etc/hosts')).toContain(`${SITE.dragonPublic}\tdragon.${SITE.domain} dragon`);
    expect(read(newRoot, 'etc/network/interfaces')).toMatch(new RegExp(`address ${SITE.dragonPublic.replaceAll('.', '\\.')}\\n`));
    expect(read(newRoot, 'etc/network/routes')).toMatch(new RegExp(`^default via ${SITE.ispGateway.replaceAll('.', '\\.')} `));
    expect(readdirSync(path.join(newRoot, 'usr/bin')).length).toBeGreaterThan(100);
    expect(existsSync(path.join(newRoot, 'var/lib/dpkg/status'))).toBe(true);

    const disk = path.join(dolphin, runbook.vars.disk_image!);
    const partUuid = (n: number) => spawnSync('sfdisk', ['--part-uuid', disk, String(n)], { encoding: 'utf8', env: { PATH: LAB_PATH } }).stdout.trim();
    expect(partUuid(2)).toMatch(/^[0-9A-F-]{36}$/);
    expect(read(newRoot, 'etc/fstab')).toContain(`PARTUUID=${partUuid(3)}\t/usr`);
    expect(read(dolphin, 'boot/grub/custom.cfg')).toContain(`root=PARTUUID=${partUuid(2)} `);
    expect(read(dolphin, 'boot/grub/grubenv')).toContain('next_entry=new-root');
    // dolphin's running system is left alone until it boots the new root.
    expect(read(dolphin, 'etc/hostname')).toBe('dolphin\n');

    const dragon = lab.host('dragon').root;
    expect(read(dragon, 'etc/hostname')).toBe('dragon-old\n');
    expect(read(dragon, 'etc/network/interfaces')).not.toContain(SITE.dragonPublic);
    expect(read(dragon, 'var/backups/identity/etc/hostname')).toBe('dragon\n');
  }, 120_000);

  it('wrong-route: the default route check fails, and the fallback gives dragon its identity back', async () => {
    const lab = await newLab('wrong-route');
    const runbook = await loadRunbook(lab.runbookFile);
    const main = runbook.phases.flatMap((phase) => phase.steps);

    const outcomes = await runSteps(lab, runbook, main);
    const failed = outcomes.at(-1)!;
    expect(failed.result.code).not.toBe(0);
    expect(failed.step.phase).toBe('verify');
    expect(failed.step.title).toMatch(/default route/);
    expect(failed.result.stdout).toContain(`via: ${SITE.wrongGateway}`);
    expect(read(lab.host('dragon').root, 'etc/hostname')).toBe('dragon-old\n');

    const fallback = await runSteps(lab, runbook, runbook.fallback);
    expect(describeFailure(fallback)).toBe('none');
    expect(fallback.filter((outcome) => outcome.step.kind === 'run').length).toBe(runbook.fallback.filter((s) => s.kind === 'run').length);
    // Falling back twice must be as good as once.
    expect(describeFailure(await runSteps(lab, runbook, runbook.fallback))).toBe('none');

    const dragon = lab.host('dragon').root;
    expect(read(dragon, 'etc/hostname')).toBe('dragon\n');
    expect(read(dragon, 'etc/network/interfaces')).toContain(`address ${SITE.dragonPublic}\n`);
    expect(read(dragon, 'etc/network/routes')).toMatch(new RegExp(`^default via ${SITE.ispGateway.replaceAll('.', '\\.')} `));
    const newRoot = path.join(lab.host('dolphin').root, runbook.vars.new_root!);
    expect(read(newRoot, 'etc/hostname')).toBe('dolphin\n');
    expect(read(newRoot, 'etc/hosts')).not.toContain(SITE.dragonPublic);
    expect(read(newRoot, 'etc/network/interfaces')).not.toContain(SITE.dragonPublic);
  }, 120_000);

  it('fallback before anything changed leaves dragon as it was', async () => {
    const lab = await newLab('success');
    const runbook = await loadRunbook(lab.runbookFile);
    const before = read(lab.host('dragon').root, 'etc/network/interfaces');
    const fallback = await runSteps(lab, runbook, runbook.fallback);
    expect(describeFailure(fallback)).toBe('none');
    expect(read(lab.host('dragon').root, 'etc/network/interfaces')).toBe(before);
  });
});

describe.skipIf(!sshAvailable)('the fleet demo runbook in its lab', () => {
  it('every guest of the group is a lab host; each one passes every step but vm03, whose package check fails, and whose fallback puts its state back', async () => {
    const lab = await newLab('fleet');
    expect(Object.keys(lab.hosts)).toEqual([...FLEET_HOST_NAMES]);
    const runbook = await loadRunbook(lab.runbookFile);
    const fleet = runbook.phases.find((phase) => phase.fleet)?.fleet;
    expect(fleet?.hosts).toEqual([...FLEET_HOST_NAMES]);

    const outcomes = await Promise.all(FLEET_HOST_NAMES.map(async (host) => [host, await runSteps(lab, runbook, fleet!.perHost[host]!.steps)] as const));
    for (const [host, ran] of outcomes) {
      if (host === FAILING_FLEET_HOST) continue;
      expect(describeFailure(ran), host).toBe('none');
      expect(read(lab.host(host).root, 'var/lib/pkg/status'), host).toContain('ii libssl3 3.0.16-1~deb12u1');
    }
    const failing = outcomes.find(([host]) => host === FAILING_FLEET_HOST)![1];
    const failed = failing.at(-1)!;
    expect(failed.result.code).toBe(1);
    expect(failed.step.instanceOf).toEqual({ host: FAILING_FLEET_HOST, baseId: 'check' });
    expect(failed.result.stderr).toContain(`not fully installed on ${FAILING_FLEET_HOST}: libssl3 (state iF)`);

    const vm03 = lab.host(FAILING_FLEET_HOST).root;
    const before = read(vm03, 'var/lib/pkg/status');
    // As if the update had gone on: the fallback puts the kept state back, and does so again when run twice.
    await ssh(lab, FAILING_FLEET_HOST, 'echo "ii libssl3 broken" > var/lib/pkg/status');
    for (let round = 0; round < 2; round++) {
      expect(describeFailure(await runSteps(lab, runbook, fleet!.perHost[FAILING_FLEET_HOST]!.fallback))).toBe('none');
      expect(read(vm03, 'var/lib/pkg/status')).toBe(before);
    }
  }, 60_000);
});
