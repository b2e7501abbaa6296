// What an on-site helper sees over SSH: where the upgrade stands, what is asked of them in
// large clear text, the chat, and on request the current step's output. Keys are a chat
// line, as in talk: slash commands for the rest. A paste, or a burst of lines arriving at
// once, is one message.
import { Box, Text, useInput, usePaste, useWindowSize } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { MAX_MESSAGE_CHARS, parseChatLine } from '../../chat/chat-text.js';
import type { ChatHub, Participant } from '../../chat/hub.js';
import { viewOf } from '../../engine/view.js';
import type { Run } from '../../runner/run.js';
import { clockIn } from '../../text/clock.js';
import { outcomeSentence } from '../../text/outcome.js';
import { stepLabel } from '../../text/steps.js';
import { ChatLines, presenceText, typingText, useHubVersion } from '../chat-lines.js';
import { useNow, useOutputTail, useRunSnapshot } from '../hooks.js';
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

const HELP =
  'Type and press Enter to chat. /ok confirms what is asked of you (/ok TEXT when it asks for text) · /away 60 lunch · /back · /name YOUR NAME · Tab or /output shows the output · /quit leaves';

export function HelperApp({ run, hub, me, onQuit }: HelperAppProps) {
  const { columns, rows } = useWindowSize();
  const snapshot = useRunSnapshot(run);
  useHubVersion(hub);
  const now = useNow();
  const [line, setLine] = useState('');
  const [showOutput, setShowOutput] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const lineRef = useRef('');
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
    const parsed = parseChatLine(text);
    if (!parsed) return;
    setMessage(null);
    switch (parsed.kind) {
      case 'message':
        hub.say(me.id, parsed.text);
        return;
      case 'ok':
        if (!view.focus || view.focus.waitingFor !== 'confirmation') return setMessage('nothing is waiting for a confirmation right now');
        // Each attempt is journaled (an observer's refusal too): paced like messages.
        if (!hub.take(me.id)) return;
        // An observer's attempt goes to the engine too: it refuses it, and the refusal is journaled.
        run.send({
          type: 'CONFIRM',
          stepId: view.focus.stepId,
          role: 'sentinel',
          by: { role: self.role, name: self.name },
          ...(parsed.value ? { value: parsed.value } : {}),
        });
        return;
      case 'away':
        hub.away(me.id, parsed.minutes, parsed.reason);
        return;
      case 'back':
        hub.back(me.id);
        return;
      case 'name':
        hub.rename(me.id, parsed.name);
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
      case 'code':
      case 'unknown':
        setMessage(`unknown command /${parsed.kind === 'code' ? 'code' : parsed.command}; /help lists them`);
        return;
    }
  };

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
      lineRef.current = (lineRef.current + text.replace(/[\x00-\x1f\x7f-\x9f]/g, '')).slice(0, MAX_MESSAGE_CHARS);
      setLine(lineRef.current);
      return;
    }
    const pasted = new PasteBurst(lineRef.current);
    pasted.add(text);
    lineRef.current = '';
    setLine('');
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
      const text = new PasteBurst(lineRef.current);
      text.add(input);
      burst.current = { text, timer: setTimeout(sendBurst, BURST_QUIET_MS) };
      lineRef.current = '';
      setLine('');
      return;
    }
    sendBurst();
    if (key.ctrl && (input === 'c' || input === 'd')) return onQuit();
    if (key.tab) return setShowOutput((shown) => !shown);
    if (key.return) {
      const text = lineRef.current;
      lineRef.current = '';
      setLine('');
      return submit(text);
    }
    if (key.escape) {
      lineRef.current = '';
      return setLine('');
    }
    if (key.backspace || key.delete) {
      lineRef.current = lineRef.current.slice(0, -1);
      return setLine(lineRef.current);
    }
    if (key.ctrl || key.meta || !input) return;
    // Pasted text may carry line breaks: each ends a message, as Enter would.
    for (const char of input) {
      if (char === '\r' || char === '\n') {
        const text = lineRef.current;
        lineRef.current = '';
        submit(text);
      } else if (lineRef.current.length < MAX_MESSAGE_CHARS && char >= ' ') lineRef.current += char;
    }
    setLine(lineRef.current);
    hub.typing(me.id);
  });

  const site = run.runbook.sites.site;
  const upgraderSite = run.runbook.sites.upgrader;
  // Header 2, presence, input and keys 3, the task's box (borders, heading, text wrapped inside border and padding, how).
  const taskRows = task ? 3 + Math.max(1, Math.ceil(task.text.length / Math.max(1, columns - 4))) + (task.how ? 1 : 0) : 0;
  const bodyHeight = Math.max(2, rows - 5 - taskRows - (message ? 1 : 0));
  // The step in focus when it prints anything (a checkpoint does not), else the last one that did.
  const outputStepId = view.focus && run.outputs.of(view.focus.stepId) ? view.focus.stepId : run.outputs.lastStepId;
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
          ? outcomeSentence(view.outcome, { subject: 'the upgrade', meaning: true })
          : `${view.track === 'fallback' ? 'FALLBACK · ' : ''}${phase ? `phase ${phaseIndex + 1}/${run.runbook.phases.length} ${phase.title} · ` : ''}${focusStep ? `step ${stepLabel(focusStep)}` : 'starting'}`}
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
      {message ? (
        <Text color={theme.warning} wrap="truncate-end">
          {message}
        </Text>
      ) : null}
      <Text wrap="truncate-start">
        <Text color={theme.accent}>{'> '}</Text>
        {line}
        <Text inverse> </Text>
      </Text>
      <Text color={theme.muted} wrap="truncate-end">
        /ok confirm · /away 60 lunch · /back · Tab output · /help · /quit
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
