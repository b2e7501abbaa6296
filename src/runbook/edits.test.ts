import { describe, expect, it } from 'vitest';
import { applyChanges, unifiedDiff } from './edits.js';
import type { EditChange } from './types.js';

const SSHD = '#Port 22\n#PermitRootLogin prohibit-password\nPasswordAuthentication yes\nUsePAM yes\n';

describe('applyChanges', () => {
  it('puts the whole file from content, and creates a missing one', () => {
    expect(applyChanges('old\n', [{ kind: 'content', text: 'dragon\n' }])).toBe('dragon\n');
    expect(applyChanges(null, [{ kind: 'content', text: 'dragon\n' }])).toBe('dragon\n');
  });

  it('adds a missing line after the last line matching `after`, else at the end, and leaves a present one', () => {
    expect(applyChanges(SSHD, [{ kind: 'ensure_line', line: 'PermitRootLogin no', after: '^#?Port ' }])).toBe(
      '#Port 22\nPermitRootLogin no\n#PermitRootLogin prohibit-password\nPasswordAuthentication yes\nUsePAM yes\n',
    );
    expect(applyChanges(SSHD, [{ kind: 'ensure_line', line: 'X11Forwarding no' }])).toBe(`${SSHD}X11Forwarding no\n`);
    expect(applyChanges(SSHD, [{ kind: 'ensure_line', line: 'UsePAM yes' }])).toBe(SSHD);
    expect(applyChanges(null, [{ kind: 'ensure_line', line: 'a' }])).toBe('a\n');
  });

  it('replaces whole matching lines, with groups', () => {
    expect(applyChanges(SSHD, [{ kind: 'replace', pattern: '^#?PasswordAuthentication .*', with: 'PasswordAuthentication no' }])).toBe(
      SSHD.replace('PasswordAuthentication yes', 'PasswordAuthentication no'),
    );
    expect(applyChanges('#Port 22\n', [{ kind: 'replace', pattern: '^#Port (\\d+)$', with: 'Port $1 # was $&, costs $$' }])).toBe(
      'Port 22 # was #Port 22, costs $\n',
    );
  });

  it('adds a marked block, and puts its text between the markers when it is there', () => {
    const once = applyChanges('a\n', [{ kind: 'block', marker: 'nightshift gateway', text: 'gw 1\ngw 2\n' }]);
    expect(once).toBe('a\n# BEGIN nightshift gateway\ngw 1\ngw 2\n# END nightshift gateway\n');
    expect(applyChanges(`${once}z\n`, [{ kind: 'block', marker: 'nightshift gateway', text: 'gw 3' }])).toBe(
      'a\n# BEGIN nightshift gateway\ngw 3\n# END nightshift gateway\nz\n',
    );
  });

  it('refuses a block with one marker only', () => {
    expect(() => applyChanges('# BEGIN x\nstuff\n', [{ kind: 'block', marker: 'x', text: 'y' }])).toThrow(/'# BEGIN x' without '# END x'/);
    expect(() => applyChanges('# END x\n', [{ kind: 'block', marker: 'x', text: 'y' }])).toThrow(/'# END x' without '# BEGIN x'/);
  });

  it('sets key=value lines, keeping one that already says the value (quoted or not)', () => {
    const grub = 'GRUB_DEFAULT=0\n#GRUB_TIMEOUT=9\nGRUB_TIMEOUT="5"\nexport GRUB_X=1\n';
    const set = (key: string, value: string): EditChange => ({ kind: 'set', key, value, separator: '=' });
    expect(applyChanges(grub, [set('GRUB_TIMEOUT', '5'), set('GRUB_DEFAULT', 'saved'), set('GRUB_X', '2'), set('NEW', 'n')])).toBe(
      'GRUB_DEFAULT=saved\n#GRUB_TIMEOUT=9\nGRUB_TIMEOUT="5"\nexport GRUB_X=2\nNEW=n\n',
    );
    expect(applyChanges('a = 1\n', [{ kind: 'set', key: 'a', value: '2', separator: ' = ' }])).toBe('a = 2\n');
    const sshd: EditChange = { kind: 'set', key: 'MaxAuthTries', value: '3', separator: ' ' };
    expect(applyChanges('#MaxAuthTries 6\nMaxAuthTries   6\n', [sshd])).toBe('#MaxAuthTries 6\nMaxAuthTries 3\n');
    expect(applyChanges('MaxAuthTries 3\n', [sshd])).toBe('MaxAuthTries 3\n');
  });

  it('keeps CRLF line endings, and adds CRLF lines to a CRLF file', () => {
    expect(applyChanges('a\r\nb\r\n', [{ kind: 'ensure_line', line: 'c' }])).toBe('a\r\nb\r\nc\r\n');
    expect(applyChanges('k=1\r\nb\r\n', [{ kind: 'set', key: 'k', value: '2', separator: '=' }])).toBe('k=2\r\nb\r\n');
  });

  it('keeps a file without a final newline without one', () => {
    expect(applyChanges('a\nb', [{ kind: 'ensure_line', line: 'c' }])).toBe('a\nb\nc');
    expect(applyChanges('a\nb', [{ kind: 'replace', pattern: '^b$', with: 'B' }])).toBe('a\nB');
  });

  it('refuses changes that work against each other', () => {
    expect(() =>
      applyChanges('x\n', [
        { kind: 'ensure_line', line: 'foo' },
        { kind: 'replace', pattern: '^foo$', with: 'bar' },
      ]),
    ).toThrow(/work against each other/);
  });
});

