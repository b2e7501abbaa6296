// The description of a runbook's rehearsal lab: NAME.lab.yaml next to NAME.yaml. Which
// machines, their addresses on the lab's private network, blank disks to restore onto, and
// an observer (a network namespace on the same network) to check things "from outside".
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
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
  wan: z.boolean().optional().describe("A second card, wan0, on the upstream network (the provider's side)."),
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
  upstream: z
    .strictObject({
      name,
      address: cidr.describe("The upstream namespace's address on the provider's network, e.g. 203.0.113.1/24."),
      source: cidr.optional().describe("The upgrader's own address, which its connections come from, e.g. 198.51.100.1/24."),
      routes: z.array(z.string()).optional().describe('ip route arguments in the namespace.'),
      hosts: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'a host name is a short lower-case name'),
          z.strictObject({
            address: z.string().regex(/^\d+\.\d+\.\d+\.\d+$/, 'an IPv4 address'),
            jump: z.string().optional().describe('The upstream host this one is reached through.'),
            keys: z.array(name).min(1).describe('The machines whose host key may answer at this address.'),
          }),
        )
        .describe("How a run on the lab reaches the site from the upstream namespace: the ssh config's hosts."),
    })
    .optional()
    .describe("The provider's side: a run on the lab reaches the site only from here."),
  /** Variables a run on this lab gets (--lab): values may use {lab} (the lab's folder: {lab}/ssh is OpenSSH to its machines by name, {lab}/OBSERVER runs a command as the observer) and {tarballs}. */
  vars: z.record(z.string(), z.string()).optional(),
});

export type LabFile = z.infer<typeof labFileSchema>;
export type LabMachineSpec = z.infer<typeof machineSchema>;

export function labFileFor(runbookPath: string): string {
  const parsed = path.parse(path.resolve(runbookPath));
  return path.join(parsed.dir, `${parsed.name}.lab.yaml`);
}

/** A mistake in a lab file, at its line and column. */
export interface LabFileProblem {
  line: number;
  col: number;
  message: string;
}

/** At most three: a rollout rehearsed over a canary, a host that fails and one the halt spares. */
const MAX_MACHINES = 3;

/** Every mistake of a lab file's text at once, each at its place; `lab` when there is none. */
export function checkLabFile(source: string): { lab?: LabFile; problems: LabFileProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter });
  const at = (offset: number) => lineCounter.linePos(offset);
  const problems: LabFileProblem[] = doc.errors.map((error) => ({ ...at(error.pos[0]), message: `invalid YAML: ${error.message.split('\n')[0]}` }));
  if (problems.length > 0) return { problems };
  const result = labFileSchema.safeParse(doc.toJS());
  if (!result.success) {
    for (const issue of result.error.issues) {
      const where = issue.path.join('.') || 'the file';
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push({ ...at(offsetOf(doc, [...issue.path, key], true)), message: `${where}: unknown key '${key}'` });
      } else {
        problems.push({ ...at(offsetOf(doc, issue.path, false)), message: `${where}: ${issue.message}` });
      }
    }
    return { problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) };
  }
  const machines = Object.keys(result.data.machines);
  if (machines.length > MAX_MACHINES) {
    problems.push({
      ...at(offsetOf(doc, ['machines', machines[MAX_MACHINES]!], true)),
      message: `at most ${MAX_MACHINES} machines: under emulation each takes a whole CPU while it works`,
    });
    return { problems };
  }
  problems.push(...upstreamProblems(result.data).map((problem) => ({ ...at(offsetOf(doc, problem.path, true)), message: problem.message })));
  return problems.length > 0 ? { problems } : { lab: result.data, problems };
}

function upstreamProblems(lab: LabFile): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = [];
  for (const [machine, spec] of Object.entries(lab.machines)) {
    if (spec.wan && !lab.upstream)
      problems.push({ path: ['machines', machine, 'wan'], message: `machines.${machine}.wan: a card on the upstream network needs upstream:` });
  }
  for (const [host, spec] of Object.entries(lab.upstream?.hosts ?? {})) {
    if (spec.jump !== undefined && (spec.jump === host || !lab.upstream!.hosts[spec.jump])) {
      problems.push({ path: ['upstream', 'hosts', host, 'jump'], message: `upstream.hosts.${host}.jump: '${spec.jump}' is not another upstream host` });
    }
    for (const machine of spec.keys) {
      if (!lab.machines[machine])
        problems.push({ path: ['upstream', 'hosts', host, 'keys'], message: `upstream.hosts.${host}.keys: '${machine}' is not a machine of this lab` });
    }
  }
  return problems;
}

/** Where the value at `path` starts (its key, with `key`), else the nearest place above it that exists. */
function offsetOf(doc: Document, path: readonly PropertyKey[], key: boolean): number {
  let node: unknown = doc.contents;
  let offset = startOf(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    if (!pair) break;
    offset = startOf(key && index === path.length - 1 ? pair.key : (pair.value ?? pair.key)) ?? offset;
    node = pair.value;
  }
  return offset;
}

function startOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

export async function readLabFile(runbookPath: string): Promise<{ file: string; lab: LabFile }> {
  const file = labFileFor(runbookPath);
  if (!existsSync(file)) throw new LabError(`${path.basename(runbookPath)} has no rehearsal lab: ${file} is missing.`);
  const { lab, problems } = checkLabFile(await readFile(file, 'utf8'));
  if (!lab) throw new LabError(problems.map((problem) => `${file}:${problem.line}:${problem.col}: ${problem.message}.`).join('\n'));
  return { file, lab };
}
