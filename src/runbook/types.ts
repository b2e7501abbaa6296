// The typed runbook the rest of the program works with: validated, defaults applied,
// variables substituted, every step numbered and positioned in its file.

export type Role = 'upgrader' | 'sentinel';
export type Confirmers = Role | 'both';
export type OnFail = 'ask' | 'fallback' | 'continue';

export interface SourcePosition {
  line: number;
  col: number;
}

export interface Site {
  name: string;
  tz: string;
}

/** A host key a machine may present, and the phases in which it is accepted. */
export interface HostKeyExpectation {
  /** "type base64", when the key itself was given. */
  key?: string;
  /** SHA256:... of the key (computed when only the key was given). */
  fingerprint: string;
  /** First and last phase (inclusive) of the window; absent means open-ended. */
  from?: string;
  until?: string;
}

export interface HostSpec {
  name: string;
  /** ~/.ssh/config alias the connection settings start from. */
  alias: string;
  address?: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** As ssh -J: runbook host names or [user@]host[:port], comma-separated. */
  proxyJump?: string;
  /** `run_dir`: where run folders go on the host, before the usual places. */
  runDir?: string;
  /** When given, the only keys accepted, each in its window of phases. */
  hostKeys?: HostKeyExpectation[];
  /** `become: sudo`: the host's remote steps run as root through sudo, unless a step opts out. */
  become?: 'sudo';
  /** `become_pty`: sudo there is always called in a pty (Defaults requiretty). */
  becomePty?: boolean;
  /** `power`: a command on the upgrader's machine that power-cycles the host out of band (power_cycle steps). */
  power?: string;
  /** `spare_access`: a second SSH server a guard on this host starts first. */
  spareAccess?: SpareAccess;
  /** `appears_in`: the phase whose steps make this host (an address the runbook gives a machine); not tried before. */
  appearsIn?: string;
}

/** A second SSH server on a host for the duration of a guard (see runner/spare-access.ts). */
export interface SpareAccess {
  port: number;
  /** Absent: sshd where the host has it, else dropbear. */
  server?: 'openssh' | 'dropbear';
  /** OpenSSH: the config it starts with (absent: /etc/ssh/sshd_config). */
  config?: string;
  lifetimeMs: number;
  /** Other runbook hosts that reach this machine once the guard's block moved its addresses: their logins may go to this port too, and the spare is stopped through the first of the host and these that answers. */
  also?: string[];
}

interface StepBase {
  /** Stable id used by the journal and the machine. */
  id: string;
  /** "2.3" for phase 2 step 3, "F1" for the first fallback step. */
  number: string;
  /** Phase name, or null for fallback steps. */
  phase: string | null;
  title: string;
  at: SourcePosition;
  /** `needs: hands`: held while no sentinel is on site (or the sentinel is away), unless overridden. */
  needsHands: boolean;
  /**
   * `when:` conditions, the phase's first and then the step's own: the step runs only when
   * all hold, and is otherwise skipped with the one that did not hold as its reason.
   */
  when?: StepCondition[];
  /**
   * `skip_done`: the step's `check:` is asked first, on a fresh run too, and a check that
   * passes marks the step done (journaled with its output) instead of running it.
   */
  skipDone?: boolean;
  /** A step of a `for_each` phase, made for one host of its group: that host and the id its template step has without `@host`. */
  instanceOf?: { host: string; baseId: string };
}

/** `capture:` a value taken from what a run or local step printed on stdout, once it succeeded. */
export type Capture =
  | { name: string; from: 'last_line' }
  /** The regular expression's group `group` (default 1) of its first match. */
  | { name: string; from: 'regex'; pattern: string; group: number }
  /** stdout parsed as JSON, then this path (`a.b[0].c`); the value must be a string, number or boolean. */
  | { name: string; from: 'json'; path: string };

/** One operand of a condition: a variable, a captured value, a fact of a host, or a literal. */
export type ConditionOperand =
  | { kind: 'name'; name: string }
  /** `HOST.FACT`, or `host.FACT` for the step's own host (resolved by the loader to its name). */
  | { kind: 'fact'; host: string; fact: HostFactName }
  | { kind: 'literal'; value: string | number | boolean };

