// Plain mode: one line per event, output lines prefixed with their host, answers read line
// by line from stdin. `json` prints the journal's entries, output lines, questions and notices
// as JSON objects, one per line (see json-stream.ts).
import chalk from 'chalk';
import type { EngineEmitted, EngineEvent, Outcome } from '../../engine/events.js';
import { stepScopeLabel } from '../../engine/fallback-scope.js';
import { fallbackScopeOf, type Focus } from '../../engine/view.js';
import { formatDuration } from '../../runbook/duration.js';
import { allSteps, type Step } from '../../runbook/types.js';
import type { ChatHub, Participant } from '../../chat/hub.js';
import { visibleLine, visibleText } from '../../output/neutralize.js';
import { messageStamp } from '../../text/chat-stamp.js';
import { clockIn } from '../../text/clock.js';
import { outcomeSentence } from '../../text/outcome.js';
import { shownSteps } from '../../text/shown-runbook.js';
import { commandSummary, confirmationText, destructiveSummary, HANDS_TEXT, roleList, stepLabel, stepPlace } from '../../text/steps.js';
import type { HostKeyInfo, RemoteInteraction } from '../../remote/types.js';
import { keysFor, parsePlainAnswer, plainUsage, plainWord, type KeyEntry } from '../key-map.js';
import { activePrompt, type Prompt } from '../prompt.js';
import { fleetViewsOf, type FleetView } from '../../engine/fleet-view.js';
import { hostList } from '../../text/host-list.js';
import type { HideTyping } from './hidden-typing.js';
import type { LineReader } from './line-reader.js';
import { jsonLine, noticeLine, streamJournal } from './json-stream.js';
import type { Run } from '../../runner/run.js';
import { counted } from '../../text/counted.js';

export interface PlainIO {
  reader: LineReader;
  write(text: string): void;
  json: boolean;
  /** The upgrader's time zone for the time stamps. */
  tz: string;
  /** When input comes from a terminal: turns its echo off while a secret is typed (see hidden-typing.ts). */
  hideTyping?: HideTyping;
  /**
   * Where questions (and the helpers' join line) go as well, so that the person typing sees
   * them: the terminal, when stdout goes to a file (`nightshift demo > demo.log`).
   */
  alsoOnTerminal?(text: string): void;
}

/** `dolphin|`, or `[vm2]` (and where it runs, when elsewhere) for a step of a rollout: the start of its output lines. */
export function linePrefix(step: Step): string {
  const host = outputSource(step);
  const fleetHost = step.instanceOf?.host;
  return fleetHost === undefined ? chalk.dim(`${host}|`) : `${hostPrefix(fleetHost).trimEnd()}${fleetHost === host ? '' : ` ${chalk.dim(`${host}|`)}`}`;
}

/** Where a step's output comes from: its host, `local`, or `guard` (a guard's steps speak for several hosts). */
function outputSource(step: Step): string {
  return 'host' in step ? step.host : step.kind === 'guard' ? 'guard' : 'local';
}

export function plainLinesPrinter(io: Pick<PlainIO, 'write' | 'json'>) {
  return (step: Step, lines: string[], stderr: boolean) => {
    if (io.json) {
      const host = outputSource(step);
      // A step of a rollout says which of its hosts it is for; where it runs too, when that is elsewhere.
      const fleetHost = step.instanceOf?.host;
      const stream = stderr ? 'stderr' : 'stdout';
      const forHost = fleetHost !== undefined && fleetHost !== host ? { fleetHost } : {};
      io.write(lines.map((line) => jsonLine({ type: 'output', stepId: step.id, host, ...forHost, stream, line })).join(''));
    } else {
      // Colour only when stdout is a colour terminal (chalk decides); pipes and files get plain text.
      const prefix = linePrefix(step);
      const paint = stderr ? chalk.yellow : (line: string) => line;
      io.write(`${lines.map((line) => `${prefix} ${paint(line)}`).join('\n')}\n`);
    }
  };
}

