// The one place ssh2 is loaded: every src import of 'ssh2' (other than types) goes through
// here, so the library is set up once before anything uses it. It is loaded when first
// asked for, not as this module is evaluated: with the parts of Node it takes (crypto, zlib,
// http, tls) it is some 40 ms, which a resume's first frame waited for though the helper
// channel and the logins that need it come after (test/e2e/start-loads.test.ts).
//
// ssh2's key exchange takes crypto.createDiffieHellman at load time; while it loads, that
// function is the fast one of fast-dh.ts (no primality test of the server's group, which
// made a group-exchange login take seconds), then Node's own is put back for everyone else.
import crypto from 'node:crypto';
import type * as Ssh2 from 'ssh2';
import { createFastDiffieHellman } from './fast-dh.js';
import { requireSsh2, requireSsh2Constants } from './ssh2-modules.js';

function loadSsh2(): typeof Ssh2 {
  const original = crypto.createDiffieHellman;
  crypto.createDiffieHellman = createFastDiffieHellman(original);
  try {
    return requireSsh2() as typeof Ssh2;
  } finally {
    crypto.createDiffieHellman = original;
  }
}

let loaded: typeof Ssh2 | undefined;

/** Whether ssh2 is loaded yet (its load holds Node for some 50 ms). */
export function ssh2Loaded(): boolean {
  return loaded !== undefined;
}

/** ssh2's exports, loaded (and set up) on the first call. */
export function ssh2(): typeof Ssh2 {
  loaded ??= loadSsh2();
  return loaded;
}

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

/** The algorithm names ssh2 can speak (with this Node and OpenSSL), and those it offers by default, in its order. */
export interface Ssh2Algorithms {
  supported: { kex: string[]; hostKey: string[]; cipher: string[]; mac: string[] };
  defaults: { kex: string[]; hostKey: string[]; cipher: string[]; mac: string[] };
}

let algorithms: Ssh2Algorithms | undefined;

/** ssh2's algorithm lists, read from its constants on the first call. */
export function ssh2Algorithms(): Ssh2Algorithms {
  if (algorithms) return algorithms;
  const constants = requireSsh2Constants() as Ssh2Constants;
  algorithms = {
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
  };
  return algorithms;
}

type ExtInfoHandler = (packet: unknown, extensions: Array<{ name: string; algs?: string[] }>) => void;

/**
 * PubkeyAcceptedAlgorithms for RSA keys: ssh2 signs with the first of rsa-sha2-256,
 * rsa-sha2-512, ssh-rsa that the server's server-sig-algs names, and takes no list of its
 * own. Removing the names the config does not accept from what the server said makes it
 * choose as OpenSSH does (a server that names rsa-sha2-256 but accepts only ssh-rsa is
 * reached with `PubkeyAcceptedAlgorithms ssh-rsa`). Reaches into ssh2's protocol object;
 * when that is not where it was (another ssh2 version), nothing changes.
 */
export function acceptOnlySignatureAlgorithms(client: Ssh2.Client, accepted: readonly string[]): void {
  const handlers = (client as unknown as { _protocol?: { _handlers?: { EXT_INFO?: ExtInfoHandler } } })._protocol?._handlers;
  const original = handlers?.EXT_INFO;
  if (!handlers || typeof original !== 'function') return;
  handlers.EXT_INFO = (packet, extensions) =>
    original(
      packet,
      extensions.map((extension) =>
        extension.name === 'server-sig-algs' && Array.isArray(extension.algs)
          ? { ...extension, algs: extension.algs.filter((name) => !/^(rsa-sha2-|ssh-rsa$)/.test(name) || accepted.includes(name)) }
          : extension,
      ),
    );
}

type ServiceAcceptHandler = (packet: unknown, name: string) => void;

interface ServiceProtocol {
  service?: (name: string) => void;
  _handlers?: { SERVICE_ACCEPT?: ServiceAcceptHandler; EXT_INFO?: ExtInfoHandler };
}

