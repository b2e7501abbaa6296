// What an on-site helper sees over SSH: where the upgrade stands, what is asked of them in
// large clear text, the chat, and on request the current step's output. Keys are a chat
// line, as in talk: slash commands for the rest. A paste, or a burst of lines arriving at
// once, is one message.
import { Box, Text, useInput, usePaste, useWindowSize } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { MAX_MESSAGE_CHARS, parseChatLine, sayOrSetPresence, slashUsage, typingShown } from '../../chat/chat-text.js';
import type { ChatHub, Participant } from '../../chat/hub.js';
import { fleetViewsOf } from '../../engine/fleet-view.js';
import { viewOf } from '../../engine/view.js';
import type { Run } from '../../runner/run.js';
import { clockIn } from '../../text/clock.js';
import { outcomeSentence } from '../../text/outcome.js';
import { stepLabel } from '../../text/steps.js';
import { ChatLines, presenceText, typingText, useHubVersion } from '../chat-lines.js';
import { useNow, useOutputTail, useRunSnapshot } from '../hooks.js';
import { keyName } from '../key-map.js';
import { activePrompt } from '../prompt.js';
import { shownStepIdOf } from '../shown-step.js';
import { useTextField } from '../text-field.js';
import { TextCursor } from '../text-cursor.js';
import { theme } from '../theme.js';
import { helperTask, type HelperTask } from './helper-task.js';
import { isBurst, PasteBurst } from './paste-burst.js';

export interface HelperAppProps {
  run: Run;
  hub: ChatHub;
  me: Participant;
  onQuit(): void;
}

/** A burst of input is over once nothing more came for this long. */
const BURST_QUIET_MS = 50;

/** One line each, so that it fits a narrow terminal whole. */
const HELP = ['Type and press Enter to chat.', ...slashUsage('helper', 'help').split(' · ')].join('\n');

