import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runbookJsonSchema } from './schema.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('the published JSON Schema', () => {
  it('is the one generated from the zod schema (run npm run schema after changing it)', () => {
    const published = JSON.parse(readFileSync(path.join(root, 'schema/runbook.schema.json'), 'utf8'));
    expect(published).toEqual(runbookJsonSchema());
  });

  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(runbookJsonSchema());
  const runbooks = readdirSync(path.join(root, 'runbooks')).filter((name) => name.endsWith('.yaml') && !name.endsWith('.lab.yaml'));

  it.each(runbooks)('accepts the shipped %s', (name) => {
    const ok = validate(parse(readFileSync(path.join(root, 'runbooks', name), 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects an unknown key, as the loader does', () => {
    const runbook = { name: 'x', phases: [{ name: 'a', steps: [{ run: 'true', host: 'h', hots: 'h' }] }] };
    expect(validate(runbook)).toBe(false);
  });
});
