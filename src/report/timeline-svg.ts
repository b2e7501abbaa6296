// The timeline picture: phases as bands, one bar per step attempt, and a time axis labelled
// in both sites' clocks. Inline SVG with its own colours, so it needs nothing around it.
import { clockIn, weekdayIn } from '../text/clock.js';
import { formatDuration } from '../runbook/duration.js';
import { timeAt } from './clocks.js';
import { html, type Markup } from './markup.js';
import type { Attempt, SessionRecord, StepInfo } from './session-record.js';
import { timeScaleOf } from './time-scale.js';

const WIDTH = 1000;
const LABEL_WIDTH = 230;
const RIGHT_MARGIN = 30;
const BAND_HEIGHT = 22;
const ROW_HEIGHT = 18;
const BAR_HEIGHT = 12;
const AXIS_HEIGHT = 44;
const MIN_BAR_WIDTH = 3;

export const STATUS_COLOURS: Record<Attempt['status'], string> = {
  done: '#3f7fbf',
  failed: '#c62828',
  skipped: '#9e9e9e',
  interrupted: '#ef9f1f',
  running: '#7e57c2',
};
const MARKED_EVENTS = new Set(['fallback.started', 'session.paused', 'session.resumed', 'run.started']);
const FALLBACK_DONE = '#e07b00';
const BAND_COLOURS = ['#eef3f8', '#f6f6ee'];
const FALLBACK_BAND = '#fbe9e7';

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return max < 3 ? '' : `${text.slice(0, max - 1)}…`;
}

export function stepLabel(step: StepInfo | undefined, stepId: string): string {
  if (!step) return stepId;
  return step.number ? `${step.number} ${step.title}` : step.title;
}

export function attemptSummary(attempt: Attempt): string {
  const parts: string[] = [attempt.status === 'running' ? 'no end recorded' : attempt.status];
  if (attempt.exitCode !== undefined) parts.push(attempt.exitCode === null ? 'no exit status' : `exit ${attempt.exitCode}`);
  if (attempt.error) parts.push(attempt.error);
  parts.push(formatDuration(attempt.durationMs));
  return parts.join(', ');
}

function barFill(attempt: Attempt): string {
  if (attempt.fallback && attempt.status === 'done') return 'url(#ns-fallback)';
  return STATUS_COLOURS[attempt.status];
}