/** A small deterministic random source (mulberry32), so that a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

const WORDS = ['a', 'b', 'k=1', 'k=2', 'k="2"', '#k=3', '# BEGIN m', '# END m', 'Port 22', '#Port 22', '', ' ', 'x y'];
const EOLS = ['\n', '\r\n', ''];

describe('applyChanges, over random files and changes', () => {
  it('changes nothing when applied to its own result (or refuses)', () => {
    const { next, pick } = random(16);
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      const lineCount = Math.floor(next() * 6);
      const lines = Array.from({ length: lineCount }, () => pick(WORDS) + pick(EOLS));
      const original = next() < 0.1 ? null : lines.join('');
      const changes: EditChange[] = Array.from({ length: 1 + Math.floor(next() * 3) }, (): EditChange => {
        const kind = pick(['ensure_line', 'replace', 'block', 'set', 'content'] as const);
        switch (kind) {
          case 'ensure_line':
            return next() < 0.5 ? { kind, line: pick(WORDS) } : { kind, line: pick(WORDS), after: pick(['^a', 'Port', '^$']) };
          case 'replace':
            return { kind, pattern: pick(['^a$', '^#?Port .*', 'k', '^(x) (y)$']), with: pick(['A', 'Port 2222', '$2 $1', 'k=9']) };
          case 'block':
            return { kind, marker: 'm', text: pick(['one', 'one\ntwo\n', '']) };
          case 'set':
            return { kind, key: 'k', value: pick(['1', '2', '3']), separator: '=' };
          case 'content':
            return { kind, text: lines.join('') };
        }
      });
      let once: string;
      try {
        once = applyChanges(original, changes);
      } catch {
        refused++;
        continue;
      }
      expect(applyChanges(once, changes), JSON.stringify({ original, changes })).toBe(once);
      expect(unifiedDiff('/f', once, applyChanges(once, changes))).toBe('');
    }
    expect(refused).toBeLessThan(3000);
  });
});

describe('unifiedDiff', () => {
  it('shows hunks with three lines of context', () => {
    const before = `${Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
    const after = before.replace('line 10\n', 'line ten\n').replace('line 16\n', '');
    expect(unifiedDiff('/etc/f', before, after)).toBe(
      [
        '--- /etc/f',
        '+++ /etc/f',
        '@@ -7,13 +7,12 @@',
        ' line 7',
        ' line 8',
        ' line 9',
        '-line 10',
        '+line ten',
        ' line 11',
        ' line 12',
        ' line 13',
        ' line 14',
        ' line 15',
        '-line 16',
        ' line 17',
        ' line 18',
        ' line 19',
        '',
      ].join('\n'),
    );
    const far = before.replace('line 2\n', 'line two\n').replace('line 19\n', 'line nineteen\n');
    expect(unifiedDiff('/etc/f', before, far)).toContain('@@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n@@ -16,5 +16,5 @@\n');
  });

  it('shows a new file from /dev/null, one line without a count, and the missing final newline', () => {
    expect(unifiedDiff('/etc/hostname', null, 'dragon\n')).toBe('--- /dev/null\n+++ /etc/hostname\n@@ -0,0 +1 @@\n+dragon\n');
    expect(unifiedDiff('/etc/hostname', 'dragon-old\n', 'dragon\n')).toBe('--- /etc/hostname\n+++ /etc/hostname\n@@ -1 +1 @@\n-dragon-old\n+dragon\n');
    expect(unifiedDiff('/f', 'a\nb', 'a\nc')).toBe('--- /f\n+++ /f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n');
  });

  it('is empty when nothing changes, and shows CRLF lines without their CR', () => {
    expect(unifiedDiff('/f', 'a\n', 'a\n')).toBe('');
    expect(unifiedDiff('/f', 'a\r\n', 'a\r\nb\r\n')).toBe('--- /f\n+++ /f\n@@ -1 +1,2 @@\n a\n+b\n');
  });
});
