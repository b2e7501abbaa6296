import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinCommand } from './join-command.js';
import { UserError } from './user-error.js';

/** A port nothing listens on: one the system handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('nightshift join without a port', () => {
  let stateDir = '';
  const saved = process.env['NIGHTSHIFT_STATE_DIR'];
  beforeEach(() => {
    // No session on this machine: an empty state folder.
    stateDir = mkdtempSync(path.join(tmpdir(), 'ns-join-'));
    process.env['NIGHTSHIFT_STATE_DIR'] = stateDir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['NIGHTSHIFT_STATE_DIR'];
    else process.env['NIGHTSHIFT_STATE_DIR'] = saved;
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('says there is no session and nothing at the tunnel end, instead of a bare "Connection refused"', async () => {
    const port = await closedPort();
    const out: string[] = [];
    const joining = joinCommand({ observer: false, dryRun: false, tunnelPort: port }, { stdout: (text) => out.push(text), stderr: (text) => out.push(text) });
    const refusal = await joining.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(UserError);
    const text = (refusal as UserError).text();
    expect(text).toContain('no session on this machine has its helper channel open');
    expect(text).toContain(`nothing answers on localhost:${port}`);
    expect(text).toContain('nightshift join PORT');
    expect(out).toEqual([]);
  });

  it('joins the tunnel end when something answers there', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const out: string[] = [];
      const code = await joinCommand(
        { observer: false, dryRun: true, tunnelPort: port },
        { stdout: (text) => out.push(text), stderr: (text) => out.push(text) },
      );
      expect(code).toBe(0);
      expect(out.join('')).toBe(`ssh -p ${port} -o PubkeyAuthentication=no -o ServerAliveInterval=15 sentinel@localhost\n`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
