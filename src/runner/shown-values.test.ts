import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { showCapturedValues } from './shown-values.js';

const source = `name: t
hosts:
  new: {}
phases:
  - name: one
    steps:
      - run: blkid
        host: new
        capture: uuid
      - run: mount UUID={{uuid}} /mnt
        host: new
        title: mount {{uuid}}
      - checkpoint: 'check that {{uuid}} is mounted'
`;

describe('showCapturedValues', () => {
  it('shows titles and texts with the values captured so far, from their templates each time', () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    const [, mount, check] = runbook.phases[0]!.steps;
    showCapturedValues(runbook, {});
    expect(mount!.title).toBe('mount {{uuid}}');
    showCapturedValues(runbook, { uuid: '4f1c' });
    expect(mount!.title).toBe('mount 4f1c');
    expect(check!.kind === 'checkpoint' && check!.text).toBe('check that 4f1c is mounted');
    showCapturedValues(runbook, { uuid: '77aa' });
    expect(mount!.title).toBe('mount 77aa');
    expect(mount!.kind === 'run' && mount!.command).toBe('mount UUID={{uuid}} /mnt');
  });

  it('shows a value’s hidden characters as visible text', () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    showCapturedValues(runbook, { uuid: 'a\u001b[2Jb' });
    expect(runbook.phases[0]!.steps[1]!.title).toBe('mount a^[[2Jb');
  });
});
