// `when:` conditions: read from their text (every problem at its place in the text),
// resolved against the runbook's variables, captured values and hosts, and evaluated
// against values and host facts. Pure: the facts are gathered elsewhere.
//
//   or := and ('or' and)*      and := not ('and' not)*      not := 'not' not | compare
//   compare := '(' or ')' | operand (('==' | '!=' | '<' | '<=' | '>' | '>=' | '=~') operand)?
//   operand := NAME | HOST.FACT | host.FACT | 'text' | "text" | NUMBER | true | false
import { closest } from './errors.js';
import { HOST_FACTS, type ConditionExpr, type ConditionOperand, type HostFactName, type HostFacts } from './types.js';

/** A problem in a condition's text, at `index` (0-based) into it. */
export interface ConditionProblem {
  index: number;
  message: string;
}

/** `host.FACT`: the fact of the step's own host. */
export const OWN_HOST = 'host';

type CompareOp = Extract<ConditionExpr, { kind: 'compare' }>['op'];
const COMPARE_OPS: readonly CompareOp[] = ['==', '!=', '<=', '>=', '=~', '<', '>'];
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false']);

type Token =
  | { kind: 'word'; text: string; index: number }
  | { kind: 'fact'; host: string; fact: string; index: number; factIndex: number }
  | { kind: 'string'; value: string; index: number }
  | { kind: 'number'; value: number; index: number }
  | { kind: 'op'; op: CompareOp; index: number }
  | { kind: '(' | ')' | 'end'; index: number };

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

const NUMBER = /^-?\d+(?:\.\d+)?(?![A-Za-z0-9_.-])/;
const WORD = /^[A-Za-z0-9_][A-Za-z0-9_-]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    if (char === '(' || char === ')') {
      tokens.push({ kind: char, index: i++ });
      continue;
    }
    const op = COMPARE_OPS.find((candidate) => rest.startsWith(candidate));
    if (op) {
      tokens.push({ kind: 'op', op, index: i });
      i += op.length;
      continue;
    }
    if (char === '"' || char === "'") {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== char; j++) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j];
      }
      if (j >= text.length) throw new SyntaxProblem(`this string has no closing ${char}`, i);
      tokens.push({ kind: 'string', value, index: i });
      i = j + 1;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), index: i });
      i += number[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      const after = rest.slice(word[0].length);
      const fact = after.startsWith('.') ? WORD.exec(after.slice(1)) : null;
      if (after.startsWith('.') && !fact) throw new SyntaxProblem(`'${word[0]}.' needs a fact after the dot, e.g. ${word[0]}.systemd`, i + word[0].length + 1);
      if (fact) {
        tokens.push({ kind: 'fact', host: word[0], fact: fact[0], index: i, factIndex: i + word[0].length + 1 });
        i += word[0].length + 1 + fact[0].length;
      } else {
        tokens.push({ kind: 'word', text: word[0], index: i });
        i += word[0].length;
      }
      continue;
    }
    throw new SyntaxProblem(unexpected(rest), i);
  }
  tokens.push({ kind: 'end', index: text.length });
  return tokens;
}

function unexpected(rest: string): string {
  if (rest.startsWith('&&')) return "'&&' is written 'and' here";
  if (rest.startsWith('||')) return "'||' is written 'or' here";
  if (rest.startsWith('!')) return "'!' is written 'not' here";
  if (rest.startsWith('=')) return "'=' alone does not compare: write '=='";
  if (rest.startsWith('{{')) return 'a variable is named without {{ }} in a condition, e.g. swap_mode == "dual"';
  return `unexpected ${JSON.stringify(rest[0])}`;
}

/** Operands as read, with their place in the text: resolved against the runbook afterwards. */
type RawOperand =
  | { kind: 'name'; name: string; index: number }
  | { kind: 'fact'; host: string; fact: string; index: number; factIndex: number }
  | { kind: 'literal'; value: string | number | boolean; index: number };

type RawExpr =
  | { kind: 'compare'; op: CompareOp; left: RawOperand; right: RawOperand }
  | { kind: 'truthy'; operand: RawOperand }
  | { kind: 'not'; expr: RawExpr }
  | { kind: 'and' | 'or'; exprs: RawExpr[] };

