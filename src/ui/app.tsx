import { Box, Text, useBoxMetrics, useWindowSize } from 'ink';
import { useMemo, useRef, useSyncExternalStore } from 'react';
import type { HelperAccess, HelperAccessState } from '../chat/helper-access.js';
import { viewOf } from '../engine/view.js';
import { whyNot } from '../engine/rules.js';
import type { ActionQuery } from '../engine/events.js';
import { fleetViewsOf } from '../engine/fleet-view.js';
import { FleetPanel } from './fleet-panel.js';
import type { Run } from '../runner/run.js';
import { HelpOverlay, helpMaxScroll } from './help-overlay.js';
import { useHostStates, useNow, useOutputTail, useQuestion, useRunSnapshot } from './hooks.js';
import { OutputPanel } from './output-panel.js';
import { ChatPanel, helperStatus } from './chat-panel.js';
import { clockTickMs } from './clock-resolution.js';
import { hintLines, keysFor } from './key-map.js';
import { useAttention } from './attention.js';
import { activePrompt } from './prompt.js';
import { PromptPanel } from './prompt-panel.js';
import type { Questions } from './questions.js';
import { RunbookPanel } from './runbook-panel.js';
import { StatusBar } from './status-bar.js';
import { GuardLine } from './guard-line.js';
import { theme } from './theme.js';
import type { UpgraderChat } from './upgrader-chat.js';
import { shownStepIdOf } from './shown-step.js';
import { type ShellOpener, shownFleet, useUpgraderKeys } from './use-upgrader-keys.js';

export type { UpgraderChat } from './upgrader-chat.js';

const NO_ACCESS = { subscribe: () => () => {}, state: () => null };

function useHelperAccess(access: HelperAccess | null | undefined): HelperAccessState | null {
  const source = access ?? NO_ACCESS;
  return useSyncExternalStore(
    (onChange) => source.subscribe(onChange),
    () => source.state(),
  );
}

export interface AppProps {
  run: Run;
  questions: Questions;
  banner?: string;
  chat?: UpgraderChat;
  /** The upgrader leaves (after the end) or stops nightshift (Ctrl-C twice). */
  onLeave(how: 'finished' | 'interrupted'): void;
  /** The bell and the title, written straight to the terminal (neither moves the cursor). */
  attention?: { bell: boolean; write(text: string): void };
  /** `!`: a shell by hand on a host (absent: no shells from this view). */
  openShell?: ShellOpener;
}

const NO_ATTENTION = { bell: false, write: () => {} };

/** Rows a destructive step's command leaves to the rest: the title, the prompt's own lines, a little of the panels, the status bar. */
const COMMAND_ROOM = 12;

