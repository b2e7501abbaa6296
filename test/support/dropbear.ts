// A real dropbear (Debian's dropbear-bin) for the integration tests, in a BusyBox-only
// environment as small routers and rescue systems have: the login shell, /bin/sh and every
// tool on PATH are BusyBox applets. All of it lives in dropbear's own mount namespace; this
// machine is not changed.
//
//   const dropbear = await Dropbear.start({ sftpServer: false });
//   dropbear.port, dropbear.clientKey.privateKeyFile, dropbear.knownHostsLine()
//   await dropbear.stop();
//
// Dropbear has no AuthorizedKeysFile option, so the test user (the one running the tests)
// gets a home of its own in the namespace, through a copy of /etc/passwd bind-mounted over
// the real one; its shell must be listed in /etc/shells (dropbear refuses the login
// otherwise), so a copy of that goes over it too. Dropbear runs the sftp subsystem as
// `<login shell> -c /usr/lib/sftp-server` (the path is compiled in); without an SFTP server
// an empty folder hides /usr/lib/openssh, where that link points, so the shell answers 127
// as on a host that has none.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { HostPool } from '../../src/remote/host-pool.js';
import { generateKeyPair, type KeyPair } from './ssh-keys.js';
import {
  killQuietly,
  passwdCopy,
  processesInMountNamespaceOf,
  runInMountNamespace,
  shellQuote as q,
  spawnDyingWithTests,
  waitUntilListening,
} from './server-process.js';
import { scriptedInteraction } from './ssh-pool.js';
import { freePort } from './sshd.js';

export const DROPBEAR_PATH = '/usr/sbin/dropbear';
const DROPBEARKEY_PATH = '/usr/bin/dropbearkey';
const BUSYBOX_PATH = '/bin/busybox';
/** Where dropbear's compiled-in /usr/lib/sftp-server points (a link into OpenSSH's folder on Debian). */
const SFTP_SERVER_FOLDER = '/usr/lib/openssh';

export function dropbearInstalled(): boolean {
  return existsSync(DROPBEAR_PATH) && existsSync(DROPBEARKEY_PATH) && existsSync(BUSYBOX_PATH);
}

export interface DropbearOptions {
  /** Whether the sftp subsystem finds a server (default true). */
  sftpServer?: boolean;
}

export class Dropbear {
  readonly address = '127.0.0.1';
  readonly user = userInfo().username;
  private process: ChildProcess | undefined;
  private output = '';

  private constructor(
    /** Temporary folder: keys, the BusyBox applets, the passwd copy, the home; removed by stop(). */
    readonly dir: string,
    readonly port: number,
    /** `ssh-ed25519 AAAA…` */
    readonly hostPublicKey: string,
    readonly clientKey: KeyPair,
    /** The test user's home as sessions see it. */
    readonly homeDir: string,
    /** The folder of BusyBox applets that /usr/bin and /usr/sbin show inside the namespace. */
    readonly appletsDir: string,
    private readonly sftpServer: boolean,
  ) {}

