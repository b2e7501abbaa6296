// A Pacific link: the sshd behind a link of 180 ms round trip (wan-link.ts), at 20 and
// 200 Mbit/s. For each rate, an `upload:` step against `sftp` with the same cipher; on one
// of them, a one-step run against `ssh host cmd`, the same through one ProxyJump against
// `ssh -J`, and how long the output takes to flow again after the link went silent.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Sshd } from '../test/support/sshd.js';
import { percentile, sleep, type BenchContext, type Figure } from './figures.js';
import { runMeasured } from './measured.js';
import { compareUploads, type UploadTarget } from './upload.js';
import { WanLink } from './wan-link.js';

const RTT_MS = 180;
const LOGIN_GOAL = 1.2;
const LOGIN_ROUNDS = 5;
const UPLOAD_ROUNDS = 3;
/** Output flowing again within this many round trips (plus the wait between logins shown on screen). */
const FLOW_AGAIN_GOAL_RTT = 3;
/** Shorter than the keepalives take to give a link up (three of 10 s), and longer. */
const SHORT_CUT_S = 5;
const LONG_CUT_S = 40;
const TIMEOUT_MS = 5 * 60_000;

interface WanLab {
  link: WanLink;
  target: UploadTarget;
  /** The second host, reached through `target.alias` as its ProxyJump. */
  behind: string;
}

const RATES = [
  { name: '20 Mbit/s', bitsPerSecond: 20e6, uploadMiB: 24, quickMiB: 8 },
  { name: '200 Mbit/s', bitsPerSecond: 200e6, uploadMiB: 128, quickMiB: 32 },
];

export async function benchWan(context: BenchContext, quick: boolean): Promise<Figure[]> {
  const options = { extraConfig: [`Ciphers ${context.cipher}`] };
  const sshd = await context.startSshd(options);
  const behind = await context.startSshd(options);
  const figures: Figure[] = [];
  try {
    for (const rate of RATES) {
      const lab = await startWanLab(context, sshd, behind, rate.bitsPerSecond);
      try {
        const mib = quick ? rate.quickMiB : rate.uploadMiB;
        context.log(`wan ${rate.name}, ${RTT_MS} ms round trip: upload of ${mib} MiB, ${UPLOAD_ROUNDS} rounds each`);
        const figure = await compareUploads(context, lab.target, mib * 2 ** 20, UPLOAD_ROUNDS, `wan ${rate.name}: upload`);
        figures.push({ ...figure, notes: `${linkWords(lab.link)}; ${figure.notes}` });
        if (rate === RATES.at(-1)) {
          context.log(`wan ${rate.name}: one-step runs against ssh, direct and through a ProxyJump, ${LOGIN_ROUNDS} rounds each`);
          figures.push(await compareOneStep(context, lab, lab.target.alias, ['ssh'], `wan: one-step run vs ssh`));
          figures.push(await compareOneStep(context, lab, lab.behind, ['ssh', '-J', lab.target.alias], `wan: via ProxyJump vs ssh -J`));
          context.log(`wan ${rate.name}: a step's output through a ${SHORT_CUT_S} s and a ${LONG_CUT_S} s silence`);
          figures.push(...(await flowAfterCuts(context, lab)));
        }
      } finally {
        await lab.link.close();
      }
    }
  } finally {
    await Promise.all([sshd.stop(), behind.stop()]);
  }
  return figures;
}

async function startWanLab(context: BenchContext, sshd: Sshd, behind: Sshd, bitsPerSecond: number): Promise<WanLab> {
  const link = await WanLink.start({ rttMs: RTT_MS, bitsPerSecond, targetPort: sshd.port });
  const dir = mkdtempSync(path.join(context.work, 'wan-'));
  const sshConfig = path.join(dir, 'ssh_config');
  const knownHosts = path.join(dir, 'known_hosts');
  const common = `  Ciphers ${context.cipher}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n`;
  writeFileSync(sshConfig, `${sshd.clientConfig('pacific', { port: link.port })}${common}${behind.clientConfig('behind')}${common}`);
  writeFileSync(knownHosts, `${sshd.knownHostsLine(undefined, link.port)}\n${behind.knownHostsLine()}\n`);
  return { link, target: { sshConfig, knownHosts, alias: 'pacific' }, behind: 'behind' };
}

function linkWords(link: WanLink): string {
  return `link ${link.rttMs} ms round trip, ${link.bitsPerSecond / 1e6} Mbit/s each way, no loss`;
}

function oneStepRunbook(context: BenchContext, host: string, command: string, jump?: string): string {
  const file = path.join(mkdtempSync(path.join(context.work, 'wan-run-')), 'one-step.yaml');
  const hostSpec = jump ? `{ proxy_jump: ${jump} }` : '{}';
  writeFileSync(
    file,
    `name: One step\nhosts:\n  ${host}: ${hostSpec}\nphases:\n  - name: one\n    steps:\n      - run: ${JSON.stringify(command)}\n        host: ${host}\n`,
  );
  return file;
}

function nightshiftRun(context: BenchContext, lab: WanLab, runbook: string): string[] {
  return [context.bin, 'run', runbook, '--plain', '--ssh-config', lab.target.sshConfig, '--known-hosts', lab.target.knownHosts];
}

