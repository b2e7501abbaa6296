// The composition root: parse arguments, then lint, plan, or open a session and run it.
import { parseArgs } from 'node:util';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Out } from './cli/runbook-commands.js';
import { commandHelp, EXIT, MAIN_HELP, VERSION } from './cli/usage.js';
import { DURATION_PATTERN, parseDuration } from './runbook/duration.js';
import { RunbookError } from './runbook/errors.js';
import { problemLine } from './text/problem-line.js';
import { readPreferences } from './store/preferences.js';
import { HELPER_FLAGS, HelperFlagError, helperSettings, type HelperFlagValues } from './cli/helper-options.js';
import { DEFAULT_HELPER_SETTINGS } from './store/helper-settings.js';

// Commands are loaded when chosen: --help and lint need neither Ink nor ssh2.
const runbookCommands = () => import('./cli/runbook-commands.js');

const out: Out = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

class UsageError extends Error {}

function parseVars(values: string[] | undefined): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const item of values ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var takes NAME=VALUE, not "${item}"`);
    vars[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return vars;
}

function keepaliveOption(value: string | undefined): { keepaliveIntervalMs?: number } {
  if (value === undefined) return {};
  if (!DURATION_PATTERN.test(value)) throw new UsageError(`--keepalive takes a duration such as 10s or 1m, not "${value}"`);
  const ms = parseDuration(value);
  if (ms < 1000) throw new UsageError('--keepalive must be at least 1s');
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

function helpersFrom(values: HelperFlagValues, base = DEFAULT_HELPER_SETTINGS) {
  try {
    return helperSettings(values, base);
  } catch (error) {
    if (error instanceof HelperFlagError) throw new UsageError(error.message);
    throw error;
  }
}

function expandHome(file: string): string {
  return file.startsWith('~/') ? path.join(homedir(), file.slice(2)) : file;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    const text = topic ? commandHelp(topic) : MAIN_HELP;
    if (!text) throw new UsageError(`no command "${topic}"`);
    out.stdout(`${text}\n`);
    return EXIT.completed;
  }
  if (command === '--version' || command === '-V') {
    out.stdout(`${VERSION}\n`);
    return EXIT.completed;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const text = commandHelp(command);
    if (!text) throw new UsageError(`no command "${command}"`);
    out.stdout(`${text}\n`);
    return EXIT.completed;
  }

  const common = {
    plain: { type: 'boolean' },
    json: { type: 'boolean' },
  } as const;

  switch (command) {
    case 'lint': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
      if (positionals.length === 0) throw new UsageError('lint needs at least one runbook file');
      return (await runbookCommands()).lintCommand(positionals, out);
    }
    case 'plan': {
      const { positionals, values } = parseArgs({ args: rest, allowPositionals: true, options: { json: common.json } });
      if (positionals.length !== 1) throw new UsageError('plan needs exactly one runbook file');
      return (await runbookCommands()).planCommand(positionals[0]!, values.json ?? false, out);
    }
    case 'schema':
      return (await runbookCommands()).schemaCommand(out);
    case 'check': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          json: common.json,
          var: { type: 'string', multiple: true },
          'ssh-config': { type: 'string' },
          'known-hosts': { type: 'string', multiple: true },
          lab: { type: 'boolean' },
        },
      });
      if (positionals.length !== 1) throw new UsageError('check needs exactly one runbook file');
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
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          ...common,
          var: { type: 'string', multiple: true },
          'ssh-config': { type: 'string' },
          'known-hosts': { type: 'string', multiple: true },
          keepalive: { type: 'string' },
          lab: { type: 'boolean' },
          'no-check': { type: 'boolean' },
          ...HELPER_FLAGS,
        },
      });
      if (positionals.length !== 1) throw new UsageError('run needs exactly one runbook file');
      const helpers = helpersFrom(values);
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
      const { positionals, values } = parseArgs({ args: rest, allowPositionals: true, options: { tether: { type: 'string' } } });
      const [action, runbook, machine] = positionals;
      const arity = action === 'image' ? 1 : action === 'power-cycle' ? 3 : 2;
      if (!action || positionals.length !== arity) {
        throw new UsageError('lab takes image, up|down|status RUNBOOK, or power-cycle RUNBOOK MACHINE');
      }
      if (values.tether !== undefined && (action !== 'up' || !/^\d+$/.test(values.tether))) {
        throw new UsageError('--tether PID goes with lab up, and takes a process id');
      }
      const { labCommand } = await import('./cli/lab-command.js');
      return labCommand(
        { action, ...(runbook ? { runbook } : {}), ...(machine ? { machine } : {}), ...(values.tether ? { tether: Number(values.tether) } : {}) },
        out,
      );
    }
    case 'demo': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { ...common, scenario: { type: 'string' }, 'lab-dir': { type: 'string' }, ...HELPER_FLAGS },
      });
      // Nobody is on site in a demo unless a second terminal joins: the upgrader may confirm for them.
      const helpers = helpersFrom(values, { ...DEFAULT_HELPER_SETTINGS, relay: true });
      if (positionals.length > 0) throw new UsageError('demo takes no runbook: it runs the shipped demo');
      const scenario = values.scenario ?? 'success';
      if (scenario !== 'success' && scenario !== 'wrong-route' && scenario !== 'link-drop') {
        throw new UsageError(`--scenario is success, wrong-route or link-drop, not "${scenario}"`);
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
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { json: common.json, all: { type: 'boolean' } },
      });
      if (positionals.length > 0) throw new UsageError('sessions takes no arguments');
      const { sessionsCommand } = await import('./cli/sessions-command.js');
      return sessionsCommand({ json: values.json ?? false, all: values.all ?? false }, out);
    }
    case 'resume': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          ...common,
          'accept-runbook-change': { type: 'boolean' },
          'accept-stale-state': { type: 'boolean' },
          'ssh-config': { type: 'string' },
          'known-hosts': { type: 'string', multiple: true },
          keepalive: { type: 'string' },
          ...HELPER_FLAGS,
        },
      });
      helpersFrom(values);
      if (positionals.length > 1) throw new UsageError('resume takes at most one session ID');
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
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { observer: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
      });
      if (positionals.length > 1) throw new UsageError('join takes at most one PORT or HOST:PORT');
      const { joinCommand } = await import('./cli/join-command.js');
      return joinCommand(
        { ...(positionals[0] !== undefined ? { target: positionals[0] } : {}), observer: values.observer ?? false, dryRun: values['dry-run'] ?? false },
        out,
      );
    }
    case 'report': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { output: { type: 'string' }, cast: { type: 'string' } },
      });
      if (positionals.length > 1) throw new UsageError('report takes at most one session ID');
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
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  // Exit explicitly: stdin readers and connections must not keep a finished run alive.
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      out.stderr(`nightshift: ${error.message}\nRun nightshift --help for usage.\n`);
      process.exitCode = EXIT.usage;
    } else if (error instanceof RunbookError) {
      for (const problem of error.problems) out.stderr(problemLine(problem));
      process.exitCode = EXIT.error;
    } else {
      out.stderr(`nightshift: ${error instanceof Error ? error.message : String(error)}\n`);
      if (process.env['NIGHTSHIFT_DEBUG'] && error instanceof Error) out.stderr(`${error.stack}\n`);
      process.exitCode = EXIT.error;
    }
    process.exit();
  },
);