  static async start(options: DropbearOptions = {}): Promise<Dropbear> {
    if (!dropbearInstalled()) throw new Error(`${DROPBEAR_PATH} is not installed (Debian packages dropbear-bin and busybox).`);
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-dropbear-'));
    try {
      chmodSync(dir, 0o755);
      const hostKeyFile = path.join(dir, 'dropbear_ed25519_host_key');
      execFileSync(DROPBEARKEY_PATH, ['-t', 'ed25519', '-f', hostKeyFile], { stdio: 'ignore' });
      const hostPublicKey = /^(ssh-ed25519 \S+)/m.exec(execFileSync(DROPBEARKEY_PATH, ['-y', '-f', hostKeyFile], { encoding: 'utf8' }))?.[1];
      if (!hostPublicKey) throw new Error(`dropbearkey printed no public key for ${hostKeyFile}.`);
      const clientKey = await generateKeyPair(dir, 'client_key', { comment: 'nightshift-test-client' });

      // A copy of BusyBox outside /usr/bin: the applets' target must stay visible once the applets hide /usr/bin.
      const busybox = path.join(dir, 'busybox');
      copyFileSync(BUSYBOX_PATH, busybox);
      chmodSync(busybox, 0o755);
      const applets = path.join(dir, 'applets');
      mkdirSync(applets, { mode: 0o755 });
      for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
        symlinkSync(busybox, path.join(applets, applet));
      }
      // Dropbear itself is copied too: /usr/sbin is hidden before it starts.
      copyFileSync(DROPBEAR_PATH, path.join(dir, 'dropbear'));
      chmodSync(path.join(dir, 'dropbear'), 0o755);

      const homeDir = path.join(dir, 'home');
      mkdirSync(path.join(homeDir, '.ssh'), { recursive: true, mode: 0o755 });
      writeFileSync(path.join(homeDir, '.ssh', 'authorized_keys'), `${clientKey.publicLine}\n`, { mode: 0o600 });
      const shell = path.join(applets, 'ash');
      writeFileSync(path.join(dir, 'passwd'), passwdCopy(userInfo().username, { shell, home: homeDir }));
      writeFileSync(path.join(dir, 'shells'), `${readFileSync('/etc/shells', 'utf8').trimEnd()}\n${shell}\n`);
      mkdirSync(path.join(dir, 'empty'), { mode: 0o755 });

      const port = await freePort();
      const dropbear = new Dropbear(dir, port, hostPublicKey, clientKey, homeDir, applets, options.sftpServer ?? true);
      await dropbear.launch(hostKeyFile);
      return dropbear;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** dropbear's own log (-E: to stderr), for a failing test's message. */
  log(): string {
    return this.output;
  }

  /** `[127.0.0.1]:port ssh-ed25519 AAAA…`; `port` for a relay in front. */
  knownHostsLine(port = this.port): string {
    return `[${this.address}]:${port} ${this.hostPublicKey}`;
  }

  /** A pool with one host `name` aimed at this dropbear (or a relay in front of it on `port`), HOME being `home`. */
  pool(home: string, options: { name?: string; port?: number } = {}): HostPool {
    const name = options.name ?? 'dragon';
    mkdirSync(path.join(home, '.ssh'), { recursive: true });
    const knownHosts = path.join(home, '.ssh', 'known_hosts');
    writeFileSync(knownHosts, `${this.knownHostsLine(options.port)}\n`);
    return new HostPool(
      {
        [name]: {
          name,
          alias: name,
          address: this.address,
          port: options.port ?? this.port,
          user: this.user,
          identityFile: this.clientKey.privateKeyFile,
        },
      },
      {
        sshConfigFile: path.join(home, '.ssh', 'config'),
        knownHostsFiles: [knownHosts],
        env: { HOME: home },
        readyTimeoutMs: 10_000,
        interaction: scriptedInteraction({ acceptHostKey: false }),
      },
    );
  }

  /** Runs a sh script (the machine's own /bin/sh) inside dropbear's mount namespace, where the BusyBox applets hide /usr/bin, and returns its stdout. */
  inNamespace(script: string): string {
    const pid = this.process?.pid;
    if (pid === undefined) throw new Error('This dropbear is not running.');
    return runInMountNamespace(pid, [path.join(this.dir, 'busybox'), 'sh'], script, 'dropbear');
  }

  /** Stops dropbear, every session and what they left running in its namespace, and removes the temporary folder. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      for (const other of processesInMountNamespaceOf(child.pid)) if (other !== child.pid) killQuietly(other, 'SIGKILL');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(hostKeyFile: string): Promise<void> {
    const steps = [
      'set -e',
      `mount --bind ${q(path.join(this.dir, 'passwd'))} /etc/passwd`,
      `mount --bind ${q(path.join(this.dir, 'shells'))} /etc/shells`,
      ...(this.sftpServer ? [] : [`mount --bind ${q(path.join(this.dir, 'empty'))} ${SFTP_SERVER_FOLDER}`]),
      // dropbear's PATH for sessions starts with /usr/local: nothing of this machine's may show there.
      `mount --bind ${q(path.join(this.dir, 'empty'))} /usr/local/bin`,
      `mount --bind ${q(path.join(this.dir, 'empty'))} /usr/local/sbin`,
      // Last: the mounts above ran with the machine's own tools. /bin and /sbin are links into /usr on Debian.
      `mount --bind ${q(this.appletsDir)} /usr/bin`,
      `mount --bind ${q(this.appletsDir)} /usr/sbin`,
      // -F foreground, -E log to stderr, -s no passwords, -P a pid file of its own (not /var/run's).
      `exec ${q(path.join(this.dir, 'dropbear'))} -F -E -s -r ${q(hostKeyFile)} -p ${this.address}:${this.port} -P ${q(path.join(this.dir, 'dropbear.pid'))}`,
    ];
    this.process = spawnDyingWithTests(['unshare', '-m', '--propagation', 'private', 'sh', '-c', steps.join('\n')], (text) => {
      this.output += text;
    });
    await waitUntilListening(this.process, { name: 'dropbear', address: this.address, port: this.port, log: () => this.output });
  }
}
