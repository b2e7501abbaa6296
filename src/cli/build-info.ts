// What the build stamped in (scripts/build.mjs): the package's version and the commit it was
// built from, so that a bug report names the code exactly. Run from source (the tests import
// modules directly), nothing was stamped.
declare const NIGHTSHIFT_BUILD: { version: string; commit: string } | undefined;

const BUILD: { version: string; commit: string } = typeof NIGHTSHIFT_BUILD === 'undefined' ? { version: '0.0.0-source', commit: 'unbuilt' } : NIGHTSHIFT_BUILD;

export const VERSION = BUILD.version;

/** The version line: `nightshift 0.1.0 (commit 1a2b3c4)`. */
export function versionLine(): string {
  return `nightshift ${BUILD.version} (commit ${BUILD.commit})`;
}
