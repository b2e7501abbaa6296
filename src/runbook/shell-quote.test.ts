import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from './shell-quote.js';

describe('shellQuote', () => {
  it('leaves plain words readable', () => {
    expect(shellQuote('/dev/sdb1')).toBe('/dev/sdb1');
  });

  it.each(["it's", 'a b', '$(reboot)', '`id`', 'x;rm -rf /', '', '*', 'new\nline', '"q"', '\\'])('the real shell gets %j back as one word', (value) => {
    const echoed = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
    expect(echoed).toBe(value);
  });
});
