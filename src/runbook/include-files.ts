// The file side of include: reading an included runbook file, and the hash that covers them all.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { SourceFile } from './compose.js';

/** The included file's text; undefined when it does not exist (other read errors are thrown as they are). */
export function readIncludeFile(absolute: string): string | undefined {
  try {
    return readFileSync(absolute, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw error;
  }
}

/** sha256 of the runbook file, and with includes of each included file's name and bytes too, so that changing any of them changes the runbook. */
export function composedHash(source: string, absolute: string, includes: readonly SourceFile[]): string {
  const hash = createHash('sha256').update(source);
  for (const included of includes) hash.update(`\0${relative(dirname(absolute), included.absolute)}\0`).update(included.source);
  return hash.digest('hex');
}
