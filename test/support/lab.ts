// The rehearsal lab as the tests use it: through the same `nightshift lab` commands a
// newcomer types, and plain OpenSSH into its machines to look at them from the side.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';
import { BIN, converse, freshStateDir, ROOT } from './cli.js';
import { labStateDir } from '../../src/lab/vm/paths.js';
import type { LabState } from '../../src/lab/vm/lab.js';

const run = promisify(execFile);

export class Lab {
  private constructor(
    readonly runbook: string,
    readonly state: LabState,
    /** The folder of a copied runbook, removed with the lab. */
    private readonly copyFolder?: string,
  ) {}

  /**
   * `as` names the lab after a copy of the runbook (and its lab file) instead: two test files
   * that rehearse one runbook can then have their labs up at once.
   */
  static async up(runbookName: string, as?: string): Promise<Lab> {
    const runbook = as ? copyRunbook(runbookName, as) : path.join(ROOT, 'runbooks', runbookName);
    // Tied to this test process: a run killed half way leaves no guest running.
    const { stdout } = await run(process.execPath, [BIN, 'lab', 'up', runbook, '--tether', String(process.pid)], { cwd: ROOT, timeout: 900_000 }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`lab up failed: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      },
    );
    if (!/is up\./.test(stdout)) throw new Error(`lab up said:\n${stdout}`);
    const state = JSON.parse(readFileSync(path.join(labStateDir(path.basename(runbook, '.yaml')), 'lab.json'), 'utf8')) as LabState;
    return new Lab(runbook, state, as ? path.dirname(runbook) : undefined);
  }

  async down(): Promise<void> {
    await run(process.execPath, [BIN, 'lab', 'down', this.runbook], { cwd: ROOT, timeout: 120_000 });
    if (this.copyFolder) rmSync(this.copyFolder, { recursive: true, force: true });
  }

  /** A command on a machine over OpenSSH with the lab's files; resolves with stdout (throws on failure). */
  async ssh(machine: string, command: string, timeoutMs = 60_000): Promise<string> {
    const { stdout } = await run(
      'ssh',
      ['-F', this.state.sshConfig, '-o', `UserKnownHostsFile=${this.state.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', machine, command],
      { timeout: timeoutMs },
    );
    return stdout.trim();
  }

  /** A command run as the observer, on the lab's private network. */
  async fromOutside(...args: string[]): Promise<string> {
    const { stdout } = await run(path.join(this.state.dir, this.state.observer!.name), args, { timeout: 60_000 });
    return stdout.trim();
  }

  async powerCycle(machine: string): Promise<void> {
    await run(process.execPath, [BIN, 'lab', 'power-cycle', this.runbook, machine], { cwd: ROOT, timeout: 30_000 });
  }

  /** Plain-mode run arguments against this lab (the sentinel's checkpoints relayed by the upgrader). */
  runArgs(...extra: string[]): string[] {
    return ['run', this.runbook, '--lab', '--plain', '--relay', '--no-helpers', ...extra];
  }

  serialLog(machine: string): string {
    return readFileSync(path.join(this.state.dir, machine, 'serial.log'), 'utf8');
  }
}

/** The runbook and its lab file copied to a temporary folder as AS.yaml and AS.lab.yaml. */
function copyRunbook(runbookName: string, as: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'ns-lab-runbook-'));
  const base = runbookName.replace(/\.yaml$/, '');
  copyFileSync(path.join(ROOT, 'runbooks', `${base}.yaml`), path.join(folder, `${as}.yaml`));
  copyFileSync(path.join(ROOT, 'runbooks', `${base}.lab.yaml`), path.join(folder, `${as}.lab.yaml`));
  return path.join(folder, `${as}.yaml`);
}

/**
 * Answers every plain-mode question of a rehearsal: typed confirmations, holds overridden,
 * failures paused. `extra` sees each line first: a string is typed, null means "handled,
 * type nothing now" (the test answers later itself).
 */
