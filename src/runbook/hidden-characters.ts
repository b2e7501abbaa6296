// Characters that a terminal acts on or that hide or reorder the text around them: in a
// runbook they can make a command read as something else than what runs. Front-ends show
// them (output/neutralize.ts); lint warns where a runbook holds them (runbook/lint-warnings.ts).

/** C0 controls but tab and line feed, DEL and C1 controls. */
export const CONTROL_CHARACTERS = '\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f';
/** Bidi embeddings, overrides, isolates and marks; zero-width and other invisible characters; line and paragraph separators. */
export const INVISIBLE_CHARACTERS = '\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ufff9-\\ufffb';
