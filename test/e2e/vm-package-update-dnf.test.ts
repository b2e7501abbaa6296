// runbooks/vm-package-update.yaml end to end with the built binary, against two of its guests
// (--hosts vm1,vm2; vm1 is the canary) that are the real sshd: vm1 says it is CentOS (its
// os-release, through the host facts), vm2 that
// it is Debian. No RPM distribution can boot here, so each guest's package tools are shell
// scripts first in its PATH that record each call and keep the state of a small package
// world: the installed kernels, the one on the mirror, the kernel booted. Each session runs
// in a mount namespace of its own over the guest's copy-on-write /etc and /var/backups, with
// the guest's boot id; a reboot (`systemctl reboot`) drops the connections, draws a new boot
// id and boots the newest kernel installed, as a real guest would. The dnf path must run its
// commands in order (kernel kept installonly, no kernel excluded, update from the chosen
// mirror, nothing held back, needs-restarting, reboot, the new kernel runs) and skip the apt
// steps, saying why; on vm2 the other way round; and a kernel excluded in dnf.conf stops the
// update before it starts.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clientFlags, converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { Sshd, sshdInstalled } from '../support/sshd.js';

const RUNBOOK = path.join(ROOT, 'runbooks/vm-package-update.yaml');
const runnable = sshdInstalled() && process.getuid?.() === 0 && existsSync('/usr/bin/unshare');
if (!runnable) throw new Error('These tests need root, unshare and openssh-server (mount namespaces, overlayfs).');

type Family = 'rpm' | 'apt';

const OS_RELEASE: Record<Family, string> = {
  rpm: 'NAME="CentOS Stream"\nVERSION="9"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"\n',
  apt: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
};
const KERNELS: Record<Family, { booted: string; mirror: string }> = {
  rpm: { booted: '5.14.0-100.el9.x86_64', mirror: '5.14.0-200.el9.x86_64' },
  apt: { booted: '6.1.0-20-amd64', mirror: '6.1.0-21-amd64' },
};

/** Shared by every shim: $S is the guest's state folder; each call is recorded in $S/calls. */
const PRELUDE = (state: string, name: string) => `#!/bin/sh
S=${state}
printf '%s\\n' "${name} $*" >> "$S/calls"
newest() { sort -V "$S/kernels" | tail -n 1; }
`;

/** The tools of the other family: recorded and failing, so a step of the wrong family shows. */
const foreign = (state: string, name: string) => `${PRELUDE(state, name)}echo "${name}: not on this guest" >&2\nexit 127\n`;

const SYSTEMCTL = (state: string, rebootRequest: string) => `${PRELUDE(state, 'systemctl')}
unit=
for arg; do case $arg in -*) ;; *) unit=$arg ;; esac; done
case $1 in
  reboot) touch ${rebootRequest} ;;
  is-system-running) echo running ;;
  is-active) exit 0 ;;
  cat) [ "$unit" = smartd.service ] ;;
  disable) touch "$S/smartd-disabled"; echo "Removed /etc/systemd/system/multi-user.target.wants/smartd.service." ;;
  is-enabled) [ "$unit" = smartd.service ] && [ ! -e "$S/smartd-disabled" ] ;;
  *) echo "systemctl: not expected here: $*" >&2; exit 2 ;;
esac
`;

const UNAME = (state: string) => `#!/bin/sh
case $1 in -r) cat ${state}/booted ;; *) exec /bin/uname "$@" ;; esac
`;