/** `[vm2] `: the start of every plain line about a host of a rollout. */
export function hostPrefix(host: string): string {
  return `[${visibleLine(host)}] `;
}

/** Host key and passphrase questions asked on the same line stream as everything else. */
export function plainInteraction(io: PlainIO): RemoteInteraction {
  return {
    async confirmUnknownHostKey(key: HostKeyInfo) {
      const answer = await ask(
        io,
        { type: 'prompt', for: 'host-key', host: key.host, fingerprint: key.fingerprint, keyType: key.keyType },
        `The authenticity of host ${key.host} (${key.address}:${key.port}) cannot be established.\n` +
          `  Its ${key.keyType} key fingerprint is ${key.fingerprint}.\n` +
          '  Compare it with the fingerprint known for that machine. Type yes to trust and record it, anything else refuses:',
      );
      return answer?.trim() === 'yes';
    },
    async askPassphrase(keyFile: string, retry: boolean) {
      const answer = await askHidden(
        io,
        { type: 'prompt', for: 'passphrase', keyFile, retry },
        `${retry ? 'That passphrase did not unlock the key. ' : ''}Passphrase for ${visibleLine(keyFile)} (empty line skips this key):`,
      );
      return answer ? answer : null;
    },
    async askSudoPassword(host: string, user: string, retry: boolean) {
      const answer = await askHidden(
        io,
        { type: 'prompt', for: 'sudo-password', host, user, retry },
        `${retry ? `sudo on ${host} refused that password. ` : ''}sudo password for ${user} on ${host} (kept in memory only; empty line gives none):`,
      );
      return answer ? answer : null;
    },
  };
}

/** A secret's value, typed hidden on the same line stream as every answer; null when the input ended. */
export function askSecretPlain(io: QuestionIO, name: string, prompt: string): Promise<string | null> {
  const question = prompt === name ? `Value of the secret ${name} (not shown, not stored):` : `${prompt} (secret ${name}; not shown, not stored):`;
  return askHidden(io, { type: 'prompt', for: 'secret', name }, question);
}

/** What asking one hidden question needs: a source of lines (the plain mode's reader, or one of its own before the full-screen view). */
export type QuestionIO = Pick<PlainIO, 'write' | 'json' | 'hideTyping' | 'alsoOnTerminal'> & { reader: { next(): Promise<string | null> } };

async function askHidden(io: QuestionIO, prompt: Record<string, unknown>, text: string): Promise<string | null> {
  // Never shown: echo goes off on a terminal before the question appears (a quick typist
  // starts at the prompt), and nothing here prints what was read.
  let show = () => {};
  try {
    show = io.hideTyping?.() ?? show;
  } catch (error) {
    io.write(`${chalk.yellow('!')} ${(error as Error).message}; what you type will show\n`);
  }
  writePrompt(io, prompt, text);
  try {
    return await io.reader.next();
  } finally {
    show();
  }
}

async function ask(io: PlainIO, prompt: Record<string, unknown>, text: string): Promise<string | null> {
  writePrompt(io, prompt, text);
  return io.reader.next();
}

function writePrompt(io: Pick<PlainIO, 'write' | 'json' | 'alsoOnTerminal'>, prompt: Record<string, unknown>, text: string): void {
  if (io.json) return io.write(jsonLine({ type: 'prompt', ...prompt, text }));
  const line = `${chalk.bold.yellow('?')} ${chalk.bold(visibleText(text))}\n`;
  io.write(line);
  io.alsoOnTerminal?.(line);
}

/**
 * Asks about the step in focus. The question may go away without an answer (a sentinel
 * arrives, or confirms from the helper channel): then undefined, and a line typed later
 * answers the next question.
 */
