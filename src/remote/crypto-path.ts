// Which path ssh2 encrypts with: its native binding (AES-GCM and ChaCha20-Poly1305 in C, built
// for the runtime by scripts/native-crypto.mjs), or its JavaScript fallback, which works but
// makes a cipher object per packet. ssh2 falls back without a word; `nightshift --version` says.
import { requireSsh2Crypto } from './ssh2-modules.js';

export interface CryptoPath {
  native: boolean;
  /** For the version line: which path, and what to do when it is the slow one. */
  text: string;
}

function bindingLoaded(): boolean {
  try {
    return (requireSsh2Crypto() as { bindingAvailable?: boolean }).bindingAvailable === true;
  } catch {
    return false;
  }
}

export function sshCryptoPath(): CryptoPath {
  const native = bindingLoaded();
  return native
    ? { native, text: `ssh crypto: ssh2's native binding (Node ${process.version})` }
    : {
        native,
        text: `ssh crypto: ssh2's JavaScript fallback: its native binding is not built for Node ${process.version} (node scripts/native-crypto.mjs in the package builds it)`,
      };
}
