// The description of a runbook's rehearsal lab: NAME.lab.yaml next to NAME.yaml. Which
// machines, their addresses on the lab's private network, blank disks to restore onto, and
// an observer (a network namespace on the same network) to check things "from outside".
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { LabError } from './lab-error.js';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,14}$/, 'a machine name is a short lower-case name');
const cidr = z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'an address is written with its prefix, e.g. 192.168.10.1/24');

const machineSchema = z.strictObject({
  address: cidr.optional().describe('Address on the private network (eth1).'),
  new_disk: z
    .strictObject({
      size: z.string().regex(/^\d+[MG]$/, 'a size such as 512M or 4G'),
      serial: z.string().regex(/^[A-Za-z0-9-]{1,20}$/, 'a disk serial is letters, digits and -'),
    })
    .optional()
    .describe('A blank second disk (/dev/vdb), e.g. for the new root.'),
  also_known_as: z.array(name).optional().describe('Machines whose host key this one may present (an identity swap).'),
  hosts: z.array(z.string()).optional().describe('Lines for /etc/hosts.'),
  setup: z.string().optional().describe('Shell run once as root on first boot, after the identity is in place.'),
});

export const labFileSchema = z.strictObject({
  domain: z.string().optional(),
  machines: z.record(name, machineSchema),
  observer: z
    .strictObject({
      name,
      address: cidr,
      routes: z.array(z.string()).optional().describe('ip route arguments, e.g. "203.0.113.0/24 via 192.168.10.1".'),
    })
    .optional(),
  /** Variables a run on this lab gets (--lab): values may use {lab} (the lab's folder: {lab}/ssh is OpenSSH to its machines by name, {lab}/OBSERVER runs a command as the observer) and {tarballs}. */
  vars: z.record(z.string(), z.string()).optional(),
});

export type LabFile = z.infer<typeof labFileSchema>;
export type LabMachineSpec = z.infer<typeof machineSchema>;

export function labFileFor(runbookPath: string): string {
  const parsed = path.parse(path.resolve(runbookPath));
  return path.join(parsed.dir, `${parsed.name}.lab.yaml`);
}

export async function readLabFile(runbookPath: string): Promise<{ file: string; lab: LabFile }> {
  const file = labFileFor(runbookPath);
  if (!existsSync(file)) throw new LabError(`${path.basename(runbookPath)} has no rehearsal lab: ${file} is missing.`);
  const result = labFileSchema.safeParse(parse(await readFile(file, 'utf8')));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new LabError(`${file}: ${issue.path.join('.') || 'the file'}: ${issue.message}.`);
  }
  // Three: a rollout rehearsed over a canary, a host that fails and one the halt spares.
  if (Object.keys(result.data.machines).length > 3) {
    throw new LabError(`${file}: at most three machines: under emulation each takes a whole CPU while it works.`);
  }
  return { file, lab: result.data };
}
