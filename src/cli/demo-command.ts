// `nightshift demo`: the embedded lab on loopback, and the shipped miniature gateway swap run in it.
import { rm } from 'node:fs/promises';
import { DemoLabError, startDemoLab, type DemoScenario } from '../lab/demo-lab.js';
import { runCommand } from './run-command.js';
import { EXIT } from './usage.js';

export interface DemoOptions {
  plain: boolean;
  json: boolean;
  scenario: DemoScenario;
  labDir?: string;
}

export async function demoCommand(options: DemoOptions): Promise<number> {
  let lab;
  try {
    lab = await startDemoLab({ scenario: options.scenario, ...(options.labDir ? { dir: options.labDir } : {}) });
  } catch (error) {
    if (!(error instanceof DemoLabError)) throw error;
    process.stderr.write(`nightshift demo: ${error.message}\n`);
    return EXIT.error;
  }
  const ports = Object.entries(lab.hosts)
    .map(([name, host]) => `${name}=127.0.0.1:${host.port}`)
    .join(' ');
  try {
    return await runCommand({
      runbookFile: lab.runbookFile,
      vars: {},
      plain: options.plain,
      json: options.json,
      banner: `demo lab (${options.scenario}): ${ports} · ${lab.dir}`,
      connect: {
        sshConfigFile: lab.sshConfigFile,
        knownHostsFiles: [lab.knownHostsFile],
        // The lab accepts only its own key: the upgrader's agent has nothing to offer here.
        env: { ...process.env, SSH_AUTH_SOCK: '' },
      },
    });
  } finally {
    await lab.close();
    // A lab in a temporary folder is throwaway; one in --lab-dir stays for a look afterwards.
    if (!options.labDir) await rm(lab.dir, { recursive: true, force: true });
  }
}
