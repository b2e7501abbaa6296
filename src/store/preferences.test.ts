import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPreferences, updatePreferences } from './preferences.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

describe('preferences', () => {
  it('reads the defaults from a missing or damaged file, and a change replaces the damaged file whole', () => {
    const dir = path.join(scratch('ns-prefs-unit-'), 'not-yet');
    const env = { NIGHTSHIFT_CONFIG_DIR: dir };
    expect(readPreferences(env)).toEqual({ theme: 'color', bell: true });
    updatePreferences((current) => ({ ...current, siteTimeZone: 'Asia/Taipei' }), env);
    writeFileSync(path.join(dir, 'preferences.json'), '{"theme": "monochrome", "siteTimeZone": 7');
    expect(readPreferences(env)).toEqual({ theme: 'color', bell: true });
    updatePreferences((current) => ({ ...current, theme: 'monochrome' }), env);
    expect(JSON.parse(readFileSync(path.join(dir, 'preferences.json'), 'utf8'))).toEqual({ theme: 'monochrome', bell: true });
    expect(readdirSync(dir)).toEqual(['preferences.json']);
  });

  it('keeps only values of the right kind from a file edited by hand', () => {
    const dir = scratch('ns-prefs-unit-');
    writeFileSync(path.join(dir, 'preferences.json'), JSON.stringify({ theme: 'neon', siteTimeZone: ['Asia/Taipei'], bell: 'loud', extra: 1 }));
    expect(readPreferences({ NIGHTSHIFT_CONFIG_DIR: dir })).toEqual({ theme: 'color', bell: true });
  });
});
