// A fleet: one for_each phase over 200 hosts (aliases of a few sshd instances on 127.0.0.1),
// one short step each that streams a few lines, 20 hosts at once. Against OpenSSH's client
// run on each host by `xargs -P 20`: same command, same key, same concurrency. Measured: the
// wall time as the user waits (start to exit) in plain mode, nightshift's peak memory, and
// keys answered in the full-screen view while the 200 outputs stream.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import type { Sshd } from '../test/support/sshd.js';
import { withoutAutogroups } from './autogroup.js';
import { percentile, sleep, type BenchContext, type Figure } from './figures.js';
import { type Finished, runMeasured } from './measured.js';
import { MemoryWatch, PtyProgram } from './pty.js';

const WALL_GOAL = 1.5;
const MEMORY_GOAL_MIB = 250;
const KEY_GOAL_MS = 100;
const PARALLEL = 20;
const SSHD_INSTANCES = 4;
/** Lines each host prints, one every 50 ms: about a second of output per host. */
const LINES_PER_HOST = 20;
/** Keys for the p99: with fewer than a few hundred, the p99 is the slowest key or the one after it. */
const KEY_SAMPLES = 300;

export interface FleetLab {
  hosts: string[];
  sshConfig: string;
  knownHosts: string;
  /** Each host's step leaves a file named after it here: proof that it ran, for both programs. */
  doneDir: string;
  stop(): Promise<void>;
}

