// The composition root: parse arguments, then lint, plan, or open a session and run it.
import { homedir } from 'node:os';
import path from 'node:path';
import type { Out } from './cli/runbook-commands.js';
import { EXIT } from './cli/exit.js';
import { parseCommand } from './cli/flags.js';
import { CHECK, commandHelp, DEMO, JOIN, LAB, LINT, MAIN_HELP, PLAN, REPORT, RESUME, RUN, SESSIONS, VERSION } from './cli/usage.js';
import { usageError, UserError } from './cli/user-error.js';
import { DURATION_PATTERN, parseDuration } from './runbook/duration.js';
import { RunbookError } from './runbook/errors.js';
import { problemLine } from './text/problem-line.js';
import { readPreferences } from './store/preferences.js';
import { helperSettings } from './cli/helper-options.js';
import { DEFAULT_HELPER_SETTINGS } from './store/helper-settings.js';

// Commands are loaded when chosen: --help and lint need neither Ink nor ssh2.
const runbookCommands = () => import('./cli/runbook-commands.js');

const out: Out = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

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
  if (prefs.theme === 'monochrome' && process.env['FORCE_COLOR'] === undefined && process.env['NO_COLOR'] === undefined) {
    process.env['FORCE_COLOR'] = '0';
  }
  return prefs.siteTimeZone !== undefined ? { siteTimeZone: prefs.siteTimeZone } : {};
}

function connectOptions(values: { 'ssh-config'?: string; 'known-hosts'?: string[]; keepalive?: string }) {
  return {
    ...(values['ssh-config'] ? { sshConfigFile: path.resolve(expandHome(values['ssh-config'])) } : {}),
    ...(values['known-hosts'] ? { knownHostsFiles: values['known-hosts'].map((file) => path.resolve(expandHome(file))) } : {}),
    ...keepaliveOption(values.keepalive),
  };
}

function expandHome(file: string): string {
  return file.startsWith('~/') ? path.join(homedir(), file.slice(2)) : file;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    const text = topic ? commandHelp(topic) : MAIN_HELP;
    if (!text) throw usageError(`no command "${topic}"`);
    out.stdout(`${text}\n`);
    return EXIT.completed;
  }
  if (command === '--version' || command === '-V') {
    out.stdout(`${VERSION}\n`);
    return EXIT.completed;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const text = commandHelp(command);
    if (!text) throw usageError(`no command "${command}"`);
    out.stdout(`${text}\n`);
    return EXIT.completed;
  }

  switch (command) {
    case 'lint': {
      const { positionals } = parseCommand(LINT, rest);
      return (await runbookCommands()).lintCommand(positionals, out);
    }
    case 'plan': {
      const { positionals, values } = parseCommand(PLAN, rest);
      return (await runbookCommands()).planCommand(positionals[0]!, values.json ?? false, out);
    }
    case 'schema':
      return (await runbookCommands()).schemaCommand(out);
    case 'check': {
      const { positionals, values } = parseCommand(CHECK, rest);
      const preferred = applyPreferences();
      const lab = values.lab ? await (await import('./cli/lab-command.js')).labRunOptions(positionals[0]!) : undefined;
      const { checkCommand } = await import('./cli/check-command.js');
      return checkCommand(
        {
          ...preferred,
          runbookFile: positionals[0]!,
          vars: { ...lab?.vars, ...parseVars(values.var) },
          json: values.json ?? false,
          connect: { ...(lab ? { sshConfigFile: lab.sshConfigFile, knownHostsFiles: lab.knownHostsFiles } : {}), ...connectOptions(values) },
        },
        out,
      );
    }
    case 'run': {
      const { positionals, values } = parseCommand(RUN, rest);
      const helpers = helperSettings(values);
      const preferred = applyPreferences();
      const lab = values.lab ? await (await import('./cli/lab-command.js')).labRunOptions(positionals[0]!) : undefined;
      const { runCommand } = await import('./cli/run-command.js');
      return runCommand({
        ...preferred,
        runbookFile: positionals[0]!,
        vars: { ...lab?.vars, ...parseVars(values.var) },
        plain: values.plain ?? false,
        json: values.json ?? false,
        connect: { ...(lab ? { sshConfigFile: lab.sshConfigFile, knownHostsFiles: lab.knownHostsFiles } : {}), ...connectOptions(values) },
        helpers,
        check: !(values['no-check'] ?? false),
      });
    }
    case 'lab': {
      const { positionals, values } = parseCommand(LAB, rest);
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
    }
    case 'demo': {
      const { values } = parseCommand(DEMO, rest);
      // Nobody is on site in a demo unless a second terminal joins: the upgrader may confirm for them.
      const helpers = helperSettings(values, { ...DEFAULT_HELPER_SETTINGS, relay: true });
      const scenario = values.scenario;
      if (scenario !== 'success' && scenario !== 'wrong-route' && scenario !== 'link-drop') {
        throw usageError(`--scenario is success, wrong-route or link-drop, not "${scenario}"`);
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
    }
    case 'prefs': {
      const { prefsCommand } = await import('./cli/prefs-command.js');
      return prefsCommand(rest, out);
    }
    case 'sessions': {
      const { values } = parseCommand(SESSIONS, rest);
      const { sessionsCommand } = await import('./cli/sessions-command.js');
      return sessionsCommand({ json: values.json ?? false, all: values.all ?? false }, out);
    }
    case 'resume': {
      const { positionals, values } = parseCommand(RESUME, rest);
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
    }
    case 'join': {
      const { positionals, values } = parseCommand(JOIN, rest);
      const { joinCommand } = await import('./cli/join-command.js');
      return joinCommand(
        { ...(positionals[0] !== undefined ? { target: positionals[0] } : {}), observer: values.observer ?? false, dryRun: values['dry-run'] ?? false },
        out,
      );
    }
    case 'report': {
      const { positionals, values } = parseCommand(REPORT, rest);
      const { reportCommand } = await import('./cli/report-command.js');
      return reportCommand(
        {
          ...(positionals[0] !== undefined ? { sessionId: positionals[0] } : {}),
          ...(values.output ? { output: path.resolve(expandHome(values.output)) } : {}),
          ...(values.cast ? { cast: path.resolve(expandHome(values.cast)) } : {}),
        },
        out,
      );
    }
    default:
      throw usageError(`unknown command "${command}"`);
  }
}

/** Where every refusal is said: the message once, and the exit status it means. */
function exitOnError(error: unknown): never {
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
    error = usageError(error.message);
  }
  if (error instanceof UserError) {
    out.stderr(error.text());
    process.exitCode = error.exit;
  } else if (error instanceof RunbookError) {
    for (const problem of error.problems) out.stderr(problemLine(problem));
    process.exitCode = EXIT.error;
  } else {
    out.stderr(`nightshift: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env['NIGHTSHIFT_DEBUG'] && error instanceof Error) out.stderr(`${error.stack}\n`);
    process.exitCode = EXIT.error;
  }
  process.exit();
}

main(process.argv.slice(2)).then(
  // Exit explicitly: stdin readers and connections must not keep a finished run alive.
  (code) => process.exit(code),
  exitOnError,
);
