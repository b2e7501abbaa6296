import { Box, Text } from 'ink';
import { visibleLine, visibleText } from '../output/neutralize.js';
import { hostList } from '../text/host-list.js';
import { outcomeSentence } from '../text/outcome.js';
import { counted } from '../text/counted.js';
import { confirmationText, destructiveSummary, HANDS_TEXT, roleList, stepLabel, stepPlace } from '../text/steps.js';
import { slashUsage } from '../chat/chat-text.js';
import type { Prompt, ReasonAction } from './prompt.js';
import { CommandWindow } from './command-window.js';
import { TextCursor } from './text-cursor.js';
import { theme } from './theme.js';

function Field(props: { value: string; masked?: boolean }) {
  return (
    <Text>
      <Text color={theme.accent}>{'> '}</Text>
      {props.masked ? '*'.repeat(props.value.length) : props.value}
      <TextCursor />
    </Text>
  );
}

/** A destructive step's command in `rows`; one row: the line acting on the target alone. */
function CommandLines(props: { command: string; target: string; rows: number; scroll: number }) {
  if (props.rows <= 1) return <Text wrap="truncate-end">$ {destructiveSummary(props.command, props.target)}</Text>;
  return <CommandWindow command={props.command} target={props.target} rows={props.rows} scroll={props.scroll} />;
}

function Keys(props: { children: string }) {
  return <Text color={theme.muted}>{props.children}</Text>;
}

/**
 * `hints`: the keys offered now, one string per line (key-map.ts's hintLines). `commandRows`:
 * how many lines a destructive step's command may take (the terminal's height less what the
 * rest needs); `scroll`: lines scrolled back from its end (PgUp PgDn), when it is longer.
 */
