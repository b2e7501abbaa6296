// A "machine" that can reboot without rebooting this one: the real sshd, whose sessions each
// run in their own mount and UTS namespaces with the machine's boot id bind-mounted over
// /proc/sys/kernel/random/boot_id and its hostname set. Rebooting drops every connection,
// stops the listener, draws a new boot id (and maybe a new hostname), and starts sshd again
// after a pause: what a client sees of a real reboot. Needs root (mount, unshare).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeyPair } from './ssh-keys.js';
import { Sshd } from './sshd.js';

export function canFakeReboots(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/unshare');
}

export interface RebootOptions {
  downForMs: number | 'until told';
  nextHostname?: string;
  nextHostKey?: KeyPair;
}

export class RebootableMachine {
  readonly dir: string;
  /** Touching this file asks for a reboot (the runbook's reboot command does it). */
  readonly rebootRequest: string;
  reboots = 0;
  private watcher: NodeJS.Timeout | undefined;
  private rebooting: Promise<void> = Promise.resolve();
  private constructor(
    readonly sshd: Sshd,
    dir: string,
  ) {
    this.dir = dir;
    this.rebootRequest = path.join(dir, 'reboot-requested');
  }

  static async start(hostname: string): Promise<RebootableMachine> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-machine-'));
    writeFileSync(path.join(dir, 'boot_id'), `${randomUUID()}\n`);
    writeFileSync(path.join(dir, 'hostname'), `${hostname}\n`);
    const session = path.join(dir, 'session.sh');
    writeFileSync(
      session,
      `#!/bin/sh\nexec unshare -m -u /bin/sh -c 'mount --bind "$0/boot_id" /proc/sys/kernel/random/boot_id && hostname "$(cat "$0/hostname")" && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"' ${JSON.stringify(dir)}\n`,
      { mode: 0o755 },
    );
    const sshd = await Sshd.start({ extraConfig: [`ForceCommand ${session}`] });
    return new RebootableMachine(sshd, dir);
  }

  /**
   * Reboots whenever the request file appears: down at once, back after `downForMs` (or,
   * with 'until told', when bringBack() is called), with `nextHostname` and `nextHostKey`
   * (another system booted) if given. Returns a function that stops watching.
   */
  rebootOnRequest(options: RebootOptions): () => void {
    this.watcher = setInterval(() => {
      if (!existsSync(this.rebootRequest)) return;
      rmSync(this.rebootRequest);
      this.rebooting = this.reboot(options);
    }, 50);
    return () => clearInterval(this.watcher);
  }

  async reboot({ downForMs, nextHostname, nextHostKey }: RebootOptions): Promise<void> {
    this.reboots++;
    await this.sshd.goDown();
    writeFileSync(path.join(this.dir, 'boot_id'), `${randomUUID()}\n`);
    if (nextHostname) writeFileSync(path.join(this.dir, 'hostname'), `${nextHostname}\n`);
    await (downForMs === 'until told' ? new Promise<void>((resolve) => (this.bringBack = resolve)) : new Promise((resolve) => setTimeout(resolve, downForMs)));
    if (nextHostKey) await this.sshd.replaceHostKey(nextHostKey);
    else await this.sshd.restart();
  }

  /** Ends a reboot started with downForMs 'until told'. */
  bringBack: () => void = () => {};

  async stop(): Promise<void> {
    clearInterval(this.watcher);
    this.bringBack();
    await this.rebooting;
    await this.sshd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
