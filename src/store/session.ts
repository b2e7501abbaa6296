// A session's folder: the journal, a copy of the runbook as it was run, and step outputs.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Runbook } from '../runbook/types.js';
import { Journal } from './journal.js';
import { newSessionId, sessionsDir } from './paths.js';

export interface Session {
  id: string;
  dir: string;
  journal: Journal;
  outputPath(stepId: string, attempt: number): string;
}

export function createSession(runbook: Runbook, env: NodeJS.ProcessEnv = process.env): Session {
  const id = newSessionId();
  const dir = path.join(sessionsDir(env), id);
  mkdirSync(path.join(dir, 'output'), { recursive: true, mode: 0o700 });
  copyFileSync(runbook.file, path.join(dir, 'runbook.yaml'));
  const journal = new Journal(path.join(dir, 'journal.jsonl'));
  return {
    id,
    dir,
    journal,
    outputPath: (stepId, attempt) => path.join(dir, 'output', `${stepId}.${attempt}.log`),
  };
}
