// The launcher that carries a public script on the command line, given to each login shell
// on this machine as sshd gives it one (`shell -c LINE`): the script must reach /bin/sh byte
// for byte, whatever it holds, and run there with its pid line first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { launcherCarrying, MAX_COMMAND_LINE, WARM_LAUNCHER, warmHeader } from './launcher.js';
import { PidLineReader } from './pid-line.js';

/** Every kind of byte a shell could read: quotes, history, expansions, printf's own, a backslash before each, non-ASCII, controls. */
const HOSTILE_SCRIPT = [
  `printf '%s\\n' "it's" '"dq"' '$HOME' '\`tick\`' 'back\\slash' '100%d%%' '!bang' '!!' 'é日本' '\\\\' "\\\\'" '\\012' '-n'`,
  "printf 'tab\\there\\n'",
  'x=$(echo sub); echo "${x:-none} $((1 + 2))"',
  "cat <<'END'",
  'here $doc `not run` \\n',
  'END',
  'echo "$0 runs as /bin/sh"; exit 7',
].join('\n');

const shells = ['/bin/sh', '/bin/bash', '/usr/bin/dash', '/usr/bin/tcsh', '/bin/csh', '/bin/busybox'].filter((shell) => existsSync(shell));

describe('a public script on the command line', () => {
  const line = launcherCarrying(HOSTILE_SCRIPT);
  const expected = spawnSync('/bin/sh', ['-c', HOSTILE_SCRIPT], { encoding: 'utf8' });

  it('is one line with nothing any login shell reads inside single quotes', () => {
    expect(line).not.toBeNull();
    const quoted = /^exec \/bin\/sh -c '([^']*)'$/.exec(line!)?.[1];
    expect(quoted).toBeDefined();
    expect(quoted).not.toMatch(/[!\n\r]/);
    // A backslash only before three octal digits: never before another, a quote or a newline.
    expect(quoted!.replace(/\\[0-7]{3}/g, '')).not.toContain('\\');
  });

  it.each(shells)('reaches /bin/sh whole through %s', (shell) => {
    const args = shell.endsWith('busybox') ? ['sh', '-c', line!] : ['-c', line!];
    const ran = spawnSync(shell, args, { encoding: 'utf8', env: { ...process.env, HOME: '/nowhere' } });
    expect(expected.stdout).toContain('it\'s\n"dq"\n$HOME\n`tick`\nback\\slash\n100%d%%\n!bang\n!!\né日本\n');
    expect(ran.stdout).toBe(expected.stdout);
    expect(ran.stderr).toMatch(new RegExp(`^${PidLineReader.tag} \\d+\\n$`));
    expect(ran.status).toBe(7);
  });

  it('is refused for a script that would make the line too long', () => {
    expect(launcherCarrying('echo hi\n'.repeat(MAX_COMMAND_LINE / 8))).toBeNull();
    expect(launcherCarrying('echo hi')!.length).toBeLessThan(200);
  });
});

describe('a shell kept ready for a script', () => {
  const expected = spawnSync('/bin/sh', ['-c', HOSTILE_SCRIPT], { encoding: 'utf8' });
  const runKept = (shell: string, input: string | Buffer) =>
    spawnSync(shell, shell.endsWith('busybox') ? ['sh', '-c', WARM_LAUNCHER] : ['-c', WARM_LAUNCHER], {
      input,
      encoding: 'utf8',
      env: { ...process.env, HOME: '/nowhere' },
    });

  it('is one line with nothing any login shell reads inside single quotes', () => {
    const quoted = /^exec \/bin\/sh -c '([^']*)'$/.exec(WARM_LAUNCHER)?.[1];
    expect(quoted).toBeDefined();
    expect(quoted).not.toMatch(/[!\n\r\\]/);
  });

  it.each(shells)('runs the script it reads whole through %s, its pid line once it has read it', (shell) => {
    const script = Buffer.from(HOSTILE_SCRIPT);
    const ran = runKept(shell, Buffer.concat([Buffer.from(warmHeader(script.length, false)), script]));
    expect(ran.stdout).toBe(expected.stdout);
    expect(ran.stderr).toMatch(new RegExp(`^${PidLineReader.tag} \\d+\\n$`));
    expect(ran.status).toBe(7);
  });

  it.each(shells)('with keep, leaves what follows the script to it on fd 3, through %s', (shell) => {
    const script = 'IFS= read -r r <&3; echo "got [$r]"; cat; echo "stdin ended"';
    const ran = runKept(shell, `${warmHeader(Buffer.byteLength(script), true)}${script}release\nrest`);
    expect(ran.stdout).toBe('got [release]\nstdin ended\n');
    expect(ran.status).toBe(0);
  });

  it('runs nothing and reports no pid when its input ends early or the header is not one', () => {
    for (const input of ['', '12', 'x keep\necho ran\n', '-5\necho ran\n', '0\n']) {
      const ran = runKept('/bin/sh', input);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toBe('');
    }
    expect(() => warmHeader(0, false)).toThrow();
  });
});