export type ConditionExpr =
  | { kind: 'compare'; op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '=~'; left: ConditionOperand; right: ConditionOperand }
  /** A bare operand: true when it is true, a non-zero number or a non-empty string other than "false"/"0". */
  | { kind: 'truthy'; operand: ConditionOperand }
  | { kind: 'not'; expr: ConditionExpr }
  | { kind: 'and' | 'or'; exprs: ConditionExpr[] };

/** Facts gathered once per host (by one /bin/sh script) for conditions. */
export const HOST_FACTS = ['systemd', 'cpus', 'distro', 'distro_like', 'distro_version', 'kernel', 'arch'] as const;
export type HostFactName = (typeof HOST_FACTS)[number];
export type HostFacts = { systemd: boolean; cpus: number; distro: string; distro_like: string; distro_version: string; kernel: string; arch: string };

export interface StepCondition {
  /** As written, for the view, the journal and the skip reason. */
  text: string;
  expr: ConditionExpr;
  /** Where it was written: on the phase or on the step. */
  scope: 'phase' | 'step';
  at: SourcePosition;
}

interface ActingStep extends StepBase {
  timeoutMs?: number;
  onFail: OnFail;
}

export interface RunStep extends ActingStep {
  kind: 'run';
  host: string;
  /** `become: sudo` (the step's, else its host's): its commands run as root through sudo. */
  become?: 'sudo';
  command: string;
  /** Detached on the host (survives a dropped link), unless the runbook says attach: false. */
  detached: boolean;
  /** "Already done?" probe run before anything else when the step was in flight at a crash. */
  check?: string;
  /** Text the upgrader must type before the step runs; absent when not destructive. */
  confirmText?: string;
  /** `revert_after`: armed on the host before the command; undoes it unless disarmed from a new connection in time. */
  revert?: RevertPlan;
  capture?: Capture;
}

export interface RevertPlan {
  afterMs: number;
  /** Shell command run on the host when the timer fires. */
  command: string;
}

export interface LocalStep extends ActingStep {
  kind: 'local';
  command: string;
  check?: string;
  confirmText?: string;
  capture?: Capture;
}

/** One change an `edit:` step makes to its file, applied in order to the file's text. */
export type EditChange =
  /** The whole file, from a template. */
  | { kind: 'content'; text: string }
  /** This line is in the file; when missing, it is put after the last line matching `after` (else at the end). */
  | { kind: 'ensure_line'; line: string; after?: string }
  /** Lines matching `pattern` (a regular expression) are replaced by `with` ($1 refers to a group). */
  | { kind: 'replace'; pattern: string; with: string }
  /** The text between `# BEGIN marker` and `# END marker` lines is `text` (the block is added when missing). */
  | { kind: 'block'; marker: string; text: string }
  /** `key=value` lines (shell-style, /etc/default files, os-release): set, or added when missing. */
  | { kind: 'set'; key: string; value: string; separator: string };

/**
 * `edit:` a file on a host. The diff against the file as it is shows before it runs and is
 * approved like a destructive step; the original is kept on the host as a backup; applied
 * twice, the second time changes nothing.
 */
export interface EditStep extends ActingStep {
  kind: 'edit';
  host: string;
  become?: 'sudo';
  /** Absolute path on the host. */
  path: string;
  changes: EditChange[];
  /** For a file that does not exist yet, e.g. 0o644. */
  mode?: number;
  /** What the upgrader types to approve the diff (the host's name unless `destructive:` says otherwise). */
  confirmText: string;
}

/** `undo: STEP_ID`: puts back the file an edit step changed, from the backup that step kept. */
export interface UndoStep extends ActingStep {
  kind: 'undo';
  /** The edit step whose change is undone. */
  stepId: string;
  host: string;
  become?: 'sudo';
  path: string;
}

export interface UploadStep extends ActingStep {
  kind: 'upload';
  host: string;
  /** `become: sudo` (the step's, else its host's): its commands run as root through sudo. */
  become?: 'sudo';
  /** Absolute path on the upgrader's machine. */
  localPath: string;
  /** Path on the host; a trailing / keeps the file name. */
  remotePath: string;
  /** e.g. 0o644 */
  mode?: number;
}

/** A new root booted once through GRUB (grub-reboot), made the default only once it is verified. */
export interface OneShotBoot {
  /** Device or UUID=... of the new root filesystem. */
  root: string;
  kernel: string;
  initrd: string;
  /** Kernel arguments besides root= and panic=; absent: the running kernel's. */
  args?: string;
  panicSeconds: number;
}

