// Keys made fresh for every lab start: one host key per host, one client key for the upgrader.
// The making lives in remote/keys.ts (the helper channel needs a host key too).
export {
  generateEd25519KeyPair as generateLabKeyPair,
  parsePublicKey,
  publicKeyWithoutComment,
  type SshKeyPair as LabKeyPair,
} from '../remote/keys.js';
