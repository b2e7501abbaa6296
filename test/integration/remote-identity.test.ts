// Host keys declared in the runbook, each in a window of phases, against the real sshd: the
// machine's key changes (a restore, an identity swap) and the run's phase decides which key
// is accepted. known_hosts plays no part for such a host.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HostKeyNotDeclaredError } from '../../src/remote/errors.js';
import type { HostKeyExpectation } from '../../src/runbook/types.js';
import { describeWithSshd, type Sshd } from '../support/sshd.js';
import { describeKeyPair, generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { poolFor, run, scriptedInteraction, type ScriptedInteraction } from '../support/ssh-pool.js';
import { withSshd } from '../support/with-sshd.js';

const PHASES = ['partition', 'restore', 'bootloader', 'cutover'];

/** A pool whose only host declares `hostKeys`; the human would accept any unknown key, so asking at all shows. */
function declaredPool(sshd: Sshd, home: string, hostKeys: HostKeyExpectation[]) {
  const interaction = scriptedInteraction({ acceptHostKey: true });
  const pool = poolFor(sshd, { home, interaction, phaseOrder: PHASES, spec: { hostKeys } });
  return { pool, interaction };
}

function declared(key: KeyPair, window: { from?: string; until?: string } = {}): HostKeyExpectation {
  return { key: key.publicKey, fingerprint: key.fingerprint, ...window };
}

async function refusal(promise: Promise<unknown>): Promise<HostKeyNotDeclaredError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HostKeyNotDeclaredError);
  return error as HostKeyNotDeclaredError;
}