async function askWhileFocused(
  run: Run,
  io: PlainIO,
  asking: Asking,
  shownStep: (stepId: string) => Step,
  chat: PlainChat | undefined,
): Promise<string | null | undefined> {
  const keys = keysFor(asking.prompt, { by: run.upgrader, chat: chat !== undefined });
  const answers = `Answer ${plainUsage(keys, run.whyNot)}:`;
  writePrompt(io, asking.json, askingText(asking, shownStep, run.relaysAllowed, answers));
  const asked = asking.key;
  const gone = new AbortController();
  const stillAsked = () => {
    const now = askingNow(run, shownStep);
    return now !== null && now.key === asked && run.outcome() === null;
  };
  const subscription = run.actor.subscribe(() => {
    if (!stillAsked()) gone.abort();
  });
  void run.finished.then(
    () => gone.abort(),
    () => gone.abort(),
  );
  if (!stillAsked()) gone.abort();
  try {
    return await io.reader.nextUnless(gone.signal);
  } finally {
    subscription.unsubscribe();
  }
}

function focusKey(focus: Focus): string {
  return `${focus.stepId}:${focus.waitingFor}:${focus.waitingFor === 'confirmation' ? focus.roles.join(',') : ''}`;
}

/** What plain mode asks now: a failed host of a rollout first, else the step in focus. */
interface Asking {
  prompt: Prompt;
  /** Whether it is still the same question. */
  key: string;
  json: Record<string, unknown>;
  /** The step in focus, when it is about it. */
  focus: Focus | null;
  stepId: string;
}

function askingNow(run: Run, shownStep: (stepId: string) => Step): Asking | null {
  const fleets = fleetViewsOf(run.actor.getSnapshot().context, run.runbook);
  const focus = run.view().focus;
  const prompt = promptOf(run, focus, shownStep, fleets);
  if (prompt.kind === 'host-decision') {
    return {
      prompt,
      key: `host:${prompt.phase}:${prompt.host}:${prompt.step.id}`,
      json: { type: 'prompt', for: 'host-decision', stepId: prompt.step.id, phase: prompt.phase, host: prompt.host, error: prompt.error, more: prompt.more },
      focus: null,
      stepId: prompt.step.id,
    };
  }
  if (!focus || focus.waitingFor === 'running') return null;
  return { prompt, key: focusKey(focus), json: promptObject(focus), focus, stepId: focus.stepId };
}

function askingText(asking: Asking, shownStep: (stepId: string) => Step, relaysAllowed: boolean, answers: string): string {
  const { prompt } = asking;
  if (prompt.kind === 'host-decision') {
    const more = prompt.more > 0 ? `\n  ${counted(prompt.more, 'more host waits', 'more hosts wait')} for a decision after this one.` : '';
    return `${hostPrefix(prompt.host)}${stepLabel(prompt.step)} failed on ${visibleLine(prompt.host)}: ${prompt.error}${more}\n  ${answers}`;
  }
  if (prompt.kind === 'confirmation' && prompt.rollout) {
    const { rollout } = prompt;
    const failed = rollout.failed.length > 0 ? `failed so far (${rollout.failed.length}): ${hostList(rollout.failed)}` : 'no host has failed so far';
    const how = prompt.confirmText !== undefined ? `Type ${JSON.stringify(prompt.confirmText)}` : 'Type yes';
    const what =
      rollout.kind === 'halt' ? `the rollout of phase ${visibleLine(rollout.phase)} halted` : `the canary batch of phase ${visibleLine(rollout.phase)} is done`;
    return `${stepLabel(prompt.step)}: ${what}; ${failed}.\n  ${indentFollowing(confirmationText(prompt.step, undefined).trim())}\n  ${how} to continue the rollout. ${answers}`;
  }
  return promptText(shownStep(asking.stepId), asking.focus!, relaysAllowed, answers);
}

/** Chat lines as they come, each stamped; `say TEXT` writes to the site. */
export interface PlainChat {
  hub: ChatHub;
  me: Participant;
}

