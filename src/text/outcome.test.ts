import { describe, expect, it } from 'vitest';
import { outcomeSentence, outcomeText } from './outcome.js';

describe('outcome texts', () => {
  it('says how a run ended, with what a fallback means where asked', () => {
    expect(outcomeSentence('completed')).toBe('the run completed');
    expect(outcomeSentence('fell-back')).toBe('the run ended after the fallback');
    expect(outcomeSentence('paused')).toBe('the run is paused');
    expect(outcomeSentence('fell-back', { meaning: true })).toBe('the run ended after the fallback: the old system should be serving again');
    expect(outcomeSentence('completed', { subject: 'The run', meaning: true })).toBe('The run completed');
  });

  it("does not claim the old system serves when a phase's own fallback ended the run", () => {
    expect(outcomeSentence('fell-back', { meaning: true, scope: 'rebuild' })).toBe(
      "the run ended after the fallback of phase rebuild: the runbook's fallback did not run; the phase fallback's last steps say where things stand",
    );
    expect(outcomeSentence('fell-back', { scope: 'rebuild' })).toBe('the run ended after the fallback of phase rebuild');
    expect(outcomeSentence('fell-back', { meaning: true, scope: null })).toBe('the run ended after the fallback: the old system should be serving again');
    expect(outcomeSentence('completed', { meaning: true, scope: 'rebuild' })).toBe('the run completed');
  });

  it("names the report's outcomes, and shows an unknown one as written", () => {
    expect(outcomeText('fell-back')).toBe('ended after the fallback');
    expect(outcomeText('unfinished')).toBe('no end recorded');
    expect(outcomeText('exploded')).toBe('exploded');
    expect(outcomeText('constructor')).toBe('constructor');
  });
});
