// dolphin's disk: a sparse image file holding one partition (the running system) and the
// sfdisk script that adds the three partitions for the new root, /usr and /var.
import { randomUUID } from 'node:crypto';
import { truncate, writeFile } from 'node:fs/promises';
import { runTool } from './run-tool.js';

const LINUX_FILESYSTEM = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const OLD_ROOT_SECTORS = 40960; // 20 MiB

export interface DiskPlan {
  labelId: string;
  /** PARTUUIDs of partitions 1 (the running system) to 4. */
  partUuids: [string, string, string, string];
}

export function planDisk(): DiskPlan {
  const uuid = () => randomUUID().toUpperCase();
  return { labelId: uuid(), partUuids: [uuid(), uuid(), uuid(), uuid()] };
}

function oldRootLine(plan: DiskPlan): string {
  return `start=2048, size=${OLD_ROOT_SECTORS}, type=${LINUX_FILESYSTEM}, uuid=${plan.partUuids[0]}, name="old-root"`;
}

function header(plan: DiskPlan): string[] {
  return ['label: gpt', `label-id: ${plan.labelId}`, 'first-lba: 2048', ''];
}

/** The sfdisk script the partition phase applies: the whole table, so applying it twice changes nothing. */
export function layoutScript(plan: DiskPlan): string {
  return [
    "# dolphin's disk after the upgrade. Partition 1 is the running system and stays as it is;",
    '# 2, 3 and 4 receive the new root, /usr and /var.',
    ...header(plan),
    oldRootLine(plan),
    `size=16MiB, type=${LINUX_FILESYSTEM}, uuid=${plan.partUuids[1]}, name="new-root"`,
    `size=24MiB, type=${LINUX_FILESYSTEM}, uuid=${plan.partUuids[2]}, name="new-usr"`,
    `type=${LINUX_FILESYSTEM}, uuid=${plan.partUuids[3]}, name="new-var"`,
    '',
  ].join('\n');
}

export async function createDiskImage(file: string, bytes: number, plan: DiskPlan): Promise<void> {
  await writeFile(file, '');
  await truncate(file, bytes);
  await runTool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', file], {
    input: [...header(plan), oldRootLine(plan), ''].join('\n'),
  });
}
