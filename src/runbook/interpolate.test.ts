import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { interpolateCommand } from './interpolate.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ns-interpolate-'));
const marker = path.join(dir, 'pwned');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Values that try to leave their quoting and run `touch MARKER`. */
const HOSTILE = [
  `x"; touch ${marker}; echo "`,
  `'; touch ${marker}; '`,
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `a\nb; touch ${marker}`,
  `\n touch ${marker}\n`,
  '\\',
  '\\"',
  `\\'; touch ${marker}; '`,
  `"'"'"; touch ${marker} #`,
  `\${x:-$(touch ${marker})}`,
  `$((1+1))$HOME*?[a]~`,
  `) ; touch ${marker} ; (`,
  ` leading and trailing `,
  '',
  'plain-/dev/sdb1',
  'ünïcödé ✓',
  `\\\n touch ${marker}`,
];

/** Commands that print the value (or wrap it in known text) on stdout, one per quoting context. */
const CONTEXTS: Array<{ name: string; template: string; expected: (value: string) => string }> = [
  { name: 'a word of its own', template: "printf '%s' {{v}}", expected: (v) => v },
  { name: 'glued to a word', template: "printf '%s' pre{{v}}post", expected: (v) => `pre${v}post` },
  { name: 'inside "..."', template: `printf '%s' "pre {{ v }} post"`, expected: (v) => `pre ${v} post` },
  { name: "inside '...'", template: "printf '%s' 'pre {{v}} post'", expected: (v) => `pre ${v} post` },
  { name: 'an assignment', template: `x={{v}}; printf '%s' "$x"`, expected: (v) => v },
  { name: 'inside "$(...)"', template: `x="$(printf '%s.' {{v}})"; printf '%s' "\${x%.}"`, expected: (v) => v },
  { name: 'inside \'...\' in "$(...)"', template: `x="$(printf '%s.' 'a{{v}}b')"; printf '%s' "\${x%.}"`, expected: (v) => `a${v}b` },
  { name: 'inside "..." in "$(...)"', template: `x="$(printf '%s.' "a{{v}}b")"; printf '%s' "\${x%.}"`, expected: (v) => `a${v}b` },
  { name: 'inside "..." in a case pattern', template: `case "$HOME" in *"{{v}}"*) ;; esac; printf '%s' "<{{v}}>"`, expected: (v) => `<${v}>` },
  {
    name: 'after a comment and a here-document holding quotes',
    template: "# don't (\ncat <<'EOF' >/dev/null\nit's \"here\" $(\nEOF\nprintf '%s' \"{{v}}\" '{{v}}' {{v}}",
    expected: (v) => v.repeat(3),
  },
];

const SHELLS = [
  ['/bin/sh', ['-c']],
  ['bash', ['-c']],
  ['busybox', ['sh', '-c']],
].filter(([shell, args]) => spawnSync(shell as string, [...(args as string[]), 'true']).status === 0) as Array<[string, string[]]>;

describe('interpolateCommand through real shells', () => {
  it('has the shells to run', () => {
    expect(SHELLS.map(([shell]) => shell)).toEqual(expect.arrayContaining(['/bin/sh', 'bash']));
  });

  for (const [shell, args] of SHELLS) {
    describe(shell, () => {
      it.each(CONTEXTS)('$name: every hostile value arrives byte for byte and runs nothing', ({ template, expected }) => {
        for (const value of HOSTILE) {
          rmSync(marker, { force: true });
          const { command, problems } = interpolateCommand(template, { v: value });
          expect(problems).toEqual([]);
          const printed = execFileSync(shell, [...args, command], { cwd: dir, encoding: 'utf8' });
          expect({ value, printed }).toEqual({ value, printed: expected(value) });
          expect(existsSync(marker), `${JSON.stringify(value)} ran touch through ${command}`).toBe(false);
        }
      });
    });
  }
});

describe('interpolateCommand refuses what it cannot quote', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['backticks', 'echo `ls {{v}}`', /inside backticks.*use \$\(\.\.\.\) instead/],
    ['backticks in "..."', 'echo "`ls {{v}}`"', /inside backticks/],
    ['a here-document', 'cat <<EOF\nhello {{v}}\nEOF', /inside a here-document.*v=\{\{v\}\}/],
    ['a quoted here-document', "cat <<-'EOF'\n\thello {{v}}\n\tEOF", /inside a here-document/],
    ['${...}', 'echo "${x:-{{v}}}"', /inside \$\{\.\.\.\}/],
    ['$((...))', 'echo $(( {{v}} + 1 ))', /inside \$\(\(\.\.\.\)\).*arithmetic/],
    ['a comment', 'echo hi # about {{v}}', /in a shell comment/],
    ['right after $', 'echo ${{v}}', /right after \$/],
    ['right after $ in "..."', 'echo "${{v}}"', /right after \$/],
    ['right after a backslash', 'echo \\{{v}}', /right after a backslash/],
    ['right after a backslash in "..."', 'echo "\\{{v}}"', /right after a backslash inside "\.\.\."/],
    ['eval', 'eval "echo {{v}}"', /what eval reads as shell code/],
    ['sh -c', `sh -c "echo {{v}}"`, /what sh -c reads as shell code/],
    ['bash -ec after sudo', `sudo -u root bash -ec 'echo {{v}}'`, /what bash -c reads as shell code/],
    ['su -c', `su - root -c "echo {{v}}"`, /what su -c reads/],
    ['ssh', `ssh -p 22 -o BatchMode=yes root@dragon ls {{v}}`, /what ssh \(the command for the far side\) reads/],
    ['ssh in $(...)', `x=$(ssh dragon "cat '{{v}}'")`, /what ssh/],
    ["after $'...'", "printf $'a\\'b' {{v}}", /comes after \$'\.\.\.'/],
    ['after case in $(...)', 'x=$(case a in a) echo;; esac) {{v}}', /comes after case inside \$\(\.\.\.\)/],
  ];
  it.each(refused)('%s', (_name, template, message) => {
    const { command, problems } = interpolateCommand(template, { v: 'value' });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.index).toBe(template.indexOf('{{v}}'));
    expect(command).toContain('{{v}}');
  });

  it.each([
    ['the destination of ssh', 'ssh -p 22 {{v}} uptime'],
    ['an argument after sh -c SCRIPT', `sh -c 'printf "%s" "$1"' sh {{v}}`],
    ['a word that merely says eval', 'printf %s eval {{v}}'],
    ['$(...) with a subshell inside', 'x=$( (cd / && echo {{v}}) )'],
  ])('accepts %s', (_name, template) => {
    expect(interpolateCommand(template, { v: 'value' }).problems).toEqual([]);
  });

  it('refuses a value holding a NUL character', () => {
    expect(interpolateCommand('echo {{v}}', { v: 'a\0b' }).problems[0]!.message).toMatch(/NUL character/);
  });
});
