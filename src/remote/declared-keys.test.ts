import { describe, expect, test } from 'vitest';
import type { HostKeyExpectation } from '../runbook/types.js';
import { acceptedNow, declaredKeyAlgorithms, declaredKeysPolicy, describeWindow, windowContains, type RunPhase } from './declared-keys.js';
import { HostKeyNotDeclaredError } from './errors.js';
import { hostKeyAlgorithms, type HostKeyCheckTarget } from './host-key-check.js';
import { fingerprint } from './known-hosts.js';

const OLD = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMMwQvAXBm81mHh0T0nVgNg8QfoAmhnAnFgBHnyuGBfo';
const NEW =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEI4NvrQz0h3SdicrjxtgRloSotSw+TCU8VTi6948nhdmThPqOooBjc9DlIM5XlT+fOth4stxktaNIjIf+aApzU=';
const STRANGER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ8c484Ai/yMqXZ2kNuBQOofTdf2k2GiF8Ik3CPT/0vZ';
const blob = (line: string) => Buffer.from(line.split(' ')[1] ?? '', 'base64');
const print = (line: string) => fingerprint(blob(line));

const ORDER = ['partition', 'restore', 'bootloader', 'cutover'];
const at = (phase: string | null): RunPhase => ({ phase, order: ORDER });
const target: HostKeyCheckTarget = { host: 'dragon', address: '192.0.2.7', port: 22, removeCommand: () => 'unused' };

/** The old machine's key until the restore, the restored system's from the boot loader on. */
const swap: HostKeyExpectation[] = [
  { key: OLD, fingerprint: print(OLD), until: 'restore' },
  { key: NEW, fingerprint: print(NEW), from: 'bootloader' },
];

describe('windows of phases', () => {
  test('bounds are inclusive; absent bounds are open', () => {
    const window = { fingerprint: 'x', from: 'restore', until: 'bootloader' };
    expect(ORDER.map((phase) => windowContains(window, at(phase)))).toEqual([false, true, true, false]);
    expect(ORDER.map((phase) => windowContains({ fingerprint: 'x', until: 'restore' }, at(phase)))).toEqual([true, true, false, false]);
    expect(ORDER.map((phase) => windowContains({ fingerprint: 'x', from: 'bootloader' }, at(phase)))).toEqual([false, false, true, true]);
  });

  test('the fallback (null) is inside every window', () => {
    expect(acceptedNow(swap, at(null))).toEqual(swap);
  });

  test('a phase outside the known order is inside unbounded windows only', () => {
    expect(windowContains({ fingerprint: 'x' }, at('elsewhere'))).toBe(true);
    expect(windowContains({ fingerprint: 'x', until: 'cutover' }, at('elsewhere'))).toBe(false);
  });

  test('windows are described as the refusal says them', () => {
    expect(describeWindow({ fingerprint: 'x', from: 'bootloader' })).toBe('from phase bootloader on');
    expect(describeWindow({ fingerprint: 'x', until: 'restore' })).toBe('until phase restore');
    expect(describeWindow({ fingerprint: 'x', from: 'restore', until: 'cutover' })).toBe('from phase restore until phase cutover');
    expect(describeWindow({ fingerprint: 'x', from: 'restore', until: 'restore' })).toBe('for phase restore only');
  });
});

describe('declaredKeysPolicy', () => {
  test('only the keys of the current phase are known', () => {
    expect(declaredKeysPolicy(target, swap, at('partition')).check(blob(OLD))).toEqual({ kind: 'known' });
    expect(declaredKeysPolicy(target, swap, at('cutover')).check(blob(NEW))).toEqual({ kind: 'known' });
  });

  test('a key declared for another phase is refused, saying when it is declared', () => {
    const verdict = declaredKeysPolicy(target, swap, at('partition')).check(blob(NEW));
    expect(verdict.kind).toBe('refused');
    const error = (verdict as { error: Error }).error;
    expect(error).toBeInstanceOf(HostKeyNotDeclaredError);
    expect(error.message).toBe(
      `The host key of dragon (192.0.2.7:22) is not one the runbook declares for phase partition: ` +
        `the server sent ${print(NEW)} (ecdsa-sha2-nistp256); declared for phase partition: ${print(OLD)}. ` +
        'This key is declared from phase bootloader on; the run is in phase partition. Refusing to connect. ' +
        'Check which system the machine is running, or the phases given in host_keys for dragon in the runbook.',
    );
  });

  test('a key declared nowhere is refused in every phase and in the fallback', () => {
    for (const phase of [...ORDER, null]) {
      const verdict = declaredKeysPolicy(target, swap, at(phase)).check(blob(STRANGER));
      expect((verdict as { error: Error }).error).toBeInstanceOf(HostKeyNotDeclaredError);
    }
    const fallback = declaredKeysPolicy(target, swap, at(null)).check(blob(STRANGER));
    expect((fallback as { error: Error }).error.message).toBe(
      `The host key of dragon (192.0.2.7:22) is not one the runbook declares for it: the server sent ${print(STRANGER)} (ssh-ed25519); ` +
        `in the fallback any declared key is accepted: ${print(OLD)}, ${print(NEW)}. Refusing to connect. ` +
        'If the machine really has this key now, check its fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) ' +
        'and add it to host_keys for dragon in the runbook.',
    );
  });

  test('a key declared by fingerprint only is matched by fingerprint', () => {
    const policy = declaredKeysPolicy(target, [{ fingerprint: print(NEW) }], at('restore'));
    expect(policy.check(blob(NEW))).toEqual({ kind: 'known' });
    const refused = policy.check(blob(OLD));
    expect((refused as { error: Error }).error.message).toContain('This key is declared for no phase.');
    expect((refused as { error: Error }).error.message).toContain('declared by fingerprint only');
  });

  test('a phase with no declared key refuses everything, saying none', () => {
    const gap: HostKeyExpectation[] = [{ key: OLD, fingerprint: print(OLD), until: 'partition' }];
    const verdict = declaredKeysPolicy(target, gap, at('restore')).check(blob(OLD));
    expect((verdict as { error: Error }).error.message).toContain(
      'declared for phase restore: none. This key is declared until phase partition; the run is in phase restore.',
    );
  });
});

describe('declaredKeyAlgorithms', () => {
  test('the types of the keys accepted now come first', () => {
    expect(declaredKeysPolicy(target, swap, at('cutover')).algorithms[0]).toBe('ecdsa-sha2-nistp256');
    expect(declaredKeysPolicy(target, swap, at('partition')).algorithms[0]).toBe('ssh-ed25519');
    expect(declaredKeysPolicy(target, swap, at(null)).algorithms.slice(0, 2)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
  });

  test("a key given by fingerprint only keeps ssh2's default order", () => {
    expect(declaredKeyAlgorithms([{ key: NEW, fingerprint: print(NEW) }, { fingerprint: print(OLD) }])).toEqual(hostKeyAlgorithms([]));
  });
});