export function rehearsalAnswer(line: string, extra?: (line: string) => string | null | undefined): string | undefined {
  const special = extra?.(line);
  if (special === null) return undefined;
  if (special !== undefined) return special;
  const quoted = /Type ("(?:[^"\\]|\\.)*") to (run it|confirm|make it)/.exec(line);
  if (quoted) return JSON.parse(quoted[1]!) as string;
  if (/Type yes to confirm/.test(line)) return 'yes';
  if (/Answer override REASON/.test(line)) return 'override rehearsal: the test plays the person on site';
  if (/Answer retry/.test(line)) return 'pause';
  return undefined;
}

/** The sessions of a state folder, oldest first. */
export function sessionIds(stateDir: string): string[] {
  return readdirSync(path.join(stateDir, 'sessions')).sort();
}

/** The Markdown report of a session. */
export async function reportOf(stateDir: string, session: string): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, 'report', session], {
    cwd: ROOT,
    env: { ...process.env, NIGHTSHIFT_STATE_DIR: stateDir },
    timeout: 60_000,
  });
  return readFileSync(stdout.split('\n').find((line) => line.endsWith('.md'))!, 'utf8');
}

/** The types of the journal's events, of the first session in a state folder. */
export function journalTypes(stateDir: string): string[] {
  const sessions = path.join(stateDir, 'sessions');
  const [session] = sessionIds(stateDir);
  return readFileSync(path.join(sessions, session!, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { type: string }).type);
}

/** Something done from the side when a question comes, before it is confirmed (yes, or the words it asks for): a fault, the hands on site. */
export interface Intervention {
  question: RegExp;
  act: () => Promise<unknown>;
}

export interface Rehearsal {
  code: number;
  /** Everything the run printed, and what it said on stderr. */
  text: string;
  stateDir: string;
  /** The interventions that happened, by index. */
  done: boolean[];
}

/** Runs the lab's runbook in plain mode to its end, answering as rehearsalAnswer does, with interventions. */
export async function rehearse(
  lab: Lab,
  options: {
    args?: string[];
    interventions?: Intervention[];
    /** The whole command line instead of `run RUNBOOK --lab …` (e.g. `again`); with stateDir, the earlier rehearsal's. */
    command?: string[];
    stateDir?: string;
  } = {},
): Promise<Rehearsal> {
  const stateDir = options.stateDir ?? freshStateDir();
  const interventions = options.interventions ?? [];
  const done = interventions.map(() => false);
  let question = '';
  const run = converse(
    options.command ?? lab.runArgs(...(options.args ?? [])),
    (line) =>
      rehearsalAnswer(line, (text) => {
        if (text.startsWith('? ')) question = text;
        const typed = /Type ("(?:[^"\\]|\\.)*") to confirm/.exec(text);
        const confirmation = /Type yes to confirm/.test(text) ? 'yes' : typed ? (JSON.parse(typed[1]!) as string) : undefined;
        if (confirmation === undefined) return undefined;
        const index = interventions.findIndex((item, i) => !done[i] && item.question.test(question));
        if (index < 0) return undefined;
        done[index] = true;
        void interventions[index]!.act().then(
          () => run.child.stdin.write(`${confirmation}\n`),
          (error: Error) => {
            run.child.stdin.write('pause\n');
            console.error(`the intervention before "${question}" failed: ${error.message}`);
          },
        );
        return null;
      }),
    { NIGHTSHIFT_STATE_DIR: stateDir },
  );
  const code = await run.exited;
  return { code, text: `${run.lines.join('\n')}\n${run.stderr()}`, stateDir, done };
}

/** Starts a lab per test and takes it down after the test, whatever happened: `const startLab = labPerTest()`. */
export function labPerTest(): (runbookName: string, as?: string) => Promise<Lab> {
  let started: Lab | undefined;
  afterEach(async () => {
    await started?.down();
    started = undefined;
  });
  return async (runbookName, as) => (started = await Lab.up(runbookName, as));
}
