// The reboot step: note the boot id, issue the reboot, see the link drop, win it back, and
// check what came back: a new boot id, the host key for this phase (checked at login), the
// expected hostname, the new root (then made the default). The facts are journaled before
// the reboot is issued, and what became of it after: a retry, or a resume after nightshift
// was killed, keeps waiting for a reboot issued and not seen through; it is never issued twice.
import type { StepOutput } from '../output/step-output.js';
import { formatDuration } from '../runbook/duration.js';
import type { OneShotBoot, RebootStep } from '../runbook/types.js';
import { armScript, entryIdOf, inspectScript, makeDefaultScript, menuEntry, readInspection, ROOT_SCRIPT, type Inspection } from './one-shot-scripts.js';
import { readValues } from './preflight-checks.js';
import { orAbort, sleep } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';

const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';
/** How long a host may take to go down once told to, before we say it did not. */
const DOWN_WITHIN_MS = 120_000;

/**
 * A reboot issued and not yet seen through, as journaled before it was issued: the boot id
 * before, the one-shot entry armed for the new root. Kept until it is verified or known to
 * have failed, so that a retry (or a resume) waits for it instead of rebooting again.
 */
export interface RebootFacts {
  stepId: string;
  attempt: number;
  host: string;
  bootId: string;
  /** The one-shot GRUB entry and what was found before arming it (reboot: into:). */
  oneShot?: Inspection & { entry: string };
  /** When it was issued (ms), for the humans. */
  issuedAt: number;
  /** Whether it was seen going down. */
  wentDown: boolean;
}

export type RebootsInFlight = Map<string, RebootFacts>;

/** Journals a reboot's facts and what became of it (the run writes and fsyncs it before the call returns). */
export type RebootJournal = (type: RebootEntry, fields: Record<string, unknown>) => void;

export type RebootEntry = 'reboot.prepared' | 'reboot.down' | 'reboot.back' | 'reboot.verified' | 'reboot.abandoned';

/** The reboots a session had issued and not seen through, from its journal: a resume waits for them. */
export function rebootsInFlightOf(entries: Array<{ type: string; at?: string; [field: string]: unknown }>): RebootsInFlight {
  const inFlight: RebootsInFlight = new Map();
  for (const entry of entries) {
    const stepId = entry['stepId'];
    if (typeof stepId !== 'string' || !entry.type.startsWith('reboot.')) continue;
    if (entry.type === 'reboot.prepared') {
      inFlight.set(stepId, {
        stepId,
        attempt: Number(entry['attempt']),
        host: String(entry['host']),
        bootId: String(entry['bootId']),
        ...(entry['oneShot'] ? { oneShot: entry['oneShot'] as RebootFacts['oneShot'] & object } : {}),
        issuedAt: entry.at ? Date.parse(entry.at) : 0,
        wentDown: false,
      });
    } else if (entry.type === 'reboot.down') {
      const facts = inFlight.get(stepId);
      if (facts) facts.wentDown = true;
    } else if (entry.type === 'reboot.verified' || entry.type === 'reboot.abandoned') {
      inFlight.delete(stepId);
    }
  }
  return inFlight;
}

/** For the upgrader after a resume: what nightshift knows of a reboot it issued and did not see through. */
export function describeRebootInFlight(facts: RebootFacts): string {
  const issued = new Date(facts.issuedAt).toTimeString().slice(0, 8);
  const entry = facts.oneShot ? `; one-shot entry ${facts.oneShot.entry} for ${facts.oneShot.device}` : '';
  const down = facts.wentDown ? 'seen going down' : 'not seen going down';
  return (
    `nightshift: the reboot of ${facts.host} was issued at ${issued} and not seen through (${down}; boot id before: ${facts.bootId}${entry}). ` +
    'Retry waits for it and verifies it; done verifies it now; it is not issued again.'
  );
}

export interface RebootOptions {
  inFlight: RebootsInFlight;
  journal: RebootJournal;
  attempt: number;
  /** Only wait for and verify a reboot already issued; never issue one. */
  follow?: boolean;
  signal: AbortSignal;
}

