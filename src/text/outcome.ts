// How a run ended, in the words every front-end, the report and the command line use.
import type { Outcome } from '../engine/events.js';

const OUTCOME_WORDS: Readonly<Record<string, string>> = {
  completed: 'completed',
  'fell-back': 'ended after the fallback',
  paused: 'paused',
  interrupted: 'interrupted',
  unfinished: 'no end recorded',
};

/**
 * How a run or session ended, as a participle: "completed", "ended after the fallback",
 * "paused"; the report's "interrupted" (nightshift stopped) and "no end recorded" too.
 * Unknown outcomes (a newer journal) are shown as written.
 */
export function outcomeText(outcome: string): string {
  return Object.hasOwn(OUTCOME_WORDS, outcome) ? OUTCOME_WORDS[outcome]! : outcome;
}

/** What a fallback means for the site, said where the run's end is shown to the people doing it. */
const FALLBACK_MEANS = 'the old system should be serving again';
/** A phase's own fallback may go forward rather than back (a jump system, say): only its steps know. */
const PHASE_FALLBACK_MEANS = "the runbook's fallback did not run; the phase fallback's last steps say where things stand";

/**
 * "the run completed", "the run ended after the fallback", "the run is paused"; with
 * `meaning`, a fallback says what it means for the site. `subject` replaces "the run";
 * `scope` names the phase whose own fallback ended the run (null: the runbook's).
 */
export function outcomeSentence(outcome: Outcome, options: { subject?: string; meaning?: boolean; scope?: string | null } = {}): string {
  const subject = options.subject ?? 'the run';
  const predicate = outcome === 'paused' ? 'is paused' : outcomeText(outcome);
  if (outcome !== 'fell-back') return `${subject} ${predicate}`;
  const phase = typeof options.scope === 'string' ? options.scope : null;
  const meaning = options.meaning ? `: ${phase !== null ? PHASE_FALLBACK_MEANS : FALLBACK_MEANS}` : '';
  return `${subject} ${predicate}${phase !== null ? ` of phase ${phase}` : ''}${meaning}`;
}
