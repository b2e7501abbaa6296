// Why the engine would not take a person's action now. One place for these rules: the
// machine's guards and its refusals use them, and front-ends ask them before offering a
// key or a reason prompt, so no front-end keeps a copy.
import type { Runbook } from '../runbook/types.js';
import type { ActionQuery } from './events.js';
import type { RunbookSnapshot } from './machine.js';

/** Why `query` would be refused in `snapshot`, or null when the engine would take it. */
export function whyNot(snapshot: RunbookSnapshot, runbook: Runbook, query: ActionQuery): string | null {
  if (query.type === 'FALLBACK') {
    if (runbook.fallback.length === 0) return 'this runbook has no fallback steps';
    if (snapshot.context.track === 'fallback') return 'the fallback is already running';
  }
  if ('reason' in query && query.reason !== undefined && query.reason.trim() === '') return 'a reason is needed: it goes into the journal';
  if (!('reason' in query) || query.reason !== undefined) {
    if (!snapshot.can(query as Parameters<RunbookSnapshot['can']>[0])) return `${query.type.toLowerCase()} is not possible now`;
  }
  return null;
}