function parseTokens(tokens: Token[]): RawExpr {
  let at = 0;
  const peek = () => tokens[at]!;
  const isWord = (word: string) => {
    const token = peek();
    return token.kind === 'word' && token.text === word;
  };
  const describe = (token: Token): string => {
    switch (token.kind) {
      case 'end':
        return 'the end of the condition';
      case 'word':
        return `'${token.text}'`;
      case 'fact':
        return `'${token.host}.${token.fact}'`;
      case 'string':
        return `the string ${JSON.stringify(token.value)}`;
      case 'number':
        return `the number ${token.value}`;
      case 'op':
        return `'${token.op}'`;
      default:
        return `'${token.kind}'`;
    }
  };
  const list = (kind: 'and' | 'or', part: () => RawExpr): RawExpr => {
    const exprs = [part()];
    while (isWord(kind)) {
      at++;
      exprs.push(part());
    }
    return exprs.length === 1 ? exprs[0]! : { kind, exprs };
  };
  const or = (): RawExpr => list('or', and);
  const and = (): RawExpr => list('and', not);
  const not = (): RawExpr => {
    if (isWord('not')) {
      at++;
      return { kind: 'not', expr: not() };
    }
    return compare();
  };
  const compare = (): RawExpr => {
    if (peek().kind === '(') {
      const open = peek();
      at++;
      const inner = or();
      if (peek().kind !== ')') throw new SyntaxProblem(`expected ')' to close the '(' at column ${open.index + 1}, found ${describe(peek())}`, peek().index);
      at++;
      return inner;
    }
    const left = operand();
    const token = peek();
    if (token.kind !== 'op') return { kind: 'truthy', operand: left };
    at++;
    return { kind: 'compare', op: token.op, left, right: operand() };
  };
  const operand = (): RawOperand => {
    const token = peek();
    switch (token.kind) {
      case 'string':
      case 'number':
        at++;
        return { kind: 'literal', value: token.value, index: token.index };
      case 'fact':
        at++;
        return { kind: 'fact', host: token.host, fact: token.fact, index: token.index, factIndex: token.factIndex };
      case 'word':
        if (token.text === 'true' || token.text === 'false') {
          at++;
          return { kind: 'literal', value: token.text === 'true', index: token.index };
        }
        if (!KEYWORDS.has(token.text)) {
          at++;
          return { kind: 'name', name: token.text, index: token.index };
        }
    }
    throw new SyntaxProblem(`expected a value (a variable, HOST.FACT, a string or a number), found ${describe(token)}`, token.index);
  };
  const expr = or();
  if (peek().kind !== 'end') {
    const token = peek();
    const hint =
      token.kind === 'word' || token.kind === 'fact' || token.kind === 'string' || token.kind === 'number' ? ": join conditions with 'and' or 'or'" : '';
    throw new SyntaxProblem(`unexpected ${describe(token)}${hint}`, token.index);
  }
  return expr;
}

/** What a condition may name, as the loader knows it for one step. */
export interface ConditionNames {
  vars: readonly string[];
  /** Secret variables: never in a condition (their value would show in the skip reason). */
  secrets: readonly string[];
  /** Captured values by name: whether the step that captures it comes before this one, and its id. */
  captures: Readonly<Record<string, { stepId: string; before: boolean }>>;
  hosts: readonly string[];
  /** The step's own host (`host.FACT`), if it has one. */
  ownHost?: string;
  /** The step's kind, for the message when it has no host. */
  stepKind: string;
  /** In a phase made from a template: its params, known when the runbook is read, taken as the values given. */
  params?: Readonly<Record<string, string>>;
}

/** Reads `text` and resolves it against `names`: the condition, or every problem found with its place. */
export function compileCondition(text: string, names: ConditionNames): { expr: ConditionExpr } | { problems: ConditionProblem[] } {
  let raw: RawExpr;
  try {
    if (text.trim() === '') return { problems: [{ index: 0, message: 'the condition is empty' }] };
    raw = parseTokens(tokenize(text));
  } catch (error) {
    if (error instanceof SyntaxProblem) return { problems: [{ index: error.index, message: error.message }] };
    throw error;
  }
  const problems: ConditionProblem[] = [];
  const expr = resolveExpr(raw, names, problems);
  return problems.length > 0 ? { problems } : { expr };
}