export function PromptPanel(props: {
  prompt: Prompt;
  hints: string[];
  text: string;
  message: string | null;
  width: number;
  commandRows?: number;
  scroll?: number;
}) {
  const { prompt, text, hints } = props;
  const keys = hints.join(' · ');
  const [firstLine = '', restLine = ''] = hints.length > 1 ? hints : ['', keys];
  let color: string = theme.border;
  let body: React.ReactNode;
  switch (prompt.kind) {
    case 'question':
      color = theme.warning;
      body =
        prompt.question.kind === 'host-key' ? (
          <>
            <Text bold>
              Unknown host {prompt.question.key.host} ({prompt.question.key.address}:{prompt.question.key.port})
            </Text>
            <Text>
              Its {prompt.question.key.keyType} key fingerprint is <Text bold>{prompt.question.key.fingerprint}</Text>.
            </Text>
            <Text>Compare it with the fingerprint known for that machine before trusting it.</Text>
            <Keys>{keys}</Keys>
          </>
        ) : prompt.question.kind === 'sudo-password' ? (
          <>
            {prompt.question.retry ? <Text color={theme.danger}>sudo on {visibleText(prompt.question.host)} refused that password.</Text> : null}
            <Text bold>
              sudo password for {visibleText(prompt.question.user)} on {visibleText(prompt.question.host)}
            </Text>
            <Field value={text} masked />
            <Keys>{`${keys} · kept in memory only, asked once per host · Enter on an empty line gives none`}</Keys>
          </>
        ) : (
          <>
            {prompt.question.retry ? <Text color={theme.danger}>That passphrase did not unlock the key.</Text> : null}
            <Text bold>Passphrase for {visibleText(prompt.question.keyFile)}</Text>
            <Field value={text} masked />
            <Keys>{`${keys} · Enter on an empty line skips this key`}</Keys>
          </>
        );
      break;
    case 'approval':
      color = theme.danger;
      body =
        prompt.step.kind === 'edit' ? (
          <>
            <Text bold color={theme.danger}>
              CHANGE A FILE · {stepLabel(prompt.step)} ({stepPlace(prompt.step)})
            </Text>
            <Text>
              Approve the change to {visibleText(prompt.step.path)} on {prompt.step.host} shown above: type <Text bold>"{prompt.text}"</Text> and press Enter.
            </Text>
            <Field value={text} />
            <Keys>{keys}</Keys>
          </>
        ) : (
          <>
            <Text bold color={theme.danger}>
              {prompt.step.kind === 'preflight' ? 'THE DISK MEANT' : 'DESTRUCTIVE'} · {stepLabel(prompt.step)} ({stepPlace(prompt.step)})
            </Text>
            {'command' in prompt.step ? (
              <CommandLines command={prompt.step.command} target={prompt.text} rows={props.commandRows ?? 1} scroll={props.scroll ?? 0} />
            ) : null}
            <Text>
              Type <Text bold>"{prompt.text}"</Text> and press Enter to run it.
            </Text>
            <Field value={text} />
            <Keys>{keys}</Keys>
          </>
        );
      break;
    case 'confirmation': {
      color = theme.warning;
      const relayed = prompt.role !== 'upgrader';
      if (prompt.rollout) {
        const { rollout } = prompt;
        body = (
          <>
            <Text bold color={rollout.kind === 'halt' ? theme.danger : theme.warning}>
              {rollout.kind === 'halt' ? 'ROLLOUT HALTED' : 'CANARY DONE'} · phase {visibleLine(rollout.phase)} · {stepLabel(prompt.step)}
            </Text>
            <Text>
              {rollout.failed.length > 0 ? `Failed so far (${rollout.failed.length}): ${hostList(rollout.failed)}.` : 'No host has failed so far.'} Confirm to
              continue the rollout with the next batch.
            </Text>
            <Text bold>{confirmationText(prompt.step, undefined)}</Text>
            {prompt.confirmText !== undefined ? (
              <>
                <Text>
                  Type <Text bold>"{prompt.confirmText}"</Text> and press Enter to continue the rollout.
                </Text>
                <Field value={text} />
              </>
            ) : null}
            <Keys>{keys}</Keys>
          </>
        );
        break;
      }
      body = (
        <>
          <Text bold color={theme.warning}>
            {prompt.request !== undefined ? 'ASKED OF THE SITE' : 'CHECKPOINT'} · {stepLabel(prompt.step)} · waiting for {roleList(prompt.pending)}
          </Text>
          <Text bold>{confirmationText(prompt.step, prompt.request)}</Text>
          {firstLine !== '' ? <Keys>{firstLine}</Keys> : null}
          {!prompt.relayable ? (
            <>
              <Text>The {prompt.role} confirms this on their screen (/ok). Tell them what to do in the chat.</Text>
              <Keys>{restLine}</Keys>
            </>
          ) : (
            <>
              {relayed ? <Text>Record the {prompt.role}'s confirmation for them once they have told you it is done.</Text> : null}
              {prompt.confirmText !== undefined ? (
                <>
                  <Text>
                    Type <Text bold>"{prompt.confirmText}"</Text> and press Enter to confirm{relayed ? ` for the ${prompt.role}` : ''}.
                  </Text>
                  <Field value={text} />
                  <Keys>{restLine}</Keys>
                </>
              ) : (
                <Keys>{restLine}</Keys>
              )}
            </>
          )}
        </>
      );
      break;
    }
    case 'search':
    case 'goto':
      color = theme.accent;
      body = (
        <>
          <Text bold>{prompt.kind === 'search' ? 'Search the output shown' : 'Look back at step'}</Text>
          <Field value={text} />
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'chat':
      color = theme.accent;
      body = (
        <>
          <Text bold>Message to the site</Text>
          <Field value={text} />
          <Keys>{`${keys} · ${slashUsage('upgrader')}`}</Keys>
        </>
      );
      break;
    case 'decision':
      color = theme.danger;
      body = (
        <>
          <Text bold color={theme.danger}>
            {prompt.interrupted ? 'INTERRUPTED' : 'FAILED'} · {stepLabel(prompt.step)}: {prompt.error}
          </Text>
          {prompt.attemptMayRun !== undefined ? (
            <Text>
              Attempt {prompt.attemptMayRun} may still be running {stepPlace(prompt.step)}: a new attempt starts only once it is known to have ended.
            </Text>
          ) : null}
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'host-decision':
      color = theme.danger;
      body = (
        <>
          <Text bold color={theme.danger}>
            FAILED on {visibleLine(prompt.host)} · {stepLabel(prompt.step)}: {prompt.error}
          </Text>
          {prompt.more > 0 ? (
            <Text color={theme.warning}>
              {counted(prompt.more, 'more host waits', 'more hosts wait')} for a decision (next once this one is decided; ← → shows them).
            </Text>
          ) : null}
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'held':
      color = theme.warning;
      body = (
        <>
          <Text bold color={theme.warning}>
            HELD · {stepLabel(prompt.step)} · {HANDS_TEXT}: {prompt.why}
          </Text>
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'reason':
      color = theme.warning;
      body = (
        <>
          <Text bold>{REASON_QUESTIONS[prompt.action](visibleLine(prompt.target?.host ?? ''))}</Text>
          <Field value={text} />
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'confirm-cancel':
      color = theme.warning;
      body = (
        <>
          <Text bold>Stop {stepLabel(prompt.step)} now? The command is sent TERM; then you decide what next.</Text>
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'confirm-stop-attempt':
      color = theme.danger;
      body = (
        <>
          <Text bold>
            Stop attempt {prompt.attempt} of {stepLabel(prompt.step)} {stepPlace(prompt.step)}? TERM goes to its process group (the pid in its run folder); then
            its exit status is read.
          </Text>
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'confirm-stop':
      color = theme.danger;
      body = (
        <>
          <Text bold>Press Ctrl-C again to stop nightshift now.</Text>
          <Text>A running step is aborted; the journal records where things stood. Any other key goes back.</Text>
        </>
      );
      break;
    case 'running':
      body =
        prompt.doing !== undefined ? (
          <Keys>{`${stepLabel(prompt.step)}: ${prompt.doing} · ${keys}`}</Keys>
        ) : (
          <Keys>{`${stepLabel(prompt.step)} is running · ${keys}`}</Keys>
        );
      break;
    case 'finished':
      color = prompt.outcome === 'completed' ? theme.success : theme.warning;
      body = (
        <>
          <Text bold color={color}>
            {`${outcomeSentence(prompt.outcome, { subject: 'The run', meaning: true, scope: prompt.scope })}.`}
          </Text>
          <Keys>{keys}</Keys>
        </>
      );
      break;
    case 'idle':
      body = <Keys>{keys}</Keys>;
      break;
  }
  return (
    // The prompt keeps its rows, the panels above give way: squeezed, its lines would be drawn
    // over each other. That happened for one frame whenever it grew (a message under it): the
    // panels' heights follow the measured room a frame late.
    <Box flexDirection="column" width={props.width} flexShrink={0} borderStyle="round" borderColor={color} paddingX={1}>
      {body}
      {props.message ? <Text color={theme.warning}>{props.message}</Text> : null}
    </Box>
  );
}

const REASON_QUESTIONS: Record<ReasonAction, (host: string) => string> = {
  skip: () => 'Why skip this step? (journaled)',
  fallback: () => 'Why fall back? (journaled)',
  'mark-done': () => 'How do you know it is done? (journaled)',
  override: () => 'Why go on without hands on site? (journaled)',
  'skip-host': (host) => `Why skip ${host}? It is left as it is and counts as failed. (journaled)`,
  'fallback-host': (host) => `Why fall back ${host}? Its own fallback runs; it counts as failed. (journaled)`,
  'stop-rollout': (host) =>
    `Why stop the rollout? No batch starts after this one; ${host !== '' ? `${host} is left as it is, ` : ''}the hosts at work finish. (journaled)`,
};
