// `run --from PHASE` and `again`: the phase checked against the runbook, and the session
// the new one goes again from (named by `again`, or the latest of the same runbook).
import path from 'node:path';
import { visibleLine } from '../output/neutralize.js';
import { firstStepOf, UnknownPhaseError, type GoingAgain } from '../engine/going-again.js';
import type { Runbook } from '../runbook/types.js';
import { capturedValuesOf, latestSessionOf } from '../store/session-links.js';
import { sessionsDir } from '../store/paths.js';
import { usageError } from './user-error.js';

/** What `again` already knows: the session gone again from, and the values it carries. */
export interface AgainFrom {
  session: string;
  values: Record<string, string>;
}

/**
 * Where the run starts and what it goes on from: `phase` checked (a usage error lists the
 * phases there are); the session `again` names, else the latest earlier one of the same
 * runbook with its captured values, else none.
 */
export function goingAgainOf(runbook: Runbook, phase: string, from?: AgainFrom, command = 'run'): GoingAgain {
  try {
    firstStepOf(runbook, phase);
  } catch (error) {
    if (error instanceof UnknownPhaseError) throw usageError(`--from: ${visibleLine(error.message)}`, { help: command });
    throw error;
  }
  if (from) return { phase, session: from.session, values: from.values };
  const session = latestSessionOf(runbook);
  if (session === null) return { phase, session: null };
  return { phase, session, values: capturedValuesOf(path.join(sessionsDir(process.env), session)) };
}