export function HelperApp({ run, hub, me, onQuit }: HelperAppProps) {
  const { columns, rows } = useWindowSize();
  const snapshot = useRunSnapshot(run);
  useHubVersion(hub);
  const now = useNow();
  const [showOutput, setShowOutput] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const burst = useRef<{ text: PasteBurst; timer: NodeJS.Timeout } | null>(null);
  const tz = me.tz;
  const self = hub.participant(me.id) ?? me;

  useEffect(
    () =>
      run.onEvent((event) => {
        if (event.type === 'step.refused' && event.by.name === self.name) setMessage(`not accepted: ${event.reason}`);
        if (event.type === 'step.confirmed' && event.by.name === self.name) setMessage('confirmed, thank you');
      }),
    [run, self.name],
  );

  const view = viewOf(snapshot, run.stepOf);
  const task = helperTask(view, run.stepOf, self);
  const focusStep = view.focus ? run.stepOf(view.focus.stepId) : null;
  const phaseIndex = focusStep?.phase ? run.runbook.phaseOrder.indexOf(focusStep.phase) : -1;
  const phase = phaseIndex >= 0 ? run.runbook.phases[phaseIndex]! : null;

  const submit = (text: string) => {
    field.clear();
    const parsed = parseChatLine(text, 'helper');
    if (!parsed) return;
    setMessage(null);
    if (sayOrSetPresence(hub, me.id, parsed)) return;
    switch (parsed.kind) {
      case 'ok':
        if (view.focus?.waitingFor !== 'confirmation') return setMessage('nothing is waiting for a confirmation right now');
        // Each attempt is journaled (an observer's refusal too): paced like messages.
        if (!hub.take(me.id)) return;
        hub.confirming(me.id);
        // An observer's attempt goes to the engine too: it refuses it, and the refusal is journaled.
        run.send({
          type: 'CONFIRM',
          stepId: view.focus.stepId,
          role: 'sentinel',
          by: { role: self.role, name: self.name },
          ...(parsed.value ? { value: parsed.value } : {}),
        });
        return;
      case 'output':
        setShowOutput((shown) => !shown);
        return;
      case 'help':
        setMessage(HELP);
        return;
      case 'quit':
        onQuit();
        return;
      case 'unknown':
        setMessage(`unknown command /${parsed.command}; /help lists them`);
        return;
    }
  };
  // Declared after `submit` reads it: the field calls it only on a key, long after this render.
  const field = useTextField({ max: () => MAX_MESSAGE_CHARS, accepts: () => true, submit, typed: (text) => typingShown(text) && hub.typing(me.id) });

  const sendBurst = () => {
    const pending = burst.current;
    if (!pending) return;
    burst.current = null;
    clearTimeout(pending.timer);
    const text = pending.text.message();
    if (text !== '') hub.say(me.id, text);
  };
  useEffect(() => () => clearTimeout(burst.current?.timer), []);

  // Bracketed paste: one message when it has line breaks, else part of the line.
  usePaste((text) => {
    sendBurst();
    if (!/[\r\n]/.test(text)) {
      // eslint-disable-next-line no-control-regex
      field.set(field.text + text.replace(/[\x00-\x1f\x7f-\x9f]/g, ''));
      return;
    }
    const pasted = new PasteBurst(field.text);
    pasted.add(text);
    field.clear();
    setMessage(null);
    const message = pasted.message();
    if (message !== '') hub.say(me.id, message);
  });

  useInput((input, key) => {
    // Lines arriving at once (a paste the terminal did not mark): gathered until they stop.
    if (burst.current && input.length > 1) {
      burst.current.text.add(input);
      burst.current.timer.refresh();
      return;
    }
    if (isBurst(input)) {
      const text = new PasteBurst(field.text);
      text.add(input);
      burst.current = { text, timer: setTimeout(sendBurst, BURST_QUIET_MS) };
      field.clear();
      return;
    }
    sendBurst();
    const name = keyName(input, key);
    if (name === 'Ctrl-C' || name === 'Ctrl-D') return onQuit();
    if (name === 'Tab') return setShowOutput((shown) => !shown);
    if (name === 'Esc') return field.clear();
    // Enter, Backspace, typed text; pasted text may carry line breaks: each ends a message, as Enter would.
    field.key(name, input, key.ctrl || key.meta);
  });

  const site = run.runbook.sites.site;
  const upgraderSite = run.runbook.sites.upgrader;
  // Header 2, presence, input and keys 3, the task's box (borders, heading, text wrapped inside border and padding, how).
  const taskRows = task ? 3 + Math.max(1, Math.ceil(task.text.length / Math.max(1, columns - 4))) + (task.how ? 1 : 0) : 0;
  const messageLines = message ? message.split('\n') : [];
  const bodyHeight = Math.max(2, rows - 5 - taskRows - messageLines.length);
  // The step the upgrader's output panel shows while following the run: both look at the same.
  const outputStepId = shownStepIdOf({
    history: null,
    hostStep: undefined,
    prompt: activePrompt({
      mode: { kind: 'normal' },
      question: undefined,
      focus: view.focus,
      outcome: view.outcome,
      stepOf: run.stepOf,
      relaysAllowed: false,
      fleets: fleetViewsOf(snapshot.context, run.runbook),
    }),
    focusStepId: view.focus?.stepId,
    lastStepId: run.outputs.lastStepId,
    stepOf: run.stepOf,
  });
  const tail = useOutputTail(run, showOutput ? outputStepId : null, bodyHeight - 1, 0);
  const typing = typingText(hub.typists(me.id));

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Box justifyContent="space-between" width={columns}>
        <Text bold wrap="truncate-end">
          nightshift · {run.runbook.name} · you are {self.name} ({self.role})
        </Text>
        <Text>
          {site.name} {clockIn(site.tz, now)} · {upgraderSite.name} {clockIn(upgraderSite.tz, now)}
        </Text>
      </Box>
      <Text wrap="truncate-end" color={view.track === 'fallback' ? theme.danger : theme.muted}>
        {view.outcome
          ? outcomeSentence(view.outcome, { subject: 'the upgrade', meaning: true, scope: view.scope })
          : `${view.track === 'fallback' ? `FALLBACK${view.scope !== null ? ` of phase ${view.scope}` : ''} · ` : ''}${phase ? `phase ${phaseIndex + 1}/${run.runbook.phases.length} ${phase.title} · ` : ''}${focusStep ? `step ${stepLabel(focusStep)}` : 'starting'}`}
      </Text>
      {task ? <TaskBox task={task} width={columns} /> : null}
      <Box flexDirection="column" flexGrow={1} flexShrink={1} overflow="hidden">
        {showOutput ? (
          <>
            <Text color={theme.muted} wrap="truncate-end">
              output of {tail.stepId ? stepLabel(run.stepOf(tail.stepId)) : 'no step yet'} (read-only; Tab goes back to the chat)
            </Text>
            {tail.lines.map((entry, index) => (
              <Text key={index} wrap="truncate-end" {...(entry.stderr ? { color: theme.stderr } : {})}>
                {entry.text}
              </Text>
            ))}
          </>
        ) : (
          <ChatLines messages={hub.messages(me.id)} readerTz={tz} width={columns} height={bodyHeight} empty="No messages yet. Type to talk to the upgrader." />
        )}
      </Box>
      <Text color={theme.muted} wrap="truncate-end">
        here: {presenceText(hub.participants(), now, tz)}
        {typing ? ` · ${typing}` : ''}
      </Text>
      {messageLines.map((line, index) => (
        <Text key={index} color={theme.warning} wrap="truncate-end">
          {line}
        </Text>
      ))}
      <Text wrap="truncate-start">
        <Text color={theme.accent}>{'> '}</Text>
        {field.text}
        <TextCursor />
      </Text>
      <Text color={theme.muted} wrap="truncate-end">
        {slashUsage('helper', 'hint')}
      </Text>
    </Box>
  );
}

function TaskBox({ task, width }: { task: HelperTask; width: number }) {
  const color = task.kind === 'confirm' ? theme.warning : theme.muted;
  return (
    <Box flexDirection="column" width={width} borderStyle="double" borderColor={color} paddingX={1}>
      <Text bold inverse color={color}>
        {` ${task.heading} `}
      </Text>
      <Text bold wrap="wrap">
        {task.text}
      </Text>
      {task.how ? <Text wrap="truncate-end">{task.how}</Text> : null}
    </Box>
  );
}