export interface RebootStep extends ActingStep {
  kind: 'reboot';
  host: string;
  /** `become: sudo` (the step's, else its host's): its commands run as root through sudo. */
  become?: 'sudo';
  command: string;
  expectHostname?: string;
  /** Device or UUID=... the machine must come back on. */
  expectRoot?: string;
  into?: OneShotBoot;
  /** Bound on going down and coming back. */
  timeoutMs: number;
}

/** A read-only check of a preflight step. */
export type PreflightCheck =
  | { kind: 'fstab'; path: string }
  | { kind: 'mem_available'; bytes: number; size: string }
  | { kind: 'disk'; device: string; serial?: string; ptuuid?: string }
  | { kind: 'address_free'; address: string; interface: string }
  | { kind: 'grubenv' };

export interface PreflightStep extends ActingStep {
  kind: 'preflight';
  host: string;
  /** `become: sudo` (the step's, else its host's): the checks run as root through sudo. */
  become?: 'sudo';
  checks: PreflightCheck[];
  /** A disk check's serial or ptuuid, typed by the upgrader before the checks run. */
  confirmText?: string;
}

export interface CheckpointStep extends ActingStep {
  kind: 'checkpoint';
  text: string;
  by: Confirmers;
  confirmText?: string;
  /** `per: batch` in a for_each phase: asked once per batch, once all its hosts got there. */
  perBatch?: boolean;
}

export type WaitCondition = { kind: 'ssh' } | { kind: 'port'; port: number } | { kind: 'command'; command: string };

export interface WaitStep extends ActingStep {
  kind: 'wait';
  host: string;
  /** `become: sudo` (the step's, else its host's): its commands run as root through sudo. */
  become?: 'sudo';
  until: WaitCondition;
  timeoutMs: number;
  everyMs: number;
}

/**
 * `guard:` one dead-man over consecutive phases, across hosts: before their first step a
 * revert is armed on each host it names; it is committed (disarmed from a new connection)
 * only after their last step succeeded. A step of those phases that falls back fires the
 * reverts at once; a host nightshift cannot reach reverts by itself at its deadline.
 */
export interface GuardPlan {
  /** The phase the guard is written on; its run folders on the hosts are named after it. */
  id: string;
  afterMs: number;
  /** Each host's revert, in the order written; `become`: the host's, for the guard's scripts there. */
  reverts: GuardRevert[];
  /** The phases it spans, first to last. */
  phases: string[];
  /** The ids of the block's own steps (not its fallbacks', nor the guard's): what must not act once a deadline has passed. */
  steps: string[];
}

export interface GuardRevert {
  host: string;
  command: string;
  /** Other runbook hosts that reach the same machine once the block moved its addresses, tried in order after `host`. */
  also?: string[];
  /** The host's `become`, for the guard's scripts there. */
  become?: 'sudo';
  spare?: SpareAccess;
}

/** What nightshift does for a guard: arm it (before its first step), commit it (after its last), or fire it (first in a fallback). */
export interface GuardStep extends ActingStep {
  kind: 'guard';
  action: 'arm' | 'commit' | 'fire';
  guard: GuardPlan;
}

export interface NoteStep extends StepBase {
  kind: 'note';
  text: string;
}

export type Step = RunStep | LocalStep | UploadStep | RebootStep | PreflightStep | CheckpointStep | WaitStep | NoteStep | EditStep | UndoStep | GuardStep;

export interface Phase {
  name: string;
  title: string;
  steps: Step[];
  /** The phase's `when:`, as written (each of its steps carries it in `when` too). */
  when?: StepCondition;
  /**
   * The phase's own `fallback:`: a step of this phase that falls back runs these first; the
   * runbook's fallback follows only when one of these fails, or when `fallbackThen` says so.
   */
  fallback?: Step[];
  /** After the phase's fallback succeeded: the run ends fallen back (`stop`, the default) or goes on to the runbook's fallback (`outer`). */
  fallbackThen?: 'stop' | 'outer';
  /** The template it was made from (`use:`), for plan and lint. */
  template?: string;
  /** `for_each:` the phase runs once per host of a group, in batches (see Fleet). */
  fleet?: Fleet;
  /** The guard whose block this phase is in. */
  guard?: GuardPlan;
}

