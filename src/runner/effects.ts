// The engine's effects, as XState actors: remote commands over the host pool, local
// commands in a child process, and bounded waits. Output goes to the step's StepOutput,
// never through the machine.
import { effectActor } from './effect-actor.js';
import { hostKeyPhaseOf } from '../engine/fallback-scope.js';
import { hostOfStep } from './last-steps.js';
import type { CommandResult } from '../engine/machine.js';
import type { ProbeResult } from '../engine/setup.js';
import { probeDone } from './probe-done.js';
import { AttemptMayStillRunError, type AttemptState } from '../engine/unsettled-attempt.js';
import type { StepOutput } from '../output/step-output.js';
import { captureValue, OutputTail } from '../runbook/capture-value.js';
import { formatDuration } from '../runbook/duration.js';
import type { GuardStep, LocalStep, PreflightStep, RebootStep, Runbook, RunStep, Step, UploadStep, WaitStep } from '../runbook/types.js';
import { isFinalLoginError } from '../remote/errors.js';
import { isAbort, sleep } from './abortable.js';
import { runLocalCommand } from './local-command.js';
import { runPreflight } from './preflight.js';
import { rebootHost, type RebootJournal, type RebootsInFlight } from './reboot.js';
import { runWithRevert, type RevertEvent } from './revert.js';
import { uploadStep } from './upload.js';
import { type GuardKeeper, runGuardStep } from './guard.js';
import { hostsBecoming } from './become-hosts.js';
import { createEditEffects } from './edit-effects.js';
import { decideWhenActor, HostFactsCache } from './host-facts.js';
import type { RemoteHosts } from './remote-hosts.js';
import type { RunOutputs } from './run-outputs.js';

export interface EffectsOptions {
  hosts: RemoteHosts;
  /** Names this session's run folders on the hosts. */
  sessionId: string;
  outputs: RunOutputs;
  /** True while the run is being paused: detached commands are left running then. */
  leaveRunning?: () => boolean;
  /** Folder local steps run in (the runbook's folder). */
  localCwd: string;
  /** Grace between TERM and KILL for a cancelled local command. */
  killGraceMs?: number;
  /** Both sites' clocks, for the deadlines of reverts. */
  sites: Runbook['sites'];
  /** A revert was armed, disarmed, kept or fired (journaled by the run). */
  onRevert?(event: RevertEvent): void;
  /** The run's guards (runbook `guard:`): what their steps arm, commit and fire is recorded there. */
  guards?: GuardKeeper;
  /** A detached run handed back its result; its output stays on the host until the run releases it. */
  onDetachedResult?(run: DetachedResult): void;
  /** A reboot's facts before it is issued, and what became of it (journaled by the run before the call returns). */
  onReboot?: RebootJournal;
  /** Reboots issued and not seen through (after a resume: from the journal). */
  reboots?: RebootsInFlight;
  /** A command as sent: the runbook's secrets put in (see secret-values.ts). Default: as written. */
  /** Puts secrets and captured values into a command (the values `step` sees: its host's own in a `for_each` phase). */
  reveal?: (command: string, step: Step) => string;
  /** The facts of the hosts, for `when:` conditions (gathered once per run). Default: gathered, not journaled. */
  facts?: HostFactsCache;
  /** The runbook's variables, which conditions name. */
  vars?: Record<string, string>;
  /** Each host's last step in the runbook (not counting fallbacks): once it starts, no shell is kept ready there. */
  lastStepOnHost?: ReadonlyMap<string, string>;
  /** Text from a host as it may be kept: the runbook's secrets masked. Default: as it came. */
  mask?: (text: string) => string;
}

export interface DetachedResult {
  host: string;
  /** The run was made through sudo: so is its release. */
  become?: 'sudo';
  runId: string;
  stepId: string;
  attempt: number;
}

