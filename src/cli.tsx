// The composition root: read the command line by the command's declaration, hand it to the
// command, and say what it refused (a UserError) with its exit status.
import './cli/no-maglev.js';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Out } from './cli/runbook-commands.js';
import { EXIT } from './cli/exit.js';
import { parseCommand } from './cli/flags.js';
import { AGAIN, CHECK, commandHelp, DEMO, JOIN, LAB, LINT, MAIN_HELP, PLAN, REPORT, RESUME, RUN, SESSIONS } from './cli/usage.js';
import { versionLine } from './cli/build-info.js';
import { RunbookRefusal, usageError, UserError } from './cli/user-error.js';
import { DEMO_SCENARIOS, isDemoScenario } from './lab/demo-scenarios.js';
import { DURATION_PATTERN, parseDuration } from './runbook/duration.js';
import { RunbookError } from './runbook/errors.js';
import { readPreferences } from './store/preferences.js';
import { helperSettings } from './cli/helper-options.js';
import { DEFAULT_HELPER_SETTINGS } from './store/helper-settings.js';
import type { HostSelection } from './runbook/fleet-settings.js';

// Commands are loaded when chosen: --help and lint need neither Ink nor ssh2.
const runbookCommands = () => import('./cli/runbook-commands.js');

const out: Out = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** One question on the terminal, answered with a line (a confirmation before something is deleted). */
async function askOnTerminal(question: string): Promise<string | null> {
  const { createInterface } = await import('node:readline/promises');
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await terminal.question(`${question} `);
  } catch {
    return null;
  } finally {
    terminal.close();
  }
}

function parseVars(values: string[] | undefined): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const item of values ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`--var takes NAME=VALUE, not "${item}"`);
    vars[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return vars;
}

function keepaliveOption(value: string | undefined): { keepaliveIntervalMs?: number } {
  if (value === undefined) return {};
  if (!DURATION_PATTERN.test(value)) throw usageError(`--keepalive takes a duration such as 10s or 1m, not "${value}"`);
  const ms = parseDuration(value);
  if (ms < 1000) throw usageError('--keepalive must be at least 1s');
  return { keepaliveIntervalMs: ms };
}

/** Preferences that shape a run: colours now (before chalk and Ink load), the site's zone for the runbook. */
function applyPreferences(): { siteTimeZone?: string } {
  const prefs = readPreferences();
  if (prefs.theme === 'monochrome') noColours();
  return prefs.siteTimeZone !== undefined ? { siteTimeZone: prefs.siteTimeZone } : {};
}

function connectOptions(values: { 'ssh-config'?: string; 'known-hosts'?: string[]; keepalive?: string }) {
  return {
    ...(values['ssh-config'] ? { sshConfigFile: path.resolve(expandHome(values['ssh-config'])) } : {}),
    ...(values['known-hosts'] ? { knownHostsFiles: values['known-hosts'].map((file) => path.resolve(expandHome(file))) } : {}),
    ...keepaliveOption(values.keepalive),
  };
}

/** --hosts and --limit: which hosts of each for_each phase's group run. */
function hostSelection(values: { hosts?: string; limit?: string }): HostSelection | undefined {
  if (values.hosts === undefined && values.limit === undefined) return undefined;
  if (values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit)) throw usageError(`--limit takes a number of hosts (1 or more), not "${values.limit}"`);
  if (values.hosts !== undefined && values.hosts.trim() === '') throw usageError('--hosts takes host names or patterns, e.g. --hosts "web*,!web3"');
  return {
    ...(values.hosts !== undefined ? { patterns: [values.hosts] } : {}),
    ...(values.limit !== undefined ? { limit: Number(values.limit) } : {}),
  };
}

function expandHome(file: string): string {
  return file.startsWith('~/') ? path.join(homedir(), file.slice(2)) : file;
}

/**
 * A runbook's variables and connection settings from the command line, over those of its
 * rehearsal lab with --lab (the lab's module is loaded only then).
 */
async function runbookTarget(
  runbookFile: string,
  values: { lab?: boolean; var?: string[]; 'ssh-config'?: string; 'known-hosts'?: string[]; keepalive?: string; hosts?: string; limit?: string },
) {
  const lab = values.lab ? await (await import('./cli/lab-command.js')).labRunOptions(runbookFile) : undefined;
  const select = hostSelection(values);
  return {
    ...(select ? { select } : {}),
    vars: { ...lab?.vars, ...parseVars(values.var) },
    connect: { ...(lab ? { sshConfigFile: lab.sshConfigFile, knownHostsFiles: lab.knownHostsFiles } : {}), ...connectOptions(values) },
  };
}

