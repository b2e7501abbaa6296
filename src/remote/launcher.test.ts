// The launcher that carries a public script on the command line, given to each login shell
// on this machine as sshd gives it one (`shell -c LINE`): the script must reach /bin/sh byte
// for byte, whatever it holds, and run there with its pid line first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { launcherCarrying, MAX_COMMAND_LINE } from './launcher.js';
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