/** rpm, dnf: the RHEL-like guest. */
const RPM_SHIMS = (state: string) => ({
  rpm: `${PRELUDE(state, 'rpm')}
case "$1 $2" in
  '-qf --qf') for path; do :; done
    grep -qx "\${path##*/}" "$S/kernels" && printf 'kernel-core\\nkernel-modules-core\\nkernel-core\\n' || { echo "file $path is not owned by any package"; exit 1; } ;;
  '-q --qf') cat "$S/kernels"; echo 'package kernel is not installed'; exit 1 ;;
  *) echo "rpm: not expected here: $*" >&2; exit 2 ;;
esac
`,
  dnf: `${PRELUDE(state, 'dnf')}
case " $* " in
  *' needs-restarting -r '*)
    if [ "$(cat "$S/booted")" = "$(newest)" ]; then echo 'No core libraries or services have been updated since boot-up.'; echo 'Reboot should not be necessary.'
    else echo 'Core libraries or services have been updated since boot-up:'; echo '  * kernel'; echo 'Reboot is required to fully utilize these updates.'; exit 1; fi ;;
  *' check-update '*)
    [ -e "$S/updated" ] && [ ! -e "$S/versionlock" ] && exit 0
    echo; echo "kernel-core.x86_64  $(cat "$S/mirror")  chosen-mirror"; exit 100 ;;
  *' upgrade '*)
    cat "$S/mirror" >> "$S/kernels"; touch "$S/updated"
    echo setting=packaged > /etc/office-tools.conf.rpmnew
    echo "Installed: kernel-core-$(cat "$S/mirror")"; echo 'Complete!' ;;
  *) echo "dnf: not expected here: $*" >&2; exit 2 ;;
esac
`,
  apt: foreign(state, 'apt'),
  'apt-get': foreign(state, 'apt-get'),
  'apt-mark': foreign(state, 'apt-mark'),
  'dpkg-query': foreign(state, 'dpkg-query'),
});

/** apt-get, apt, apt-mark, dpkg-query: the Debian guest. Its kernel is linux-image-RELEASE, its metapackage linux-image-amd64. */
const APT_SHIMS = (state: string) => ({
  'dpkg-query': `${PRELUDE(state, 'dpkg-query')}
format=\${2#-f=}; shift 2
for pattern; do
  found=
  for release in $(cat "$S/kernels"); do
    case linux-image-$release in $pattern) found=yes
      printf '%b' "$(printf '%s' "$format" | sed -e "s/\\\${Package}/linux-image-$release/g" -e 's/\\\${Version}/1/g' -e 's/\\\${Status}/install ok installed/g' -e 's/\\\${db:Status-Abbrev}/ii /g')" ;;
    esac
  done
  [ -n "$found" ] || { echo "dpkg-query: no packages found matching $pattern" >&2; exit 1; }
done
`,
  'apt-mark': `${PRELUDE(state, 'apt-mark')}
case $1 in manual) echo "$2 set to manually installed." ;; showhold) [ ! -e "$S/hold" ] || echo linux-image-amd64 ;; *) exit 2 ;; esac
`,
  'apt-get': `${PRELUDE(state, 'apt-get')}
simulate=; verb=
for arg; do case $arg in -s) simulate=yes ;; update | upgrade | dist-upgrade) verb=$arg ;; esac; done
case $verb in
  update) echo 'Reading package lists... Done' ;;
  upgrade)
    [ -e "$S/updated" ] || { echo 'The following packages have been kept back:'; echo '  linux-image-amd64'; echo '0 upgraded, 0 newly installed, 0 to remove and 1 not upgraded.'; } ;;
  dist-upgrade)
    [ -e "$S/updated" ] && { echo '0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.'; exit 0; }
    if [ -n "$simulate" ]; then echo "Inst linux-image-$(cat "$S/mirror") (1 chosen-mirror [amd64])"; echo "Inst linux-image-amd64 [1] (2 chosen-mirror [amd64])"; exit 0; fi
    touch "$S/updated"
    if [ -e "$S/hold" ]; then echo 'The following packages have been kept back:'; echo '  linux-image-amd64'; exit 0; fi
    cat "$S/mirror" >> "$S/kernels"
    echo setting=packaged > /etc/office-tools.conf.dpkg-dist
    echo '1 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.' ;;
  *) echo "apt-get: not expected here: $*" >&2; exit 2 ;;
esac
`,
  apt: `${PRELUDE(state, 'apt')}
echo 'Listing...'
[ -e "$S/updated" ] && [ ! -e "$S/hold" ] || echo "linux-image-amd64/chosen-mirror 2 amd64 [upgradable from: 1]"
`,
  rpm: foreign(state, 'rpm'),
  dnf: foreign(state, 'dnf'),
  yum: foreign(state, 'yum'),
});

