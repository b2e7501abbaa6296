import { describe, expect, it } from 'vitest';
import { referenceSites } from './shell-context.js';

describe('referenceSites', () => {
  it('scans a command once: the same text gives back the same sites', () => {
    const command = 'cp "{{ from }}" {{to}}';
    const first = referenceSites(command);
    expect(first).toEqual([
      { index: 4, length: 10, name: 'from', quoting: 'double' },
      { index: 16, length: 6, name: 'to', quoting: 'word' },
    ]);
    expect(referenceSites(`${command}`)).toBe(first);
    expect(referenceSites('cp {{from}} `{{to}}`')).not.toBe(first);
  });

  it('gives sites no caller can change for the next one', () => {
    const sites = referenceSites("echo '{{ name }}'");
    expect(Object.isFrozen(sites)).toBe(true);
    expect(() => (sites as unknown as unknown[]).push({})).toThrow(TypeError);
    expect(referenceSites("echo '{{ name }}'")).toEqual([{ index: 6, length: 10, name: 'name', quoting: 'single' }]);
  });
});