/**
 * The login's first request goes right behind the request for the login service instead of
 * a round trip after it: ssh2 (like OpenSSH's client) waits for SERVICE_ACCEPT first, which
 * is 180 ms of every login over a 180 ms link. OpenSSH's sshd reads the two in order (taking
 * the service sets up its handling of login requests before it reads the next packet). Only
 * to OpenSSH, and only once the server's EXT_INFO has been read (its server-sig-algs choose
 * an RSA key's signature); otherwise, or when the answer came first, the login waits for
 * the answer as before. The answer, when it comes, is then passed over. Reaches into ssh2's
 * protocol object like signKeyFilesAtOnce: elsewhere, nothing changes.
 */
export function askLoginWithServiceRequest(client: Ssh2.Client): void {
  const protocol = (client as unknown as { _protocol?: ServiceProtocol })._protocol;
  const handlers = protocol?._handlers;
  const service = protocol?.service;
  const accept = handlers?.SERVICE_ACCEPT;
  const extInfo = handlers?.EXT_INFO;
  if (!protocol || !handlers || typeof service !== 'function' || typeof accept !== 'function' || typeof extInfo !== 'function') return;
  let extensionsRead = false;
  let answered = false;
  handlers.EXT_INFO = (packet, extensions) => {
    extensionsRead = true;
    extInfo(packet, extensions);
  };
  handlers.SERVICE_ACCEPT = (packet, name) => {
    answered = true;
    accept(packet, name);
  };
  protocol.service = function (this: unknown, name: string) {
    service.call(this, name);
    if (name !== 'ssh-userauth') return;
    // After the packets that came with the server's NEWKEYS (its EXT_INFO among them) are read.
    setImmediate(() => {
      const software = (client as unknown as { _remoteVer?: string })._remoteVer ?? '';
      if (answered || !extensionsRead || !software.startsWith('OpenSSH')) return;
      handlers.SERVICE_ACCEPT = (packet, accepted) => {
        handlers.SERVICE_ACCEPT = accept;
        if (accepted !== name) accept(packet, accepted);
      };
      accept(undefined, name);
    });
  };
}

type SignCallback = (data: Buffer, send: (signature: Buffer) => void) => void;
type AuthPK = (username: string, key: unknown, keyAlgo?: string | SignCallback, cbSign?: SignCallback) => void;

interface SigningKey {
  type: string;
  isPrivateKey(): boolean;
  sign(data: Buffer, hash?: string): Buffer | Error;
}

/** The hash ssh2 signs with for each RSA signature name (its client.js getKeyAlgos); other key types choose their own. */
const RSA_HASHES: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512', 'ssh-rsa': 'sha1' };

function isSigningKey(key: unknown): key is SigningKey {
  const candidate = key as Partial<SigningKey> | null;
  return typeof candidate?.isPrivateKey === 'function' && typeof candidate.sign === 'function' && candidate.isPrivateKey();
}

/**
 * A key file's login in one round trip instead of two: ssh2 (like OpenSSH) first asks the
 * server whether it would take the key, then sends the signature; over a 180 ms link that
 * question is 180 ms of every login, twice through a ProxyJump. RFC 4252 lets the client
 * send the signed request at once, and a key the server does not take is refused the same
 * way (USERAUTH_FAILURE, then ssh2 tries its next algorithm or key). Only for keys held
 * here: an agent's key is still asked about first, since signing with one may ask its
 * owner (a confirmation, a hardware token's touch). A key that cannot sign falls back to
 * the question, whose answer then reports the failure as before. Reaches into ssh2's
 * protocol object like acceptOnlySignatureAlgorithms: elsewhere, nothing changes.
 */
export function signKeyFilesAtOnce(client: Ssh2.Client): void {
  const protocol = (client as unknown as { _protocol?: { authPK?: AuthPK } })._protocol;
  const original = protocol?.authPK;
  if (!protocol || typeof original !== 'function') return;
  protocol.authPK = function (this: unknown, username, key, keyAlgo, cbSign) {
    if (cbSign !== undefined || typeof keyAlgo === 'function' || !isSigningKey(key)) return original.call(this, username, key, keyAlgo, cbSign);
    let signed = false;
    original.call(this, username, key, keyAlgo, (data, send) => {
      const signature = key.sign(data, RSA_HASHES[keyAlgo ?? key.type]);
      if (signature instanceof Error) return;
      signed = true;
      send(signature);
    });
    if (!signed) original.call(this, username, key, keyAlgo);
  };
}