/** Each command: its line read by its declaration (cli/usage.ts), then handed to its module, loaded when chosen. */
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  async lint(args) {
    const { positionals } = parseCommand(LINT, args);
    return (await runbookCommands()).lintCommand(positionals, out);
  },

  async plan(args) {
    const { positionals, values } = parseCommand(PLAN, args);
    return (await runbookCommands()).planCommand(positionals[0]!, values.json ?? false, out);
  },

  async schema() {
    return (await runbookCommands()).schemaCommand(out);
  },

  async check(args) {
    const { positionals, values } = parseCommand(CHECK, args);
    const preferred = applyPreferences();
    const target = await runbookTarget(positionals[0]!, values);
    const { checkCommand } = await import('./cli/check-command.js');
    return checkCommand({ ...preferred, runbookFile: positionals[0]!, ...target, json: values.json ?? false }, out);
  },

  async run(args) {
    const { positionals, values } = parseCommand(RUN, args);
    const helpers = helperSettings(values);
    const preferred = applyPreferences();
    const target = await runbookTarget(positionals[0]!, values);
    const { runCommand } = await import('./cli/run-command.js');
    return runCommand({
      ...preferred,
      runbookFile: positionals[0]!,
      ...target,
      plain: values.plain ?? false,
      json: values.json ?? false,
      helpers,
      check: !(values['no-check'] ?? false),
      ...(values.from !== undefined ? { from: values.from } : {}),
    });
  },

  async again(args) {
    const { positionals, values } = parseCommand(AGAIN, args);
    // Checked now, over the defaults; applied over the session's own settings once it is read.
    helperSettings(values);
    const preferred = applyPreferences();
    const { againCommand } = await import('./cli/again-command.js');
    return againCommand({
      ...preferred,
      ...(positionals[0] !== undefined ? { sessionId: positionals[0] } : {}),
      ...(values.from !== undefined ? { from: values.from } : {}),
      vars: parseVars(values.var),
      ...(hostSelection(values) ? { select: hostSelection(values)! } : {}),
      connect: connectOptions(values),
      plain: values.plain ?? false,
      json: values.json ?? false,
      helpers: (saved) => helperSettings(values, saved),
      check: !(values['no-check'] ?? false),
    });
  },

  async lab(args) {
    const { positionals, values } = parseCommand(LAB, args);
    const [action, runbook, machine] = positionals;
    const arity = action === 'image' ? 1 : action === 'power-cycle' ? 3 : 2;
    if (!action || positionals.length !== arity) {
      throw usageError('lab takes image, up|down|status RUNBOOK, or power-cycle RUNBOOK MACHINE');
    }
    if (values.tether !== undefined && (action !== 'up' || !/^\d+$/.test(values.tether))) {
      throw usageError('--tether PID goes with lab up, and takes a process id');
    }
    const { labCommand } = await import('./cli/lab-command.js');
    return labCommand(
      { action, ...(runbook ? { runbook } : {}), ...(machine ? { machine } : {}), ...(values.tether ? { tether: Number(values.tether) } : {}) },
      out,
    );
  },

  async demo(args) {
    const { values } = parseCommand(DEMO, args);
    // Nobody is on site in a demo unless a second terminal joins: the upgrader may confirm for them.
    const helpers = helperSettings(values, { ...DEFAULT_HELPER_SETTINGS, relay: true });
    const scenario = values.scenario;
    if (!isDemoScenario(scenario)) {
      throw usageError(`--scenario is one of ${DEMO_SCENARIOS.join(', ')}, not "${scenario}"`);
    }
    applyPreferences();
    const { demoCommand } = await import('./cli/demo-command.js');
    return demoCommand({
      plain: values.plain ?? false,
      json: values.json ?? false,
      scenario,
      ...(values['lab-dir'] ? { labDir: path.resolve(values['lab-dir']) } : {}),
      helpers,
    });
  },

  async prefs(args) {
    const { prefsCommand } = await import('./cli/prefs-command.js');
    return prefsCommand(args, out);
  },

  async sessions(args) {
    const { positionals, values } = parseCommand(SESSIONS, args);
    const { sessionsCommand, sessionsRemoveCommand } = await import('./cli/sessions-command.js');
    if (positionals[0] === 'rm') {
      if (positionals.length !== 2) throw usageError('sessions rm takes the ID of one session', { help: 'sessions' });
      if (values.all || values.json) throw usageError('--all and --json go with the list, not with rm', { help: 'sessions' });
      return sessionsRemoveCommand({ id: positionals[1]!, yes: values.yes ?? false, ask: process.stdin.isTTY ? askOnTerminal : null }, out);
    }
    if (positionals.length > 0) throw usageError(`sessions takes no arguments, or rm ID; not "${positionals[0]}"`, { help: 'sessions' });
    if (values.yes) throw usageError('--yes goes with sessions rm', { help: 'sessions' });
    const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
    return sessionsCommand({ json: values.json ?? false, all: values.all ?? false, ...(columns ? { columns } : {}) }, out);
  },

  async resume(args) {
    const { positionals, values } = parseCommand(RESUME, args);
    // Checked now, over the defaults; applied over the session's own settings once it is open.
    helperSettings(values);
    applyPreferences();
    const { resumeCommand } = await import('./cli/resume-command.js');
    return resumeCommand({
      ...(positionals[0] !== undefined ? { sessionId: positionals[0] } : {}),
      plain: values.plain ?? false,
      json: values.json ?? false,
      acceptRunbookChange: values['accept-runbook-change'] ?? false,
      acceptStaleState: values['accept-stale-state'] ?? false,
      connect: connectOptions(values),
      helpers: (saved) => helperSettings(values, saved),
    });
  },

  async join(args) {
    const { positionals, values } = parseCommand(JOIN, args);
    const { joinCommand } = await import('./cli/join-command.js');
    return joinCommand(
      { ...(positionals[0] !== undefined ? { target: positionals[0] } : {}), observer: values.observer ?? false, dryRun: values['dry-run'] ?? false },
      out,
    );
  },

  async report(args) {
    const { positionals, values } = parseCommand(REPORT, args);
    const { reportCommand } = await import('./cli/report-command.js');
    return reportCommand(
      {
        ...(positionals[0] !== undefined ? { sessionId: positionals[0] } : {}),
        ...(values.output ? { output: path.resolve(expandHome(values.output)) } : {}),
        ...(values.cast ? { cast: path.resolve(expandHome(values.cast)) } : {}),
      },
      out,
    );
  },
};