/** One guest: the real sshd, each session in its own mount namespace over the guest's /etc and /var/backups. */
class FakeGuest {
  reboots = 0;
  private watcher: NodeJS.Timeout | undefined;
  private rebooting: Promise<void> = Promise.resolve();

  private constructor(
    readonly sshd: Sshd,
    readonly dir: string,
    readonly family: Family,
  ) {}

  /** `etc`: files of its /etc besides the usual ones; `state`: flags for its package tools (versionlock, hold). */
  static async start(family: Family, options: { etc?: Record<string, string>; state?: string[] } = {}): Promise<FakeGuest> {
    const dir = mkdtempSync(path.join(tmpdir(), `ns-guest-${family}-`));
    const state = path.join(dir, 'state');
    const shims = path.join(dir, 'shims');
    const upper = path.join(dir, 'etc-upper');
    for (const folder of [state, shims, upper, path.join(dir, 'etc-work'), path.join(dir, 'backups')]) mkdirSync(folder);
    writeFileSync(path.join(state, 'booted'), `${KERNELS[family].booted}\n`);
    writeFileSync(path.join(state, 'kernels'), `${KERNELS[family].booted}\n`);
    writeFileSync(path.join(state, 'mirror'), `${KERNELS[family].mirror}\n`);
    writeFileSync(path.join(state, 'calls'), '');
    for (const flag of options.state ?? []) writeFileSync(path.join(state, flag), '');
    writeFileSync(path.join(dir, 'boot_id'), `${randomUUID()}\n`);
    // The guest's own /etc: what differs from this machine's, in the overlay's upper layer.
    const etc: Record<string, string> = {
      'os-release': OS_RELEASE[family],
      fstab: '# no filesystems to mount\n',
      'office-tools.conf': 'setting=changed-here\n',
      ...(family === 'rpm'
        ? { 'dnf/dnf.conf': '[main]\ngpgcheck=1\ninstallonly_limit=3\n', 'yum.repos.d/centos.repo': '[baseos]\nbaseurl=http://mirror.example.net/\n' }
        : { 'apt/apt.conf.d/.keep': '', 'apt/sources.list.d/.keep': '' }),
      ...options.etc,
    };
    for (const [name, text] of Object.entries(etc)) {
      mkdirSync(path.dirname(path.join(upper, name)), { recursive: true });
      writeFileSync(path.join(upper, name), text);
    }
    const rebootRequest = path.join(dir, 'reboot-requested');
    const tools = { ...(family === 'rpm' ? RPM_SHIMS(state) : APT_SHIMS(state)), systemctl: SYSTEMCTL(state, rebootRequest), uname: UNAME(state) };
    for (const [name, text] of Object.entries(tools)) writeFileSync(path.join(shims, name), text, { mode: 0o755 });
    const inside = path.join(dir, 'session.sh');
    writeFileSync(
      inside,
      [
        'set -e',
        `mount --bind ${dir}/boot_id /proc/sys/kernel/random/boot_id`,
        // A work folder per session: overlayfs empties its work folder when it mounts, under the feet of another session's mount.
        `work=$(mktemp -d ${dir}/etc-work/XXXXXX)`,
        `mount -t overlay overlay -o lowerdir=/etc,upperdir=${upper},workdir=$work /etc`,
        `mount --bind ${dir}/backups /var/backups`,
        `export PATH=${shims}:$PATH`,
        'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
        '',
      ].join('\n'),
    );
    const sshd = await Sshd.start({ extraConfig: [`ForceCommand unshare -m --propagation private /bin/sh ${inside}`] });
    const guest = new FakeGuest(sshd, dir, family);
    guest.watcher = setInterval(() => {
      if (!existsSync(rebootRequest)) return;
      rmSync(rebootRequest);
      guest.rebooting = guest.reboot();
    }, 50);
    return guest;
  }

