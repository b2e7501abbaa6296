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

  it("names the report's outcomes, and shows an unknown one as written", () => {
    expect(outcomeText('fell-back')).toBe('ended after the fallback');
    expect(outcomeText('unfinished')).toBe('no end recorded');
    expect(outcomeText('exploded')).toBe('exploded');
    expect(outcomeText('constructor')).toBe('constructor');
  });
});