/** Prints the chat so far (a resumed session's), then every message as it comes. */
function printChat(chat: PlainChat, io: PlainIO): () => void {
  let shown = 0;
  const printNew = () => {
    for (const message of chat.hub.messages(chat.me.id)) {
      if (message.seq <= shown) continue;
      shown = message.seq;
      const stamp = messageStamp(message, io.tz);
      const text = visibleLine(message.text);
      // What people say is in the journal's chat.message entries; nightshift's own chat notes are not.
      if (io.json) {
        if (message.from === null) io.write(jsonLine({ type: 'chat.note', text: message.text, at: new Date(message.at).toISOString() }));
      } else
        io.write(
          `${chalk.dim(`[${stamp}]`)} ${message.from ? `${chalk.bold(`${visibleLine(message.from.name)} (${message.from.role})`)}: ${text}` : chalk.dim(`chat: ${text}`)}\n`,
        );
    }
  };
  printNew();
  return chat.hub.subscribe(printNew);
}

export async function runPlain(run: Run, io: PlainIO, chat?: PlainChat): Promise<Outcome> {
  const stamp = () => `[${clockIn(io.tz, Date.now(), true)}]`;
  const say = (text: string) => io.write(io.json ? noticeLine(text, run.session.id) : `${chalk.dim(stamp())} ${text}\n`);
  const shownStepOf = shownSteps(run.runbook);
  const shownStep = (stepId: string) => shownStepOf(stepId) ?? run.stepOf(stepId);

  const fleetHosts = new Map(allSteps(run.runbook).flatMap((step) => (step.instanceOf ? [[step.id, step.instanceOf.host] as const] : [])));
  const unsubscribe = io.json
    ? streamJournal(run.session.journal, run.session.id, io.write, (stepId) => fleetHosts.get(stepId))
    : run.onEvent((event) => describe(run, event, say, shownStep));
  const stopChat = chat ? printChat(chat, io) : () => {};
  if (!io.json) {
    say(`${visibleLine(run.runbook.name)}: session ${run.session.id}`);
    say(`journal: ${run.session.journal.path}`);
  }
  run.start();

  try {
    for (;;) {
      const outcome = run.outcome();
      if (outcome) return outcome;
      const asking = askingNow(run, shownStep);
      if (!asking) {
        await Promise.race([nextSnapshot(run), run.finished]);
        continue;
      }
      const answer = await askWhileFocused(run, io, asking, shownStep, chat);
      if (answer === undefined) continue; // the question went away: hands came on site, a helper confirmed
      if (answer === null) {
        say('input ended while a step was waiting for an answer: pausing the run');
        run.send({ type: 'PAUSE', by: run.upgrader });
        return await run.finished;
      }
      // The guard's `+`, at any prompt while one is armed (a text asked for is never just this word).
      if (/^(extend|\+)$/i.test(answer.trim()) && run.guards.active()) {
        say(await run.guards.extend());
        continue;
      }
      if (/^say\s/i.test(answer.trim())) {
        if (chat) chat.hub.say(chat.me.id, answer.trim().slice(4));
        else say(chalk.yellow('! there is no chat in this run (--no-helpers)'));
        continue;
      }
      const keys = keysFor(asking.prompt, { by: run.upgrader, chat: chat !== undefined });
      const event = eventFor(run, keys, answer.trim(), stepLabel(shownStep(asking.stepId)));
      // A refusal about a host of a rollout starts with it, as every line about that host.
      const about = asking.prompt.kind === 'host-decision' ? hostPrefix(asking.prompt.host) : '';
      if (typeof event === 'string') say(`${about}${chalk.yellow(`! ${event}`)}`);
      else if ('confirm' in event) {
        const confirmed = await ask(io, { type: 'prompt', for: 'confirm', stepId: asking.stepId, action: event.event.type }, event.confirm);
        if (confirmed?.trim() === 'yes') run.send(event.event);
        else say('not stopped');
      } else run.send(event);
    }
  } finally {
    unsubscribe();
    stopChat();
  }
}

/** Multi-line text under a heading: the lines after the first indented like the rest of a block. */
function indentFollowing(text: string): string {
  return text.replaceAll('\n', '\n  ');
}

function nextSnapshot(run: Run): Promise<void> {
  return new Promise((resolve) => {
    const subscription = run.actor.subscribe(() => {
      subscription.unsubscribe();
      resolve();
    });
  });
}

