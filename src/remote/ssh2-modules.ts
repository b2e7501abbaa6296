// ssh2's CommonJS modules, loaded through require, which is what loading them needs: ssh2.ts
// must patch Node's crypto around the moment ssh2 loads, which an import hoisted by the bundler
// would not allow. The executable's build (scripts/build-exe.mjs) drops the createRequire line
// below, so that these calls name ssh2 to the bundler and it carries ssh2 inside.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const requireSsh2 = (): unknown => require('ssh2');
export const requireSsh2Constants = (): unknown => require('ssh2/lib/protocol/constants.js');
export const requireSsh2Crypto = (): unknown => require('ssh2/lib/protocol/crypto.js');