/** Colours off, unless FORCE_COLOR says otherwise: chalk and Ink's colours heed only FORCE_COLOR. Before they load. */
function noColours(): void {
  if (process.env['FORCE_COLOR'] === undefined) process.env['FORCE_COLOR'] = '0';
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // NO_COLOR (no-color.org): present and not empty, no colours in any command.
  if ((process.env['NO_COLOR'] ?? '') !== '') noColours();
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    const text = topic ? commandHelp(topic) : MAIN_HELP;
    if (!text) throw usageError(`no command "${topic}"`);
    out.stdout(`${text}\n`);
    return EXIT.completed;
  }
  if (command === '--version' || command === '-V') {
    const { sshCryptoPath } = await import('./remote/crypto-path.js');
    out.stdout(`${versionLine()}\n${sshCryptoPath().text}\n`);
    return EXIT.completed;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const text = commandHelp(command);
    if (!text) throw usageError(`no command "${command}"`);
    out.stdout(`${text}\n`);
    return EXIT.completed;
  }
  if (!Object.hasOwn(COMMANDS, command)) throw usageError(`unknown command "${command}"`);
  return COMMANDS[command]!(rest);
}

/** Where every refusal is said: the message once, and the exit status it means. */
function exitOnError(error: unknown): never {
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) error = usageError(error.message);
  if (error instanceof RunbookError) error = new RunbookRefusal(error);
  if (error instanceof UserError) {
    out.stderr(error.text());
    process.exitCode = error.exit;
  } else {
    out.stderr(`nightshift: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env['NIGHTSHIFT_DEBUG'] && error instanceof Error) out.stderr(`${error.stack}\n`);
    process.exitCode = EXIT.error;
  }
  exitWhenWritten(process.exitCode);
}

/**
 * Exits once what was written to a pipe or file has gone out: a pipe takes a long output (the
 * JSON Schema, a plan) in pieces, and an exit before the last one would cut it. A terminal
 * takes it at once, and a closed one must not hold the exit.
 */
function exitWhenWritten(code: number | string | undefined): never {
  const status = typeof code === 'number' ? code : Number(code ?? 0);
  const pending = [process.stdout, process.stderr].filter((stream) => !stream.isTTY && !stream.destroyed && stream.writableLength > 0);
  if (pending.length === 0) process.exit(status);
  let left = pending.length;
  for (const stream of pending) {
    stream.write('', () => {
      if (--left === 0) process.exit(status);
    });
  }
  setTimeout(() => process.exit(status), 2000);
  return undefined as never;
}

main(process.argv.slice(2)).then(
  // Exit explicitly: stdin readers and connections must not keep a finished run alive.
  (code) => exitWhenWritten(code),
  exitOnError,
);
