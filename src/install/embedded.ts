// What the standalone executable carries besides its code (scripts/build-exe.mjs): ssh2's
// native binding and the shipped runbooks, as assets of Node's single executable application.
// Node can load an addon and read a runbook only from a file, so each is written once into
// the user's cache under the digest of its contents, and checked against it at every use: a
// file changed behind nightshift's back is written again, never loaded.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import sea from 'node:sea';
import { replaceFile } from '../store/replace-file.js';

/** Whether this is the standalone executable (its code and assets inside the Node binary). */
export const standalone = sea.isSea();

/** The asset holding the shipped runbooks: `{ "bin/from-elephant": { mode, base64 }, ... }`. */
export const RUNBOOKS_ASSET = 'runbooks.json';

function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env['HOME'] ?? homedir(), '.cache');
  return path.join(base, 'nightshift', 'embedded');
}

const digestOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `file` holding `bytes` (digest `digest`): written whole unless it already holds them. */
function ensureFile(file: string, bytes: Uint8Array, digest: string, mode: number): void {
  try {
    if (digestOf(readFileSync(file)) === digest) return;
  } catch {
    // not there yet
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  replaceFile(file, bytes, mode);
}

/** The asset `key` as a file named `name`, in a cache folder of its own digest. */
export function embeddedFile(key: string, name: string): string {
  const bytes = new Uint8Array(sea.getRawAsset(key));
  const digest = digestOf(bytes);
  const file = path.join(cacheDir(), digest.slice(0, 16), name);
  ensureFile(file, bytes, digest, 0o600);
  return file;
}

/** The shipped runbooks as a folder (written out on first use): where `runbooks/NAME` is found. */
export function embeddedRunbooksRoot(): string {
  const bytes = new Uint8Array(sea.getRawAsset(RUNBOOKS_ASSET));
  const root = path.join(cacheDir(), digestOf(bytes).slice(0, 16));
  const files = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, { mode: number; base64: string }>;
  for (const [relative, { mode, base64 }] of Object.entries(files)) {
    const contents = Buffer.from(base64, 'base64');
    ensureFile(path.join(root, 'runbooks', relative), contents, digestOf(contents), mode & 0o755);
  }
  return root;
}

/** Loads a native addon carried as an asset (ssh2's crypto binding in the executable). */
export function loadEmbeddedAddon(key: string): unknown {
  const module = { exports: {} as unknown };
  process.dlopen(module, embeddedFile(key, key));
  return module.exports;
}