export function createEffects(options: EffectsOptions) {
  const { hosts, outputs } = options;
  // Commands keep their {{secret}} everywhere else; the values go in only here, as they are sent.
  const reveal = options.reveal ?? ((command: string, _step: Step) => command);

  const withOutput = async <T>(step: Step, work: (output: StepOutput) => Promise<T>): Promise<T> => {
    const output = outputs.start(step);
    hosts.setPhase(hostKeyPhaseOf(step));
    const host = hostOfStep(step);
    if (host !== undefined && options.lastStepOnHost?.get(host) === step.id) hosts.lastStepStarting?.(host);
    try {
      // Only what starts anew: an attempt followed again is on its host already.
      const expired = step.kind === 'guard' || outputs.continuesLast(step.id) ? null : (options.guards?.expiredFor(step.id) ?? null);
      if (expired !== null) throw new Error(expired);
      return await work(output);
    } catch (error) {
      if (!isAbort(error)) output.note(`nightshift: ${(error as Error).message}`);
      throw error;
    } finally {
      await output.close();
    }
  };

  /** The step's stdout kept for its `capture:` (its last MiB), and the result with the value taken from it once it exited 0. */
  const capturing = (step: RunStep | LocalStep) => {
    const tail = step.capture ? new OutputTail() : undefined;
    return {
      write: (chunk: Buffer) => tail?.write(chunk),
      /** `seenFrom`: the stdout offset this follow began at (a run followed again sees only what came after). */
      result: (result: CommandResult, seenFrom = 0): CommandResult => {
        if (!tail || !step.capture || result.exitCode !== 0) return result;
        const found = captureValue(step.capture, tail.bytes());
        // Fail closed: a later step must not run with the value unset or wrong.
        if ('problem' in found) {
          const partial =
            seenFrom > 0
              ? ` (nightshift followed this run again from byte ${seenFrom} of its stdout and saw only what came after; retry the step, or take the value on the host in the step that uses it)`
              : '';
          throw new Error(`${found.problem}${partial}`);
        }
        return { ...result, captured: found.value };
      },
    };
  };

  const runIdOf = (stepId: string, attempt: number) => `${options.sessionId}/${stepId}.${attempt}`;

  const runRemote = effectActor<CommandResult, { step: Step; follow?: boolean }>(({ input, signal }) => {
    const step = input.step as RunStep;
    const stepHosts = (output: StepOutput) => hostsBecoming(hosts, step.become, (text) => output.note(text));
    if (input.follow) outputs.continueLast(step.id);
    // Followed again (reattached, or after a resume): the attempt is on its host already.
    const followed = outputs.continuesLast(step.id);
    // The host said this attempt was started: it is only followed, even if its folder is gone.
    const startedOnHost = outputs.startedOnHost(step.id);
    const capture = capturing(step);
    return withOutput(step, async (output) => {
      const onStdout = (chunk: Buffer) => {
        output.write(chunk);
        capture.write(chunk);
      };
      const handlers = { onStdout, onStderr: (chunk: Buffer) => output.write(chunk, true), signal };
      const attempt = outputs.attemptOf(step.id);
      const hosts = stepHosts(output);
      // Before anything reaches the host (a revert armed, a run folder made): a value that
      // cannot go in fails the step unsent.
      const command = reveal(step.command, step);
      const seenFrom = followed ? output.stdoutBytes : 0;
      const change = async () => {
        if (!step.detached) return hosts.exec(step.host, command, handlers);
        const runId = runIdOf(step.id, attempt);
        // A new attempt that never reaches its host leaves nothing behind there.
        if (!followed) await hosts.ensureConnected(step.host, signal);
        let result;
        try {
          result = await hosts.runDetached(step.host, command, {
            ...handlers,
            runId,
            // A run followed again (after a resume, or reattached) goes on where its log stopped.
            from: { out: output.stdoutBytes, err: output.stderrBytes },
            followOnly: startedOnHost,
            onStarted: () => (output.startedOnHost = true),
            onNotice: (text) => output.note(text),
            ...(options.leaveRunning ? { leaveRunning: options.leaveRunning } : {}),
          });
        } catch (error) {
          if (isAbort(error)) throw error;
          // Started, then the link was lost (or the status could not be read): it may go on there.
          throw new AttemptMayStillRunError((error as Error).message, { cause: error });
        }
        options.onDetachedResult?.({ host: step.host, runId, stepId: step.id, attempt, ...(step.become ? { become: step.become } : {}) });
        return result;
      };
      if (!step.revert) return capture.result(await change(), seenFrom);
      const context = { hosts, output, sessionId: options.sessionId, attempt, signal, sites: options.sites, onEvent: options.onRevert ?? (() => {}) };
      return capture.result(await runWithRevert({ ...step, revert: step.revert }, context, change), seenFrom);
    });
  });

  // An "already done?" probe, without an output of its own: only its exit status counts.
  const runCheck = effectActor<CommandResult, { step: RunStep | LocalStep }>(async ({ input, signal }) => {
    const { step } = input;
    const check = reveal(step.check ?? 'false', step);
    const ignore = () => {};
    if (step.kind === 'run') return hostsBecoming(hosts, step.become).exec(step.host, check, { onStdout: ignore, onStderr: ignore, signal });
    return runLocalCommand(check, {
      cwd: options.localCwd,
      signal,
      output: { write: ignore },
      killGraceMs: options.killGraceMs ?? 5000,
      holdsSecret: check !== (step.check ?? 'false'),
    });
  });

  // The same check asked before the step runs (skip_done, going again): what it printed is kept.
  const probeDoneEffect = effectActor<ProbeResult, { step: RunStep | LocalStep }>(async ({ input, signal }) => {
    const { step } = input;
    hosts.setPhase(step.phase);
    return probeDone(
      step,
      (check, write) => {
        const command = reveal(check, step);
        if (step.kind === 'run') return hostsBecoming(hosts, step.become).exec(step.host, command, { onStdout: write, onStderr: write, signal });
        return runLocalCommand(command, {
          cwd: options.localCwd,
          signal,
          output: { write },
          killGraceMs: options.killGraceMs ?? 5000,
          holdsSecret: command !== check,
        });
      },
      options.mask,
    );
  });

  const runLocal = effectActor<CommandResult, { step: Step }>(({ input, signal }) => {
    const step = input.step as LocalStep;
    const capture = capturing(step);
    return withOutput(step, async (output) => {
      const command = reveal(step.command, step);
      const written = {
        write: (chunk: Buffer, stderr?: boolean) => {
          output.write(chunk, stderr);
          if (!stderr) capture.write(chunk);
        },
      };
      const runOptions = { cwd: options.localCwd, signal, killGraceMs: options.killGraceMs ?? 5000, holdsSecret: command !== step.command };
      return capture.result(await runLocalCommand(command, { ...runOptions, output: written }));
    });
  });

  const waitUntil = effectActor<void, { step: WaitStep }>(({ input, signal }) => {
    const { step } = input;
    return withOutput(step, async (output) => {
      for (let attempt = 1; ; attempt++) {
        signal.throwIfAborted();
        let reason: string;
        try {
          if (await conditionHolds(step, output, signal)) {
            output.note(`nightshift: ${step.host} is ready (attempt ${attempt})`);
            return;
          }
          reason = 'not yet';
        } catch (error) {
          if (isAbort(error) || isFinalLoginError(error)) throw error;
          reason = (error as Error).message.replace(/\.$/, '');
        }
        output.note(`nightshift: attempt ${attempt}: ${reason}; next try in ${formatDuration(step.everyMs)}`);
        await sleep(step.everyMs, signal);
      }
    });
  });

  const conditionHolds = async (step: WaitStep, output: StepOutput, signal: AbortSignal): Promise<boolean> => {
    switch (step.until.kind) {
      case 'ssh': {
        // A login of its own: the pooled link may have outlived the sshd it was made to.
        const ignore = () => {};
        await hosts.execOnNewConnection(step.host, 'true', { onStdout: ignore, onStderr: ignore, signal });
        return true;
      }
      case 'port':
        return hosts.isPortOpen(step.host, step.until.port, Math.min(step.everyMs * 2, 10_000));
      case 'command': {
        const result = await hostsBecoming(hosts, step.become, (text) => output.note(text)).exec(step.host, reveal(step.until.command, step), {
          onStdout: (chunk) => output.write(chunk),
          onStderr: (chunk) => output.write(chunk, true),
          signal,
        });
        return result.exitCode === 0;
      }
    }
  };

  // A detached attempt that may still run: what its run folder says, and stopping it.
  const attemptOn =
    (look: (host: string, runId: string, signal: AbortSignal, become: 'sudo' | undefined) => Promise<AttemptState>) =>
    ({ input, signal }: { input: { step: RunStep; attempt: number }; signal: AbortSignal }) => {
      hosts.setPhase(hostKeyPhaseOf(input.step));
      return look(input.step.host, runIdOf(input.step.id, input.attempt), signal, input.step.become);
    };
  const checkAttempt = effectActor<AttemptState, { step: RunStep; attempt: number }>(
    attemptOn((host, runId, signal, become) => hosts.detachedRunState(host, runId, signal, become)),
  );
  const stopAttempt = effectActor<AttemptState, { step: RunStep; attempt: number }>(
    attemptOn((host, runId, signal, become) => hosts.stopDetachedRun(host, runId, signal, become)),
  );

  const reboots: RebootsInFlight = options.reboots ?? new Map();
  const reboot = effectActor<void, { step: RebootStep; follow?: boolean }>(({ input, signal }) => {
    // Waiting for a reboot said to be done goes on with its attempt's output.
    if (input.follow) outputs.continueLast(input.step.id);
    return withOutput(input.step, (output) =>
      rebootHost(
        input.step,
        hostsBecoming(hosts, input.step.become, (text) => output.note(text)),
        output,
        {
          inFlight: reboots,
          journal: options.onReboot ?? (() => {}),
          attempt: outputs.attemptOf(input.step.id),
          ...(input.follow ? { follow: true } : {}),
          signal,
        },
      ),
    );
  });

  const preflight = effectActor<void, { step: PreflightStep }>(({ input, signal }) =>
    withOutput(input.step, (output) =>
      runPreflight(
        input.step,
        hostsBecoming(hosts, input.step.become, (text) => output.note(text)),
        output,
        signal,
      ),
    ),
  );

  const upload = effectActor<void, { step: UploadStep }>(({ input, signal }) =>
    withOutput(input.step, (output) => uploadStep(input.step, hostsBecoming(hosts, input.step.become), output, signal)),
  );

  const guard = effectActor<void, { step: GuardStep }>(({ input, signal }) =>
    withOutput(input.step, (output) => {
      if (!options.guards) throw new Error('this run keeps no guards');
      return runGuardStep(input.step, { hosts, keeper: options.guards, output, sessionId: options.sessionId, signal, sites: options.sites });
    }),
  );

  const edits = createEditEffects({ hosts, sessionId: options.sessionId, outputs, withOutput });
  const decideWhen = decideWhenActor({
    facts: options.facts ?? new HostFactsCache(hosts),
    vars: options.vars ?? {},
    setPhase: (phase) => hosts.setPhase(phase),
  });

  return {
    runRemote,
    runLocal,
    waitUntil,
    reboot,
    preflight,
    upload,
    guard,
    runCheck,
    probeDone: probeDoneEffect,
    checkAttempt,
    stopAttempt,
    decideWhen,
    ...edits,
  };
}