const stateDir = (context: BenchContext) => ({ NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')) });

/** `nightshift run` of one `echo` step against `ssh [...] host echo`, start to exit, medians. */
async function compareOneStep(context: BenchContext, lab: WanLab, host: string, ssh: string[], name: string): Promise<Figure> {
  const jump = ssh.includes('-J') ? lab.target.alias : undefined;
  const runbook = oneStepRunbook(context, host, 'echo ready', jump);
  const theirs: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < LOGIN_ROUNDS; round++) {
    const reference = await runMeasured([...ssh, '-F', lab.target.sshConfig, host, 'echo ready'], { timeoutMs: TIMEOUT_MS });
    if (reference.code !== 0 || !reference.tail.includes('ready'))
      throw new Error(`${ssh.join(' ')} ${host} exited with ${reference.code}:\n${reference.tail}`);
    theirs.push(reference.seconds);
    const run = await runMeasured(nightshiftRun(context, lab, runbook), { cwd: context.root, env: stateDir(context), timeoutMs: TIMEOUT_MS });
    if (run.code !== 0 || !run.tail.includes('ready')) throw new Error(`nightshift run --plain (one step on ${host}) exited with ${run.code}:\n${run.tail}`);
    ours.push(run.seconds);
  }
  const value = percentile(ours, 50);
  const reference = percentile(theirs, 50);
  const list = (seconds: number[]) => seconds.map((s) => s.toFixed(2)).join(' ');
  return {
    name,
    value,
    unit: 's',
    reference: { what: `${ssh.join(' ')} host echo`, value: reference },
    ratio: value / reference,
    goal: `<= ${LOGIN_GOAL}x`,
    met: value / reference <= LOGIN_GOAL,
    notes: `start to exit, login included, median of ${LOGIN_ROUNDS}, ${Math.round((value * 1000) / RTT_MS)} round trips; nightshift ${list(ours)} s, ssh ${list(theirs)} s`,
  };
}

interface Tick {
  at: number;
  line: string;
}

/**
 * A step printing a line every 200 ms; the link goes silent for a while, then comes back.
 * Measured from the link's return to the next line shown, against a few round trips plus
 * the wait for the next login that the screen announces (the link counts the logins).
 */
async function flowAfterCuts(context: BenchContext, lab: WanLab): Promise<Figure[]> {
  const stop = path.join(context.work, 'wan-ticks-stop');
  rmSync(stop, { force: true });
  const runbook = oneStepRunbook(context, lab.target.alias, `i=0; while [ ! -e ${stop} ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done`);
  const command = nightshiftRun(context, lab, runbook);
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', ...command], {
    cwd: context.root,
    env: { ...process.env, SSH_AUTH_SOCK: '', ...stateDir(context) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const ticks: Tick[] = [];
  let printed = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    printed = `${printed}${line}\n`.slice(-4000);
    if (/\btick \d+/.test(line)) ticks.push({ at: performance.now(), line });
  });
  child.stderr.on('data', (chunk: Buffer) => {
    printed = `${printed}${chunk.toString('utf8')}`.slice(-4000);
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const nextTickAfter = async (since: number, what: string): Promise<number> => {
    const deadline = performance.now() + TIMEOUT_MS;
    for (;;) {
      const tick = ticks.find((candidate) => candidate.at > since);
      if (tick) return tick.at;
      if (child.exitCode !== null || performance.now() > deadline) {
        throw new Error(
          `wan: no output ${what}; nightshift ${child.exitCode !== null ? `exited with ${child.exitCode}` : 'is still running'}, it printed last:\n${printed}`,
        );
      }
      await sleep(20);
    }
  };
  const figures: Figure[] = [];
  try {
    await nextTickAfter(0, 'from the step at all');
    for (const seconds of [SHORT_CUT_S, LONG_CUT_S]) {
      const loginsBefore = lab.link.openedAt.length;
      lab.link.cut();
      await sleep(seconds * 1000);
      const back = performance.now();
      lab.link.restore();
      const flowing = await nextTickAfter(back, `after the link came back from a ${seconds} s silence`);
      // A login that hung in the silence goes on when the link is back; else the next one starts after the announced pause.
      const logins = lab.link.openedAt.slice(loginsBefore);
      const loginAfter = logins.find((at) => at >= back);
      const waitedForLogin = logins.some((at) => at < back) || loginAfter === undefined ? 0 : loginAfter - back;
      const allowed = FLOW_AGAIN_GOAL_RTT * RTT_MS + waitedForLogin;
      const value = flowing - back;
      figures.push({
        name: `wan: output again after ${seconds} s cut`,
        value,
        unit: 'ms',
        reference: { what: `${FLOW_AGAIN_GOAL_RTT} round trips + pause before the next login`, value: allowed },
        ratio: value / allowed,
        goal: '<= 1.0x',
        met: value <= allowed,
        notes:
          `${logins.length} new login${logins.length === 1 ? '' : 's'} during and after the silence; ` +
          `${Math.round(waitedForLogin)} ms waited for the next login; ${(value / RTT_MS).toFixed(1)} round trips after the link came back`,
      });
    }
  } finally {
    writeFileSync(stop, '');
    const code = await Promise.race([exited, sleep(60_000).then(() => null)]);
    if (code === null) child.kill('SIGKILL');
    rmSync(stop, { force: true });
  }
  if (child.exitCode !== 0) throw new Error(`wan: nightshift run --plain (ticks) ended with ${child.exitCode ?? child.signalCode}:\n${printed}`);
  return figures;
}
