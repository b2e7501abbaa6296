// What the client offers in the handshake: the ssh_config lists (KexAlgorithms,
// HostKeyAlgorithms, Ciphers, MACs; `+`/`-`/`^` already applied when resolving) kept to the
// names ssh2 can speak, and, when nothing matches the server, an error that shows both
// sides' lists and the ssh_config line that would allow the server's.
import { stripControls } from '../output/neutralize.js';
import type { AlgorithmLists } from './types.js';

export type AlgorithmKind = 'kex' | 'hostKey' | 'cipher' | 'mac';

export type AlgorithmTable = Record<AlgorithmKind, readonly string[]>;

/** ssh_config's option for each list. */
export const OPTION_NAMES: Record<AlgorithmKind, string> = {
  kex: 'KexAlgorithms',
  hostKey: 'HostKeyAlgorithms',
  cipher: 'Ciphers',
  mac: 'MACs',
};

const WHAT: Record<AlgorithmKind, string> = {
  kex: 'key exchange algorithm',
  hostKey: 'host key algorithm',
  cipher: 'cipher',
  mac: 'MAC',
};

export interface Offer {
  kex: string[];
  serverHostKey: string[];
  cipher: string[];
  hmac: string[];
}

/**
 * The lists to hand ssh2. A kind the config does not set is ssh2's default. The host key
 * list keeps the host key policy's order (the recorded or declared key types first) among
 * the names the config allows. A config list with no name ssh2 speaks is refused.
 */
export function offerFor(
  lists: AlgorithmLists | undefined,
  hostKeyOrder: readonly string[],
  ssh2: { supported: AlgorithmTable; defaults: AlgorithmTable },
  hostName: string,
): Offer {
  const pick = (kind: AlgorithmKind): string[] => {
    const configured = lists?.[kind];
    if (configured === undefined) return [...ssh2.defaults[kind]];
    const usable = configured.filter((name) => ssh2.supported[kind].includes(name));
    if (usable.length === 0) {
      throw new UnsupportedAlgorithmsError(
        `Cannot connect to ${hostName}: its ${OPTION_NAMES[kind]} (${configured.join(',')}) names no ${WHAT[kind]} nightshift can use ` +
          `(it can use ${ssh2.supported[kind].join(',')}). Add one of them to ${OPTION_NAMES[kind]} for the host in the ssh config.`,
      );
    }
    // The config says what may be used; among that, ssh2's own order comes first. OpenSSH's
    // order starts with chacha20-poly1305, which ssh2 without its native binding runs in
    // JavaScript: slow, and over a jump host's channel it stalled the login.
    const preferred = ssh2.defaults[kind].filter((name) => usable.includes(name));
    return [...preferred, ...usable.filter((name) => !preferred.includes(name))];
  };
  const hostKeyAllowed = pick('hostKey');
  const serverHostKey =
    lists?.hostKey === undefined
      ? [...hostKeyOrder]
      : [...hostKeyOrder.filter((name) => hostKeyAllowed.includes(name)), ...hostKeyAllowed.filter((name) => !hostKeyOrder.includes(name))];
  return { kex: pick('kex'), serverHostKey, cipher: pick('cipher'), hmac: pick('mac') };
}

/** The config asks only for algorithms ssh2 does not have. */
export class UnsupportedAlgorithmsError extends Error {
  override readonly name = 'UnsupportedAlgorithmsError';
}

/** Client and server have no algorithm of one kind in common. */
export class NoCommonAlgorithmError extends Error {
  override readonly name = 'NoCommonAlgorithmError';
  constructor(
    message: string,
    readonly kind: AlgorithmKind,
    readonly offered: string[],
    readonly serverOffered: string[] | undefined,
  ) {
    super(message);
  }
}

/** Which kind ssh2's "Handshake failed: no matching …" message is about. */
export function mismatchKind(message: string): AlgorithmKind | null {
  if (!/^Handshake failed: no matching /i.test(message)) return null;
  if (/key exchange/i.test(message)) return 'kex';
  if (/host key/i.test(message)) return 'hostKey';
  if (/cipher/i.test(message)) return 'cipher';
  if (/MAC/.test(message)) return 'mac';
  return null;
}

/** Both sides' lists as ssh2's handshake debug lines state them. */
export class HandshakeLog {
  readonly local: Partial<Record<AlgorithmKind, string[]>> = {};
  readonly remote: Partial<Record<AlgorithmKind, string[]>> = {};
  private listening = true;

  /** For ssh2's `debug` option; quiet once the first handshake is done. */
  readonly debug = (line: string): void => {
    if (!this.listening || !line.startsWith('Handshake: (')) return;
    const match = /^Handshake: \((local|remote)\) (KEX method|Host key format|C->S cipher|C->S MAC): (.*)$/.exec(line);
    if (!match) return;
    const kind: AlgorithmKind = { 'KEX method': 'kex', 'Host key format': 'hostKey', 'C->S cipher': 'cipher', 'C->S MAC': 'mac' }[
      match[2] as 'KEX method'
    ] as AlgorithmKind;
    const names = match[3]!.split(',').filter((name) => name !== '');
    (match[1] === 'local' ? this.local : this.remote)[kind] = names;
  };

  stop(): void {
    this.listening = false;
  }
}

/** Names the protocol adds to the kex list that are no algorithms (extension and strict-kex markers). */
function isMarker(name: string): boolean {
  return name.startsWith('ext-info-') || name.startsWith('kex-strict-');
}

export function noCommonAlgorithm(where: string, kind: AlgorithmKind, offer: Offer, log: HandshakeLog, supported: AlgorithmTable): NoCommonAlgorithmError {
  const offeredByUs = { kex: offer.kex, hostKey: offer.serverHostKey, cipher: offer.cipher, mac: offer.hmac }[kind];
  const ours = (log.local[kind] ?? offeredByUs).filter((name) => !isMarker(name));
  // The server's names are foreign text: shown without control characters.
  const theirs = log.remote[kind]?.filter((name) => !isMarker(name)).map(stripControls);
  const option = OPTION_NAMES[kind];
  const serverSide = theirs ? `the server offers ${theirs.join(',')}` : 'the server did not say what it offers';
  const usable = theirs?.filter((name) => supported[kind].includes(name)) ?? [];
  const advice =
    usable.length > 0
      ? `If that server is to be reached with it, allow it for the host in the ssh config: ${option} +${usable[0]}` +
        (usable.length > 1 ? ` (nightshift could also use ${usable.slice(1).join(',')})` : '') +
        '. Better: update the server.'
      : theirs
        ? `nightshift cannot use any of the server's; the server must be updated or reconfigured.`
        : "Read the server's sshd log.";
  return new NoCommonAlgorithmError(
    `Could not connect to ${where}: no ${WHAT[kind]} in common. nightshift offered ${ours.join(',')} (${option}); ${serverSide}. ${advice}`,
    kind,
    ours,
    theirs,
  );
}