function resolveExpr(raw: RawExpr, names: ConditionNames, problems: ConditionProblem[]): ConditionExpr {
  switch (raw.kind) {
    case 'compare': {
      const right = resolveOperand(raw.right, names, problems);
      if (raw.op === '=~' && right.kind === 'literal') {
        try {
          new RegExp(String(right.value));
        } catch (error) {
          problems.push({ index: raw.right.index, message: `not a regular expression: ${(error as Error).message}` });
        }
      }
      return { kind: 'compare', op: raw.op, left: resolveOperand(raw.left, names, problems), right };
    }
    case 'truthy':
      return { kind: 'truthy', operand: resolveOperand(raw.operand, names, problems) };
    case 'not':
      return { kind: 'not', expr: resolveExpr(raw.expr, names, problems) };
    case 'and':
    case 'or':
      return { kind: raw.kind, exprs: raw.exprs.map((expr) => resolveExpr(expr, names, problems)) };
  }
}

function resolveOperand(raw: RawOperand, names: ConditionNames, problems: ConditionProblem[]): ConditionOperand {
  if (raw.kind === 'literal') return { kind: 'literal', value: raw.value };
  if (raw.kind === 'name') {
    const param = names.params?.[raw.name];
    if (param !== undefined) return { kind: 'literal', value: param };
    const capture = names.captures[raw.name];
    if (names.secrets.includes(raw.name)) {
      problems.push({
        index: raw.index,
        message: `'${raw.name}' is a secret: a condition cannot use it, as its value would show in the reason a step is skipped`,
      });
    } else if (capture && !capture.before && !names.vars.includes(raw.name)) {
      problems.push({ index: raw.index, message: `'${raw.name}' is captured by step ${capture.stepId}, which does not run before this one` });
    } else if (!capture && !names.vars.includes(raw.name)) {
      const hint = closest(raw.name, [...names.vars, ...Object.keys(names.captures)]);
      const fact = (HOST_FACTS as readonly string[]).includes(raw.name) ? `; for a fact of a host write HOST.${raw.name}, e.g. ${OWN_HOST}.${raw.name}` : '';
      problems.push({
        index: raw.index,
        message: `unknown variable '${raw.name}'${hint ? `; did you mean '${hint}'?` : fact || '; declare it under vars, or capture it in an earlier step'}`,
      });
    }
    return { kind: 'name', name: raw.name };
  }
  if (!(HOST_FACTS as readonly string[]).includes(raw.fact)) {
    const hint = closest(raw.fact, HOST_FACTS);
    problems.push({
      index: raw.factIndex,
      message: `unknown fact '${raw.fact}'; ${hint ? `did you mean '${hint}'? The facts are` : 'the facts are'} ${HOST_FACTS.join(', ')}`,
    });
  }
  let host = raw.host;
  if (raw.host === OWN_HOST && !names.hosts.includes(OWN_HOST)) {
    if (names.ownHost === undefined) {
      const example = names.hosts[0] ?? 'HOST';
      problems.push({ index: raw.index, message: `${OWN_HOST}.${raw.fact} on a ${names.stepKind} step has no host: name one, e.g. ${example}.${raw.fact}` });
    } else host = names.ownHost;
  } else if (!names.hosts.includes(raw.host)) {
    const hint = closest(raw.host, names.hosts);
    problems.push({
      index: raw.index,
      message: `unknown host '${raw.host}' in ${raw.host}.${raw.fact}${hint ? `; did you mean '${hint}'?` : '; declare it under hosts'}`,
    });
  }
  return { kind: 'fact', host, fact: raw.fact as HostFactName };
}

