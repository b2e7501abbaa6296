// `ssh -G` for many hosts in a few shells. Each spawn from nightshift's own process costs tens
// of milliseconds of its event loop once its heap is large (fork copies its page tables), and a
// check of 200 hosts made 200 of them; one `sh` per processor, each running ssh -G for its share
// of the hosts, costs a few and keeps every processor busy (one ssh -G takes about 20 ms, 200
// one after another kept a fleet's check waiting 4 s with a processor idle). It only saves
// time: a host whose answer is missing or failed is asked again alone (ssh-resolve.ts), which
// says what went wrong, and a batch that does not end in time is left.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { HostSpec } from '../runbook/types.js';
import { shellQuote } from '../runbook/shell-quote.js';
import { homeDir } from './ssh-config-common.js';
import { parseSshG, settingsFromSshG, sshGArguments, type SshResolveOptions } from './ssh-resolve.js';
import type { ResolvedHost } from './types.js';

const MARK = '@@nightshift-ssh-G';
/** The batch's bound: a Match exec that hangs would hold every host of it. */
const BATCH_TIMEOUT_MS = 20_000;
/** Below this many hosts per shell, one more shell costs more than it saves. */
const HOSTS_PER_SHELL_AT_LEAST = 8;

/** Settings of each host ssh -G answered for; hosts left out are to be resolved alone. */
export async function resolveManyWithSsh(
  specs: HostSpec[],
  options: SshResolveOptions,
  shells = Math.min(availableParallelism(), 8),
): Promise<Map<string, ResolvedHost>> {
  const resolved = new Map<string, ResolvedHost>();
  if (specs.length === 0) return resolved;
  const count = Math.max(1, Math.min(shells, Math.floor(specs.length / HOSTS_PER_SHELL_AT_LEAST)));
  const shares = Array.from({ length: count }, (_, share) => specs.flatMap((_spec, index) => (index % count === share ? [index] : [])));
  const outputs = await Promise.all(shares.map((indexes) => runShell(batchScript(specs, indexes, options), options.env)));
  const answers = new Map<number, string>();
  const pattern = new RegExp(`\\n${MARK} (\\d+)\\n([\\s\\S]*?)\\n${MARK} \\1 status 0\\n`, 'g');
  for (const output of outputs) {
    if (output === null) continue;
    for (const match of output.matchAll(pattern)) answers.set(Number(match[1]), match[2]!);
  }
  specs.forEach((spec, index) => {
    const answer = answers.get(index);
    if (answer === undefined) return;
    try {
      resolved.set(spec.name, settingsFromSshG(spec, parseSshG(answer), homeDir(options.env), options.env));
    } catch {
      // asked again alone, which reports it
    }
  });
  return resolved;
}

/** One shell's script: ssh -G for each host of `indexes`, its answer between marks that carry the host's index. */
function batchScript(specs: HostSpec[], indexes: number[], options: SshResolveOptions): string {
  return indexes
    .map((index) => {
      const command = [options.sshBinary, ...sshGArguments(specs[index]!, options.configFile)].map(shellQuote).join(' ');
      return `printf '\\n${MARK} ${index}\\n'; ${command} 2>/dev/null </dev/null; printf '\\n${MARK} ${index} status %s\\n' "$?"`;
    })
    .join('\n');
}

/** The script's stdout, or null when it could not run or did not end in time. */
function runShell(script: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env }, timeout: BATCH_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', () => resolve(null));
    child.once('close', (code, signal) => resolve(code === 0 && signal === null ? Buffer.concat(chunks).toString('utf8') : null));
  });
}
