import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Relative path → contents; a path ending in '/' is an empty folder. */
export type FileTree = Record<string, string>;

/** File contents from lines, with the final newline. */
export const lines = (...parts: string[]): string => `${parts.join('\n')}\n`;

/**
 * Files written at once. Small on purpose: creating files can cost most of a millisecond of
 * kernel time each on some disks, and the thread pool is shared with the rest of the program.
 */
const IN_FLIGHT = 2;

export async function writeFileTree(root: string, tree: FileTree): Promise<void> {
  const folders = new Set<string>([root]);
  const files: Array<[string, string]> = [];
  for (const [relative, contents] of Object.entries(tree)) {
    const full = path.join(root, relative);
    if (relative.endsWith('/')) {
      folders.add(full);
    } else {
      folders.add(path.dirname(full));
      files.push([full, contents]);
    }
  }
  for (const folder of [...folders].sort()) await mkdir(folder, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [file, contents] = files[next++]!;
      await writeFile(file, contents, { mode: isExecutable(file) ? 0o755 : 0o644 });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

function isExecutable(file: string): boolean {
  return /\/(s?bin|init\.d)\//.test(file);
}
