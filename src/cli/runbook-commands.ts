import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { safeJson, visibleLine } from '../output/neutralize.js';
import { RunbookError } from '../runbook/errors.js';
import { lintWarnings } from '../runbook/lint-warnings.js';
import { parseSource } from '../runbook/compose.js';
import { loadRunbook, parseRunbook } from '../runbook/load.js';
import { formatPlan, planOf } from '../runbook/plan.js';
import { runbookJsonSchema } from '../runbook/schema.js';
import { allSteps } from '../runbook/types.js';
import { problemLine } from '../text/problem-line.js';
import { shown } from '../text/shown-runbook.js';
import { checkLabFile } from '../lab/vm/lab-file.js';
import { EXIT } from './exit.js';
import { counted } from '../text/counted.js';

export interface Out {
  stdout(text: string): void;
  stderr(text: string): void;
}

export async function lintCommand(files: string[], out: Out): Promise<number> {
  let failed = false;
  for (const file of files) {
    if (LAB_FILE.test(file)) {
      if (!(await lintLabFile(file, out))) failed = true;
      continue;
    }
    const source = await readFile(file, 'utf8').catch(() => null);
    // Parsed once: the warnings walk the parse the runbook is loaded from.
    const parsed = source === null ? null : parseSource(source, file, path.resolve(file));
    const warnings = parsed === null ? [] : lintWarnings(parsed);
    try {
      const runbook = parsed === null ? await loadRunbook(file) : parseRunbook(parsed.source, file, { absoluteFile: parsed.absolute, parsed });
      for (const included of runbook.includes ?? []) {
        const text = await readFile(included, 'utf8').catch(() => null);
        const shownAs = path.relative(process.cwd(), included) || included;
        if (text !== null) warnings.push(...lintWarnings(parseSource(text, shownAs, included)));
      }
      for (const warning of warnings) out.stdout(problemLine(warning));
      const steps = runbook.phases.reduce((sum, phase) => sum + phase.steps.length, 0);
      out.stdout(
        `${visibleLine(file)}: ok (${counted(runbook.phases.length, 'phase')}, ${counted(steps, 'step')}, ${counted(runbook.fallback.length, 'fallback step')})\n`,
      );
    } catch (error) {
      if (!(error instanceof RunbookError)) throw error;
      failed = true;
      const problems = [...error.problems, ...warnings].sort((a, b) => a.line - b.line || a.col - b.col);
      for (const problem of problems) out.stdout(problemLine(problem));
    }
  }
  return failed ? EXIT.error : EXIT.completed;
}

/** A runbook's rehearsal lab (NAME.lab.yaml beside NAME.yaml): `lint runbooks/*.yaml` meets them too. */
const LAB_FILE = /\.lab\.ya?ml$/;

async function lintLabFile(file: string, out: Out): Promise<boolean> {
  const source = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    out.stdout(problemLine({ file, line: 1, col: 1, message: `cannot read the lab file: ${error.code === 'ENOENT' ? 'no such file' : error.message}` }));
    return null;
  });
  if (source === null) return false;
  const { lab, problems } = checkLabFile(source);
  for (const problem of problems) out.stdout(problemLine({ file, ...problem }));
  if (!lab) return false;
  const runbook = path.basename(file).replace(LAB_FILE, '.yaml');
  out.stdout(`${visibleLine(file)}: ok (the rehearsal lab of ${visibleLine(runbook)}: ${counted(Object.keys(lab.machines).length, 'machine')})\n`);
  return true;
}

export async function planCommand(file: string, json: boolean, out: Out): Promise<number> {
  const runbook = await loadRunbook(file);
  const plan = planOf(runbook);
  // JSON keeps the text as written (escaped by JSON); the checklist shows it safely.
  if (json) out.stdout(`${safeJson(plan, 2)}\n`);
  else out.stdout(formatPlan(shown(plan), visibleLine(path.relative(process.cwd(), runbook.file) || file)));
  return allSteps(runbook).length > 0 ? EXIT.completed : EXIT.error;
}

export function schemaCommand(out: Out): number {
  out.stdout(`${JSON.stringify(runbookJsonSchema(), null, 2)}\n`);
  return EXIT.completed;
}
