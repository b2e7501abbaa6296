import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbook } from '../../src/runbook/load.js';

const dir = path.resolve(import.meta.dirname, '../../runbooks');
const files = readdirSync(dir).filter((name) => name.endsWith('.yaml') && !name.endsWith('.lab.yaml'));

describe('shipped runbooks', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.each(files)('%s loads without problems', async (name) => {
    const runbook = await loadRunbook(path.join(dir, name));
    expect(runbook.phases.length).toBeGreaterThan(0);
  });
});
