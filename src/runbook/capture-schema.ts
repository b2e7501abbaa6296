// The `capture:` key of run and local steps: a value taken from what the step printed.
import { z } from 'zod';

export const CAPTURE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const captureName = z
  .string()
  .regex(CAPTURE_NAME_PATTERN, 'a captured value is named as a variable: letters, digits and _')
  .describe('The name later steps use as {{name}}; it must not be a variable or a secret.');

const captureObjectSchema = z.strictObject({
  name: captureName,
  last_line: z.literal(true).optional().describe('The last non-empty line of stdout (the default).'),
  regex: z.string().min(1).optional().describe('A regular expression (JavaScript syntax) searched in stdout: its group `group` of the first match.'),
  group: z.number().int().min(0).optional().describe('With regex: the group whose text is the value (default 1; 0 is the whole match).'),
  json: z
    .string()
    .min(1)
    .optional()
    .describe('stdout parsed as JSON, then this path, e.g. partitiontable.id or blockdevices[0].uuid; the value must be a string, number or boolean.'),
});

/** The keys of `capture:` written as a mapping (for "allowed keys" in lint's messages). */
export const CAPTURE_KEYS: readonly string[] = Object.keys(captureObjectSchema.shape);

export const captureSchema = z
  .union([captureName, captureObjectSchema])
  .describe(
    "Once the step exits 0, take a value from its stdout for later steps' {{name}}: a name alone takes the last non-empty line; or {name, regex, group} or {name, json}. A capture that finds nothing fails the step.",
  );

export type RawCapture = z.infer<typeof captureSchema>;