describeWithSshd('host keys declared in the runbook, by phase', () => {
  const host = withSshd({}, { home: 'test' });
  let oldKey: KeyPair;
  let newKey: KeyPair;
  let stranger: KeyPair;
  let knownHosts: string;

  beforeAll(async () => {
    // A copy: the harness overwrites the host key files when the key is replaced.
    const original = host.sshd.hostKey();
    const copy = path.join(host.sshd.dir, 'original_host_key');
    copyFileSync(original.privateKeyFile, copy);
    copyFileSync(original.publicKeyFile, `${copy}.pub`);
    oldKey = await describeKeyPair(copy, 'ed25519');
    newKey = await generateKeyPair(host.sshd.dir, 'restored_system_host_key', { comment: 'host-restored' });
    stranger = await generateKeyPair(host.sshd.dir, 'stranger_host_key');
  });
  beforeEach(() => {
    knownHosts = path.join(host.home, '.ssh', 'known_hosts');
  });

  function expectNoQuestionsNorKnownHosts(interaction: ScriptedInteraction): void {
    expect(interaction.hostKeyQuestions).toEqual([]);
    expect(existsSync(knownHosts)).toBe(false);
  }

  describe('before the machine is restored', () => {
    test('a declared key logs in without known_hosts and without asking; nothing is recorded', async () => {
      const { pool, interaction } = declaredPool(host.sshd, host.home, [declared(oldKey, { until: 'restore' }), declared(newKey, { from: 'bootloader' })]);
      pool.setPhase('partition');
      expect((await run(pool, 'echo old system')).stdout).toBe('old system\n');
      await pool.close();
      expectNoQuestionsNorKnownHosts(interaction);
    });

    test('known_hosts is not consulted: a different key recorded there does not matter', async () => {
      mkdirSync(path.dirname(knownHosts), { recursive: true });
      writeFileSync(knownHosts, `[127.0.0.1]:${host.sshd.port} ${stranger.publicKey}\n`);
      const { pool, interaction } = declaredPool(host.sshd, host.home, [declared(oldKey)]);
      pool.setPhase('restore');
      await pool.connect('dragon');
      await pool.close();
      expect(interaction.hostKeyQuestions).toEqual([]);
      expect(readFileSync(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${host.sshd.port} ${stranger.publicKey}\n`);
    });

    test('a key declared by its fingerprint only is accepted', async () => {
      const { pool, interaction } = declaredPool(host.sshd, host.home, [{ fingerprint: oldKey.fingerprint, from: 'partition', until: 'cutover' }]);
      pool.setPhase('bootloader');
      expect((await run(pool, 'echo by fingerprint')).stdout).toBe('by fingerprint\n');
      await pool.close();
      expectNoQuestionsNorKnownHosts(interaction);
    });

    test('the machine presenting a key declared for a later phase is refused before anything runs', async () => {
      const marker = path.join(host.sshd.dir, `too-early-${Date.now()}`);
      const { pool, interaction } = declaredPool(host.sshd, host.home, [declared(stranger, { until: 'restore' }), declared(oldKey, { from: 'bootloader' })]);
      pool.setPhase('partition');
      const error = await refusal(run(pool, `touch ${marker}`));
      expect(error.message).toContain('This key is declared from phase bootloader on; the run is in phase partition.');
      expect(pool.state('dragon')).toMatchObject({ state: 'failed', error: error.message });
      await pool.close();
      expect(existsSync(marker)).toBe(false);
      expectNoQuestionsNorKnownHosts(interaction);
    });

    test('a key declared nowhere is refused in every phase and in the fallback', async () => {
      const { pool, interaction } = declaredPool(host.sshd, host.home, [
        declared(stranger, { until: 'restore' }),
        { fingerprint: newKey.fingerprint, from: 'bootloader' },
      ]);
      for (const phase of [...PHASES, null]) {
        pool.setPhase(phase);
        const error = await refusal(pool.connect('dragon'));
        expect(error.received.fingerprint).toBe(oldKey.fingerprint);
        expect(error.phase).toBe(phase);
        expect(error.message).toContain(`the server sent ${oldKey.fingerprint} (ssh-ed25519)`);
        if (phase !== null) expect(error.message).toContain('This key is declared for no phase.');
      }
      await pool.close();
      expectNoQuestionsNorKnownHosts(interaction);
    });
  });

  // Last in this suite: the machine's key changes for good.
  describe('the machine comes back with a new key', () => {
    test('refused in a phase where only the old key is declared; accepted once the run is in a phase declaring the new one', async () => {
      const { pool, interaction } = declaredPool(host.sshd, host.home, [declared(oldKey, { until: 'restore' }), declared(newKey, { from: 'bootloader' })]);
      pool.setPhase('partition');
      expect((await run(pool, 'echo before')).stdout).toBe('before\n');

      await host.sshd.replaceHostKey(newKey);
      await pool.disconnect('dragon');
      pool.setPhase('restore');
      const error = await refusal(pool.connect('dragon'));
      expect(error.message).toBe(
        `The host key of dragon (127.0.0.1:${host.sshd.port}) is not one the runbook declares for phase restore: ` +
          `the server sent ${newKey.fingerprint} (ssh-ed25519); declared for phase restore: ${oldKey.fingerprint}. ` +
          'This key is declared from phase bootloader on; the run is in phase restore. Refusing to connect. ' +
          'Check which system the machine is running, or the phases given in host_keys for dragon in the runbook.',
      );
      expect(pool.state('dragon')).toMatchObject({ state: 'failed' });

      pool.setPhase('bootloader');
      expect((await run(pool, 'echo after')).stdout).toBe('after\n');
      expect(pool.state('dragon').state).toBe('connected');
      await pool.close();
      expectNoQuestionsNorKnownHosts(interaction);
    });

    test('in the fallback every declared key is accepted, whatever state the machine is in', async () => {
      const { pool, interaction } = declaredPool(host.sshd, host.home, [declared(oldKey, { until: 'restore' }), declared(newKey, { from: 'bootloader' })]);
      pool.setPhase(null);
      expect((await run(pool, 'echo swing back')).stdout).toBe('swing back\n');
      await pool.close();

      // The old key in the fallback too (only fingerprints this time).
      await host.sshd.replaceHostKey(oldKey);
      const again = declaredPool(host.sshd, host.home, [
        { fingerprint: oldKey.fingerprint, until: 'restore' },
        { fingerprint: newKey.fingerprint, from: 'bootloader' },
      ]);
      again.pool.setPhase(null);
      await again.pool.connect('dragon');
      again.pool.setPhase('cutover');
      await again.pool.disconnect('dragon');
      await refusal(again.pool.connect('dragon'));
      await again.pool.close();
      expectNoQuestionsNorKnownHosts(interaction);
      expectNoQuestionsNorKnownHosts(again.interaction);
    });
  });
});

describeWithSshd('declared keys and the host key algorithm, against an sshd with ed25519 and ecdsa keys', () => {
  const host = withSshd({ hostKeyTypes: ['ed25519', 'ecdsa'] }, { home: 'test' });

  test('with only the ecdsa key declared for the phase, the server is asked for ecdsa first', async () => {
    const ecdsa = host.sshd.hostKey('ecdsa');
    const { pool } = declaredPool(host.sshd, host.home, [declared(host.sshd.hostKey('ed25519'), { until: 'partition' }), declared(ecdsa, { from: 'restore' })]);
    pool.setPhase('cutover');
    await pool.connect('dragon');
    await pool.close();
  });

  test("a key declared by fingerprint only keeps ssh2's order: the server sends ed25519, and the refusal says why", async () => {
    const { pool } = declaredPool(host.sshd, host.home, [{ fingerprint: host.sshd.hostKey('ecdsa').fingerprint }]);
    pool.setPhase('restore');
    const error = await refusal(pool.connect('dragon'));
    await pool.close();
    expect(error.received.keyType).toBe('ssh-ed25519');
    expect(error.message).toContain('declared by fingerprint only, so the server could not be asked for their type');
  });
});

describeWithSshd('hosts without declared keys', () => {
  const host = withSshd({}, { home: 'test' });

  test('still ask about an unknown key and record it in known_hosts, whatever the phase', async () => {
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const pool = poolFor(host.sshd, { home: host.home, interaction, phaseOrder: PHASES });
    pool.setPhase('restore');
    await pool.connect('dragon');
    await pool.close();
    expect(interaction.hostKeyQuestions.map((question) => question.fingerprint)).toEqual([host.sshd.hostKey().fingerprint]);
    expect(readFileSync(path.join(host.home, '.ssh', 'known_hosts'), 'utf8')).toBe(`${host.sshd.knownHostsLine()}\n`);
  });
});
