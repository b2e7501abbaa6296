// A real OpenSSH sshd for the integration tests: its own config, host keys and
// authorized_keys in a temporary folder, listening on 127.0.0.1 and a free port, logging
// in the current OS user (root or not) with public keys only.
//
//   const sshd = await Sshd.start();            // in beforeAll
//   sshd.port, sshd.clientKey.privateKeyFile, sshd.knownHostsLine()
//   await sshd.stop();                          // in afterAll
//
// Suites wrap themselves in describeWithSshd(...) so that a machine without sshd skips them
// loudly instead of failing.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import {
  killQuietly,
  passwdCopy,
  processesInMountNamespaceOf,
  runInMountNamespace,
  shellQuote as q,
  spawnDyingWithTests,
  waitUntilListening,
} from './server-process.js';
import { generateKeyPair, type KeyPair, type SshKeyType } from './ssh-keys.js';

export const SSHD_PATH = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export function sshdInstalled(): boolean {
  return existsSync(SSHD_PATH);
}

let warned = false;

/** describe() when sshd is installed; otherwise a skipped suite and a message nobody can miss. */
/** What every test sshd says about logins: the harness's key only, as root too, no PAM, no DNS, nothing printed at login. */
export const LOGIN_SETTINGS = [
  'PubkeyAuthentication yes',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'PermitRootLogin prohibit-password',
  'UsePAM no',
  'StrictModes no',
  'PidFile none',
  'UseDNS no',
  'PrintMotd no',
  'PrintLastLog no',
];

export function describeWithSshd(name: string, body: () => void): void {
  if (sshdInstalled()) {
    describe(name, body);
    return;
  }
  if (!warned) {
    warned = true;
    const bar = '!'.repeat(78);
    console.warn(
      `\n${bar}\n!! SKIPPING the SSH integration tests: ${SSHD_PATH} is not installed.\n` +
        `!! Install the Debian package openssh-server (apt-get install openssh-server) to run them.\n${bar}\n`,
    );
  }
  describe.skip(name, body);
}

export interface SshdOptions {
  /** Host key types to generate (default ['ed25519']). */
  hostKeyTypes?: SshKeyType[];
  /** Extra sshd_config lines. They go first: sshd keeps the first value of a keyword, so they override the harness's (no Match blocks). */
  extraConfig?: string[];
  /** Put the generated client key in authorized_keys (default true). */
  authorizeClientKey?: boolean;
  /**
   * Run sshd in a mount namespace with its own /run: its own login records (utmp), so wall
   * and write run through it reach only the terminals logged in through it, not every
   * terminal of this machine. Needs root and unshare.
   */
  privateRun?: boolean;
  /**
   * Run the SFTP server without root's power to ignore file permissions (setpriv drops
   * CAP_DAC_OVERRIDE from what it may use): as root, a folder without write permission is
   * refused as it would be for anyone else.
   */
  sftpHonoursPermissions?: boolean;
  /**
   * The test user's login shell, e.g. /bin/tcsh: sshd runs in a mount namespace where a copy
   * of /etc/passwd giving that shell is bind-mounted over the real one, so the machine's own
   * users never change. Needs root and unshare.
   */
  loginShell?: string;
  /**
   * A home of its own for the test user (`homeDir`, set in the same passwd copy): `tmpfs` a
   * tmpfs of that size (e.g. '1m', fill it with inNamespace), `readOnly` mounted read-only.
   * Mounted inside sshd's namespace only.
   */
  home?: { tmpfs?: string; readOnly?: boolean };
  /** Environment every session gets (sshd's SetEnv), e.g. a PATH of BusyBox applets only. */
  env?: Record<string, string>;
  /** /proc/sys/kernel/random/boot_id inside sshd's namespace is a file that setBootId() changes. */
  fakeBootId?: boolean;
  /**
   * sshd, and so every session and command it starts, at this niceness: a benchmark's hosts
   * stand in for other machines, whose work would not compete with the program measured.
   */
  nice?: number;
  /** An empty tmpfs on /var/tmp inside sshd's namespace. */
  privateVarTmp?: boolean;
  /** Another program as /bin/sh inside sshd's namespace (bind-mounted over it), e.g. /bin/busybox. */
  binSh?: string;
  /**
   * Non-root users that log in with the harness's client key and have sudo rules. They
   * exist only in sshd's mount namespace: private copies of /etc/passwd, /etc/shadow and
   * /etc/sudoers are bind-mounted over the real ones (sudo's own state goes to the
   * harness's folder), so this machine's users and sudoers never change. Needs root.
   */
  sudoUsers?: SudoUser[];
}

