// What the rest of nightshift sees of SSH. ssh2 stays inside src/remote/.

/** A host key as seen or as recorded, for prompts and refusals. */
export interface HostKeyInfo {
  /** The runbook's name for the host (or the alias connected to). */
  host: string;
  /** The address and port actually connected to. */
  address: string;
  port: number;
  /** e.g. ssh-ed25519 */
  keyType: string;
  /** OpenSSH style: SHA256:base64-without-padding */
  fingerprint: string;
}

export interface RecordedHostKey extends HostKeyInfo {
  /** Where the recorded key was found, e.g. /root/.ssh/known_hosts:12 */
  source: string;
}

/** Questions the connection layer must ask a human; the front-end (TUI or plain) answers. */
export interface RemoteInteraction {
  /** An unknown host: show the fingerprint and ask. true records the key in known_hosts. */
  confirmUnknownHostKey(key: HostKeyInfo): Promise<boolean>;
  /**
   * Passphrase for an encrypted private key; null skips that key. `retry` when the last one
   * did not unlock it. Required, as for sudo: no wrapper may drop it on the way.
   */
  askPassphrase(keyFile: string, retry: boolean): Promise<string | null>;
  /**
   * The sudo password of `user` on `host` (`become: sudo`), asked hidden, once per host;
   * `retry` when sudo refused the last one. null: none given (the command does not run).
   * Required, so that no wrapper of an interaction can drop the question on the way.
   */
  askSudoPassword(host: string, user: string, retry: boolean): Promise<string | null>;
}

export type ConnectionState =
  /** `error`: why a connection kept from the host check is gone again (it dropped before any step used it). */
  | { state: 'idle'; error?: string }
  | { state: 'connecting'; since: number }
  /** `loggedInBy`: the check before the run logged in, and the run goes on with that connection. */
  /** `through`: the login went to the host's spare way in (runbook `spare_access`), and why. */
  | { state: 'connected'; since: number; loggedInBy?: 'check'; through?: string }
  | { state: 'failed'; since: number; error: string }
  /** A dropped link being won back: `attempt` logins have failed so far, the next at `nextTryAt`. */
  | { state: 'reconnecting'; since: number; attempt: number; nextTryAt: number; error: string }
  /** Given up: no login within the reconnect window, or one that can never succeed (host key, login refused). */
  | { state: 'lost'; since: number; error: string }
  | { state: 'closed'; since: number };

export interface ConnectOptions {
  /** ssh config file to read (default ~/.ssh/config; missing file is fine). */
  sshConfigFile?: string;
  /** known_hosts files to check, in order; new keys are recorded in the first (default ~/.ssh/known_hosts, then /etc/ssh/ssh_known_hosts). */
  knownHostsFiles?: string[];
  interaction: RemoteInteraction;
  /** Milliseconds between keepalives (default 10 000); the link counts as dead after 2 unanswered, so a dead link is noticed within about 30 s. */
  keepaliveIntervalMs?: number;
  /** How long a dropped link is tried again, with growing pauses, before the host counts as lost (default 10 minutes). */
  reconnectForMs?: number;
  /** Bound on TCP connect + handshake + auth (default 20 000); time spent waiting for a human's answer does not count. */
  readyTimeoutMs?: number;
  /** The runbook's phase names in order, to tell whether the run's phase lies in a declared host key's window. */
  phaseOrder?: string[];
  /** Environment to read SSH_AUTH_SOCK and HOME from (default process.env); tests pass their own. */
  env?: NodeJS.ProcessEnv;
}

export interface ExecHandlers {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Aborting sends TERM to the remote command, closes the channel and rejects with an AbortError. */
  signal?: AbortSignal;
  /** `become: sudo`: the command runs as root through sudo (become.ts). */
  become?: 'sudo';
  /** Something nightshift itself has to say (sudo asked again, a switch to a pty): shown, not logged as output. */
  onNotice?(text: string): void;
  /**
   * Without sudo: the channel's input stays open after the script, which finds it on fd 3,
   * and is handed over here to write to and end (see launcherKeepingInput).
   */
  keepInput?(input: KeptInput): void;
  /**
   * The script holds nothing secret: without sudo it travels on the command line, where every
   * user of the host can read it, and starts a round trip sooner (launcherCarrying).
   */
  scriptIsPublic?: boolean;
}

/** A channel's input, open after its script was sent. */
export interface KeptInput {
  /** False once the channel has closed, or the input was ended. */
  readonly open: boolean;
  write(text: string): void;
  end(): void;
}