function promptObject(focus: Focus): Record<string, unknown> {
  return { type: 'prompt', ...focus, for: focus.waitingFor };
}

/** `answers`: the key map's words offered now ("Answer retry | skip REASON | ...:"). */
function promptText(step: Step, focus: Focus, relaysAllowed: boolean, answers: string): string {
  const label = stepLabel(step);
  switch (focus.waitingFor) {
    case 'approval':
      if (step.kind === 'edit') {
        return `${label}: approve the change to ${visibleLine(step.path)} on ${step.host} shown above.\n  Type ${JSON.stringify(focus.text)} to make it, or pause:`;
      }
      if (step.kind === 'preflight') {
        return `${label} (${stepPlace(step)}) is about the disk meant: its checks compare it with this id.\n  Type ${JSON.stringify(focus.text)} to run it, or pause:`;
      }
      return (
        `${label} is destructive (${stepPlace(step)}): ${'command' in step ? destructiveSummary(step.command, focus.text) : ''}\n` +
        `  Type ${JSON.stringify(focus.text)} to run it, or pause:`
      );
    case 'confirmation': {
      const role = focus.roles[0]!;
      const asked = indentFollowing(confirmationText(step, focus.request).trim());
      if (focus.request !== undefined) {
        return `${label}: asked of the sentinel: ${asked}\n  Waiting for their /ok in the helper channel. ${answers}`;
      }
      if (role !== 'upgrader' && !relaysAllowed) {
        return `${label}: ${asked}\n  Waiting for ${roleList(focus.roles)}: they confirm with /ok in the helper channel. Answer say TEXT (to the site) | pause:`;
      }
      const how = 'confirmText' in step && step.confirmText !== undefined ? `Type ${JSON.stringify(step.confirmText)}` : 'Type yes';
      const relay = role === 'upgrader' ? '' : ` (you record it for ${roleList([role])})`;
      return `${label}: ${asked}\n  Waiting for ${roleList(focus.roles)}. ${how} to confirm${relay}, or pause:`;
    }
    case 'decision':
      if (focus.attemptMayRun !== undefined) {
        return (
          `${label} failed: ${focus.error}\n  Attempt ${focus.attemptMayRun} may still be running ${stepPlace(step)}: a new attempt starts only once it is known to have ended.\n` +
          `  ${answers}`
        );
      }
      if (focus.interrupted && step.kind === 'reboot') {
        return `${label} was interrupted: ${focus.error}\n  ${answers}`;
      }
      return `${label} ${focus.interrupted ? 'was interrupted' : 'failed'}: ${focus.error}\n  ${answers}`;
    case 'hands':
      return `${label} is held: it ${HANDS_TEXT} (${focus.why}). It goes on by itself when a sentinel is there.\n` + `  ${answers}`;
    case 'running':
      return label;
  }
}

/** An answer that needs a yes first (stopping a command on its host). */
interface NeedsConfirmation {
  confirm: string;
  event: EngineEvent;
}

/** What the full-screen view would ask now: plain mode's words are read from its keys. */
function promptOf(run: Run, focus: Focus | null, shownStep: (stepId: string) => Step, fleets: readonly FleetView[]): Prompt {
  return activePrompt({
    mode: { kind: 'normal' },
    question: undefined,
    focus,
    outcome: null,
    stepOf: shownStep,
    relaysAllowed: run.relaysAllowed,
    fleets,
  });
}

/**
 * What a typed answer sends. Whether an action is open, and whether its reason will do, is
 * the engine's to say (Run.whyNot); an answer it would refuse is answered with its reason.
 * `label`: the step's, for the refusal.
 */
