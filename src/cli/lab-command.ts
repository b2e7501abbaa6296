// nightshift lab up|down|status|power-cycle RUNBOOK: the rehearsal lab of throwaway virtual
// machines a runbook describes in NAME.lab.yaml, and the power button the person on site has.
import path from 'node:path';
import type { Out } from './runbook-commands.js';
import { EXIT } from './exit.js';
import { UserError } from './user-error.js';
import { LabError } from '../lab/vm/lab-error.js';
import { ensureBaseImage } from '../lab/vm/base-image.js';
import { labDown, labStatus, labUp, powerCycle, readLabState, type LabState } from '../lab/vm/lab.js';
import { tetherTo } from '../lab/vm/tether.js';

export interface LabCommandOptions {
  action: string;
  /** Absent only for `lab image`. */
  runbook?: string;
  machine?: string;
  /** lab up: the process the lab is tied to. */
  tether?: number;
}

export async function labCommand(options: LabCommandOptions, out: Out): Promise<number> {
  const say = (line: string) => out.stdout(`${line}\n`);
  const runbook = options.runbook ?? '';
  try {
    switch (options.action) {
      case 'image': {
        const image = await ensureBaseImage(say);
        say(`${image.built ? 'Built' : 'Cached'}: ${image.disk}; tarballs in ${image.tarballs}`);
        return EXIT.completed;
      }
      case 'up': {
        const tether =
          options.tether === undefined
            ? undefined
            : { to: tetherTo(options.tether), downCommand: [process.execPath, path.resolve(process.argv[1]!), 'lab', 'down', path.resolve(runbook)] };
        const state = await labUp(runbook, { say, ...(tether ? { tether } : {}) });
        say('');
        say(`The lab for ${path.basename(runbook)} is up. Rehearse with:`);
        say(`  nightshift run ${runbook} --lab`);
        say('Play the person on site from a second terminal with nightshift join, or add --relay to confirm for them.');
        say(`Reach a machine: ssh -F ${state.sshConfig} -o UserKnownHostsFile=${state.knownHosts} ${state.machines[0]?.name ?? 'NAME'}`);
        if (state.upstream) {
          say(`A run reaches the site only from ${state.upstream.name}, the provider's side: ${path.join(state.dir, 'ssh')} HOST, as the run does.`);
        }
        say(`Power-cycle one (the hands on site): nightshift lab power-cycle ${runbook} NAME`);
        say(`Take it down: nightshift lab down ${runbook}`);
        if (tether) say(`It goes down by itself once process ${tether.to.pid} has ended.`);
        return EXIT.completed;
      }
      case 'down': {
        const existed = await labDown(runbook, say);
        say(existed ? `The lab for ${path.basename(runbook)} is down.` : `No lab was up for ${path.basename(runbook)}.`);
        return EXIT.completed;
      }
      case 'status': {
        const state = await readLabState(runbook);
        if (!state) {
          say(`No lab is up for ${path.basename(runbook)} (nightshift lab up ${runbook}).`);
          return EXIT.error;
        }
        await printStatus(state, say);
        return EXIT.completed;
      }
      case 'power-cycle': {
        const state = await requireLab(runbook);
        if (!options.machine) throw new LabError('power-cycle needs the machine: nightshift lab power-cycle RUNBOOK NAME.');
        await powerCycle(state, options.machine);
        say(`${options.machine}: power-cycled; it boots again (about a minute under emulation).`);
        return EXIT.completed;
      }
      default:
        throw new LabError(`lab takes image, up, down, status or power-cycle, not "${options.action}".`);
    }
  } catch (error) {
    if (error instanceof LabError) throw new UserError(error.message);
    throw error;
  }
}

async function requireLab(runbook: string): Promise<LabState> {
  const state = await readLabState(runbook);
  if (!state) throw new LabError(`No lab is up for ${path.basename(runbook)}: nightshift lab up ${runbook}.`);
  return state;
}

async function printStatus(state: LabState, say: (line: string) => void): Promise<void> {
  say(`Lab for ${path.basename(state.runbook)}, up since ${state.startedAt} (${state.dir})`);
  for (const machine of await labStatus(state)) {
    const address = state.machines.find((candidate) => candidate.name === machine.name)?.address;
    say(
      `  ${machine.name.padEnd(10)} power ${machine.power.padEnd(3)}  ssh ${machine.ssh ? 'answers' : 'silent '} 127.0.0.1:${machine.sshPort}` +
        `${address ? `  private ${address}` : ''}`,
    );
    if (machine.lastConsoleLine) say(`             console: ${machine.lastConsoleLine}`);
  }
  if (state.observer) say(`  ${state.observer.name.padEnd(10)} network namespace ${state.observer.namespace}, ${state.observer.address}`);
  if (state.upstream) {
    say(
      `  ${state.upstream.name.padEnd(10)} network namespace ${state.upstream.namespace}, ${state.upstream.address}: runs on the lab reach the site from here`,
    );
  }
}

/** What `run --lab` adds: the lab's SSH files and variables (the runbook's own --var still win). */
export async function labRunOptions(runbook: string): Promise<{ sshConfigFile: string; knownHostsFiles: string[]; vars: Record<string, string> }> {
  const state = await requireLab(runbook);
  return { sshConfigFile: state.runSshConfig ?? state.sshConfig, knownHostsFiles: [state.runKnownHosts ?? state.knownHosts], vars: state.vars };
}
