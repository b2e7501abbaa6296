// The one place ssh2 is loaded: every src import of 'ssh2' (other than types) goes through
// here, so the library is set up once before anything uses it.
//
// ssh2's key exchange takes crypto.createDiffieHellman at load time; while it loads, that
// function is the fast one of fast-dh.ts (no primality test of the server's group, which
// made a group-exchange login take seconds), then Node's own is put back for everyone else.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';
import { createFastDiffieHellman } from './fast-dh.js';

const require = createRequire(import.meta.url);

function loadSsh2(): typeof Ssh2 {
  const original = crypto.createDiffieHellman;
  crypto.createDiffieHellman = createFastDiffieHellman(original);
  try {
    return require('ssh2') as typeof Ssh2;
  } finally {
    crypto.createDiffieHellman = original;
  }
}

const ssh2 = loadSsh2();
export default ssh2;

interface Ssh2Constants {
  SUPPORTED_KEX: string[];
  SUPPORTED_SERVER_HOST_KEY: string[];
  SUPPORTED_CIPHER: string[];
  SUPPORTED_MAC: string[];
  DEFAULT_KEX: string[];
  DEFAULT_SERVER_HOST_KEY: string[];
  DEFAULT_CIPHER: string[];
  DEFAULT_MAC: string[];
}

const constants = require('ssh2/lib/protocol/constants.js') as Ssh2Constants;

/** The algorithm names ssh2 can speak (with this Node and OpenSSL), and those it offers by default, in its order. */
export const ssh2Algorithms = {
  supported: {
    kex: constants.SUPPORTED_KEX,
    hostKey: constants.SUPPORTED_SERVER_HOST_KEY,
    cipher: constants.SUPPORTED_CIPHER,
    mac: constants.SUPPORTED_MAC,
  },
  defaults: {
    kex: constants.DEFAULT_KEX,
    hostKey: constants.DEFAULT_SERVER_HOST_KEY,
    cipher: constants.DEFAULT_CIPHER,
    mac: constants.DEFAULT_MAC,
  },
} as const;
