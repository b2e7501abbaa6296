// The scripts of guards and spare ways in, parsed by dash and by BusyBox ash (a path only a
// VM with systemd takes, such as a timer replaced by `+`, is never run here: it is parsed).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extendScript, fireNowScript } from './revert-scripts.js';
import { spareStartScript, spareStopScript } from './spare-scripts.js';

const shells = [['sh'], ...(existsSync('/bin/busybox') ? [['/bin/busybox', 'sh']] : [])];

describe('the scripts of guards and spare ways in', () => {
  const scripts = {
    extend: extendScript('s/swap.dragon.guard', "nightshift-guard-s-swap-dragon; echo 'quoted'", 300, "/srv/it's"),
    fire: fireNowScript('s/swap.dragon.guard', 5, '/srv/nightshift'),
    'spare start': spareStartScript({ runId: 's/dragon.spare', port: 1022, config: "/etc/ssh/sshd_config'; reboot #", lifetimeSeconds: 7200 }),
    'spare start with dropbear': spareStartScript({ runId: 's/dragon.spare', port: 1022, server: 'dropbear', lifetimeSeconds: 60 }),
    'spare stop': spareStopScript('s/dragon.spare'),
  };

  for (const [name, script] of Object.entries(scripts)) {
    it(`${name}: parsed by every shell`, () => {
      for (const [shell, ...args] of shells) expect(() => execFileSync(shell!, [...args, '-n', '-c', script], { stdio: 'pipe' })).not.toThrow();
    });
  }

  it('quotes what the runbook gave: a unit name and a config path stay one word each', () => {
    const lineOf = (script: string, start: string) =>
      script
        .split('\n')
        .find((line) => line.trimStart().startsWith(start))!
        .trim();
    const unit = execFileSync('sh', ['-c', `k=1; ${lineOf(scripts.extend, 'u=')}; printf %s "$u"`], { encoding: 'utf8' });
    expect(unit).toBe("nightshift-guard-s-swap-dragon; echo 'quoted'-ext1");
    // The config check with sshd replaced by printf: the path arrives as one argument.
    const check = lineOf(scripts['spare start'], '"$s" -t').replace(/ >"\$d\/log" 2>&1 \|\| fail 93$/, '');
    const args = execFileSync('sh', ['-c', `show() { printf '<%s>' "$@"; }; s=show; ${check}`], { encoding: 'utf8' });
    expect(args).toBe("<-t><-f></etc/ssh/sshd_config'; reboot #><-p><1022>");
  });
});
