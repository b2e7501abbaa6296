// One run of a runbook: the compiled machine with its effects provided, every engine event
// and connection change journaled, outputs recorded by reference. Front-ends (Ink or plain)
// read from it and send the humans' events to it.
import os from 'node:os';
import path from 'node:path';
import { createActor } from 'xstate';
import type { Actor, EngineEmitted, EngineEvent, Outcome } from '../engine/events.js';
import { compileRunbook, type RunbookActor } from '../engine/machine.js';
import { viewOf, type EngineView } from '../engine/view.js';
import { allSteps, type Runbook, type Step } from '../runbook/types.js';
import type { Session } from '../store/session.js';
import type { ConnectionState } from '../remote/types.js';
import { createEffects } from './effects.js';
import type { RemoteHosts } from './remote-hosts.js';
import { RunOutputs } from './run-outputs.js';

export interface RunOptions {
  runbook: Runbook;
  hosts: RemoteHosts;
  session: Session;
  upgrader?: Actor;
  /** Plain mode prints output lines; the TUI reads rings instead and passes nothing. */
  onLines?: (step: Step, lines: string[], stderr: boolean) => void;
}

export interface Run {
  runbook: Runbook;
  session: Session;
  hosts: RemoteHosts;
  actor: RunbookActor;
  outputs: RunOutputs;
  upgrader: Actor;
  stepOf(stepId: string): Step;
  view(): EngineView;
  send(event: EngineEvent): void;
  /** Every event the engine emits, after it is journaled. */
  onEvent(listener: (event: EngineEmitted) => void): () => void;
  /** Starts the machine; front-ends subscribe first so that they see the first events too. */
  start(): void;
  finished: Promise<Outcome>;
  /** Stops the machine (a running step is aborted), closes connections and the journal. */
  stop(): Promise<void>;
}

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

  const journalStart = () => journal.append('run.started', {
    session: session.id,
    runbook: { name: runbook.name, file: runbook.file, hash: runbook.hash },
    sites: runbook.sites,
    by: upgrader,
    host: os.hostname(),
    pid: process.pid,
  });

  const outputs = new RunOutputs(
    session.outputPath,
    (closed) => journal.append('output.closed', { ...closed, file: path.relative(session.dir, closed.file) }),
    options.onLines,
  );
  const machine = compileRunbook(runbook).provide({
    actors: createEffects({ hosts, outputs, sessionId: session.id, localCwd: path.dirname(runbook.file) }),
  });
  const actor = createActor(machine);

  const listeners = new Set<(event: EngineEmitted) => void>();
  actor.on('*', (event) => {
    const { type, at, ...fields } = event;
    journal.append(type, fields, at);
    for (const listener of listeners) listener(event);
  });

  const stateNames = () => Object.fromEntries(Object.entries(hosts.states()).map(([host, state]) => [host, state.state]));
  let lastStates: Record<string, ConnectionState['state']> = stateNames();
  const unsubscribeHosts = hosts.subscribe(() => {
    for (const [host, state] of Object.entries(hosts.states())) {
      if (lastStates[host] === state.state) continue;
      journal.append('host.state', { host, state: state.state, ...('error' in state ? { error: state.error } : {}) });
    }
    lastStates = stateNames();
  });

  const finished = new Promise<Outcome>((resolve, reject) => {
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
  return {
    runbook,
    session,
    hosts,
    actor,
    outputs,
    upgrader,
    stepOf,
    view: () => viewOf(actor.getSnapshot(), stepOf),
    send: (event) => actor.send(event),
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start: () => {
      journalStart();
      actor.start();
    },
    finished,
    stop: () =>
      (stopped ??= (async () => {
        actor.stop();
        await outputs.closeAll();
        await hosts.close();
        unsubscribeHosts();
        journal.append('session.closed', { outcome: viewOf(actor.getSnapshot(), stepOf).outcome ?? 'interrupted' });
        journal.close();
      })()),
  };
}