/** `count` aliases (h001...) spread over a few sshd instances, with their ssh_config and known_hosts. */
export async function startFleetLab(context: BenchContext, count: number): Promise<FleetLab> {
  const sshds: Sshd[] = [];
  const stop = async () => {
    await Promise.all(sshds.splice(0).map((sshd) => sshd.stop()));
  };
  try {
    for (let index = 0; index < SSHD_INSTANCES; index++) {
      // sshd drops new connections beyond 10 unauthenticated ones by default (MaxStartups
      // 10:30:100): 20 at once would be refused at random, for the reference too.
      // At nice 19: the 200 hosts stand in for 200 other machines, whose work would not take
      // the two cores from nightshift (or from ssh, the reference) on a real fleet (see autogroup.ts).
      sshds.push(await context.startSshd({ extraConfig: [`Ciphers ${context.cipher}`, 'MaxStartups 200', 'MaxSessions 200'], nice: 19 }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const hosts = Array.from({ length: count }, (_, index) => `h${String(index + 1).padStart(3, '0')}`);
  const dir = mkdtempSync(path.join(context.work, 'fleet-'));
  const sshConfig = path.join(dir, 'ssh_config');
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(
    sshConfig,
    hosts
      .map((alias, index) => {
        const sshd = sshds[index % sshds.length]!;
        return `${sshd.clientConfig(alias)}  Ciphers ${context.cipher}\n  IdentitiesOnly yes\n`;
      })
      .join(''),
  );
  writeFileSync(knownHosts, sshds.map((sshd) => `${sshd.knownHostsLine()}\n`).join(''));
  const doneDir = path.join(dir, 'done');
  mkdirSync(doneDir);
  return { hosts, sshConfig, knownHosts, doneDir, stop };
}

/** The step's command for `host` (a literal alias or `{{host}}`): a line every 50 ms, then its mark in doneDir. */
function stepCommand(lab: FleetLab, host: string): string {
  return `i=0; while [ $i -lt ${LINES_PER_HOST} ]; do i=$((i + 1)); echo "${host} line $i of ${LINES_PER_HOST}"; sleep 0.05; done; : > ${lab.doneDir}/${host}`;
}

function fleetRunbook(context: BenchContext, lab: FleetLab): string {
  const file = path.join(context.work, `fleet-${lab.hosts.length}.yaml`);
  writeFileSync(
    file,
    `name: Fleet of ${lab.hosts.length}
groups:
  fleet: [${lab.hosts.join(', ')}]
phases:
  - name: hello
    for_each: fleet
    parallel: ${PARALLEL}
    steps:
      - title: Say hello
        host: "{{host}}"
        run: ${JSON.stringify(stepCommand(lab, '{{host}}'))}
`,
  );
  return file;
}

function clearDone(lab: FleetLab): void {
  rmSync(lab.doneDir, { recursive: true, force: true });
  mkdirSync(lab.doneDir);
}

/** Fails unless every host's step left its mark: a fast run that missed hosts would be no result. */
function expectAllDone(lab: FleetLab, who: string): void {
  const done = new Set(readdirSync(lab.doneDir));
  const missing = lab.hosts.filter((host) => !done.has(host));
  if (missing.length > 0) throw new Error(`${who}: ${missing.length} hosts did not run the step (${missing.slice(0, 5).join(', ')}...)`);
}

async function sshEach(lab: FleetLab): Promise<number> {
  clearDone(lab);
  const ssh = `ssh -F ${lab.sshConfig} -o UserKnownHostsFile=${lab.knownHosts} -o BatchMode=yes {} '${stepCommand(lab, '{}')}'`;
  const run = await runMeasured(['sh', '-c', `printf '%s\\n' ${lab.hosts.join(' ')} | xargs -P ${PARALLEL} -I{} ${ssh}`], { timeoutMs: 10 * 60_000 });
  if (run.code !== 0) throw new Error(`xargs ssh exited with ${run.code}:\n${run.tail}`);
  expectAllDone(lab, 'ssh');
  return run.seconds;
}

async function nightshiftPlain(context: BenchContext, lab: FleetLab, runbook: string): Promise<Finished> {
  clearDone(lab);
  // As the user starts it: the program itself, its first line giving node its flags.
  const run = await runMeasured([context.bin, 'run', runbook, '--plain', '--ssh-config', lab.sshConfig, '--known-hosts', lab.knownHosts], {
    cwd: context.root,
    env: { NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')) },
    timeoutMs: 10 * 60_000,
  });
  if (run.code !== 0) throw new Error(`nightshift run --plain exited with ${run.code}:\n${run.tail}`);
  expectAllDone(lab, 'nightshift');
  return run;
}

/**
 * ? opens the list of keys and the view draws it: the time from the key to its last line on the
 * terminal. At 40 rows the list does not fit: its last line is the count of rows below.
 */
async function keyLatencies(program: PtyProgram, until: Promise<unknown>, count: number): Promise<number[]> {
  let over = false;
  void until.then(() => (over = true));
  const samples: number[] = [];
  while (!over && samples.length < count) {
    const drawn = program.next('more rows (PgDn)', 10_000);
    const sent = performance.now();
    program.type('?');
    const at = await drawn;
    samples.push(at - sent);
    if (process.env['BENCH_TRACE_KEYS']) process.stderr.write(`key ${(sent - program.startedAt).toFixed(0)} ${(at - sent).toFixed(1)}\n`);
    // Esc closes it. The next key waits for the output to be back: typed while nightshift is
    // busy, Esc and ? would reach it as one read, Alt-?, and the list would stay open.
    const closed = program.next(' line ', 10_000);
    program.type('\x1b');
    await closed;
    await sleep(60 + Math.random() * 60);
  }
  return samples;
}

interface ScreenRun {
  samples: number[];
  peakMiB: number;
}

async function nightshiftScreen(context: BenchContext, lab: FleetLab, runbook: string): Promise<ScreenRun> {
  clearDone(lab);
  const program = new PtyProgram(`${context.bin} run ${runbook} --ssh-config ${lab.sshConfig} --known-hosts ${lab.knownHosts}`, {
    cwd: context.root,
    env: { NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')), SSH_AUTH_SOCK: '' },
  });
  const memory = new MemoryWatch(program);
  try {
    const completed = program.next('The run completed', 10 * 60_000);
    // Awaited only at the end: a key that fails first must be the error told, not this one.
    completed.catch(() => {});
    // The full-screen view once the check before the run is over, then the steps' output.
    await program.next(`nightshift · Fleet of ${lab.hosts.length}`, 120_000);
    await program.next(' line ', 120_000);
    const samples = await keyLatencies(program, completed, KEY_SAMPLES);
    await completed;
    program.type('q');
    await program.exited;
    expectAllDone(lab, 'nightshift (full-screen)');
    return { samples, peakMiB: memory.stop() };
  } finally {
    memory.stop();
    program.kill();
  }
}

export function benchFleet(context: BenchContext, count: number, rounds: number): Promise<Figure[]> {
  return withoutAutogroups(context.work, (off) => measureFleet(context, count, rounds, off));
}

async function measureFleet(context: BenchContext, count: number, rounds: number, autogroupsOff: boolean): Promise<Figure[]> {
  context.log(`fleet: ${count} hosts on ${SSHD_INSTANCES} sshd instances${autogroupsOff ? ", the scheduler's session groups off" : ''}`);
  const lab = await startFleetLab(context, count);
  // Two cores shared with other work make every figure move: the load says how busy it was.
  const load = () => loadavg()[0]!.toFixed(1);
  const loads: string[] = [load()];
  try {
    const runbook = fleetRunbook(context, lab);
    const reference: number[] = [];
    const plain: Finished[] = [];
    for (let round = 1; round <= rounds; round++) {
      context.log(`fleet: round ${round} of ${rounds}: ssh to each host with xargs -P ${PARALLEL}`);
      reference.push(await sshEach(lab));
      context.log(`fleet: ssh took ${reference.at(-1)!.toFixed(1)} s`);
      context.log(`fleet: round ${round} of ${rounds}: nightshift run --plain`);
      plain.push(await nightshiftPlain(context, lab, runbook));
      context.log(`fleet: nightshift took ${plain.at(-1)!.seconds.toFixed(1)} s, peak ${plain.at(-1)!.peakMiB.toFixed(0)} MiB`);
    }
    loads.push(load());
    const samples: number[] = [];
    let screenPeakMiB = 0;
    for (let run = 1; run <= 6 && samples.length < KEY_SAMPLES; run++) {
      context.log(`fleet: keys in the full-screen view, run ${run} (${samples.length} keys so far)`);
      const screen = await nightshiftScreen(context, lab, runbook);
      samples.push(...screen.samples);
      screenPeakMiB = Math.max(screenPeakMiB, screen.peakMiB);
    }
    loads.push(load());
    const seconds = percentile(
      plain.map((run) => run.seconds),
      50,
    );
    const referenceSeconds = percentile(reference, 50);
    const plainPeakMiB = Math.max(...plain.map((run) => run.peakMiB));
    const peakMiB = Math.max(plainPeakMiB, screenPeakMiB);
    const p99 = percentile(samples, 99);
    const median = rounds > 1 ? ` (median of ${rounds})` : '';
    const hostsPriority = autogroupsOff
      ? "the hosts at nice 19, the scheduler's session groups off"
      : "the hosts at nice 19, but in session groups of their own that share the cores equally with nightshift's (not root)";
    return [
      {
        name: `fleet ${count} hosts, wall time${median}`,
        value: seconds,
        unit: 's',
        reference: { what: `ssh, xargs -P ${PARALLEL}`, value: referenceSeconds },
        ratio: seconds / referenceSeconds,
        goal: `<= ${WALL_GOAL}x`,
        met: seconds / referenceSeconds <= WALL_GOAL,
        notes: `plain mode, start to exit; nightshift ${plain.map((run) => run.seconds.toFixed(1)).join(' ')} s, ssh ${reference.map((value) => value.toFixed(1)).join(' ')} s; load average ${loads.join(', ')}; ${hostsPriority}`,
      },
      {
        name: `fleet ${count} hosts, peak memory`,
        value: peakMiB,
        unit: 'MiB',
        goal: `<= ${MEMORY_GOAL_MIB} MiB`,
        met: peakMiB <= MEMORY_GOAL_MIB,
        notes: `plain mode ${plainPeakMiB.toFixed(0)} MiB, full-screen view ${screenPeakMiB.toFixed(0)} MiB`,
      },
      {
        name: `fleet ${count} hosts, key latency p99`,
        value: p99,
        unit: 'ms',
        goal: `<= ${KEY_GOAL_MS} ms`,
        met: p99 <= KEY_GOAL_MS,
        notes: `? drawing the list of keys while ${count} outputs stream; p50 ${percentile(samples, 50).toFixed(1)} ms over ${samples.length} keys; ${hostsPriority}`,
      },
    ];
  } finally {
    await lab.stop();
  }
}
