import { describe, expect, it } from 'vitest';
import { generateLabKeyPair, parsePublicKey } from './keys.js';
import { ssh2 } from '../remote/ssh2.js';

describe('generateLabKeyPair', () => {
  it('only hands out keys that parse back (ssh2 spoils about 1 in 256)', () => {
    for (let i = 0; i < 1500; i++) {
      const pair = generateLabKeyPair('lab');
      expect(ssh2().utils.parseKey(pair.privateKey)).not.toBeInstanceOf(Error);
      expect(parsePublicKey(pair.publicKey).type).toBe('ssh-ed25519');
    }
  });
});
