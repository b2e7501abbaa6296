// The runbook file format. One zod schema is the truth for the loader, the error messages
// and the JSON Schema that editors use (`nightshift schema`).
import { z } from 'zod';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

const name = (what: string) =>
  z
    .string()
    .regex(NAME_PATTERN, `a ${what} is lower-case letters, digits, '-' and '_', starting with a letter or digit`);

const duration = z
  .string()
  .regex(DURATION_PATTERN, 'a duration is a number with a unit: 500ms, 30s, 5m, 2h or 1h30m')
  .describe('A duration such as 500ms, 30s, 5m, 2h or 1h30m.');

const text = z.string().min(1, 'this text must not be empty');

export const siteSchema = z
  .strictObject({
    name: text.describe('A name the humans recognise, e.g. "Taipei office".'),
    tz: text.describe('IANA time zone, e.g. Asia/Taipei.'),
  })
  .describe('A place and its clock.');

export const hostSchema = z
  .strictObject({
    alias: text.optional().describe('Host alias in ~/.ssh/config to start from (default: the host name itself).'),
    address: text.optional().describe('Address or DNS name to connect to (overrides HostName).'),
    user: text.optional().describe('Login user (overrides User).'),
    port: z.number().int().min(1).max(65535).optional().describe('SSH port (overrides Port).'),
    identity_file: text.optional().describe('Private key file to offer (in addition to the agent).'),
  })
  .describe('How to reach a machine over SSH. Values given here override ~/.ssh/config.');

const onFail = z
  .enum(['ask', 'fallback', 'continue'])
  .describe('What happens when the step fails: ask the upgrader (default), start the fallback, or go on.');

const common = {
  id: name('step id').optional().describe('Stable id used in the journal (default: <phase>-<n>).'),
  title: text.optional().describe('Short title shown in the runbook panel.'),
  timeout: duration.optional().describe('The step fails when it runs longer than this.'),
  on_fail: onFail.optional(),
};

const destructive = z
  .union([z.boolean(), text])
  .describe(
    'Ask for typed confirmation before running: true asks for the host name, a string asks for that text (e.g. the disk).',
  );

export const runStepSchema = z
  .strictObject({
    run: text.describe('Shell command run on the host; {{var}} is substituted shell-quoted.'),
    host: name('host name').describe('The host from `hosts` to run on.'),
    destructive: destructive.optional(),
    ...common,
  })
  .describe('Run a command on a remote host over SSH.');

export const localStepSchema = z
  .strictObject({
    local: text.describe("Shell command run on the upgrader's machine, in the runbook's folder."),
    destructive: destructive.optional(),
    ...common,
  })
  .describe("Run a command on the upgrader's machine.");

export const checkpointStepSchema = z
  .strictObject({
    checkpoint: text.describe('What the person must have done or checked.'),
    by: z.enum(['upgrader', 'sentinel', 'both']).optional().describe('Who confirms (default upgrader).'),
    confirm: text.optional().describe('Text the person must type to confirm (e.g. the host name).'),
    ...common,
  })
  .describe('Stop until the right person confirms.');

export const waitStepSchema = z
  .strictObject({
    wait: z
      .enum(['ssh', 'port', 'command'])
      .describe('ssh: an SSH login succeeds; port: a TCP port accepts; command: a command exits 0 on the host.'),
    host: name('host name').describe('The host waited for.'),
    port: z.number().int().min(1).max(65535).optional().describe('For wait: port, the TCP port.'),
    command: text.optional().describe('For wait: command, the command to repeat until it exits 0.'),
    every: duration.optional().describe('Pause between attempts (default 2s).'),
    ...common,
  })
  .describe('Wait, bounded by timeout (default 5m), until a host answers.');

export const noteStepSchema = z
  .strictObject({
    note: text.describe('Text for the humans; shown and journaled, nothing runs.'),
    id: common.id,
    title: common.title,
  })
  .describe('A note for the humans.');

/** The key whose presence decides a step's kind, in the order the union lists them. */
export const STEP_KINDS = ['run', 'local', 'checkpoint', 'wait', 'note'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const stepSchemas = {
  run: runStepSchema,
  local: localStepSchema,
  checkpoint: checkpointStepSchema,
  wait: waitStepSchema,
  note: noteStepSchema,
} as const;

export const stepSchema = z.union(STEP_KINDS.map((kind) => stepSchemas[kind]) as unknown as [
  typeof runStepSchema,
  typeof localStepSchema,
  typeof checkpointStepSchema,
  typeof waitStepSchema,
  typeof noteStepSchema,
]);

export const phaseSchema = z
  .strictObject({
    name: name('phase name').describe('Phase name, e.g. partition, restore, cutover.'),
    title: text.optional(),
    steps: z.array(stepSchema).min(1, 'a phase needs at least one step'),
  })
  .describe('An ordered group of steps.');

export const runbookSchema = z
  .strictObject({
    name: text.describe('What this runbook does, in a few words.'),
    description: z.string().optional(),
    sites: z
      .strictObject({ upgrader: siteSchema.optional(), site: siteSchema.optional() })
      .optional()
      .describe("The upgrader's place and the site's place, for the clocks."),
    hosts: z.record(name('host name'), z.union([hostSchema, z.null()])).optional(),
    vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name is letters, digits and _'), z.union([z.string(), z.number()])).optional(),
    phases: z.array(phaseSchema).min(1, 'a runbook needs at least one phase'),
    fallback: z.array(stepSchema).optional().describe('Steps that swing everything back; run from any failure or by hand.'),
  })
  .describe('A nightshift runbook.');

export type RawRunbook = z.infer<typeof runbookSchema>;
export type RawStep = z.infer<typeof stepSchema>;
export type RawHost = z.infer<typeof hostSchema>;

export function runbookJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://nightshift.invalid/schema/runbook.schema.json',
    title: 'nightshift runbook',
    ...(z.toJSONSchema(runbookSchema, { target: 'draft-2020-12' }) as Record<string, unknown>),
  };
}
