// One run of a runbook: the compiled machine with its effects provided, every engine event
// and connection change journaled, outputs recorded by reference. Front-ends (Ink or plain)
// read from it and send the humans' events to it.
import { GuardKeeper, guardsOf } from './guard.js';
import os from 'node:os';
import path from 'node:path';
import { createActor } from 'xstate';
import type { ActionQuery, Actor, EngineEmitted, EngineEvent, Outcome } from '../engine/events.js';
import { compileRunbook, type RunbookActor } from '../engine/machine.js';
import { viewOf, type EngineView } from '../engine/view.js';
import { whyNot } from '../engine/rules.js';
import { revealCaptured } from '../runbook/captures.js';
import { allSteps, type Runbook, type Step } from '../runbook/types.js';
import { valuesFor, valuesOf } from '../engine/context.js';
import type { EntryFields, EntryType } from '../store/journal.js';
import type { Session } from '../store/session.js';
import type { ConnectionState } from '../remote/types.js';
import { createEffects, type DetachedResult } from './effects.js';
import { HostFactsCache } from './host-facts.js';
import { describeRebootInFlight } from './reboot.js';
import type { RemoteHosts } from './remote-hosts.js';
import { RunOutputs } from './run-outputs.js';
import type { SecretValues } from './secret-values.js';
import { rearmTimeLimit, type RestoredMachine } from './restore.js';
import { summarizeRunbook } from './step-summary.js';
import { goingAgainOptions, type GoingAgain } from '../engine/going-again.js';
import { showCapturedValues } from './shown-values.js';
import { lastStepOnEachHost } from './last-steps.js';

export interface RunOptions {
  runbook: Runbook;
  hosts: RemoteHosts;
  session: Session;
  upgrader?: Actor;
  /** Plain mode prints output lines; the TUI reads rings instead and passes nothing. */
  onLines?: (step: Step, lines: string[], stderr: boolean) => void;
  /** Going on with a session: the machine as it was saved (see runner/restore.ts). */
  restore?: RestoredMachine;
  /** Whether the upgrader may record a sentinel's confirmation told by phone (journaled as relayed). Default false. */
  relaysAllowed?: boolean;
  /** The runbook's secrets, read or asked before the run: put into commands as they are sent, masked in all output. */
  secrets?: SecretValues;
  /** Going again (`run --from`, `again`): where the run starts and which session did the steps before (journaled in run.started). */
  again?: GoingAgain;
}

export interface Run {
  runbook: Runbook;
  session: Session;
  hosts: RemoteHosts;
  actor: RunbookActor;
  outputs: RunOutputs;
  upgrader: Actor;
  /** Whether the upgrader may record a sentinel's confirmation for them. */
  relaysAllowed: boolean;
  stepOf(stepId: string): Step;
  view(): EngineView;
  send(event: EngineEvent): void;
  /** Why the engine would refuse this action now, or null: what front-ends offer and say (see engine/rules.ts). */
  whyNot(query: ActionQuery): string | null;
  /** Every event the engine emits, after it is journaled. */
  onEvent(listener: (event: EngineEmitted) => void): () => void;
  /** Starts the machine; front-ends subscribe first so that they see the first events too. */
  start(): void;
  finished: Promise<Outcome>;
  /**
   * Saves and ends the run at any moment (the pause key while a step runs, SIGTERM, SIGHUP):
   * a detached step goes on on its host and is followed again on resume. `finished`
   * resolves as paused.
   */
  suspend(by: Actor, reason: string): void;
  /** How the run ended (paused when suspended), or null while it goes on. */
  outcome(): Outcome | null;
  /** Stops the machine (a running step is aborted), closes connections and the journal. */
  stop(): Promise<void>;
  /** The run's guards (runbook `guard:`): their deadlines, and `+`. */
  guards: GuardKeeper;
}

/** How long a note (a link's state, an output closed) may wait for the journal's next write before it is written on its own. */
const NOTES_WRITTEN_AFTER_MS = 100;

