// The session's output as an asciicast v2 recording (asciinema play): each attempt's
// heading, then its output. Logs have no time per chunk, so an attempt's lines are spread
// evenly over its run; long quiet stretches are cut short so the recording stays watchable.
import { formatDuration } from '../runbook/duration.js';
import { attemptKey, type LogExcerpts } from './log-excerpt.js';
import { attemptStatusText, exitText, outcomeText, stepName } from './report-text.js';
import type { SessionRecord } from './session-record.js';

/** No pause in the recording is longer than this, in seconds. */
export const CAST_IDLE_LIMIT = 2;
/** An attempt's output is played in at most this many pieces. */
const MAX_EVENTS_PER_ATTEMPT = 200;
const BOLD = '\x1b[1m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp: number;
  idle_time_limit: number;
  title: string;
}

export type CastEvent = [number, 'o', string];

/** Real times in, recording times out: every gap capped at the idle limit. */
class CastClock {
  private lastReal: number | null = null;
  private time = 0;

  at(real: number): number {
    if (this.lastReal !== null) this.time += Math.min(CAST_IDLE_LIMIT, Math.max(0, real - this.lastReal) / 1000);
    this.lastReal = Math.max(real, this.lastReal ?? real);
    return Math.round(this.time * 1e6) / 1e6;
  }
}

export function asciicastOf(record: SessionRecord, logs: LogExcerpts): string {
  const clock = new CastClock();
  const events: CastEvent[] = [];
  const emit = (real: number, text: string) => events.push([clock.at(real), 'o', text]);
  let widest = 80;

  emit(record.startedAt, `${BOLD}${record.runbook.name || 'Session'}${RESET}: session ${record.session}\r\n`);
  for (const attempt of [...record.attempts].sort((a, b) => a.startedAt - b.startedAt)) {
    const step = record.steps.find((candidate) => candidate.id === attempt.stepId);
    const place = step?.place ? ` (${step.place})` : '';
    const fallback = attempt.fallback ? ' [fallback]' : '';
    emit(attempt.startedAt, `\r\n${BOLD}── ${stepName(record, attempt.stepId)}${place}${fallback}, attempt ${attempt.attempt}${RESET}\r\n`);
    const log = logs.get(attemptKey(attempt));
    const lines = log && !log.missing ? log.lines : [];
    if (log && log.omittedLines > 0) emit(attempt.startedAt, `… ${log.omittedLines} earlier lines left out (full log: ${log.file})\r\n`);
    const pieces = chunk(lines, Math.ceil(lines.length / MAX_EVENTS_PER_ATTEMPT));
    const span = Math.max(0, attempt.endedAt - attempt.startedAt);
    pieces.forEach((piece, index) => {
      for (const line of piece) widest = Math.max(widest, line.length);
      emit(attempt.startedAt + (span * (index + 1)) / (pieces.length + 1), piece.map((line) => `${line}\r\n`).join(''));
    });
    const result = [attemptStatusText(attempt), exitText(attempt), formatDuration(attempt.durationMs)].filter(Boolean).join(', ');
    const colour = attempt.status === 'done' ? '' : RED;
    emit(attempt.endedAt, `${colour}── ${result}${attempt.error ? `: ${attempt.error}` : ''}${colour ? RESET : ''}\r\n`);
  }
  emit(record.endedAt, `\r\n${BOLD}Outcome: ${outcomeText(record.outcome)}${RESET}\r\n`);

  const header: CastHeader = {
    version: 2,
    width: Math.min(200, widest),
    height: 40,
    timestamp: Math.floor(record.startedAt / 1000),
    idle_time_limit: CAST_IDLE_LIMIT,
    title: `${record.runbook.name || 'Session'}: session ${record.session}`,
  };
  return `${[JSON.stringify(header), ...events.map((event) => JSON.stringify(event))].join('\n')}\n`;
}

function chunk<T>(items: T[], size: number): T[][] {
  const pieces: T[][] = [];
  for (let index = 0; index < items.length; index += Math.max(1, size)) pieces.push(items.slice(index, index + Math.max(1, size)));
  return pieces;
}