/**
 * A phase run once per host of a group (`for_each:`): each host has its own steps (ids
 * `BASE@HOST`), state, captured values and fallback. Hosts go in batches (the canary batch
 * first when there is one); the hosts of a batch work in parallel, at most `parallel` at
 * once; after each batch, more failed hosts than `maxFail` stop the rollout at its halt
 * checkpoint, which asks the upgrader.
 */
export interface Fleet {
  group: string;
  /** The param each host is given as ({{as}} in the steps). */
  as: string;
  /** The selected hosts, in the group's order (after --hosts and --limit). */
  hosts: string[];
  /** The hosts of each batch, in order. */
  batches: string[][];
  /** Whether `batches[0]` is a canary batch, followed by `canaryCheckpoint`. */
  canary: boolean;
  /** Failed hosts (failed, fallen back or skipped) the rollout tolerates; one more stops it. */
  maxFail: number;
  /** Hosts at work at once within a batch. */
  parallel: number;
  /** `serial:` and `max_fail:` as written, for plan and the report ("2", "25%"). */
  written: { serial?: string; maxFail?: string };
  /** Each host's steps and its instance of the phase's fallback. */
  perHost: Record<string, { steps: Step[]; fallback: Step[] }>;
  /** After the canary batch: the upgrader confirms before the rest start. Id `PHASE-canary`. */
  canaryCheckpoint?: Step;
  /** After batch k (index k): entered only when more hosts failed than max_fail (or the upgrader stopped the rollout). Ids `PHASE-halt-K`. */
  halts: Step[];
  /**
   * Checkpoints written with `per: batch`: each stands after `after` of every host's steps
   * (they are not in perHost), one per batch (`perBatch[k]`, ids `BASE@batchK`), asked once
   * every host of that batch got there. In the order written.
   */
  batchCheckpoints: Array<{ after: number; perBatch: Step[] }>;
}

/** Where and how the on-site helper is reached (the runbook's `sentinel` section). */
export interface SentinelAccess {
  /** The site host whose 127.0.0.1 gets the reverse tunnel. */
  host: string;
  port: number;
  notify: 'wall' | 'write' | 'none';
  user?: string;
  everyMs: number;
}

export const DEFAULT_SENTINEL_PORT = 2222;

/** Where a secret variable's value comes from; the value itself is never part of the runbook. */
export type SecretSource =
  | { from: 'ask'; prompt: string }
  | { from: 'env'; variable: string }
  | { from: 'file'; path: string }
  | { from: 'command'; command: string };

export type SecretSpec = SecretSource & { name: string };

export interface Runbook {
  name: string;
  description?: string;
  /** Absolute path of the file it was loaded from. */
  file: string;
  /** sha256 of the file's bytes: a session refuses to continue on a different runbook. */
  hash: string;
  sites: { upgrader: Site; site: Site };
  /** Phase names in order, for windows of accepted host keys. */
  phaseOrder: string[];
  hosts: Record<string, HostSpec>;
  vars: Record<string, string>;
  /**
   * Secret variables by name. Commands keep their {{name}} as it was written: the value is
   * put in (see secrets.ts revealCommand) only when the command is sent.
   */
  secrets: Record<string, SecretSpec>;
  phases: Phase[];
  fallback: Step[];
  sentinel?: SentinelAccess;
  /**
   * Values steps capture (`capture:`), by name: the id of the step that captures each.
   * Commands keep their {{name}} as written; the value goes in when the command is sent.
   */
  captures: Record<string, string>;
  /** Files read besides `file` (include:), for the hash and for problems' positions. */
  includes?: string[];
  /** Host groups by name (`groups:`), their members in order, as resolved when loaded. */
  groups?: Record<string, string[]>;
}

export function rolesOf(by: Confirmers): Role[] {
  return by === 'both' ? ['upgrader', 'sentinel'] : [by];
}

/** Every step: the phases', each phase's own fallback after its steps, then the runbook's fallback. */
export function allSteps(runbook: Runbook): Step[] {
  return [...runbook.phases.flatMap((phase) => [...phase.steps, ...(phase.fallback ?? []), ...fleetFallbackSteps(phase)]), ...runbook.fallback];
}

/** A `for_each` phase's steps are in `steps` (every host's, then its checkpoints); its hosts' fallbacks are here. */
function fleetFallbackSteps(phase: Phase): Step[] {
  return phase.fleet ? Object.values(phase.fleet.perHost).flatMap((host) => host.fallback) : [];
}
