// The loader's part of `when:`: each step gets its phase's condition first and then its
// own, resolved against the runbook (its variables, captured values, hosts, and the step's
// own host for `host.FACT`); a problem is reported at its place inside the condition.
import { compileCondition, type ConditionNames } from './condition.js';
import type { RawRunbook } from './schema.js';
import { allSteps, type Phase, type Runbook, type SourcePosition, type Step, type StepCondition } from './types.js';

type Path = readonly PropertyKey[];
type Position = SourcePosition & { file?: string };

/** Where the character at `index` of the string `text` at `path` stands, in its own file (the value's start when its text was escaped or folded). */
export type LocateInValue = (path: Path, text: string, index: number) => Position;

/**
 * `locate` finds where a value starts (its file, when an included one); `sourceOf` gives a
 * file's text (the main file's for undefined): where the value is written there as it is,
 * on one line, in quotes or not, a column inside it can be told.
 */
export function valueLocator(locate: (path: Path) => Position, sourceOf: (file?: string) => string | undefined): LocateInValue {
  return (path, text, index) => {
    const at = locate(path);
    const lines = sourceOf(at.file)?.split('\n');
    const line = lines?.[at.line - 1];
    if (line === undefined || text.includes('\n')) return at;
    const quote = line[at.col - 1] === '"' || line[at.col - 1] === "'" ? 1 : 0;
    const written = line.slice(at.col - 1 + quote, at.col - 1 + quote + text.length);
    return written === text ? { ...at, col: at.col + quote + index } : at;
  };
}

type Report = (at: Position, message: string) => void;

/** The runbook with each step's `when` filled in (the phase's condition first); problems go to `report`. `paramsOf`: a template phase's params, by phase index. */
export function withConditions(
  runbook: Runbook,
  raw: RawRunbook,
  locateIn: LocateInValue,
  report: Report,
  paramsOf: (phaseIndex: number) => Record<string, string> | undefined = () => undefined,
): Runbook {
  const order = allSteps(runbook).map((step) => step.id);
  const hosts = Object.keys(runbook.hosts);
  const namesFor = (step: Step, params: Record<string, string> | undefined): ConditionNames => ({
    vars: Object.keys(runbook.vars),
    secrets: Object.keys(runbook.secrets),
    captures: Object.fromEntries(
      Object.entries(runbook.captures).map(([name, stepId]) => [
        name,
        { stepId, before: order.indexOf(stepId) >= 0 && order.indexOf(stepId) < order.indexOf(step.id) },
      ]),
    ),
    hosts,
    ...('host' in step ? { ownHost: step.host } : {}),
    stepKind: step.kind,
    ...(params ? { params } : {}),
  });
  const reported = new Set<string>();
  const condition = (text: string, path: Path, step: Step, scope: StepCondition['scope'], params?: Record<string, string>): StepCondition | undefined => {
    const result = compileCondition(text, namesFor(step, params));
    if ('problems' in result) {
      for (const problem of result.problems) {
        const at = locateIn(path, text, problem.index);
        const key = `${at.file ?? ''}:${at.line}:${at.col}`;
        // A phase's condition is resolved for each of its steps: a problem is said once, for the first.
        if (!reported.has(key)) report(at, `when: ${problem.message}`);
        reported.add(key);
      }
      return undefined;
    }
    const { line, col } = locateIn(path, text, 0);
    return { text, expr: result.expr, scope, at: { line, col } };
  };
  const stepWhen = (step: Step, rawWhen: string | undefined, path: Path, phaseWhen?: { text: string; path: Path }, params?: Record<string, string>): Step => {
    const conditions = [
      ...(phaseWhen ? [condition(phaseWhen.text, phaseWhen.path, step, 'phase', params)] : []),
      ...(rawWhen !== undefined ? [condition(rawWhen, [...path, 'when'], step, 'step', params)] : []),
    ].filter((found): found is StepCondition => found !== undefined);
    return conditions.length > 0 ? { ...step, when: conditions } : step;
  };
  const phases: Phase[] = runbook.phases.map((phase, p) => {
    const rawPhase = raw.phases[p];
    const phaseWhen = rawPhase?.when !== undefined ? { text: rawPhase.when, path: ['phases', p, 'when'] as Path } : undefined;
    // A guard's own steps (guard-blocks.ts) were written as no step: the raw steps are the others, in order.
    let s = -1;
    const steps = phase.steps.map((step) =>
      step.kind === 'guard' ? step : ((s += 1), stepWhen(step, rawPhase?.steps[s]?.when, ['phases', p, 'steps', s], phaseWhen, paramsOf(p))),
    );
    const when = steps.find((step) => step.when?.[0]?.scope === 'phase')?.when?.[0];
    return { ...phase, steps, ...(when ? { when } : {}) };
  });
  const fallback = runbook.fallback.map((step, s) => stepWhen(step, raw.fallback?.[s]?.when, ['fallback', s]));
  return { ...runbook, phases, fallback };
}