export interface SudoUser {
  /** Login name, e.g. nsnopw; must not exist on this machine. */
  name: string;
  /** The user's password (sudo asks for it unless nopasswd); default: a random one nobody knows. */
  password?: string;
  /** NOPASSWD: sudo runs anything without asking. */
  nopasswd?: boolean;
  /** Defaults:USER requiretty: sudo refuses without a terminal. */
  requiretty?: boolean;
  /** No sudo rule at all ("not in the sudoers file"). */
  noRule?: boolean;
  /** Defaults:USER env_keep += HOME: sudo keeps the user's HOME, as Ubuntu's did before 19.10. */
  keepHome?: boolean;
  /** The login shell (default /bin/sh), e.g. /bin/tcsh. */
  shell?: string;
  /** Defaults:USER passwd_timeout: how long sudo waits for the password, in minutes (e.g. 0.05: 3 s). */
  passwordTimeoutMinutes?: number;
  /** Defaults:USER use_pty: sudo runs the command in a pty of its own when called from a terminal (the default from sudo 1.9.14). */
  usePty?: boolean;
}

/** What the namespace sshd runs in is made of (none: sshd runs as it is). */
interface NamespaceSetup {
  privateRun: boolean;
  passwd: boolean;
  home?: { tmpfs?: string; readOnly?: boolean };
  fakeBootId: boolean;
  privateVarTmp: boolean;
  binSh?: string;
  /** Private /etc/shadow and /etc/sudoers copies in the harness's folder (sudoUsers). */
  sudo: boolean;
}

export class Sshd {
  readonly address = '127.0.0.1';
  /** The OS user sshd logs in (the one running the tests). */
  readonly user = userInfo().username;
  private process: ChildProcess | undefined;
  private output = '';
  private readonly frozen = new Set<number>();

  private constructor(
    /** Temporary folder with the config, keys and authorized_keys; removed by stop(). */
    readonly dir: string,
    readonly port: number,
    readonly hostKeys: KeyPair[],
    /** A fresh pair; its public key is authorized unless authorizeClientKey was false. */
    readonly clientKey: KeyPair,
    readonly configFile: string,
    readonly authorizedKeysFile: string,
    private readonly namespace: NamespaceSetup | undefined,
    /** The test user's home as sessions see it. */
    readonly homeDir: string,
    private readonly nice: number | undefined,
  ) {}

