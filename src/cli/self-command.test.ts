import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selfCommand } from './self-command.js';

describe('how nightshift is named in what it tells to type', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-self-'));
  const script = path.join(dir, 'repo dir', 'bin', 'nightshift.js');
  const node = path.join(dir, 'node');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is nightshift where that name on the PATH is this program, else its exact path, quoted', () => {
    const bin = path.join(dir, 'bin');
    const other = path.join(dir, 'other');
    for (const folder of [bin, other, path.dirname(script)]) mkdirSync(folder, { recursive: true });
    writeFileSync(script, '');
    writeFileSync(node, '');
    symlinkSync(script, path.join(bin, 'nightshift'));
    writeFileSync(path.join(other, 'nightshift'), '#!/bin/sh\n');
    expect(selfCommand({ PATH: `${bin}:/usr/bin` }, [node, script], node)).toBe('nightshift');
    // Another nightshift first on the PATH is not this one.
    expect(selfCommand({ PATH: `${other}:${bin}` }, [node, script], node)).toBe(`${node} '${script}'`);
    expect(selfCommand({ PATH: '/usr/bin' }, [node, script], node)).toBe(`${node} '${script}'`);
    // The standalone executable is its own program.
    expect(selfCommand({ PATH: '/usr/bin' }, [node, 'resume'], node)).toBe(node);
  });
});
