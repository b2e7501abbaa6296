// QEMU for the lab: software emulation (KVM here cannot run a stock kernel), one CPU, a small
// translation cache, user networking that reaches nothing (restrict=on) but for SSH forwarded
// to 127.0.0.1, the serial console in a log and the monitor on a unix socket for the power
// button. A machine runs under a small supervisor that starts QEMU afresh after each reset
// (-no-reboot): rebooting inside one QEMU gets slower every time under emulation.
import { spawn } from 'node:child_process';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import net from 'node:net';
import { LabError } from './lab-error.js';
import { wanMac } from './upstream.js';

/**
 * Software emulation by default: where /dev/kvm is a nested hypervisor that cannot run a stock
 * kernel, trying KVM first hangs or dies. NIGHTSHIFT_LAB_ACCEL=kvm uses it where it works.
 */
function accelerator(env: NodeJS.ProcessEnv = process.env): string {
  return env['NIGHTSHIFT_LAB_ACCEL'] === 'kvm' ? 'kvm' : 'tcg,tb-size=64';
}

const EMULATION = ['-accel', accelerator(), '-smp', '1', '-m', '512', '-nodefaults', '-display', 'none', '-vga', 'none', '-no-reboot'];

export interface BootOnceOptions {
  disk: string;
  format: 'raw' | 'qcow2';
  kernel: string;
  initrd: string;
  append: string;
  log: string;
  timeoutMs: number;
}

/** Boots a kernel directly on a disk until the guest powers off; returns what the console printed. */
export async function bootOnce(options: BootOnceOptions): Promise<string> {
  const args = [
    ...EMULATION,
    '-drive',
    `file=${options.disk},if=virtio,format=${options.format}`,
    '-kernel',
    options.kernel,
    '-initrd',
    options.initrd,
    '-append',
    options.append,
    '-chardev',
    `file,id=console,path=${options.log}`,
    '-serial',
    'chardev:console',
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => reject(new LabError(`The lab could not start qemu-system-x86_64: ${error.message}.`)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new LabError(
            `QEMU ended with ${code ?? signal} ${signal === 'SIGKILL' ? '(the guest did not power off in time) ' : ''}${stderr.trim()}; the console is in ${options.log}.`,
          ),
        );
    });
  });
  return readFile(options.log, 'utf8');
}

export interface MachineLaunch {
  name: string;
  dir: string;
  sshPort: number;
  disks: Array<{ file: string; serial: string; format: 'raw' | 'qcow2'; readonly?: boolean }>;
  /** The bridge of the lab's private network, when the machine is on it. */
  bridge?: string;
  /** The bridge of the lab's provider side, when the machine has a card there (wan0). */
  upstreamBridge?: string;
  /** Last two bytes of the MAC addresses, distinct per machine. */
  macSuffix: string;
}

export function qemuArgs(machine: MachineLaunch): string[] {
  const args = [...EMULATION, '-name', machine.name];
  machine.disks.forEach((disk, index) => {
    args.push(
      '-drive',
      `file=${disk.file},if=none,id=disk${index},format=${disk.format}${disk.readonly ? ',readonly=on' : ''}`,
      '-device',
      `virtio-blk-pci,drive=disk${index},serial=${disk.serial}`,
    );
  });
  args.push(
    '-netdev',
    `user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${machine.sshPort}-:22`,
    '-device',
    `virtio-net-pci,netdev=mgmt,mac=52:54:00:00:${machine.macSuffix},addr=0x5`,
  );
  if (machine.bridge) {
    args.push(
      '-netdev',
      `tap,id=private,script=${machine.dir}/if-up,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=private,mac=52:54:00:01:${machine.macSuffix},addr=0x6`,
    );
  }
  if (machine.upstreamBridge) {
    args.push(
      '-netdev',
      `tap,id=wan,script=${machine.dir}/if-up-wan,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=wan,mac=${wanMac(machine.macSuffix)},addr=0x7`,
    );
  }
  args.push(
    '-chardev',
    `file,id=console,path=${machine.dir}/serial.log,append=on`,
    '-serial',
    'chardev:console',
    '-monitor',
    `unix:${machine.dir}/monitor.sock,server,nowait`,
  );
  return args;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** Writes the supervisor script and starts it detached; it outlives this process. */
export async function startMachine(machine: MachineLaunch): Promise<void> {
  if (machine.bridge) {
    await writeFile(`${machine.dir}/if-up`, `#!/bin/sh\nip link set "$1" master ${quote(machine.bridge)} && ip link set "$1" up\n`);
    await chmod(`${machine.dir}/if-up`, 0o755);
  }
  if (machine.upstreamBridge) {
    await writeFile(`${machine.dir}/if-up-wan`, `#!/bin/sh\nip link set "$1" master ${quote(machine.upstreamBridge)} && ip link set "$1" up\n`);
    await chmod(`${machine.dir}/if-up-wan`, 0o755);
  }
  const supervisor = `#!/bin/sh
# Keeps the machine's power on: QEMU runs with -no-reboot, so every reset or reboot ends it
# and it is started afresh. "stop" ends the supervisor; "off" keeps the power off. A QEMU
# that fails at once (exit status not 0 within seconds) is not started again: see qemu.err.
cd ${quote(machine.dir)}
echo $$ > supervisor.pid
while [ ! -e stop ]; do
  if [ -e off ]; then sleep 0.5; continue; fi
  echo "=== nightshift lab: power on $(date -u +%H:%M:%S)" >> serial.log
  started=$(date +%s)
  qemu-system-x86_64 ${qemuArgs(machine).map(quote).join(' ')} 2>> qemu.err &
  echo $! > qemu.pid
  wait $!
  status=$?
  echo "=== nightshift lab: power off (qemu exit $status) $(date -u +%H:%M:%S)" >> serial.log
  rm -f qemu.pid
  if [ "$status" -ne 0 ] && [ $(( $(date +%s) - started )) -lt 5 ]; then touch failed; break; fi
done
rm -f supervisor.pid
`;
  await writeFile(`${machine.dir}/supervisor`, supervisor);
  await chmod(`${machine.dir}/supervisor`, 0o755);
  const child = spawn('setsid', [`${machine.dir}/supervisor`], { detached: true, stdio: 'ignore', cwd: machine.dir });
  child.unref();
}

/** One command to the QEMU monitor (e.g. system_reset, quit); resolves when it was sent. */
export function monitorCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LabError(`The QEMU monitor at ${socketPath} did not answer within ${timeoutMs / 1000} s.`));
    }, timeoutMs);
    let answered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answered += chunk;
      // The banner and prompt come first; the command goes after the first prompt.
      if (answered.includes('(qemu)') && !answered.includes(`${command}\r`)) {
        answered += `${command}\r`;
        socket.write(`${command}\n`, () => setTimeout(() => socket.end(), 200));
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new LabError(`The QEMU monitor at ${socketPath} is not there (${error.message}): is the machine running?`));
    });
  });
}

/** True when something at 127.0.0.1:port sends an SSH banner within the time (QEMU accepts even while the guest is down). */
export function sshAnswers(port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (value: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => done(chunk.startsWith('SSH-')));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