/** A detached run's output on its host can be released over the channel that read its result, while that is open. */
export interface Releasable {
  /** True when the host was asked over that channel; false when it has closed (release it another way). */
  release(): boolean;
  /** Ends the channel without a release: the output stays on the host. */
  abandon(): void;
}

export interface DetachedRunOptions extends ExecHandlers {
  /** Unique per step attempt on that host, e.g. <session>/<step>.<attempt>; names the run's folder there. */
  runId: string;
  /** Something nightshift itself has to say about the run (a dropped link, a reconnect): shown, not logged as output. */
  onNotice?(text: string): void;
  /** Asked when the run is aborted: true leaves the command running on the host (nightshift is pausing, to follow it again on resume). */
  leaveRunning?(): boolean;
  /** Bytes of stdout and stderr already received (a run followed again after a resume): only what follows is sent. */
  from?: { out: number; err: number };
  /** The host's run_dir: where run folders go before the usual places. */
  runDir?: string;
  /**
   * The attempt was started on the host before (a resume, a reattach): it is only followed.
   * A run folder that is gone by now (a restart emptied /tmp) fails the run; nothing is started.
   */
  followOnly?: boolean;
  /** The host said the command is started (or it was already): from now on it is only followed. */
  onStarted?(): void;
  /**
   * The result came over a channel that waits, a while, to be told to release the run's output
   * on the host: one channel fewer than a release of its own.
   */
  onReleasable?(releasable: Releasable): void;
}

export interface ExecResult {
  /** null when the command died of a signal */
  exitCode: number | null;
  signal?: string;
}

/** Where a host's connection settings ended up after ~/.ssh/config and the runbook were merged. */
export interface ResolvedHost {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** Jump hosts to go through first, as ssh -J takes them (the runbook's proxy_jump, else ProxyJump); absent when direct. */
  proxyJump?: string;
  /** Who worked the settings out: OpenSSH itself (`ssh -G`), or nightshift's own reading of the config where there is no ssh. */
  resolvedBy?: 'ssh -G' | 'own parser';
  /** IdentitiesOnly: only the identity files (and their agent copies) are offered, not every key of the agent. */
  identitiesOnly?: boolean;
  /** IdentityAgent: the agent socket to use instead of SSH_AUTH_SOCK; 'none' means no agent. Absent: SSH_AUTH_SOCK. */
  identityAgent?: string;
  /** ForwardAgent: the agent is offered to commands on the host (for an scp between two hosts). */
  forwardAgent?: boolean;
  /** HostKeyAlias: the name the host key is looked up and recorded under in known_hosts, instead of the address. */
  hostKeyAlias?: string;
  /** ProxyCommand, tokens expanded: its stdin/stdout is the transport. Exclusive with proxyJump. */
  proxyCommand?: string;
  /** CertificateFile entries, tokens expanded. */
  certificateFiles?: string[];
  /** The algorithms ssh would offer, in its order (ssh -G's lists, or `+`/`-`/`^` applied to OpenSSH's defaults). Absent: ssh2's defaults. */
  algorithms?: AlgorithmLists;
  /** UserKnownHostsFile and GlobalKnownHostsFile, expanded; absent: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  /** HashKnownHosts: a key recorded for this host is written hashed. */
  hashKnownHosts?: boolean;
}

/** OpenSSH's names for what the client offers: KexAlgorithms, HostKeyAlgorithms, Ciphers, MACs, PubkeyAcceptedAlgorithms. */
export interface AlgorithmLists {
  kex?: string[];
  hostKey?: string[];
  cipher?: string[];
  mac?: string[];
  pubkey?: string[];
}

/** A login shell on a pty, for the upgrader to look around by hand (the `!` key). */
export interface InteractiveShell {
  /** Where the shell runs: user@address:port, as logged in. */
  readonly where: string;
  write(data: Buffer | string): void;
  resize(cols: number, rows: number): void;
  /** Everything the shell prints (its pty merges stdout and stderr). */
  onData(listener: (data: Buffer) => void): void;
  /** Hangs up (the shell gets a SIGHUP as when a terminal closes). */
  end(): void;
  /** When the shell ended: its exit status, or null when the link went first. */
  readonly closed: Promise<{ exitCode: number | null; signal?: string }>;
}

export interface ShellSize {
  cols: number;
  rows: number;
  /** The TERM to announce (the upgrader's own; xterm-256color when unknown). */
  term: string;
}