export async function rebootHost(step: RebootStep, hosts: RemoteHosts, output: StepOutput, options: RebootOptions): Promise<void> {
  const { host } = step;
  const { inFlight, journal, signal } = options;
  let facts = inFlight.get(step.id);
  if (facts === undefined && options.follow) {
    throw new Error(
      `nightshift has no record of a reboot of ${host} issued by step ${step.number} (it stopped before issuing one): there is nothing to verify. Retry runs the step, which reboots ${host}; or skip it.`,
    );
  }
  if (facts === undefined) {
    const bootId = await readOne(hosts, host, BOOT_ID, output, signal);
    output.note(`nightshift: ${host} boot id before the reboot: ${bootId}`);
    const oneShot = step.into ? { ...(await armOneShot(step, step.into, hosts, output, signal)), entry: entryIdOf(step.id) } : undefined;
    facts = { stepId: step.id, attempt: options.attempt, host, bootId, ...(oneShot ? { oneShot } : {}), issuedAt: Date.now(), wentDown: false };
    // On disk before the reboot is issued: a resume waits for this one instead of issuing another.
    journal('reboot.prepared', { stepId: step.id, attempt: options.attempt, host, bootId, ...(oneShot ? { oneShot } : {}) });
    inFlight.set(step.id, facts);
    const dropped = hosts.whenDropped(host);
    output.note(`nightshift: rebooting ${host}: ${step.command}`);
    // The command may never answer: the link goes down under it.
    const issued = hosts
      .exec(host, step.command, {
        onStdout: (chunk) => output.write(chunk),
        onStderr: (chunk) => output.write(chunk, true),
        signal,
      })
      .then(
        (result) => result,
        () => null,
      );
    await goesDown(step, facts, dropped, issued, options);
    output.note(`nightshift: ${host} went down; waiting for it to come back (bounded by ${formatDuration(step.timeoutMs)})`);
  } else {
    const issued = new Date(facts.issuedAt).toTimeString().slice(0, 8);
    output.note(`nightshift: still waiting for ${host} to come back from the reboot issued at ${issued} (boot id before: ${facts.bootId})`);
  }

  await orAbort(hosts.regain(host), signal);
  let after = await readOne(hosts, host, BOOT_ID, output, signal);
  if (after === facts.bootId && !facts.wentDown) {
    // Issued, but nightshift stopped before it saw the host go down: it may be on its way.
    output.note(`nightshift: ${host} still runs the system it was told to reboot; waiting for it to go down`);
    await goesDown(step, facts, hosts.whenDropped(host), Promise.resolve(null), options, after);
    await orAbort(hosts.regain(host), signal);
    after = await readOne(hosts, host, BOOT_ID, output, signal);
  }
  if (after === facts.bootId) {
    throw new Error(`${host} answers again but with the same boot id ${after}: it did not reboot (a dropped link only?).`);
  }
  const hostname = await readOne(hosts, host, 'hostname', output, signal);
  journal('reboot.back', { stepId: step.id, host, bootId: after, hostname });
  output.note(`nightshift: ${host} is back: boot id ${after}, hostname ${hostname}, host key accepted for this phase`);
  const settled = (type: RebootEntry, fields: Record<string, unknown>) => {
    journal(type, { stepId: step.id, host, ...fields });
    inFlight.delete(step.id);
  };
  try {
    if (step.expectHostname !== undefined && hostname !== step.expectHostname) {
      throw new RebootVerdictError(`${host} came back as "${hostname}", not "${step.expectHostname}": another system booted.`);
    }
    let verified: Record<string, unknown> = {};
    if (facts.oneShot) verified = await verifyOneShot(step, facts.oneShot, hosts, output, signal);
    else if (step.expectRoot !== undefined) verified = await verifyRoot(step, step.expectRoot, hosts, output, signal);
    settled('reboot.verified', { bootId: after, hostname, ...verified });
  } catch (error) {
    // What came back is known and wrong: a retry reboots again, a decision made with these
    // facts. A host that could not be asked keeps the reboot in flight: a retry verifies it.
    if (error instanceof RebootVerdictError) settled('reboot.abandoned', { reason: error.message });
    throw error;
  }
}

/** Waits for the host to go down after being told to; a host that stays up ends the reboot (a retry issues it again). */
async function goesDown(
  step: RebootStep,
  facts: RebootFacts,
  dropped: Promise<void>,
  issued: Promise<{ exitCode: number | null; signal?: string } | null>,
  options: RebootOptions,
  /** The boot id it was found with again, when nightshift came back to a reboot it had issued. */
  foundWith?: string,
): Promise<void> {
  const { host } = step;
  const downWithin = Math.max(0, Math.min(DOWN_WITHIN_MS, step.timeoutMs) - (Date.now() - facts.issuedAt));
  const outcome = await orAbort(
    Promise.race([dropped.then(() => 'down' as const), sleep(downWithin, options.signal).then(() => 'still up' as const)]),
    options.signal,
  );
  if (outcome === 'still up') {
    const result = await issued;
    const how = result && result.exitCode !== 0 ? ` (the reboot command exited with ${result.exitCode ?? result.signal})` : '';
    const still = foundWith ? `; it still runs with the same boot id ${foundWith}` : '';
    const reason = `${host} did not go down within ${formatDuration(Math.min(DOWN_WITHIN_MS, step.timeoutMs))} of being told to reboot${how}${still}.`;
    options.journal('reboot.abandoned', { stepId: step.id, host, reason });
    options.inFlight.delete(step.id);
    throw new Error(reason);
  }
  facts.wentDown = true;
  options.journal('reboot.down', { stepId: step.id, host });
}