/** How often the offsets of a growing detached output are saved (a crash re-follows at most this much of it). */
const OFFSETS_SAVED_EVERY_MS = 1000;

/** Entries that wait for the journal's next write (see note in createRun). */
const NOTE_TYPES: ReadonlySet<string> = new Set<EntryType>(['host.state', 'output.closed']);

export function defaultUpgrader(): Actor {
  return { role: 'upgrader', name: os.userInfo().username };
}

export function createRun(options: RunOptions): Run {
  const { runbook, session, hosts } = options;
  const upgrader = options.upgrader ?? defaultUpgrader();
  const journal = session.journal;
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  const stepOf = (stepId: string): Step => {
    const step = steps.get(stepId);
    if (!step) throw new Error(`unknown step ${stepId}`);
    return step;
  };

  // The machine's entries are held until the snapshot of the change they belong to is
  // written (see save), then written and told to the listeners; anything else journaled
  // writes them first, so the journal stays in order.
  const listeners = new Set<(event: EngineEmitted) => void>();
  let heard: EngineEmitted[] = [];
  const flush = () => {
    journal.release();
    const events = heard;
    heard = [];
    for (const event of events) for (const listener of listeners) listener(event);
  };
  const record = <T extends EntryType>(type: T, fields: EntryFields<T>) => {
    flush();
    return journal.append(type, fields);
  };
  // What is told, not acted on (a link's state, an output closed): it waits for the next
  // write to the journal (a state saved, another entry) or NOTES_WRITTEN_AFTER_MS, instead
  // of an fsync of its own for each of a fleet's hundreds of logins and outputs. Numbered
  // now, so the order stays.
  let notesDue: NodeJS.Timeout | undefined;
  const writeNotes = () => {
    notesDue = undefined;
    // Only when nothing of the machine's waits with them: those go with their state saved.
    if (journal.heldEntries.every((entry) => NOTE_TYPES.has(entry.type))) flush();
  };
  const note = <T extends EntryType>(type: T, fields: EntryFields<T>) => {
    journal.hold(type, fields);
    notesDue ??= setTimeout(writeNotes, NOTES_WRITTEN_AFTER_MS);
    notesDue.unref?.();
  };

  const journalStart = () =>
    record(options.restore ? 'session.resumed' : 'run.started', {
      session: session.id,
      runbook: { name: runbook.name, file: runbook.file, hash: runbook.hash },
      sites: runbook.sites,
      by: upgrader,
      host: os.hostname(),
      pid: process.pid,
      ...(options.restore ? { stepId: options.restore.inFlight, interrupted: options.restore.interrupted } : summarizeRunbook(runbook)),
      ...(options.again && !options.restore ? { again: { from: options.again.phase, session: options.again.session } } : {}),
    });

  const outputs = new RunOutputs(
    session.outputPath,
    (closed) => note('output.closed', { ...closed, file: path.relative(session.dir, closed.file) }),
    options.onLines,
    undefined,
    options.secrets?.masker,
  );
  let suspended: ((outcome: Outcome) => void) | undefined;
  let suspending = false;
  // Detached runs whose result came back: their output stays on the host until a saved
  // state no longer has that attempt running, since a resume from an older one attaches
  // again and must get the same result rather than a second run.
  const unreleased: DetachedResult[] = [];
  const releaseRecorded = () => {
    const steps = actor.getSnapshot().context.steps;
    for (const run of [...unreleased]) {
      const record = steps[run.stepId];
      if (record?.status === 'running' && record.attempts === run.attempt) continue;
      unreleased.splice(unreleased.indexOf(run), 1);
      hosts.releaseRun(run.host, run.runId, run.become);
    }
  };
  const guards = new GuardKeeper(hosts, session.id, ({ type, ...fields }) => record(type, fields), guardsOf(runbook));
  if (options.restore?.guards) guards.restore(options.restore.guards);
  const machine = compileRunbook(runbook, { relaysAllowed: options.relaysAllowed ?? false, ...goingAgainOptions(options.again) }).provide({
    actors: createEffects({
      hosts,
      outputs,
      sessionId: session.id,
      localCwd: path.dirname(runbook.file),
      leaveRunning: () => suspending,
      sites: runbook.sites,
      onRevert: ({ type, ...fields }) => record(type, fields),
      guards,
      onDetachedResult: (run) => unreleased.push(run),
      onReboot: (type, fields) => record(type, fields as EntryFields<typeof type>),
      ...(options.restore?.reboots ? { reboots: options.restore.reboots } : {}),
      // Secrets first, then the values steps captured (from the machine, so a resume has them too).
      reveal: (command: string, step: Step) =>
        revealCaptured(
          options.secrets ? options.secrets.reveal(command) : command,
          runbook,
          valuesFor(actor.getSnapshot().context, step),
          (id) => stepOf(id).number,
        ),
      ...(options.secrets ? { mask: (text: string) => options.secrets!.masker.maskText(text) } : {}),
      facts: new HostFactsCache(hosts, (host, facts) => record('host.facts', { host, facts })),
      vars: runbook.vars,
      lastStepOnHost: lastStepOnEachHost(runbook),
    }),
  });
  if (options.restore) {
    outputs.seed(options.restore.attempts, options.restore.reattach, options.restore.outputOffsets);
    // The step in focus shows what it printed before nightshift stopped (one followed again reads its log as it goes on).
    const { current, reattach } = options.restore;
    if (current && !reattach.includes(current)) outputs.recall(current, options.restore.outputLines?.[current]);
  }
  // A reboot issued and not seen through: its facts are put to the upgrader with the question.
  const rebootInFlight = options.restore?.current ? options.restore.reboots?.get(options.restore.current) : undefined;
  const actor = createActor(machine, options.restore ? { snapshot: options.restore.machine as never } : {});
  // Titles and texts show the captured values: those restored now, each new one as it comes.
  showCapturedValues(runbook, valuesOf(actor.getSnapshot().context));
  actor.on('value.captured', ({ name, value }) => showCapturedValues(runbook, { ...valuesOf(actor.getSnapshot().context), [name]: value }));

  // Saved at every change until the run ends, and every second while a detached
  // command's output grows (its offsets); nothing after the pause that ends it, so a
  // resume finds the state it was paused in. The change's journal entries go into the
  // snapshot and then into the journal: a crash between leaves them in the snapshot, and
  // reopening the session writes them (never in the journal alone, which a resume would
  // repeat).
  let savedOffsets = '';
  /** Steps whose last detached attempt may still run on its host: its log's offsets are kept for a reattach. */
  const unsettledSteps = () =>
    Object.entries(actor.getSnapshot().context.steps)
      .filter(([, record]) => record.mayStillRun !== undefined)
      .map(([stepId]) => stepId);
  const save = () => {
    const status = actor.getSnapshot().status;
    // The end too, unless it is a pause (a resume goes on from the state paused in): a
    // crash before the session is closed then leaves a finished machine, which resume
    // closes instead of running its last step again.
    const finishedRun = status === 'done' && viewOf(actor.getSnapshot(), stepOf).outcome !== 'paused';
    const saving = (status === 'active' || finishedRun) && !suspending;
    let saved = false;
    if (saving) {
      const offsets = outputs.offsets(unsettledSteps());
      savedOffsets = JSON.stringify(offsets);
      const held = journal.heldEntries;
      saved = session.snapshots.write({
        version: 1,
        runbookHash: runbook.hash,
        savedAt: new Date().toISOString(),
        machine: actor.getPersistedSnapshot(),
        ...(Object.keys(offsets).length > 0 ? { outputs: offsets } : {}),
        ...(held.length > 0 ? { journalEntries: [...held] } : {}),
      });
    }
    flush();
    if (saved) releaseRecorded();
  };
  actor.subscribe(save);
  const saveOffsets = setInterval(() => {
    if (JSON.stringify(outputs.offsets(unsettledSteps())) !== savedOffsets) save();
  }, OFFSETS_SAVED_EVERY_MS);
  saveOffsets.unref();

  actor.on('*', (event) => {
    const { type, at, ...fields } = event;
    journal.hold(type, fields, at);
    heard.push(event);
    if (event.type === 'step.found-done') outputs.showFoundDone(event.stepId, event.output);
  });

  const stateNames = () => Object.fromEntries(Object.entries(hosts.states()).map(([host, state]) => [host, state.state]));
  let lastStates: Record<string, ConnectionState['state']> = stateNames();
  const recordHostState = (host: string, state: ConnectionState) =>
    note('host.state', {
      host,
      state: state.state,
      ...('error' in state && state.error !== undefined ? { error: state.error } : {}),
      ...('loggedInBy' in state && state.loggedInBy ? { loggedInBy: state.loggedInBy } : {}),
      ...('through' in state && state.through !== undefined ? { through: state.through } : {}),
    });
  const unsubscribeHosts = hosts.subscribe(() => {
    for (const [host, state] of Object.entries(hosts.states())) {
      if (lastStates[host] === state.state) continue;
      recordHostState(host, state);
    }
    lastStates = stateNames();
  });
  /** The logins of the check before the run that the run goes on with: the journal tells every login. */
  const journalKeptLogins = () => {
    for (const [host, state] of Object.entries(hosts.states())) {
      if (state.state === 'connected' && state.loggedInBy) recordHostState(host, state);
    }
  };

  const finished = new Promise<Outcome>((resolve, reject) => {
    suspended = resolve;
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'done') return;
        const outcome = viewOf(snapshot, stepOf).outcome;
        if (outcome) resolve(outcome);
      },
      error: reject,
    });
  });

  let stopped: Promise<void> | undefined;
  let disarmTimeLimit = () => {};
  return {
    runbook,
    session,
    hosts,
    actor,
    outputs,
    guards,
    upgrader,
    relaysAllowed: options.relaysAllowed ?? false,
    stepOf,
    view: () => viewOf(actor.getSnapshot(), stepOf),
    // What people type (a skip reason, a fallback's why) may hold a secret: the machine, the
    // screens and the journal get it masked.
    whyNot: (query) => whyNot(actor.getSnapshot(), runbook, query),
    send: (event) => actor.send(options.secrets ? options.secrets.masker.maskDeep(event) : event),
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start: () => {
      journalStart();
      journalKeptLogins();
      actor.start();
      // The first state too: a step's effect only reaches a host after this was written.
      save();
      if (options.restore) disarmTimeLimit = rearmTimeLimit(actor, options.restore, runbook);
      if (rebootInFlight) outputs.noteRecalled(stepOf(rebootInFlight.stepId), describeRebootInFlight(rebootInFlight));
      if (options.restore?.interrupted) actor.send({ type: 'RESUME', by: upgrader });
    },
    finished,
    outcome: () => viewOf(actor.getSnapshot(), stepOf).outcome ?? (suspending ? 'paused' : null),
    suspend: (by, reason) => {
      if (suspending || actor.getSnapshot().status !== 'active') return;
      // The last save holds the offsets the output has reached by now.
      save();
      suspending = true;
      const current = actor.getSnapshot().context.current;
      record('session.paused', { by, reason, stepId: current });
      suspended?.('paused');
    },
    stop: () =>
      (stopped ??= (async () => {
        disarmTimeLimit();
        clearInterval(saveOffsets);
        clearTimeout(notesDue);
        actor.stop();
        flush();
        await outputs.closeAll();
        // A run that ended takes its spare ways in down; a paused one leaves them for the resume (each stops by itself after its lifetime).
        if (!suspending && viewOf(actor.getSnapshot(), stepOf).outcome !== null) await guards.stopSpares();
        await hosts.close();
        unsubscribeHosts();
        record('session.closed', { outcome: suspending ? 'paused' : (viewOf(actor.getSnapshot(), stepOf).outcome ?? 'interrupted') });
        session.lock.release();
        journal.close();
      })()),
  };
}