  static async start(options: SshdOptions = {}): Promise<Sshd> {
    if (!sshdInstalled()) throw new Error(`${SSHD_PATH} is not installed (Debian package openssh-server).`);
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-sshd-'));
    const hostKeys: KeyPair[] = [];
    for (const type of options.hostKeyTypes ?? ['ed25519']) {
      hostKeys.push(await generateKeyPair(dir, `ssh_host_${type}_key`, { type, comment: `host-${type}` }));
    }
    const clientKey = await generateKeyPair(dir, 'client_key', { comment: 'nightshift-test-client' });
    const authorizedKeysFile = path.join(dir, 'authorized_keys');
    await writeFile(authorizedKeysFile, options.authorizeClientKey === false ? '' : `${clientKey.publicLine}\n`);
    const port = await freePort();
    const configFile = path.join(dir, 'sshd_config');
    await writeFile(
      configFile,
      [
        ...(options.extraConfig ?? []),
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        ...hostKeys.map((key) => `HostKey ${key.privateKeyFile}`),
        `AuthorizedKeysFile ${authorizedKeysFile}`,
        ...LOGIN_SETTINGS,
        // bash sources ~/.bashrc for commands sshd runs unless it is a nested shell: the
        // tests log in as this machine's own user, whose dotfiles must not take part (a
        // pyenv rehash lock left by a login killed mid-way stalls every later login 60 s).
        // sshd takes only the first SetEnv line, so every variable goes on this one.
        `SetEnv ${Object.entries({ SHLVL: '2', ...options.env })
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')}`,
        'LogLevel VERBOSE',
        ...(existsSync(SFTP_SERVER)
          ? [`Subsystem sftp ${options.sftpHonoursPermissions ? 'setpriv --bounding-set=-dac_override,-dac_read_search ' : ''}${SFTP_SERVER}`]
          : []),
        '',
      ].join('\n'),
    );
    // As root, sshd insists on its privilege separation folder.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const homeDir = options.home ? path.join(dir, 'home') : userInfo().homedir;
    if (options.home) mkdirSync(homeDir, { mode: 0o755 });
    const sudo = (options.sudoUsers?.length ?? 0) > 0;
    const passwd = options.loginShell !== undefined || options.home !== undefined || sudo;
    if (passwd) writeFileSync(path.join(dir, 'passwd'), passwdCopy(userInfo().username, { shell: options.loginShell, home: options.home && homeDir }));
    if (sudo) setUpSudoUsers(dir, options.sudoUsers ?? []);
    if (options.fakeBootId) writeFileSync(path.join(dir, 'boot_id'), `${randomUUID()}\n`);
    const namespace: NamespaceSetup | undefined =
      options.privateRun || passwd || options.fakeBootId || options.privateVarTmp || options.binSh || sudo
        ? {
            privateRun: options.privateRun ?? false,
            passwd,
            ...(options.home ? { home: options.home } : {}),
            fakeBootId: options.fakeBootId ?? false,
            privateVarTmp: options.privateVarTmp ?? false,
            ...(options.binSh ? { binSh: options.binSh } : {}),
            sudo,
          }
        : undefined;
    const sshd = new Sshd(dir, port, hostKeys, clientKey, configFile, authorizedKeysFile, namespace, homeDir, options.nice);
    await sshd.launch();
    return sshd;
  }

  /** The boot id sessions read (fakeBootId). */
  bootId(): string {
    return readFileSync(path.join(this.dir, 'boot_id'), 'utf8').trim();
  }

  /** Gives the machine another boot id (fakeBootId), as a reboot would. */
  setBootId(id: string): void {
    if (!this.namespace?.fakeBootId) throw new Error('This sshd was started without fakeBootId.');
    writeFileSync(path.join(this.dir, 'boot_id'), `${id}\n`);
  }

  /** Runs a sh script inside sshd's mount namespace (where its tmpfs home and private folders are) and returns its stdout. */
  inNamespace(script: string): string {
    const pid = this.process?.pid;
    if (!this.namespace || pid === undefined) throw new Error('This sshd runs in no namespace of its own.');
    return runInMountNamespace(pid, ['/bin/sh'], script, 'sshd');
  }

  /** sshd's own log (-e: to stderr), for debugging a failing test. */
  log(): string {
    return this.output;
  }

  /**
   * An ssh config block naming this sshd `alias` with the harness's client key; `port` to
   * go through a relay in front of it, `identityFile` for another key.
   */
  clientConfig(alias: string, options: { port?: number; identityFile?: string; user?: string } = {}): string {
    return `Host ${alias}\n  HostName ${this.address}\n  Port ${options.port ?? this.port}\n  User ${options.user ?? this.user}\n  IdentityFile ${options.identityFile ?? this.clientKey.privateKeyFile}\n`;
  }

  /** The home of a sudoUsers user, as seen on this side too (it is in no private mount). */
  sudoUserHome(name: string): string {
    return path.join(this.dir, 'homes', name);
  }

  /** `[127.0.0.1]:port type base64` for the first host key of `type` (default: the first one); `port` for a relay in front. */
  knownHostsLine(type?: SshKeyType, port = this.port): string {
    const key = type ? this.hostKeys.find((candidate) => candidate.type === type) : this.hostKeys[0];
    if (!key) throw new Error(`This sshd has no ${type} host key.`);
    return `[${this.address}]:${port} ${key.publicKey}`;
  }