async function armOneShot(step: RebootStep, into: OneShotBoot, hosts: RemoteHosts, output: StepOutput, signal: AbortSignal): Promise<Inspection> {
  const { host } = step;
  const inspection = readInspection(await readAll(hosts, host, inspectScript(into), output, signal), into);
  output.note(
    `nightshift: ${host} runs on root ${inspection.runningRootUuid}; the new root is ${inspection.device} (UUID ${inspection.uuid}); GRUB can write its environment block`,
  );
  const entry = entryIdOf(step.id);
  const text = menuEntry(entry, into, inspection);
  await readAll(hosts, host, armScript(entry, text), output, signal);
  output.note(
    `nightshift: the next boot only starts ${entry} (grub-reboot); a panic reboots after ${into.panicSeconds}s and a power-cycle brings the old root back:`,
  );
  for (const line of text.split('\n')) output.note(`  ${line}`);
  return inspection;
}

/** What came back is not what the reboot was for: known and wrong, unlike a host that cannot be asked. */
class RebootVerdictError extends Error {
  override readonly name = 'RebootVerdictError';
}

/** Checks that the new root runs, then makes its entry the default; the facts verified, for the journal. */
async function verifyOneShot(
  step: RebootStep,
  inspection: Inspection,
  hosts: RemoteHosts,
  output: StepOutput,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const { host } = step;
  const root = readValues(await readAll(hosts, host, ROOT_SCRIPT, output, signal));
  if (root.get('uuid') === inspection.runningRootUuid) {
    throw new RebootVerdictError(
      `${host} came back on its old root (${root.get('device')}), not on ${inspection.device}: the new root did not boot (it panicked, or the machine was power-cycled). The old root stays the default.`,
    );
  }
  if (root.get('uuid') !== inspection.uuid) {
    throw new RebootVerdictError(`${host} came back on ${root.get('device')} (UUID ${root.get('uuid')}), neither the new root nor the old one.`);
  }
  output.note(`nightshift: ${host} runs on the new root ${root.get('device')} (UUID ${inspection.uuid})`);
  await readAll(hosts, host, makeDefaultScript(entryIdOf(step.id), inspection), output, signal);
  output.note(`nightshift: ${entryIdOf(step.id)} is now ${host}'s default boot entry`);
  return { root: root.get('device'), uuid: inspection.uuid, defaultEntry: entryIdOf(step.id) };
}

async function verifyRoot(step: RebootStep, expected: string, hosts: RemoteHosts, output: StepOutput, signal: AbortSignal): Promise<Record<string, unknown>> {
  const root = readValues(await readAll(hosts, step.host, ROOT_SCRIPT, output, signal));
  const matches = expected.startsWith('UUID=') ? root.get('uuid') === expected.slice(5) : root.get('device') === expected;
  if (!matches) throw new RebootVerdictError(`${step.host} came back on ${root.get('device')} (UUID ${root.get('uuid')}), not on ${expected}.`);
  output.note(`nightshift: ${step.host} runs on ${root.get('device')} as expected`);
  return { root: root.get('device'), uuid: root.get('uuid') };
}

/** What a command prints on the host; its errors go to the step's output, a failure throws. */
async function readAll(hosts: RemoteHosts, host: string, command: string, output: StepOutput, signal: AbortSignal): Promise<string> {
  let text = '';
  const result = await hosts.exec(host, command, {
    onStdout: (chunk) => (text += chunk.toString('utf8')),
    onStderr: (chunk) => output.write(chunk, true),
    signal,
  });
  if (result.exitCode !== 0) {
    const what = command.includes('\n') ? 'a script' : `\`${command}\``;
    throw new Error(`${what} failed on ${host} (exit ${result.exitCode ?? result.signal}); its errors are above.`);
  }
  return text;
}

async function readOne(hosts: RemoteHosts, host: string, command: string, output: StepOutput, signal: AbortSignal): Promise<string> {
  return (await readAll(hosts, host, command, output, signal)).trim();
}