  /** Down at once, back a second later with a new boot id, running the newest kernel installed. */
  private async reboot(): Promise<void> {
    this.reboots++;
    await this.sshd.goDown();
    writeFileSync(path.join(this.dir, 'boot_id'), `${randomUUID()}\n`);
    const newest = this.kernels()
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .at(-1)!;
    writeFileSync(path.join(this.dir, 'state/booted'), `${newest}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await this.sshd.restart();
  }

  kernels(): string[] {
    return readFileSync(path.join(this.dir, 'state/kernels'), 'utf8').split('\n').filter(Boolean);
  }

  booted(): string {
    return readFileSync(path.join(this.dir, 'state/booted'), 'utf8').trim();
  }

  /** Each recorded call: the tool and its arguments. */
  calls(): string[] {
    return readFileSync(path.join(this.dir, 'state/calls'), 'utf8').split('\n').filter(Boolean);
  }

  /** A file of the guest's /etc as the runbook left it (the overlay's upper layer). */
  etc(name: string): string | undefined {
    const file = path.join(this.dir, 'etc-upper', name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  backups(name: string): string | undefined {
    const file = path.join(this.dir, 'backups', name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  async stop(): Promise<void> {
    clearInterval(this.watcher);
    await this.rebooting.catch(() => {});
    await this.sshd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Approves what asks to be typed; a failed step pauses the run (the test then fails with what it printed). */
function pauseOnFailure(line: string): string | undefined {
  if (/Answer (retry|reattach)/.test(line)) return 'pause';
  // After the canary (vm1): on to the next guest. A halt is never reached: the first failure pauses.
  if (/to continue the rollout/.test(line)) return 'yes';
  return typedAnswer(line);
}

/** ssh_config and known_hosts naming each guest by its alias. */
function clientFiles(guests: Record<string, FakeGuest>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-vm-update-'));
  writeFileSync(
    path.join(dir, 'ssh_config'),
    Object.entries(guests)
      .map(([alias, guest]) => guest.sshd.clientConfig(alias))
      .join(''),
  );
  writeFileSync(
    path.join(dir, 'known_hosts'),
    Object.values(guests)
      .map((guest) => `${guest.sshd.knownHostsLine()}\n`)
      .join(''),
  );
  return dir;
}

/** The calls that matter, in order: the uname, systemctl status and read-only ones left out. */
function sequence(calls: string[]): string[] {
  return calls.filter((call) => !/^systemctl (is-|cat )/.test(call));
}

describe('vm-package-update.yaml on a RHEL-like guest (dnf, faked) and a Debian guest (apt, faked)', () => {
  const started: FakeGuest[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((guest) => guest.stop()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function run(guests: Record<string, FakeGuest>, answer: (line: string) => string | undefined = pauseOnFailure) {
    const dir = clientFiles(guests);
    dirs.push(dir);
    // The runbook's group has a third guest, not faked here.
    const hosts = ['--hosts', Object.keys(guests).join(',')];
    const conversation = converse(['run', '--plain', RUNBOOK, ...hosts, ...clientFlags(dir)], answer, {
      NIGHTSHIFT_STATE_DIR: freshStateDir(),
      SSH_AUTH_SOCK: '',
    });
    const code = await conversation.closed;
    return { code, output: `${conversation.lines.join('\n')}\n${conversation.stderr()}` };
  }

  it('runs the dnf steps in order on vm1 and the apt steps on vm2, each skipping the other family with the reason, and reboots both into the new kernel', async () => {
    const centos = await FakeGuest.start('rpm');
    started.push(centos);
    const debian = await FakeGuest.start('apt');
    started.push(debian);
    const { code, output } = await run({ vm1: centos, vm2: debian });
    expect(code, output).toBe(0);

    // vm1, dnf: the running kernel's packages installed-only, no kernel excluded, the update
    // from the chosen mirror only, nothing held back, a reboot needed, the reboot, then the
    // new kernel runs and needs-restarting says no reboot is needed.
    const chosen = '--disablerepo=* --enablerepo=chosen-mirror';
    expect(sequence(centos.calls())).toEqual([
      `rpm -qf --qf %{NAME}\\n /lib/modules/${KERNELS.rpm.booted}`,
      `dnf -y ${chosen} upgrade`,
      `dnf -q ${chosen} check-update`,
      'dnf needs-restarting -r',
      'systemctl disable --now smartd.service',
      'systemctl reboot',
      'rpm -q --qf %{VERSION}-%{RELEASE}.%{ARCH}\\n kernel-core kernel',
      'dnf needs-restarting -r',
    ]);
    // In [main], with the kernels named (yum reads the list instead of its own) and the running kernel's packages added.
    expect(centos.etc('dnf/dnf.conf')).toBe(
      '[main]\ninstallonlypkgs=kernel kernel-core kernel-modules kernel-devel kernel-smp kernel-PAE kernel-modules-core\ngpgcheck=1\ninstallonly_limit=3\n',
    );
    expect(centos.etc('yum.repos.d/chosen-mirror.repo')).toBe(
      '[chosen-mirror]\nname=The chosen mirror\nbaseurl=http://mirror.example.net/centos/$releasever/os/$basearch/\nenabled=0\ngpgcheck=1\n',
    );
    expect(centos.kernels()).toEqual([KERNELS.rpm.booted, KERNELS.rpm.mirror]);
    expect(centos.booted()).toBe(KERNELS.rpm.mirror);
    expect(centos.reboots).toBe(1);
    expect(centos.backups('settled/etc/office-tools.conf.rpmnew')).toBe('setting=packaged\n');
    expect(output).toContain('[vm1] Reboot is required to fully utilize these updates.');
    expect(output).toContain(`[vm1] runs kernel ${KERNELS.rpm.mirror}`);
    for (const step of ['1.3', '1.4', '1.5', '1.13']) {
      expect(output).toMatch(
        new RegExp(`\\] skipped ${step.replace('.', '\\.')}@vm1 .*\\(apt\\): when host\\.distro == "debian" or host\\.distro_like =~ "debian" \\(.*"centos"`),
      );
    }

    // vm2, apt: dist-upgrade (the kept-back kernel metapackage goes in with its new ABI
    // package), nothing held back, the reboot, the new kernel runs.
    const only = '-o Dir::Etc::SourceList=/etc/apt/sources.list.d/chosen-mirror.list -o Dir::Etc::SourceParts=/dev/null';
    expect(sequence(debian.calls())).toEqual([
      `dpkg-query -W -f=\${Package} \${Version} \${Status}\\n linux-image-${KERNELS.apt.booted}`,
      `apt-mark manual linux-image-${KERNELS.apt.booted}`,
      `apt-get ${only} update`,
      `apt-get ${only} -s dist-upgrade`,
      `apt-get ${only} -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade`,
      `apt ${only} list --upgradable`,
      'systemctl disable --now smartd.service',
      'systemctl reboot',
      `dpkg-query -W -f=\${db:Status-Abbrev} \${Package}\\n linux-image-[0-9]*`,
      `dpkg-query -W -f=\${Status}\\n linux-image-${KERNELS.apt.mirror}`,
    ]);
    expect(debian.etc('apt/apt.conf.d/50keep-running-kernel')).toBe(`APT::NeverAutoRemove { "^linux-image-${KERNELS.apt.booted}$"; };\n`);
    expect(debian.booted()).toBe(KERNELS.apt.mirror);
    expect(debian.reboots).toBe(1);
    expect(output).toContain('[vm2] nothing held back');
    expect(output).toMatch(/\] skipped 1\.6@vm2 Keep the running kernel's packages \(dnf\/yum\): when host\.distro =~ .*\(.*"debian"/);
    expect(output).toMatch(/\] skipped 1\.2@vm2 vm2 runs a distribution this runbook knows: when not /);
  }, 120_000);

  it('stops before the update when dnf.conf excludes kernel updates, naming the line', async () => {
    const centos = await FakeGuest.start('rpm', { etc: { 'dnf/dnf.conf': '[main]\ngpgcheck=1\nexclude=kernel* microcode_ctl\n' } });
    started.push(centos);
    const debian = await FakeGuest.start('apt');
    started.push(debian);
    const { code, output } = await run({ vm1: centos, vm2: debian });
    expect(code, output).not.toBe(0);
    expect(output).toContain('[vm1] kernel updates are excluded on vm1, so the update would leave them out silently:');
    expect(output).toContain('[vm1] /etc/dnf/dnf.conf:exclude=kernel* microcode_ctl');
    expect(centos.calls().filter((call) => call.startsWith('dnf'))).toEqual([]);
    expect(centos.reboots).toBe(0);
    expect(debian.calls()).toEqual([]);
  }, 120_000);

  it('fails when dnf leaves an update on the mirror (a versionlock), naming it, and does not reboot', async () => {
    const centos = await FakeGuest.start('rpm', { state: ['versionlock'] });
    started.push(centos);
    const debian = await FakeGuest.start('apt');
    started.push(debian);
    const { code, output } = await run({ vm1: centos, vm2: debian });
    expect(code, output).not.toBe(0);
    expect(output).toContain('[vm1] held back on vm1 (newer on the mirror, not installed):');
    expect(output).toContain(`[vm1] kernel-core.x86_64  ${KERNELS.rpm.mirror}  chosen-mirror`);
    expect(output).toMatch(/FAILED 1\.9@vm1 Nothing is held back \(dnf\/yum\)/);
    expect(centos.reboots).toBe(0);
  }, 120_000);

  it('fails when apt keeps a package back (on hold), naming it and the hold, and does not reboot', async () => {
    const debian = await FakeGuest.start('apt', { state: ['hold'] });
    started.push(debian);
    const centos = await FakeGuest.start('rpm');
    started.push(centos);
    const { code, output } = await run({ vm1: debian, vm2: centos });
    expect(code, output).not.toBe(0);
    expect(output).toContain('[vm1] held back on vm1 (newer on the mirror, not installed): linux-image-amd64');
    expect(output).toContain('[vm1] on hold (apt-mark unhold to update them): linux-image-amd64');
    expect(debian.reboots).toBe(0);
    expect(debian.kernels()).toEqual([KERNELS.apt.booted]);
  }, 120_000);

  it('refuses a guest of another family, showing its os-release lines neutralized, and runs no package tool', async () => {
    const other = await FakeGuest.start('rpm', { etc: { 'os-release': 'NAME=Plan9\nID="plan9\u001b]0;pwned\u0007\u001b[2J"\n' } });
    started.push(other);
    const debian = await FakeGuest.start('apt');
    started.push(debian);
    const { code, output } = await run({ vm1: other, vm2: debian });
    expect(code, output).not.toBe(0);
    expect(output).toContain('[vm1] vm1 is neither Debian-like nor RHEL-like by its os-release:');
    expect(output).toMatch(/^\[vm1\] ID="plan9.*"$/m);
    expect(output).toContain('[vm1] this runbook has apt and dnf/yum steps only: update it by hand, or add steps for its package manager');
    expect(output).not.toMatch(/\x1b|\x07/);
    expect(other.calls()).toEqual([]);
    expect(other.reboots).toBe(0);
  }, 120_000);
});
