import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointHostKey } from './helper-channel.js';

describe("the helper endpoint's key", () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const folders = () => {
    root = mkdtempSync(path.join(tmpdir(), 'ns-helper-key-'));
    const env = { NIGHTSHIFT_STATE_DIR: path.join(root, 'state') };
    const session = (name: string) => mkdtempSync(path.join(root, `${name}-`));
    return { env, session };
  };

  it('is the same for every session through the same site tunnel, and kept by each session', () => {
    const { env, session } = folders();
    const site = { host: 'dragon', port: 2222 };
    const monday = session('monday');
    const tuesday = session('tuesday');
    const first = endpointHostKey(monday, site, env);
    expect(endpointHostKey(tuesday, site, env)).toBe(first);
    expect(endpointHostKey(monday, site, env)).toBe(first);
    expect(readFileSync(path.join(tuesday, 'helper-host-key'), 'utf8')).toBe(first);
    expect(statSync(path.join(env.NIGHTSHIFT_STATE_DIR, 'site-keys', 'dragon-2222')).mode & 0o777).toBe(0o600);
  });

  it("differs for another port or site host, and without a tunnel is the session's own", () => {
    const { env, session } = folders();
    const first = endpointHostKey(session('a'), { host: 'dragon', port: 2222 }, env);
    expect(endpointHostKey(session('b'), { host: 'dragon', port: 2223 }, env)).not.toBe(first);
    expect(endpointHostKey(session('c'), { host: 'gw/../x', port: 2222 }, env)).not.toBe(first);
    const local = endpointHostKey(session('d'), null, env);
    expect(endpointHostKey(session('e'), null, env)).not.toBe(local);
  });
});
