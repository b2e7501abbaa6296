// Public key login, in OpenSSH's order: the agent, then each identity file. Encrypted keys
// are unlocked by asking the human; unlocked keys are kept for the pool's life so a
// reconnection at 3 AM does not ask again.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ssh2 } from './ssh2.js';
import type { AnyAuthMethod, AuthHandlerMiddleware, AuthenticationType, OpenSSHAgent, ParsedKey } from 'ssh2';
import { AuthenticationError, CertificateUnsupportedError } from './errors.js';
import type { ResolvedHost } from './types.js';
import { counted } from '../text/counted.js';

export const DEFAULT_IDENTITY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
/** The agent as ssh2 asks it, showing only the keys IdentitiesOnly allows (all when `allowed` is null), and counting them. */
interface ChosenKeysAgent extends OpenSSHAgent {
  readonly socket: string;
  offered: number;
  getIdentities(callback: (error?: Error | null, keys?: ParsedKey[]) => void): void;
}

let chosenKeysAgentClass: (new (socket: string, allowed: Buffer[] | null) => ChosenKeysAgent) | undefined;

/** Made on first use: the class extends ssh2's agent, and ssh2 loads when first asked for. */
function newChosenKeysAgent(socket: string, allowed: Buffer[] | null): ChosenKeysAgent {
  chosenKeysAgentClass ??= class extends ssh2().OpenSSHAgent {
    offered = 0;
    constructor(
      readonly socket: string,
      private readonly allowed: Buffer[] | null,
    ) {
      super(socket);
    }

    override getIdentities(callback: (error?: Error | null, keys?: ParsedKey[]) => void): void {
      super.getIdentities((error, found) => {
        const keys = found as ParsedKey[] | undefined;
        if (error || !keys) return callback(error, keys);
        const chosen = this.allowed === null ? keys : keys.filter((key) => this.allowed!.some((blob) => blob.equals(key.getPublicSSH())));
        this.offered = chosen.length;
        callback(undefined, chosen);
      });
    }
  };
  return new chosenKeysAgentClass(socket, allowed);
}
const PASSPHRASE_ATTEMPTS = 3;
/** ssh2 takes `false` for "no more methods"; its types do not say so. */
const NO_MORE_METHODS = false as unknown as AuthenticationType;

/** Unlocked private keys by file, shared by all connections of a pool. */
export type KeyCache = Map<string, ParsedKey>;

export interface AuthOptions {
  host: ResolvedHost;
  /** SSH_AUTH_SOCK, when set. */
  agentSocket: string | undefined;
  home: string;
  keyCache: KeyCache;
  askPassphrase(keyFile: string, retry: boolean): Promise<string | null>;
}

type Candidate = { kind: 'agent'; socket: string } | { kind: 'file'; file: string; explicit: boolean };

