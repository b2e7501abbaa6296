import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { DemoLabError } from './demo-lab-error.js';

/** The PATH commands get inside the lab: sbin included, where sfdisk lives. */
export const LAB_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Tools the lab itself or the demo runbook's commands call, with the Debian package that brings each. */
const REQUIRED_TOOLS: ReadonlyArray<ToolPackage> = [
  { tool: 'sh', debianPackage: 'dash' },
  { tool: 'tar', debianPackage: 'tar' },
  { tool: 'gzip', debianPackage: 'gzip' },
  { tool: 'sfdisk', debianPackage: 'fdisk' },
  { tool: 'sha256sum', debianPackage: 'coreutils' },
  { tool: 'awk', debianPackage: 'mawk' },
  { tool: 'sed', debianPackage: 'sed' },
  { tool: 'grep', debianPackage: 'grep' },
];

export function findTool(tool: string, searchPath = LAB_PATH): string | undefined {
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Throws DemoLabError naming the first missing tool and how to install it. */
export function checkDemoTools(searchPath = LAB_PATH): void {
  try {
    accessSync('/bin/sh', constants.X_OK);
  } catch {
    throw new DemoLabError('The demo lab runs commands with /bin/sh, which is missing; install it with `apt-get install dash`.');
  }
  const [missing] = missingTools(REQUIRED_TOOLS, searchPath);
  if (missing) {
    throw new DemoLabError(`The demo lab needs \`${missing.tool}\`, which is not installed; install it with \`apt-get install ${missing.debianPackage}\`.`);
  }
}

export interface ToolPackage {
  tool: string;
  debianPackage: string;
}

export function missingTools(tools: ReadonlyArray<ToolPackage>, searchPath = LAB_PATH): ToolPackage[] {
  return tools.filter(({ tool }) => findTool(tool, searchPath) === undefined);
}
