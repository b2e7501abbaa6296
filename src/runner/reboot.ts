// The reboot step: note the boot id, issue the reboot, see the link drop, win it back, and
// check what came back: a new boot id, the host key for this phase (checked at login), and
// the expected hostname. Retrying after a timeout keeps waiting: the reboot is not issued
// twice.
import type { StepOutput } from '../output/step-output.js';
import { formatDuration } from '../runbook/duration.js';
import type { OneShotBoot, RebootStep } from '../runbook/types.js';
import {
  armScript,
  entryIdOf,
  inspectScript,
  makeDefaultScript,
  menuEntry,
  readInspection,
  ROOT_SCRIPT,
  type Inspection,
} from './one-shot-scripts.js';
import { readValues } from './preflight-checks.js';
import { orAbort, sleep } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';

const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';
/** How long a host may take to go down once told to, before we say it did not. */
const DOWN_WITHIN_MS = 120_000;

/** Reboots issued but not yet seen through (a retry keeps waiting for them): the boot id before, the one-shot entry. */
export type RebootsInFlight = Map<string, { bootId: string; oneShot?: Inspection }>;

export async function rebootHost(
  step: RebootStep,
  hosts: RemoteHosts,
  output: StepOutput,
  inFlight: RebootsInFlight,
  signal: AbortSignal,
): Promise<void> {
  const { host } = step;
  let before = inFlight.get(step.id);
  if (before === undefined) {
    before = { bootId: await readOne(hosts, host, BOOT_ID, output, signal) };
    output.note(`nightshift: ${host} boot id before the reboot: ${before.bootId}`);
    if (step.into) before.oneShot = await armOneShot(step, step.into, hosts, output, signal);
    inFlight.set(step.id, before);
    const dropped = hosts.whenDropped(host);
    output.note(`nightshift: rebooting ${host}: ${step.command}`);
    // The command may never answer: the link goes down under it.
    const issued = hosts
      .exec(host, step.command, {
        onStdout: (chunk) => output.write(chunk),
        onStderr: (chunk) => output.write(chunk, true),
        signal,
      })
      .then((result) => result, () => null);
    const downWithin = Math.min(DOWN_WITHIN_MS, step.timeoutMs);
    const outcome = await orAbort(
      Promise.race([dropped.then(() => 'down' as const), sleep(downWithin, signal).then(() => 'still up' as const)]),
      signal,
    );
    if (outcome === 'still up') {
      const result = await issued;
      inFlight.delete(step.id);
      const how = result && result.exitCode !== 0 ? ` (the reboot command exited with ${result.exitCode ?? result.signal})` : '';
      throw new Error(`${host} did not go down within ${formatDuration(downWithin)} of being told to reboot${how}.`);
    }
    output.note(`nightshift: ${host} went down; waiting for it to come back (bounded by ${formatDuration(step.timeoutMs)})`);
  } else {
    output.note(`nightshift: still waiting for ${host} to come back from the reboot`);
  }

  await orAbort(hosts.regain(host), signal);
  const after = await readOne(hosts, host, BOOT_ID, output, signal);
  if (after === before.bootId) {
    throw new Error(`${host} answers again but with the same boot id ${after}: it did not reboot (a dropped link only?).`);
  }
  inFlight.delete(step.id);
  const hostname = await readOne(hosts, host, 'hostname', output, signal);
  output.note(`nightshift: ${host} is back: boot id ${after}, hostname ${hostname}, host key accepted for this phase`);
  if (step.expectHostname !== undefined && hostname !== step.expectHostname) {
    throw new Error(`${host} came back as "${hostname}", not "${step.expectHostname}": another system booted.`);
  }
  if (before.oneShot) {
    await verifyOneShot(step, before.oneShot, hosts, output, signal);
  } else if (step.expectRoot !== undefined) {
    await verifyRoot(step, step.expectRoot, hosts, output, signal);
  }
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
  output.note(`nightshift: the next boot only starts ${entry} (grub-reboot); a panic reboots after ${into.panicSeconds}s and a power-cycle brings the old root back:`);
  for (const line of text.split('\n')) output.note(`  ${line}`);
  return inspection;
}

async function verifyOneShot(step: RebootStep, inspection: Inspection, hosts: RemoteHosts, output: StepOutput, signal: AbortSignal): Promise<void> {
  const { host } = step;
  const root = readValues(await readAll(hosts, host, ROOT_SCRIPT, output, signal));
  if (root.get('uuid') === inspection.runningRootUuid) {
    throw new Error(
      `${host} came back on its old root (${root.get('device')}), not on ${inspection.device}: the new root did not boot (it panicked, or the machine was power-cycled). The old root stays the default.`,
    );
  }
  if (root.get('uuid') !== inspection.uuid) {
    throw new Error(`${host} came back on ${root.get('device')} (UUID ${root.get('uuid')}), neither the new root nor the old one.`);
  }
  output.note(`nightshift: ${host} runs on the new root ${root.get('device')} (UUID ${inspection.uuid})`);
  await readAll(hosts, host, makeDefaultScript(entryIdOf(step.id), inspection), output, signal);
  output.note(`nightshift: ${entryIdOf(step.id)} is now ${host}'s default boot entry`);
}

async function verifyRoot(step: RebootStep, expected: string, hosts: RemoteHosts, output: StepOutput, signal: AbortSignal): Promise<void> {
  const root = readValues(await readAll(hosts, step.host, ROOT_SCRIPT, output, signal));
  const matches = expected.startsWith('UUID=') ? root.get('uuid') === expected.slice(5) : root.get('device') === expected;
  if (!matches) throw new Error(`${step.host} came back on ${root.get('device')} (UUID ${root.get('uuid')}), not on ${expected}.`);
  output.note(`nightshift: ${step.host} runs on ${root.get('device')} as expected`);
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