/** Key algorithms a key of a type can sign with, as PubkeyAcceptedAlgorithms names them. */
const SIGNATURE_ALGORITHMS: Record<string, string[]> = { 'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] };

type Attempt = { method: AnyAuthMethod; label: string };

/** One login's worth of attempts; `handler` goes to ssh2's authHandler. */
export class PublicKeyLogin {
  private readonly candidates: Candidate[];
  private current: string | null = null;
  private readonly refused: string[] = [];
  private readonly notes: string[] = [];
  private readonly offeredKeys: Buffer[] = [];
  private serverMethods: string[] | null = null;
  private readonly files: string[];
  private foundAnyFile = false;
  private agent: ChosenKeysAgent | undefined;
  /** IdentitiesOnly: the public keys of the identity files, the only agent keys offered. */
  private allowedBlobs: Buffer[] | null = null;

  constructor(private readonly options: AuthOptions) {
    const defaults = DEFAULT_IDENTITY_NAMES.map((name) => path.join(options.home, '.ssh', name));
    // IdentitiesOnly with IdentityFile given: those files alone, as ssh offers them (ssh -G
    // lists the default names only when none is given).
    const only = options.host.identitiesOnly === true && options.host.identityFiles.length > 0;
    const files = (this.files = [...new Set([...options.host.identityFiles, ...(only ? [] : defaults)])]);
    this.candidates = [
      ...(options.agentSocket ? [{ kind: 'agent' as const, socket: options.agentSocket }] : []),
      ...files.map((file) => ({ kind: 'file' as const, file, explicit: options.host.identityFiles.includes(file) })),
    ];
  }

  readonly handler: AuthHandlerMiddleware = (methodsLeft, _partialSuccess, next) => {
    if (this.current !== null) this.refused.push(this.current);
    this.current = null;
    // ssh2 passes null before the first attempt, whatever its types say.
    const left = methodsLeft as AuthenticationType[] | null;
    if (left && !left.includes('publickey')) {
      this.serverMethods = left;
      next(NO_MORE_METHODS);
      return;
    }
    void this.nextAttempt().then(
      (attempt) => {
        this.current = attempt?.label ?? null;
        next(attempt ? attempt.method : NO_MORE_METHODS);
      },
      (error: unknown) => {
        this.notes.push(`an error while preparing a key (${(error as Error).message})`);
        next(NO_MORE_METHODS);
      },
    );
  };

  /** ssh2 reports agent trouble as an 'error' event and moves on to the next method. */
  noteAgentError(error: Error): void {
    if (this.current === 'the agent') this.current = null;
    this.notes.push(`the agent could not be used (${error.message})`);
  }

  /**
   * The server cut the login off after too many attempts (sshd's MaxAuthTries): say so, and
   * how many keys the agent put forward, instead of blaming authorized_keys.
   */
  tooManyAttempts(serverMessage: string): AuthenticationError {
    if (this.current !== null) this.refused.push(this.current);
    this.current = null;
    const { host } = this.options;
    const agentKeys = this.agent?.offered ?? 0;
    const offered = [...(agentKeys > 0 ? [`the agent's ${counted(agentKeys, 'key')}`] : []), ...this.refused.filter((label) => label !== 'the agent')];
    return new AuthenticationError(
      `Could not log in to ${host.name} as ${host.user} at ${host.address}:${host.port}: the server ended the login after too many attempts ` +
        `("${serverMessage}": sshd's MaxAuthTries, 6 by default) while nightshift offered ${joinWords(offered) || 'keys'}. ` +
        (host.identitiesOnly
          ? `Check that the identity files given for the host are the ones the server accepts.`
          : `Set IdentitiesOnly yes for the host in the ssh config (or the runbook's identity_file with it), so that only its IdentityFile keys are offered.`),
      [...this.refused],
    );
  }

  /** The error for a login that ran out of keys to try. */
  failure(): AuthenticationError {
    if (this.current !== null) this.refused.push(this.current);
    this.current = null;
    const { host } = this.options;
    const who = `Could not log in to ${host.name} as ${host.user} at ${host.address}:${host.port}`;
    if (this.serverMethods) {
      return new AuthenticationError(
        `${who}: the server does not accept public keys (it offers ${joinWords(this.serverMethods) || 'nothing'}). ` +
          `Enable PubkeyAuthentication for ${host.user} on the server.`,
        [],
      );
    }
    if (this.refused.length === 0) {
      const reasons = [
        ...(this.options.agentSocket ? [] : [host.identityAgent?.toLowerCase() === 'none' ? 'IdentityAgent is none' : 'SSH_AUTH_SOCK is not set']),
        ...this.notes,
        ...(this.foundAnyFile ? [] : [`none of ${joinWords(this.files, 'or')} exists`]),
      ];
      return new AuthenticationError(
        `${who}: there was no key to offer (${reasons.join('; ')}). Add a key to ssh-agent, or set identity_file for the host in the runbook.`,
        [],
      );
    }
    const notes = this.notes.length > 0 ? `; ${this.notes.join('; ')}` : '';
    if (this.agent && this.agent.offered > 1) this.refused.splice(this.refused.indexOf('the agent'), 1, `the agent (${this.agent.offered} keys)`);
    return new AuthenticationError(
      `${who}: the server refused keys from ${joinWords(this.refused)}${notes}. Check that the public key is in the server's authorized_keys.`,
      [...this.refused],
    );
  }

  private async nextAttempt(): Promise<Attempt | null> {
    const { host } = this.options;
    for (let candidate = this.candidates.shift(); candidate; candidate = this.candidates.shift()) {
      if (candidate.kind === 'agent') {
        if (host.identitiesOnly) this.allowedBlobs = await this.identityBlobs();
        const agent = newChosenKeysAgent(candidate.socket, this.allowedBlobs);
        const keys = await this.agentKeys(agent);
        if (keys.length > 0) {
          this.agent = agent;
          // A key the agent offered is not offered again from its file.
          this.offeredKeys.push(...keys.map((key) => key.getPublicSSH()));
          return { method: { type: 'agent', username: host.user, agent }, label: 'the agent' };
        }
        continue;
      }
      const key = await this.loadKey(candidate.file, candidate.explicit);
      if (!key) continue;
      const blob = key.getPublicSSH();
      if (this.offeredKeys.some((offered) => offered.equals(blob))) continue;
      this.offeredKeys.push(blob);
      const accepted = host.algorithms?.pubkey;
      const algorithms = SIGNATURE_ALGORITHMS[key.type] ?? [key.type];
      if (accepted && !algorithms.some((algorithm) => accepted.includes(algorithm))) {
        this.notes.push(`${candidate.file} was not offered (its type ${key.type} is not in PubkeyAcceptedAlgorithms)`);
        continue;
      }
      if (await exists(`${candidate.file}-cert.pub`)) {
        this.notes.push(`${candidate.file}-cert.pub was not offered (nightshift cannot log in with certificates), only the plain key`);
      }
      return { method: { type: 'publickey', username: host.user, key }, label: candidate.file };
    }
    return null;
  }

  private agentKeys(agent: ChosenKeysAgent): Promise<ParsedKey[]> {
    return new Promise((resolve) => {
      agent.getIdentities((error, keys) => {
        if (error) this.notes.push(`the agent at ${agent.socket} could not be reached (${error.message})`);
        else if (!keys || keys.length === 0) {
          this.notes.push(this.allowedBlobs ? "the agent holds none of the identity files' keys (IdentitiesOnly)" : 'the agent holds no keys');
        }
        resolve(!error && keys ? keys : []);
      });
    });
  }

  /** The public keys of the identity files: from the .pub beside each, else from the private key when it is not encrypted. */
  private async identityBlobs(): Promise<Buffer[]> {
    const blobs: Buffer[] = [];
    for (const file of this.files) {
      for (const source of [`${file}.pub`, file]) {
        const cached = source === file ? this.options.keyCache.get(file) : undefined;
        const data = cached ? null : await readFile(source).catch(() => null);
        const parsed = cached ?? (data ? ssh2().utils.parseKey(data) : null);
        const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
        if (!key || key instanceof Error) continue;
        blobs.push(key.getPublicSSH());
        break;
      }
    }
    return blobs;
  }

  /** The unlocked key, or null (with a note saying why) when the file cannot be used. */
  private async loadKey(file: string, explicit: boolean): Promise<ParsedKey | null> {
    const cached = this.options.keyCache.get(file);
    if (cached) {
      this.foundAnyFile = true;
      return cached;
    }
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (explicit) this.notes.push(`${file} does not exist`);
      } else {
        this.foundAnyFile = true;
        this.notes.push(`${file} could not be read (${code ?? (error as Error).message})`);
      }
      return null;
    }
    this.foundAnyFile = true;
    let parsed: ParsedKey | Error | null = ssh2().utils.parseKey(data);
    if (parsed instanceof Error && /passphrase/i.test(parsed.message)) {
      parsed = await this.unlock(file, data);
      if (parsed === null) return null;
    }
    const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
    if (!key || key instanceof Error || !key.isPrivateKey()) {
      this.notes.push(`${file} is not a private key ssh2 can read${key instanceof Error ? ` (${key.message})` : ''}`);
      return null;
    }
    this.options.keyCache.set(file, key);
    return key;
  }

  private async unlock(file: string, data: Buffer): Promise<ParsedKey | Error | null> {
    for (let attempt = 1; attempt <= PASSPHRASE_ATTEMPTS; attempt++) {
      const passphrase = await this.options.askPassphrase(file, attempt > 1);
      if (passphrase === null) {
        this.notes.push(`${file} was skipped (no passphrase given)`);
        return null;
      }
      const parsed = ssh2().utils.parseKey(data, passphrase);
      if (!(parsed instanceof Error)) return parsed;
    }
    this.notes.push(`${file} was skipped (wrong passphrase ${PASSPHRASE_ATTEMPTS} times)`);
    return null;
  }
}

/** CertificateFile is refused before connecting: ssh2 cannot present a user certificate. */
export function certificatesRefused(host: ResolvedHost): CertificateUnsupportedError {
  return new CertificateUnsupportedError(
    `Cannot log in to ${host.name}: the ssh config gives it CertificateFile ${host.certificateFiles!.join(', ')}, and nightshift cannot log in ` +
      `with a certificate (its SSH library, ssh2, signs a certificate login in a form sshd rejects). ` +
      `Authorize a plain key for ${host.user} on the host and remove CertificateFile for it, or reach it with ssh itself.`,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** "a", "a and b", "a, b and c" */
export function joinWords(words: string[], conjunction = 'and'): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`;
}
