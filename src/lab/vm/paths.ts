// Where the rehearsal lab keeps what outlives one lab: the guest image, its tarballs, the
// lab's SSH key (the cache), and each lab's running state (overlays, sockets, logs).
import { homedir } from 'node:os';
import path from 'node:path';

/** Bumped whenever the guest image's recipe changes, so an old cache is rebuilt, not reused. */
export const IMAGE_RECIPE = 'bookworm-v1';

export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['NIGHTSHIFT_LAB_CACHE']) return path.resolve(env['NIGHTSHIFT_LAB_CACHE']);
  const base = env['XDG_CACHE_HOME'] || path.join(homedir(), '.cache');
  return path.join(base, 'nightshift', 'lab');
}

export interface ImagePaths {
  dir: string;
  rootfs: string;
  disk: string;
  tarballs: string;
  key: string;
  log: string;
}

export function imagePaths(cacheDir = labCacheDir()): ImagePaths {
  const dir = path.join(cacheDir, IMAGE_RECIPE);
  return {
    dir,
    rootfs: path.join(dir, 'rootfs'),
    disk: path.join(dir, 'system.qcow2'),
    tarballs: path.join(dir, 'tarballs'),
    key: path.join(cacheDir, 'lab-key'),
    log: path.join(dir, 'build.log'),
  };
}

/** A lab's running state, per runbook: under the cache, named after the runbook file. */
export function labStateDir(labName: string, cacheDir = labCacheDir()): string {
  return path.join(cacheDir, 'labs', labName);
}