export function App({ run, questions, banner, chat, onLeave, attention = NO_ATTENTION, openShell }: AppProps) {
  const { columns, rows } = useWindowSize();
  const snapshot = useRunSnapshot(run);
  const hostStates = useHostStates(run);
  const question = useQuestion(questions);
  const limits = useRef({ help: 0, chat: 0 });
  const screen = useUpgraderKeys(run, questions, onLeave, chat, limits, openShell);
  const access = useHelperAccess(chat?.access);

  const mainRef = useRef(null);
  const { height: mainHeight } = useBoxMetrics(mainRef);

  const view = viewOf(snapshot, run.stepOf);
  // Once per change of the machine, not at every clock tick or key.
  const fleets = useMemo(() => fleetViewsOf(snapshot.context, run.runbook), [snapshot.context, run.runbook]);
  const fleet = shownFleet(fleets);
  const now = useNow(
    clockTickMs({
      steps: snapshot.context.steps,
      hosts: hostStates,
      ...(fleet ? { fleetHosts: fleet.hosts } : {}),
      lockedUntil: access?.lockedUntil ?? null,
      now: Date.now(),
    }),
  );
  const selectedHost = fleet?.hosts.find((host) => host.host === screen.selected) ?? null;
  const prompt = activePrompt({
    mode: screen.mode.kind === 'help' ? { kind: 'normal' } : screen.mode,
    question,
    focus: view.focus,
    outcome: view.outcome,
    scope: view.scope,
    stepOf: run.stepOf,
    relaysAllowed: run.relaysAllowed,
    fleets,
  });
  // The keys offered are those of the machine as drawn: the live one may be a frame ahead
  // (a retry already running under the failure still shown), and a frame must not mix both.
  const hints = hintLines(
    keysFor(prompt, { by: run.upgrader, chat: chat !== undefined, shell: openShell !== undefined && Object.keys(run.runbook.hosts).length > 0 }),
    (query: ActionQuery) => whyNot(snapshot, run.runbook, query),
  );
  useAttention(prompt, { ...attention, ...(chat ? { chat: { hub: chat.hub, open: screen.mode.kind === 'chat' } } : {}) });
  const shownStepId = shownStepIdOf({
    history: screen.history,
    hostStep: selectedHost ? (selectedHost.step?.id ?? null) : undefined,
    prompt,
    focusStepId: view.focus?.stepId,
    lastStepId: run.outputs.lastStepId,
    stepOf: run.stepOf,
  });
  const shownStep = shownStepId ? run.stepOf(shownStepId) : null;
  // A rollout's grid takes room from the chat first, then more than half of what is left.
  const usualChat = chat ? (rows >= 30 ? (fleet ? 7 : 9) : rows >= 20 ? (fleet ? 3 : 7) : fleet ? 3 : 5) : 0;
  // While the upgrader writes to the site, the chat takes half of the right side.
  const wantedChat = chat && screen.mode.kind === 'chat' ? Math.max(usualChat, Math.floor(mainHeight / 2)) : usualChat;
  // When the prompt takes most of a short screen (a long command to approve), the chat gives
  // way before the output panel, and under three rows it is left out: boxes that do not fit
  // are drawn over each other.
  const chatRoom = Math.max(0, mainHeight - 5);
  // The key list (?) takes the whole right side while it is open.
  const chatHeight = screen.mode.kind === 'help' ? 0 : wantedChat <= chatRoom ? wantedChat : chatRoom >= 3 ? chatRoom : 0;
  const rightRoom = Math.max(3, mainHeight - 2 - chatHeight);
  const fleetHeight = fleet ? Math.max(3, Math.floor((rightRoom - 2) * 0.55)) : 0;
  const panelHeight = Math.max(3, rightRoom - (fleet ? fleetHeight + 2 : 0));
  const tail = useOutputTail(run, shownStepId, panelHeight - 1, screen.scroll, screen.history !== null);

  const leftWidth = Math.max(24, Math.min(56, Math.floor(columns * 0.38)));
  const rightWidth = Math.max(20, columns - leftWidth);
  // The key list scrolls when it does not fit.
  const helpHeight = Math.max(4, mainHeight);
  limits.current.help = helpMaxScroll(rightWidth, helpHeight);
  return (
    <Box flexDirection="column" width={columns} height={rows} overflow="hidden">
      <Box width={columns} gap={2}>
        <Box flexShrink={0}>
          <Text bold>
            nightshift · {run.runbook.name}
            {view.track === 'fallback' ? <Text color={theme.danger}> · FALLBACK{view.scope !== null ? ` of phase ${view.scope}` : ''}</Text> : null}
          </Text>
        </Box>
        {banner ? (
          <Text color={theme.muted} wrap="truncate-end">
            {banner}
          </Text>
        ) : null}
      </Box>
      <Box ref={mainRef} flexGrow={1} flexShrink={1} overflow="hidden">
        <RunbookPanel
          runbook={run.runbook}
          steps={snapshot.context.steps}
          focusId={shownStepId}
          width={leftWidth}
          height={Math.max(3, mainHeight - 2)}
          now={now}
        />
        {/* As tall as its panels, clipped by the box around it rather than squeezed (lines drawn
            over each other) in the frame after the prompt grew: their heights follow the room
            measured a frame late. */}
        <Box flexDirection="column" width={rightWidth} alignSelf="flex-start">
          {screen.mode.kind === 'help' ? (
            <HelpOverlay width={rightWidth} height={helpHeight} scroll={screen.helpScroll} />
          ) : (
            <>
              {fleet ? (
                <FleetPanel view={fleet} steps={snapshot.context.steps} selected={screen.selected} width={rightWidth} height={fleetHeight} now={now} />
              ) : null}
              <OutputPanel
                step={shownStep}
                tail={tail}
                width={rightWidth}
                height={panelHeight}
                scroll={screen.scroll}
                lookingBack={screen.history !== null}
                wrap={screen.wrap}
                search={screen.search}
                {...(prompt.kind === 'approval' && prompt.step.id === shownStepId ? { target: prompt.text } : {})}
                {...(selectedHost ? { host: selectedHost.host } : {})}
              />
            </>
          )}
          {chat && chatHeight > 0 ? (
            <ChatPanel
              hub={chat.hub}
              me={chat.me}
              access={access}
              channel={chat.access}
              scroll={screen.chatScroll}
              onMaxScroll={(scroll) => {
                limits.current.chat = scroll;
              }}
              width={rightWidth}
              height={chatHeight}
              now={now}
            />
          ) : null}
        </Box>
      </Box>
      <PromptPanel
        prompt={prompt}
        hints={hints}
        text={screen.text}
        message={screen.message}
        width={columns}
        commandRows={Math.max(3, rows - COMMAND_ROOM)}
        scroll={screen.scroll}
      />
      <GuardLine guards={run.guards} />
      <StatusBar
        sessionId={run.session.id}
        runbook={run.runbook}
        hosts={hostStates}
        now={now}
        width={columns}
        helpers={helperStatus(access, now, run.runbook.sites.upgrader.tz)}
      />
    </Box>
  );
}