  /** Writes `ssh_config` (see clientConfig) and `known_hosts` for this sshd into `dir`, as a run's --ssh-config and --known-hosts. */
  writeClientFiles(dir: string, alias: string, options: { port?: number; identityFile?: string; user?: string } = {}): void {
    writeFileSync(path.join(dir, 'ssh_config'), this.clientConfig(alias, options));
    writeFileSync(path.join(dir, 'known_hosts'), `${this.knownHostsLine(undefined, options.port)}\n`);
  }

  hostKey(type: SshKeyType = 'ed25519'): KeyPair {
    const key = this.hostKeys.find((candidate) => candidate.type === type);
    if (!key) throw new Error(`This sshd has no ${type} host key.`);
    return key;
  }

  async authorize(publicLine: string): Promise<void> {
    await appendFile(this.authorizedKeysFile, `${publicLine}\n`);
  }

  async setAuthorizedKeys(publicLines: string[]): Promise<void> {
    await writeFile(this.authorizedKeysFile, publicLines.map((line) => `${line}\n`).join(''));
  }

  /**
   * The machine gets a new host key (as after a reinstall): `next` (made beforehand, so a
   * test can declare it), else a fresh ed25519 key, replaces the key of its type, and the
   * listener restarts. Open sessions live on; new logins see the new key.
   */
  async replaceHostKey(next?: KeyPair): Promise<KeyPair> {
    const type = next?.type ?? 'ed25519';
    const index = this.hostKeys.findIndex((candidate) => candidate.type === type);
    const old = this.hostKeys[index];
    if (!old) throw new Error(`This sshd has no ${type} host key.`);
    // Read first: `next` may be the very files being replaced.
    const nextFiles = next && { privateKey: readFileSync(next.privateKeyFile), publicKey: readFileSync(next.publicKeyFile) };
    rmSync(old.privateKeyFile, { force: true });
    rmSync(old.publicKeyFile, { force: true });
    let fresh: KeyPair;
    if (next && nextFiles) {
      writeFileSync(old.privateKeyFile, nextFiles.privateKey, { mode: 0o600 });
      writeFileSync(old.publicKeyFile, nextFiles.publicKey);
      fresh = { ...next, privateKeyFile: old.privateKeyFile, publicKeyFile: old.publicKeyFile };
    } else {
      fresh = await generateKeyPair(this.dir, path.basename(old.privateKeyFile), { type, comment: `host-${type}` });
    }
    this.hostKeys[index] = fresh;
    await this.restart();
    return fresh;
  }

  /** Stops the listener only (open sessions live on, as with `systemctl restart ssh`), then starts it again. */
  async restart(): Promise<void> {
    await this.stopListener();
    await this.launch();
  }

  /**
   * Kills the per-connection sshd processes (the privileged monitor and the user's child,
   * both hold the socket): every client sees its connection end. The commands they ran are
   * left alone, as when a link drops.
   */
  dropConnections(): void {
    const pid = this.process?.pid;
    if (pid === undefined) return;
    for (const entry of descendantsOf(pid)) {
      if (entry.command === 'sshd') killQuietly(entry.pid, 'SIGKILL');
    }
  }