export function timelineSvg(record: SessionRecord): Markup {
  const stepsById = new Map(record.steps.map((step) => [step.id, step]));
  const rows: string[] = [];
  for (const attempt of record.attempts) if (!rows.includes(attempt.stepId)) rows.push(attempt.stepId);
  const top = BAND_HEIGHT + 6;
  const chartBottom = top + Math.max(1, rows.length) * ROW_HEIGHT;
  const height = chartBottom + AXIS_HEIGHT;
  const right = WIDTH - RIGHT_MARGIN;
  const spans = [
    ...record.attempts.map((attempt) => ({ from: attempt.startedAt, to: attempt.endedAt })),
    ...record.events.map((event) => ({ from: event.at, to: event.at })),
  ];
  const scale = timeScaleOf(spans, LABEL_WIDTH, right);
  const { upgrader, site } = record.sites;
  const seconds = scale.tickMs < 60_000;
  // Zones are offset by whole minutes, so the tenth is the same in both clocks.
  const tenth = (at: number) => (scale.tickMs < 1000 ? `.${Math.floor((at % 1000) / 100)}` : '');
  const tickLabel = (tz: string, at: number) => `${clockIn(tz, at, seconds)}${tenth(at)}`;

  // Labels after all the bands, so that no band paints over the label of the one before.
  const bandRects: Markup[] = [];
  const bandLabels: Markup[] = [];
  phaseBands(record, stepsById).forEach((band, index) => {
    const x = scale.x(band.from);
    const width = Math.max(MIN_BAR_WIDTH, scale.x(band.to) - x);
    const fill = band.fallback ? FALLBACK_BAND : BAND_COLOURS[index % 2]!;
    const label = truncate(band.label, Math.floor((width - 4) / 6.5));
    bandRects.push(html`<rect class="phase-band" data-phase="${band.name}" x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="${chartBottom}" fill="${fill}" stroke="#c9d3dd" stroke-width="0.5"><title>${band.label}</title></rect>
`);
    if (label)
      bandLabels.push(html`<text x="${(x + 3).toFixed(1)}" y="15" font-size="11" fill="#334"><title>${band.label}</title>${label}</text>
`);
  });

  const rowLabels = rows.map((stepId, index) => {
    const y = top + index * ROW_HEIGHT + ROW_HEIGHT / 2 + 4;
    const step = stepsById.get(stepId);
    const label = stepLabel(step, stepId);
    return html`<text x="4" y="${y}" font-size="11" fill="${step?.phase === null ? '#a04800' : '#223'}"><title>${label}</title>${truncate(label, 36)}</text>
`;
  });

  const bars = record.attempts.map((attempt) => {
    const row = rows.indexOf(attempt.stepId);
    const x = scale.x(attempt.startedAt);
    const width = Math.max(MIN_BAR_WIDTH, scale.x(attempt.endedAt) - x);
    const y = top + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    const step = stepsById.get(attempt.stepId);
    const tip =
      `${stepLabel(step, attempt.stepId)}, attempt ${attempt.attempt}${attempt.fallback ? ' (fallback)' : ''}: ${attemptSummary(attempt)}. ` +
      `${timeAt(upgrader, attempt.startedAt)} ${upgrader.name} / ${timeAt(site, attempt.startedAt)} ${site.name}`;
    const stroke = attempt.status === 'failed' ? '#7f0000' : attempt.fallback ? '#8a4500' : 'none';
    const marker =
      attempt.status === 'failed'
        ? html`<text x="${(x + width + 2).toFixed(1)}" y="${y + BAR_HEIGHT - 2}" font-size="11" font-weight="bold" fill="#c62828">✗</text>`
        : '';
    return html`<rect class="step-bar${attempt.fallback ? ' fallback' : ''} ${attempt.status}" data-step="${attempt.stepId}" data-attempt="${attempt.attempt}" data-status="${attempt.status}" x="${x.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" rx="2" fill="${barFill(attempt)}" stroke="${stroke}" stroke-width="1"${attempt.status === 'interrupted' ? html` stroke-dasharray="3 2"` : ''}><title>${tip}</title></rect>${marker}
`;
  });

  const markers = record.events
    // The first run.started is where the picture begins; later ones are restarts.
    .filter((event, index) => MARKED_EVENTS.has(event.type) && !(event.type === 'run.started' && index === 0))
    .map((event) => {
      const x = scale.x(event.at).toFixed(1);
      const colour = event.type === 'fallback.started' ? '#c62828' : '#555';
      return html`<line class="event-marker" x1="${x}" x2="${x}" y1="${BAND_HEIGHT}" y2="${chartBottom}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="4 3"><title>${event.text}</title></line>
`;
    });

  const breaks = scale.breaks.map(
    (gap) => html`<g class="axis-break"><title>${formatDuration(gap.to - gap.from)} without events</title>
<rect x="${(gap.x - 5).toFixed(1)}" y="0" width="10" height="${chartBottom + 4}" fill="#fff"/>
<line x1="${(gap.x - 3).toFixed(1)}" x2="${(gap.x - 3).toFixed(1)}" y1="0" y2="${chartBottom + 4}" stroke="#888" stroke-dasharray="2 2"/>
<line x1="${(gap.x + 3).toFixed(1)}" x2="${(gap.x + 3).toFixed(1)}" y1="0" y2="${chartBottom + 4}" stroke="#888" stroke-dasharray="2 2"/></g>
`,
  );

  // A tick names its weekday when the day in that zone is not the previous tick's.
  const dayChange = (tz: string) => {
    let previous = '';
    return (at: number) => {
      const day = weekdayIn(tz, at);
      const changed = previous !== '' && day !== previous;
      previous = day;
      return changed ? `${day} ` : '';
    };
  };
  const upgraderDay = dayChange(upgrader.tz);
  const siteDay = dayChange(site.tz);
  const ticks = scale.ticks.map((at) => {
    const x = scale.x(at).toFixed(1);
    return html`<g class="tick"><line x1="${x}" x2="${x}" y1="${chartBottom}" y2="${chartBottom + 5}" stroke="#333"/>
<text x="${x}" y="${chartBottom + 18}" font-size="11" text-anchor="middle" fill="#223">${upgraderDay(at)}${tickLabel(upgrader.tz, at)}</text>
<text x="${x}" y="${chartBottom + 34}" font-size="11" text-anchor="middle" fill="#6a3d9a">${siteDay(at)}${tickLabel(site.tz, at)}</text></g>
`;
  });

  return html`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="Timeline of the session">
<defs><pattern id="ns-fallback" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${FALLBACK_DONE}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>
${bandRects}${bandLabels}${rowLabels}${markers}${bars}${breaks}
<line x1="${LABEL_WIDTH}" x2="${right}" y1="${chartBottom}" y2="${chartBottom}" stroke="#333"/>
<text x="4" y="${chartBottom + 18}" font-size="11" fill="#223">${truncate(upgrader.name, 34)}</text>
<text x="4" y="${chartBottom + 34}" font-size="11" fill="#6a3d9a">${truncate(site.name, 34)}</text>
${ticks}</svg>`;
}

interface Band {
  name: string;
  label: string;
  fallback: boolean;
  from: number;
  to: number;
}

/** One band per run of consecutive attempts in the same phase (a retried phase after a resume gets two). */
function phaseBands(record: SessionRecord, stepsById: Map<string, StepInfo>): Band[] {
  const titles = new Map(record.phases.map((phase) => [phase.name, phase.title]));
  const bands: Band[] = [];
  for (const attempt of record.attempts) {
    const phase = stepsById.get(attempt.stepId)?.phase;
    const fallback = attempt.fallback || phase === null;
    const name = fallback ? 'fallback' : (phase ?? '');
    const current = bands.at(-1);
    if (current && current.name === name) {
      current.to = Math.max(current.to, attempt.endedAt);
      continue;
    }
    const title = fallback ? 'Fallback' : (titles.get(name) ?? name);
    bands.push({ name, label: title === name || fallback ? title : `${name}: ${title}`, fallback, from: attempt.startedAt, to: attempt.endedAt });
  }
  return bands;
}
