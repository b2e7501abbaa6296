import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { actingLine, destructiveSummary, pausedStepText } from './steps.js';

// As the demo's runbook has it: a copy of the table first, then the line that writes it.
const DEMO = [
  'set -e',
  '# Keep the table as it was, once, for the record: disk0.img',
  'before=disk0.img.before.sfdisk',
  '[ -e "$before" ] || { sfdisk --dump disk0.img > "$before.tmp" && mv "$before.tmp" "$before"; }',
  '# The layout lists the whole table.',
  'sfdisk --no-reread --no-tell-kernel disk0.img < restore/layout.sfdisk',
].join('\n');

describe('the line a destructive command acts on its target with', () => {
  it('is the last that names the target as a word of its own, not an assignment that only contains it, nor a comment', () => {
    expect(actingLine(DEMO, 'disk0.img')).toEqual({ line: 'sfdisk --no-reread --no-tell-kernel disk0.img < restore/layout.sfdisk', index: 5, of: 6 });
    expect(destructiveSummary(DEMO, 'disk0.img')).toBe('sfdisk --no-reread --no-tell-kernel disk0.img < restore/layout.sfdisk   (line 6 of 6)');
  });

  it('takes a dd of= argument as naming it, and an assignment of the target itself before a longer word', () => {
    expect(actingLine('echo start\ndd if=/srv/root.img of=/dev/vda2 bs=4M\n', '/dev/vda2')?.index).toBe(1);
    expect(actingLine('target=/dev/vda2\nmkfs.ext4 "$target".bak', '/dev/vda2')).toEqual({ line: 'target=/dev/vda2', index: 0, of: 2 });
    expect(actingLine('wipefs /dev/vda22', '/dev/vda2')).toEqual({ line: 'wipefs /dev/vda22', index: 0, of: 1 });
  });

  it('falls back to the summary when no line names the target', () => {
    expect(actingLine('# /dev/vda2\nmkswap "$SWAP"', '/dev/vda2')).toBeUndefined();
    expect(destructiveSummary('set -e\nmkswap "$SWAP"\nswapon -a', '/dev/vda2')).toBe('mkswap "$SWAP" …');
    expect(destructiveSummary('mkswap /dev/vda2', '/dev/vda2')).toBe('mkswap /dev/vda2');
  });
});

describe('a step under way at a pause', () => {
  it('goes on on its host when detached, was stopped when local, and may have ended otherwise', () => {
    const runbook = parseRunbook(
      'name: t\nhosts:\n  dolphin: {}\nphases:\n  - name: one\n    steps:\n      - run: sleep 60\n        host: dolphin\n        title: restore\n      - local: sleep 60\n        title: copy\n      - run: sleep 60\n        host: dolphin\n        attach: false\n        title: look\n',
      't.yaml',
    );
    const [detached, local, attached] = allSteps(runbook);
    expect(pausedStepText(detached!)).toBe('1.1 restore goes on on dolphin; resume follows it again');
    expect(pausedStepText(local!)).toBe('1.2 copy was stopped (TERM to what it started); resume asks whether it had finished');
    expect(pausedStepText(attached!)).toBe('1.3 look was under way on dolphin; resume asks how it ended');
  });
});