function eventFor(run: Run, keys: KeyEntry[], answer: string, label: string): EngineEvent | NeedsConfirmation | string {
  const parsed = parsePlainAnswer(keys, answer);
  if ('unknown' in parsed) {
    const offered = plainUsage(keys, run.whyNot);
    return `did not understand "${answer}": answer ${offered}`;
  }
  const { key, argument } = parsed;
  const refused = (why: string) => `not accepted for ${label}: ${why}${key.does.kind === 'reason' ? ` (answer ${plainWord(key, false)})` : ''}`;
  // Not the upgrader's to give (a checkpoint only the site confirms): the engine answers it.
  if (key.offered === false && key.does.kind === 'send') return key.does.event(argument);
  const why = key.query ? run.whyNot(key.query) : null;
  if (why !== null) return refused(why);
  switch (key.does.kind) {
    case 'send':
      return key.does.event(argument);
    case 'reason': {
      const event = key.does.event(argument);
      const whyNotNow = run.whyNot(event);
      return whyNotNow === null ? event : refused(whyNotNow);
    }
    case 'ask-first':
      return { confirm: key.does.question, event: key.does.event };
    case 'pause':
      return { type: 'PAUSE', by: run.upgrader };
    default:
      return `did not understand "${answer}": answer ${plainUsage(keys, run.whyNot)}`;
  }
}

/** The lines of a rollout's own events; false for any other event. */
function describeRollout(run: Run, event: EngineEmitted, say: (text: string) => void): boolean {
  const t = visibleLine;
  const batchesOf = (phase: string) => run.runbook.phases.find((each) => each.name === phase)?.fleet?.batches.length ?? 0;
  const names = (hosts: string[]) => hosts.map(t).join(' ');
  switch (event.type) {
    case 'batch.started':
      say(
        `${chalk.cyan('>>')} ${event.canary ? 'canary ' : ''}batch ${event.batch}/${batchesOf(event.phase)} of ${t(event.phase)} started: ${names(event.hosts)}`,
      );
      return true;
    case 'batch.finished': {
      const failed = event.failed.length > 0 ? chalk.red(`, ${event.failed.length} failed: ${names(event.failed)}`) : '';
      say(`batch ${event.batch}/${batchesOf(event.phase)} of ${t(event.phase)} finished: ${event.done.length} done${failed}`);
      return true;
    }
    case 'host.started':
      say(`${hostPrefix(event.host)}started (batch ${event.batch})`);
      return true;
    case 'host.finished': {
      const why = event.reason !== undefined ? `: ${t(event.reason)}` : '';
      const how = {
        done: chalk.green('done'),
        failed: chalk.red('failed, left as it is'),
        'fell-back': chalk.yellow('fell back'),
        skipped: chalk.yellow('skipped'),
      }[event.outcome];
      say(`${hostPrefix(event.host)}${t(event.host)} ${how}${event.outcome === 'done' ? '' : why}`);
      return true;
    }
    case 'rollout.halted':
      say(
        chalk.red.bold(
          `rollout of ${t(event.phase)} halted after batch ${event.batch}/${batchesOf(event.phase)}: ${t(event.reason)}${event.failed.length > 0 ? ` (failed: ${names(event.failed)})` : ''}`,
        ),
      );
      return true;
    default:
      return false;
  }
}

