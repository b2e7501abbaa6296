// `nightshift demo`: the embedded lab on loopback, and the shipped miniature gateway swap run in it.
import { rm } from 'node:fs/promises';
import { DemoLabError, startDemoLab, type DemoLab, type DemoLabOptions, type DemoScenario } from '../lab/demo-lab.js';
import type { ConnectOptions } from '../remote/types.js';
import type { HelperSettings } from '../store/helper-settings.js';
import { runCommand } from './run-command.js';
import { EXIT } from './exit.js';
import { UserError } from './user-error.js';

export interface DemoOptions {
  plain: boolean;
  json: boolean;
  scenario: DemoScenario;
  labDir?: string;
  helpers: HelperSettings;
}

export async function demoCommand(options: DemoOptions): Promise<number> {
  const temporary = options.labDir === undefined;
  return withDemoLab({ scenario: options.scenario, ...(options.labDir ? { dir: options.labDir } : {}) }, temporary, (lab, connect, banner) =>
    runCommand({
      runbookFile: lab.runbookFile,
      vars: {},
      plain: options.plain,
      json: options.json,
      banner,
      connect,
      demo: { scenario: options.scenario, labDir: lab.dir, temporary },
      helpers: options.helpers,
    }),
  );
}

/**
 * Starts the lab, runs `work` against it, and closes it. A temporary lab is removed
 * afterwards unless the run was paused or interrupted: `nightshift resume` goes on in it.
 */
export async function withDemoLab(
  options: DemoLabOptions,
  temporary: boolean,
  work: (lab: DemoLab, connect: Omit<ConnectOptions, 'interaction'>, banner: string) => Promise<number>,
): Promise<number> {
  let lab: DemoLab;
  try {
    lab = await startDemoLab(options);
  } catch (error) {
    if (error instanceof DemoLabError) throw new UserError(error.message, { who: 'nightshift demo' });
    throw error;
  }
  const ports = labHostsLine(lab);
  let code: number = EXIT.error;
  try {
    code = await work(
      lab,
      {
        sshConfigFile: lab.sshConfigFile,
        knownHostsFiles: [lab.knownHostsFile],
        // The lab accepts only its own key: the upgrader's agent has nothing to offer here.
        env: { ...process.env, SSH_AUTH_SOCK: '' },
      },
      `demo lab (${options.scenario ?? 'success'}): ${ports} · ${lab.dir}`,
    );
    return code;
  } finally {
    await lab.close();
    // A temporary lab is throwaway once its run has ended; one in --lab-dir stays for a look afterwards.
    if (temporary && code !== EXIT.paused && code !== EXIT.interrupted) await rm(lab.dir, { recursive: true, force: true });
  }
}

/** The lab's hosts for the banner: each with its port, or for a fleet its count and first and last name. */
function labHostsLine(lab: DemoLab): string {
  const hosts = Object.entries(lab.hosts);
  if (hosts.length <= 3) return hosts.map(([name, host]) => `${name}=127.0.0.1:${host.port}`).join(' ');
  return `${hosts.length} hosts ${hosts[0]![0]} … ${hosts.at(-1)![0]} on 127.0.0.1 (ports in ${lab.sshConfigFile})`;
}