  /** The processes this sshd's sessions started, with their whole command lines (arguments joined by spaces). */
  sessionProcesses(): Array<{ pid: number; args: string }> {
    const pid = this.process?.pid;
    if (pid === undefined) return [];
    return descendantsOf(pid).flatMap((entry) => {
      try {
        return [{ pid: entry.pid, args: readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').split('\0').join(' ').trim() }];
      } catch {
        return [];
      }
    });
  }

  /** Stops (SIGSTOP) the per-connection sshd processes: the links stay up but nothing answers, as on a dead route. */
  freezeConnections(): void {
    const pid = this.process?.pid;
    if (pid === undefined) return;
    for (const entry of descendantsOf(pid)) {
      if (entry.command !== 'sshd') continue;
      killQuietly(entry.pid, 'SIGSTOP');
      this.frozen.add(entry.pid);
    }
  }

  /** Lets frozen connections go on (SIGCONT). */
  thawConnections(): void {
    for (const pid of this.frozen) killQuietly(pid, 'SIGCONT');
    this.frozen.clear();
  }

  /** Stops sshd and everything it started, and removes the temporary folder. */
  async stop(): Promise<void> {
    const pid = this.process?.pid;
    if (pid !== undefined) {
      // Detached commands left their sessions' process tree but not the namespace.
      const inNamespace = this.namespace ? processesInMountNamespaceOf(pid) : [];
      for (const descendant of descendantsOf(pid)) killQuietly(descendant.pid, 'SIGKILL');
      for (const other of inNamespace) if (other !== pid) killQuietly(other, 'SIGKILL');
    }
    this.thawConnections();
    await this.stopListener();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = ['-D', '-e', '-f', this.configFile];
    const sshd = this.namespace
      ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', namespaceScript(this.namespace, this.dir, this.homeDir), SSHD_PATH, ...args]
      : [SSHD_PATH, ...args];
    const command = this.nice !== undefined ? ['nice', '-n', String(this.nice), ...sshd] : sshd;
    this.process = spawnDyingWithTests(command, (text) => {
      this.output += text;
    });
    await waitUntilListening(this.process, { name: `sshd (config ${this.configFile})`, address: this.address, port: this.port, log: () => this.output });
  }

  /**
   * Down as a machine that goes away: every connection dropped and the listener stopped, with
   * no login slipping in between (a client that logs in again at once would otherwise reach
   * the listener before it stops, and its connection would live on). The listener is held
   * (SIGSTOP) while its connections are dropped, so it accepts no new one meanwhile.
   */
  async goDown(): Promise<void> {
    const pid = this.process?.pid;
    if (pid !== undefined) killQuietly(pid, 'SIGSTOP');
    this.dropConnections();
    const stopping = this.stopListener();
    // The SIGTERM sent by stopListener waits for the listener to run again.
    if (pid !== undefined) killQuietly(pid, 'SIGCONT');
    await stopping;
  }

  /** Stops only the listening sshd: open connections live on, new logins are refused. */
  async stopListener(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Mounts what `setup` asks for in the new namespace, then execs sshd ("$0" "$@"). */
function namespaceScript(setup: NamespaceSetup, dir: string, homeDir: string): string {
  const steps = ['set -e'];
  if (setup.privateRun) steps.push('mount -t tmpfs -o mode=755 tmpfs /run', 'mkdir -p /run/sshd', 'install -m 664 /dev/null /run/utmp');
  if (setup.passwd) steps.push(`mount --bind ${q(path.join(dir, 'passwd'))} /etc/passwd`);
  if (setup.sudo) {
    steps.push(`mount --bind ${q(path.join(dir, 'shadow'))} /etc/shadow`, `mount --bind ${q(path.join(dir, 'sudoers'))} /etc/sudoers`);
  }
  if (setup.home?.tmpfs) steps.push(`mount -t tmpfs -o size=${q(setup.home.tmpfs)},mode=755 tmpfs ${q(homeDir)}`);
  if (setup.home?.readOnly) steps.push(`mount --bind ${q(homeDir)} ${q(homeDir)}`, `mount -o remount,bind,ro ${q(homeDir)}`);
  if (setup.fakeBootId) steps.push(`mount --bind ${q(path.join(dir, 'boot_id'))} /proc/sys/kernel/random/boot_id`);
  if (setup.privateVarTmp) steps.push('mount -t tmpfs -o mode=1777 tmpfs /var/tmp');
  // Last: the mounts above still ran under the machine's own /bin/sh.
  if (setup.binSh) steps.push(`mount --bind ${q(setup.binSh)} /bin/sh`);
  steps.push('exec "$0" "$@"');
  return steps.join('\n');
}

/** The first uid given to a sudoUsers user; the rest follow. Checked to be free on this machine. */
const FIRST_SUDO_UID = 46_100;

/**
 * passwd, shadow and sudoers copies for `users` in `dir` (passwd already written there).
 * The folder becomes traversable (0711) and authorized_keys readable: sshd reads it as the
 * user who logs in. The users' homes are in DIR/homes, owned by them.
 */
function setUpSudoUsers(dir: string, users: SudoUser[]): void {
  if (process.getuid?.() !== 0) throw new Error('sudoUsers need root: the users live in a mount namespace of their own.');
  const realPasswd = readFileSync('/etc/passwd', 'utf8');
  const homes = path.join(dir, 'homes');
  mkdirSync(homes, { mode: 0o755 });
  chmodSync(dir, 0o711);
  chmodSync(path.join(dir, 'authorized_keys'), 0o644);
  const passwdLines: string[] = [];
  const shadowLines: string[] = [];
  const sudoers = [
    'Defaults env_reset',
    'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
    `Defaults timestampdir=${path.join(dir, 'sudo-ts')}`,
    `Defaults lecture_status_dir=${path.join(dir, 'sudo-lectured')}`,
    'root ALL=(ALL:ALL) ALL',
  ];
  users.forEach((user, index) => {
    if (!/^[a-z][a-z0-9_-]{0,30}$/.test(user.name)) throw new Error(`Not a user name for the test: ${user.name}`);
    if (new RegExp(`^${user.name}:`, 'm').test(realPasswd)) throw new Error(`The user ${user.name} exists on this machine already.`);
    const uid = FIRST_SUDO_UID + index;
    if (new RegExp(`^[^:]*:[^:]*:${uid}:`, 'm').test(realPasswd)) throw new Error(`The uid ${uid} is taken on this machine.`);
    const home = path.join(homes, user.name);
    mkdirSync(home, { mode: 0o755 });
    chownSync(home, uid, 65_534);
    passwdLines.push(`${user.name}:x:${uid}:65534:nightshift test:${home}:${user.shell ?? '/bin/sh'}`);
    const password = user.password ?? randomBytes(18).toString('base64');
    // The password goes to openssl on stdin: it is in no file and on no command line.
    const hash = spawnSync('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, encoding: 'utf8' });
    if (hash.status !== 0 || !hash.stdout.startsWith('$6$')) throw new Error(`openssl passwd failed: ${hash.stderr}`);
    shadowLines.push(`${user.name}:${hash.stdout.trim()}:19000:0:99999:7:::`);
    if (user.requiretty) sudoers.push(`Defaults:${user.name} requiretty`);
    if (user.usePty) sudoers.push(`Defaults:${user.name} use_pty`);
    if (user.keepHome) sudoers.push(`Defaults:${user.name} env_keep += "HOME"`);
    if (user.passwordTimeoutMinutes !== undefined) sudoers.push(`Defaults:${user.name} passwd_timeout=${user.passwordTimeoutMinutes}`);
    if (!user.noRule) sudoers.push(`${user.name} ALL=(ALL:ALL) ${user.nopasswd ? 'NOPASSWD: ' : ''}ALL`);
  });
  appendFileSync(path.join(dir, 'passwd'), `${passwdLines.join('\n')}\n`);
  const realShadow = readFileSync('/etc/shadow', 'utf8');
  writeFileSync(path.join(dir, 'shadow'), `${realShadow.replace(/\n?$/, '\n')}${shadowLines.join('\n')}\n`, { mode: 0o640 });
  writeFileSync(path.join(dir, 'sudoers'), `${sudoers.join('\n')}\n`, { mode: 0o440 });
  mkdirSync(path.join(dir, 'sudo-ts'), { mode: 0o700 });
  mkdirSync(path.join(dir, 'sudo-lectured'), { mode: 0o700 });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  command: string;
}

function processTable(): ProcessEntry[] {
  const result = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  const entries: ProcessEntry[] = [];
  for (const line of result.stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (match) entries.push({ pid: Number(match[1]), ppid: Number(match[2]), command: (match[3] ?? '').trim() });
  }
  return entries;
}

function descendantsOf(pid: number): ProcessEntry[] {
  const table = processTable();
  const found: ProcessEntry[] = [];
  const queue = [pid];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const entry of table) {
      if (entry.ppid === parent) {
        found.push(entry);
        queue.push(entry.pid);
      }
    }
  }
  return found;
}