/** One line per engine event; runbook text comes from the shown steps, the event's own text (reasons, errors, names) is made visible here. */
function describe(run: Run, event: EngineEmitted, sayLine: (text: string) => void, shownStep: (stepId: string) => Step): void {
  const step = 'stepId' in event && event.stepId ? shownStep(event.stepId) : null;
  const t = visibleLine;
  // Every line about a host of a rollout starts with it.
  const forHost = step?.instanceOf?.host ?? (event.type === 'decision' ? event.host : undefined);
  const say = forHost === undefined ? sayLine : (text: string) => sayLine(`${hostPrefix(forHost)}${text}`);
  if (describeRollout(run, event, sayLine)) return;
  const label = step ? stepLabel(step) : '';
  switch (event.type) {
    case 'step.started':
      if (!step) return;
      if (step.kind === 'note') say(`i ${step.number} ${indentFollowing(step.text.trim())}`);
      else {
        const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
        say(`${chalk.cyan('>')} ${chalk.bold(label)} [${stepScopeLabel(step)}] ${stepPlace(step)}${attempt}`);
        if (step.kind === 'run' || step.kind === 'local') say(chalk.dim(`  $ ${commandSummary(step.command)}`));
      }
      return;
    case 'step.finished':
      if (step?.kind === 'note') return;
      if (event.status === 'done') say(`${chalk.green('ok')} ${label} done in ${formatDuration(event.durationMs)}`);
      else say(chalk.red(`${chalk.bold('FAILED')} ${label} after ${formatDuration(event.durationMs)}: ${t(event.error ?? 'failed')}`));
      return;
    case 'step.skipped':
      // nightshift skips a step only for its when: condition, which the reason states.
      say(event.by.role === 'nightshift' ? `skipped ${label}: ${t(event.reason)}` : `skipped ${label} by ${t(event.by.name)}: ${t(event.reason)}`);
      return;
    case 'step.approved':
      say(`approved ${label} by ${t(event.by.name)}`);
      return;
    case 'step.confirmed':
      say(`confirmed ${label} for the ${event.role} by ${t(event.by.name)}${event.relayed ? ' (relayed)' : ''}`);
      return;
    case 'step.refused':
      say(chalk.yellow(`! not accepted ${label ? `for ${label}` : `(${event.action.toLowerCase()})`}: ${t(event.reason)}`));
      return;
    case 'step.held':
      say(chalk.yellow(`${chalk.bold('HELD')} ${label}: it ${HANDS_TEXT} (${t(event.why)})`));
      return;
    case 'step.released':
      say(`released ${label}: hands on site`);
      return;
    case 'decision':
      if (event.action === 'skip' || event.action === 'fallback') return;
      if (event.action === 'override') {
        say(`going on with ${label} without hands on site, by ${t(event.by.name)}: ${t(event.reason ?? '')}`);
        return;
      }
      say(
        `decision${step ? ` on ${label}` : ''} by ${t(event.by.name)}: ${event.action}${event.attempt ? ` attempt ${event.attempt}` : ''}${event.reason ? ` (${t(event.reason)})` : ''}`,
      );
      return;
    case 'fallback.started':
      say(
        chalk.red.bold(`<< FALLBACK${typeof event.scope === 'string' ? ` of phase ${t(event.scope)}` : ''} started by ${t(event.by.name)}: ${t(event.reason)}`),
      );
      return;
    case 'run.finished':
      say(
        `${outcomeSentence(event.outcome, { meaning: true, scope: fallbackScopeOf(run.actor.getSnapshot().context) })}${event.outcome === 'paused' ? `; the journal is in ${run.session.dir}` : ''}`,
      );
      return;
    case 'step.checked':
      say(
        event.exitCode === 0
          ? `checked ${label}: its check says it is already done`
          : `checked ${label}: its check says it is not done (${t(event.error ?? `exit ${event.exitCode ?? 'unknown'}`)})`,
      );
      return;
    case 'attempt.checked': {
      const where = step ? stepPlace(step) : '';
      const found =
        event.state === 'unreachable'
          ? `could not be asked: ${t(event.error ?? 'the host cannot be reached')}`
          : event.state === 'unknown'
            ? `is in an unknown state (${t(event.error ?? '?')})`
            : event.state === 'running'
              ? `is still running (pid ${event.pid ?? '?'})`
              : event.state === 'never-started'
                ? 'never started'
                : event.exitCode === null || event.exitCode === undefined
                  ? 'ended without an exit status'
                  : `ended with exit status ${event.exitCode}`;
      say(`attempt ${event.attempt} of ${label} ${where} ${found}`);
      return;
    }
    case 'value.captured':
      say(`captured {{${t(event.name)}}} = ${t(event.value)} from ${label}`);
      return;
    case 'edit.prepared':
      if (!event.changed) say(`${label}: ${t(event.path)} already is as the step makes it: nothing to change`);
      return;
    case 'step.waiting':
      return;
    case 'step.found-done':
      say(`${chalk.green('ok')} ${label} already done (check passed): not run`);
      for (const line of event.output
        .trimEnd()
        .split('\n')
        .filter((line) => line !== ''))
        say(chalk.dim(`  | ${t(line)}`));
      return;
  }
}