/** The hosts whose facts a condition reads. */
export function hostsOf(expr: ConditionExpr): string[] {
  const hosts = new Set<string>();
  const visit = (node: ConditionExpr) => {
    if (node.kind === 'compare') [node.left, node.right].forEach(add);
    else if (node.kind === 'truthy') add(node.operand);
    else if (node.kind === 'not') visit(node.expr);
    else node.exprs.forEach(visit);
  };
  const add = (operand: ConditionOperand) => {
    if (operand.kind === 'fact') hosts.add(operand.host);
  };
  visit(expr);
  return [...hosts];
}

/** What a condition is evaluated against: variables and captured values by name, and the facts of the hosts it reads. */
export interface ConditionScope {
  values: Readonly<Record<string, string>>;
  facts: Readonly<Record<string, HostFacts>>;
}

export interface Evaluation {
  holds: boolean;
  /** What was found that decided it, e.g. `new.systemd is false`; values quoted, with control characters escaped. */
  found: string;
}

type Value = string | number | boolean;

/** Whether `expr` holds in `scope`, and what decided it. Throws when a name or a host's facts are missing from the scope. */
export function evaluate(expr: ConditionExpr, scope: ConditionScope): Evaluation {
  switch (expr.kind) {
    case 'truthy': {
      const value = valueOf(expr.operand, scope);
      return { holds: isTruthy(value), found: foundOf(expr.operand, value) };
    }
    case 'compare': {
      const left = valueOf(expr.left, scope);
      const right = valueOf(expr.right, scope);
      const found = [expr.left, expr.right].flatMap((operand, i) => (operand.kind === 'literal' ? [] : [foundOf(operand, i === 0 ? left : right)]));
      return { holds: compare(expr.op, left, right), found: found.length > 0 ? found.join(', ') : `${show(left)} ${expr.op} ${show(right)}` };
    }
    case 'not': {
      const inner = evaluate(expr.expr, scope);
      return { holds: !inner.holds, found: inner.found };
    }
    case 'and':
    case 'or': {
      // Short-circuit: what decided it is the first part that settles it, or every part when none does.
      const settles = expr.kind === 'or';
      const seen: string[] = [];
      for (const part of expr.exprs) {
        const result = evaluate(part, scope);
        if (result.holds === settles) return { holds: settles, found: result.found };
        seen.push(result.found);
      }
      return { holds: !settles, found: seen.join('; ') };
    }
  }
}

function valueOf(operand: ConditionOperand, scope: ConditionScope): Value {
  switch (operand.kind) {
    case 'literal':
      return operand.value;
    case 'name': {
      const value = scope.values[operand.name];
      if (value === undefined) throw new Error(`'${operand.name}' has no value yet: the step that captures it did not run (or was skipped)`);
      return value;
    }
    case 'fact': {
      const facts = scope.facts[operand.host];
      if (facts === undefined) throw new Error(`the facts of ${operand.host} were not gathered`);
      return facts[operand.fact];
    }
  }
}

const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const asNumber = (value: Value): number | undefined =>
  typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value.trim()) : undefined;

function compare(op: CompareOp, left: Value, right: Value): boolean {
  if (op === '=~') return new RegExp(String(right)).test(String(left));
  const l = asNumber(left);
  const r = asNumber(right);
  const order = l !== undefined && r !== undefined ? Math.sign(l - r) : String(left) < String(right) ? -1 : String(left) > String(right) ? 1 : 0;
  switch (op) {
    case '==':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

/** True, a non-zero number, or a non-empty string other than "false" and "0". */
export function isTruthy(value: Value): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const text = value.trim();
  return text !== '' && text !== 'false' && text !== '0';
}

export function operandText(operand: ConditionOperand): string {
  switch (operand.kind) {
    case 'name':
      return operand.name;
    case 'fact':
      return `${operand.host}.${operand.fact}`;
    case 'literal':
      return show(operand.value);
  }
}

function foundOf(operand: ConditionOperand, value: Value): string {
  return `${operandText(operand)} is ${show(value)}`;
}

/** A value as a condition shows it: strings quoted, with every control character escaped (a fact may come from a hostile host). */
function show(value: Value): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The reason a step is skipped for a condition that does not hold, e.g. `when new.systemd (new.systemd is false)`. */
export function skipReason(text: string, found: string): string {
  return `when ${text} (${found})`;
}
