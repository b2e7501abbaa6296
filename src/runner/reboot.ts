// The reboot step: note the boot id, issue the reboot, see the link drop, win it back, and
// check what came back: a new boot id, the host key for this phase (checked at login), and
// the expected hostname. Retrying after a timeout keeps waiting: the reboot is not issued
// twice.
import type { StepOutput } from '../output/step-output.js';
import { formatDuration } from '../runbook/duration.js';
import type { RebootStep } from '../runbook/types.js';
import { orAbort, sleep } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';

const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';
/** How long a host may take to go down once told to, before we say it did not. */
const DOWN_WITHIN_MS = 120_000;

/** Boot ids before the reboot, of reboots issued but not yet seen through (a retry keeps waiting for them). */
export type RebootsInFlight = Map<string, string>;

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
    before = await readOne(hosts, host, BOOT_ID, output, signal);
    output.note(`nightshift: ${host} boot id before the reboot: ${before}`);
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
  if (after === before) {
    throw new Error(`${host} answers again but with the same boot id ${after}: it did not reboot (a dropped link only?).`);
  }
  inFlight.delete(step.id);
  const hostname = await readOne(hosts, host, 'hostname', output, signal);
  output.note(`nightshift: ${host} is back: boot id ${after}, hostname ${hostname}, host key accepted for this phase`);
  if (step.expectHostname !== undefined && hostname !== step.expectHostname) {
    throw new Error(`${host} came back as "${hostname}", not "${step.expectHostname}": another system booted.`);
  }
}

async function readOne(hosts: RemoteHosts, host: string, command: string, output: StepOutput, signal: AbortSignal): Promise<string> {
  let text = '';
  const result = await hosts.exec(host, command, {
    onStdout: (chunk) => (text += chunk.toString('utf8')),
    onStderr: (chunk) => output.write(chunk, true),
    signal,
  });
  if (result.exitCode !== 0) throw new Error(`could not read \`${command}\` on ${host} (exit ${result.exitCode ?? result.signal}).`);
  return text.trim();
}
