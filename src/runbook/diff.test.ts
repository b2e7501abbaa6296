import { describe, expect, it } from 'vitest';
import { diffRunbooks, formatRunbookDiff } from './diff.js';
import { parseRunbook } from './load.js';

const runbook = (steps: string) =>
  parseRunbook(`name: t\nhosts:\n  dragon: { address: 127.0.0.1 }\nphases:\n  - name: restore\n    steps:\n${steps}`, 'rb.yaml');

const before = runbook(
  [
    '      - run: tar xf usr.tar',
    '        host: dragon',
    '        id: usr',
    '      - run: tar xf var.tar',
    '        host: dragon',
    '        id: var',
    '      - checkpoint: the restore looks right',
    '        id: look',
    '',
  ].join('\n'),
);

describe('diffRunbooks', () => {
  it('finds no change between a runbook and itself', () => {
    expect(diffRunbooks(before, before)).toEqual([]);
    expect(formatRunbookDiff([])).toMatch(/no step changed/);
  });

  it('names added, removed and changed steps by id, with the fields that changed', () => {
    const after = runbook(
      [
        '      - run: tar xf usr.tar',
        '        host: dragon',
        '        id: usr',
        '      - run: tar xpf var.tar',
        '        host: dragon',
        '        id: var',
        '        timeout: 10m',
        '      - run: sync',
        '        host: dragon',
        '        id: sync',
        '',
      ].join('\n'),
    );
    const changes = diffRunbooks(before, after);
    expect(changes).toEqual([
      { change: 'changed', id: 'var', label: '1.2 tar xpf var.tar', fields: expect.arrayContaining(['command', 'title', 'timeoutMs']) },
      { change: 'added', id: 'sync', label: '1.3 sync' },
      { change: 'removed', id: 'look', label: '1.3 the restore looks right' },
    ]);
    expect(changes[0]!.fields).toHaveLength(3);
    const text = formatRunbookDiff(changes).split('\n');
    expect(text[0]).toMatch(/^ {2}~ 1\.2 tar xpf var\.tar \(var\): .*command.* changed$/);
    expect(text.slice(1)).toEqual(['  + 1.3 sync (sync) added', '  - 1.3 the restore looks right (look) removed']);
  });

  it('does not count a step that only moved (its number) as changed', () => {
    const moved = runbook(
      [
        '      - run: tar xf var.tar',
        '        host: dragon',
        '        id: var',
        '      - run: tar xf usr.tar',
        '        host: dragon',
        '        id: usr',
        '      - checkpoint: the restore looks right',
        '        id: look',
        '',
      ].join('\n'),
    );
    expect(diffRunbooks(before, moved)).toEqual([]);
  });
});
