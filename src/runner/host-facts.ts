// The facts `when:` conditions read of a host, gathered once per host and run by one
// script under /bin/sh that works on a BusyBox system as well: systemd or not, the CPU
// count, the distribution from os-release (read here, never run there), the kernel and
// the machine. The script ends with an end mark: without it nothing it printed counts.
// Then `decideWhen`: the step's conditions evaluated against those facts and the values.
import { effectActor } from './effect-actor.js';
import type { WhenDecision } from '../engine/setup.js';
import { evaluate, hostsOf, skipReason } from '../runbook/condition.js';
import { shellQuote } from '../runbook/shell-quote.js';
import type { HostFacts, Step } from '../runbook/types.js';
import type { RemoteHosts } from './remote-hosts.js';

const END_MARK = 'nightshift-facts-end';
const OS_RELEASE_MARK = 'nightshift-os-release';

/** Prints key=value lines, then os-release as it is, then the end mark. No bash-isms: dash, BusyBox ash. */
export const FACTS_SCRIPT = `if [ -d /run/systemd/system ]; then echo systemd=yes; else echo systemd=no; fi
echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo 2>/dev/null)"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo ${OS_RELEASE_MARK}
if [ -r /etc/os-release ]; then cat /etc/os-release; elif [ -r /usr/lib/os-release ]; then cat /usr/lib/os-release; fi
echo
echo ${END_MARK}`;

/** The script as one command for the login shell, whatever it is (tcsh included): /bin/sh runs it. */
export const FACTS_COMMAND = `/bin/sh -c ${shellQuote(FACTS_SCRIPT)}`;

/** The facts in what the script printed on `host`; throws, naming the host, when it did not run to its end or a fact is missing. */
export function readFacts(host: string, stdout: string): HostFacts {
  const lines = stdout.replace(/\r/g, '').split('\n');
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  if (lines.at(-1) !== END_MARK) {
    throw new Error(`could not read the facts of ${host}: the script that gathers them did not run to its end, so nothing it printed counts`);
  }
  const release = lines.indexOf(OS_RELEASE_MARK);
  if (release === -1) throw new Error(`could not read the facts of ${host}: what the script printed has no os-release part`);
  const own = keyValues(lines.slice(0, release));
  const os = osRelease(lines.slice(release + 1, -1));
  const cpus = Number(own.get('cpus'));
  const systemd = own.get('systemd');
  const missing = [
    ...(systemd === 'yes' || systemd === 'no' ? [] : ['systemd']),
    ...(Number.isInteger(cpus) && cpus > 0 ? [] : ['the CPU count (nproc, getconf _NPROCESSORS_ONLN, /proc/cpuinfo)']),
    ...(own.get('kernel') ? [] : ['the kernel (uname -r)']),
    ...(own.get('arch') ? [] : ['the machine (uname -m)']),
  ];
  if (missing.length > 0) throw new Error(`could not read the facts of ${host}: it did not tell ${missing.join(', ')}`);
  return {
    systemd: systemd === 'yes',
    cpus,
    // No os-release (a bare BusyBox system): the distribution is empty, which a condition can test.
    distro: os.get('ID') ?? '',
    distro_like: os.get('ID_LIKE') ?? '',
    distro_version: os.get('VERSION_ID') ?? '',
    kernel: own.get('kernel')!,
    arch: own.get('arch')!,
  };
}

function keyValues(lines: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of lines) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return values;
}

/** os-release(5): KEY=value, the value maybe in quotes, with \ escapes inside double quotes; comments and blank lines skipped. */
export function osRelease(lines: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of lines) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2]!;
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(["\\`$])/g, '$1');
    else if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    values.set(match[1]!, value);
  }
  return values;
}

/** The facts of each host, gathered once per run (at the first condition that reads them), and journaled. */
export class HostFactsCache {
  private readonly gathered = new Map<string, Promise<HostFacts>>();

  constructor(
    private readonly hosts: Pick<RemoteHosts, 'exec'>,
    private readonly onFacts: (host: string, facts: HostFacts) => void = () => {},
  ) {}

  of(host: string, signal?: AbortSignal): Promise<HostFacts> {
    let facts = this.gathered.get(host);
    if (!facts) {
      facts = this.gather(host, signal);
      this.gathered.set(host, facts);
      // A failure is not kept: the next condition (a retry) asks the host again.
      facts.catch(() => this.gathered.delete(host));
    }
    return facts;
  }

  private async gather(host: string, signal?: AbortSignal): Promise<HostFacts> {
    const stdout: Buffer[] = [];
    let result;
    try {
      result = await this.hosts.exec(host, FACTS_COMMAND, { onStdout: (chunk) => stdout.push(chunk), onStderr: () => {}, ...(signal ? { signal } : {}) });
    } catch (error) {
      throw new Error(`could not read the facts of ${host}: ${(error as Error).message}`, { cause: error });
    }
    const printed = Buffer.concat(stdout).toString('utf8');
    const facts = readFacts(host, printed);
    if (result.exitCode !== 0)
      throw new Error(`could not read the facts of ${host}: the script exited with status ${result.exitCode ?? `(signal ${result.signal})`}`);
    this.onFacts(host, facts);
    return facts;
  }
}

export interface DecideWhenOptions {
  facts: HostFactsCache;
  /** The runbook's variables: the conditions name them as captured values are named. */
  vars: Record<string, string>;
  /** The phase being run (null in the fallback): logins check the host keys declared for it. */
  setPhase?(phase: string | null): void;
}

/** Whether a step's conditions hold, in order (the phase's first): the first that does not gives the reason. */
export async function decideWhen(step: Step, values: Record<string, string>, options: DecideWhenOptions, signal?: AbortSignal): Promise<WhenDecision> {
  options.setPhase?.(step.phase);
  for (const condition of step.when ?? []) {
    const facts: Record<string, HostFacts> = {};
    for (const host of hostsOf(condition.expr)) facts[host] = await options.facts.of(host, signal);
    const result = evaluate(condition.expr, { values: { ...options.vars, ...values }, facts });
    if (!result.holds) return { holds: false, reason: skipReason(condition.text, result.found) };
  }
  return { holds: true, reason: '' };
}

export function decideWhenActor(options: DecideWhenOptions) {
  return effectActor<WhenDecision, { step: Step; values: Record<string, string> }>(({ input, signal }) =>
    decideWhen(input.step, input.values, options, signal),
  );
}
