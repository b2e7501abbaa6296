import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbook } from '../../src/runbook/load.js';
import { formatPlan, planOf } from '../../src/runbook/plan.js';

const dir = path.resolve(import.meta.dirname, '../../runbooks');
const expectedDir = path.resolve(import.meta.dirname, 'expected-plans');
const files = readdirSync(dir).filter((name) => name.endsWith('.yaml') && !name.endsWith('.lab.yaml'));
/** NIGHTSHIFT_UPDATE_PLANS=1 writes the expected plans anew: review their diff before committing it. */
const updating = process.env['NIGHTSHIFT_UPDATE_PLANS'] === '1';

/** The checklist `nightshift plan` prints, with the hash left out: a comment changed in a runbook changes no step. */
async function planText(name: string): Promise<string> {
  const runbook = await loadRunbook(path.join(dir, name), { localTimeZone: 'UTC', siteTimeZone: 'UTC' });
  return formatPlan(planOf(runbook), `runbooks/${name}`).replace(/\(sha256 [0-9a-f]+\)/, '(sha256 …)');
}

describe('shipped runbooks', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s plans exactly the steps committed in test/unit/expected-plans', async (name) => {
    const plan = await planText(name);
    const expectedFile = path.join(expectedDir, name.replace(/\.yaml$/, '.plan.txt'));
    if (updating) {
      mkdirSync(expectedDir, { recursive: true });
      writeFileSync(expectedFile, plan);
    }
    expect(existsSync(expectedFile), `no expected plan for ${name}: run NIGHTSHIFT_UPDATE_PLANS=1 npx vitest run test/unit/shipped-runbooks.test.ts`).toBe(
      true,
    );
    expect(plan).toBe(readFileSync(expectedFile, 'utf8'));
  });

  it('have no expected plan left for a runbook that is gone', () => {
    const planned = readdirSync(expectedDir).map((name) => name.replace(/\.plan\.txt$/, '.yaml'));
    expect(planned.filter((name) => !files.includes(name))).toEqual([]);
  });
});
