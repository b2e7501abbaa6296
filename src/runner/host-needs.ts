// What a runbook will need of each of its hosts, read from its steps: uploads (SFTP and a
// sha256 tool), detached steps and timed reverts (setsid or systemd-run, a run folder),
// sudo, and the commands its checks call. Pure.
import { allSteps, type PreflightCheck, type Runbook } from '../runbook/types.js';

export interface HostNeeds {
  /**
   * now: a login must work before the run starts; after-wait: the runbook's first step on
   * the host waits for its SSH to answer (it may well be down now); none: nothing logs in
   * there (only port waits).
   */
  login: 'now' | 'after-wait' | 'none';
  /** The step that waits for the host first (after-wait): "2.1". */
  waitStep?: string;
  uploads: boolean;
  /** Steps that run detached or arm a revert: they need setsid (or systemd-run as root) and a run folder. */
  detached: boolean;
  /** `become: sudo` for the host or one of its steps. */
  sudo: boolean;
  /** Commands the runbook's checks, wait commands and preflight checks call there, in order of first use. */
  tools: string[];
}

/** The needs of every host the runbook defines (hosts no step uses need nothing but a login). */
export function hostNeeds(runbook: Runbook): Record<string, HostNeeds> {
  const needs: Record<string, HostNeeds> = {};
  for (const name of Object.keys(runbook.hosts)) {
    needs[name] = { login: 'now', uploads: false, detached: false, sudo: becomesSudo(runbook.hosts[name]), tools: [] };
  }
  const seen = new Set<string>();
  const logsIn = new Set<string>();
  for (const step of allSteps(runbook)) {
    if (!('host' in step)) continue;
    const host = needs[step.host];
    if (!host) continue;
    if (!seen.has(step.host) && step.kind === 'wait' && step.until.kind === 'ssh') {
      host.login = 'after-wait';
      host.waitStep = step.number;
    }
    seen.add(step.host);
    if (!(step.kind === 'wait' && step.until.kind === 'port')) logsIn.add(step.host);
    if (becomesSudo(step)) host.sudo = true;
    const add = (tools: string[]) => {
      for (const tool of tools) if (!host.tools.includes(tool)) host.tools.push(tool);
    };
    switch (step.kind) {
      case 'upload':
        host.uploads = true;
        break;
      case 'run':
        if (step.detached || step.revert) host.detached = true;
        if (step.check !== undefined) add(commandWords(step.check));
        break;
      case 'wait':
        if (step.until.kind === 'command') add(commandWords(step.until.command));
        break;
      case 'preflight':
        for (const check of step.checks) add(preflightTools(check));
        break;
      default:
        break;
    }
  }
  // Only port waits reach it: no login, unless it carries the helpers' tunnel or others go through it.
  const through = Object.values(runbook.hosts)
    .map((spec) => spec.proxyJump ?? '')
    .join(',');
  for (const name of seen) {
    if (logsIn.has(name) || runbook.sentinel?.host === name || through.split(',').some((jump) => jump.trim() === name)) continue;
    needs[name]!.login = 'none';
  }
  return needs;
}

/**
 * `become: sudo` on a host or a step. The field is not part of the runbook types yet; once
 * it is, this reads it (and needs no change unless its shape differs).
 */
function becomesSudo(thing: object | undefined): boolean {
  return thing !== undefined && (thing as { become?: unknown }).become === 'sudo';
}

/** What the scripts of each preflight check kind (runner/preflight-checks.ts) call beyond a POSIX shell. */
function preflightTools(check: PreflightCheck): string[] {
  switch (check.kind) {
    case 'fstab':
      return ['blkid'];
    case 'mem_available':
      return ['grep'];
    case 'disk':
      return ['lsblk', 'blkid', 'sfdisk'];
    case 'address_free':
      return ['ip', 'ping'];
    case 'grubenv':
      return ['findmnt'];
  }
}

/** Shell builtins and reserved words: nothing to look for on PATH. */
const NOT_TOOLS = new Set(
  (
    'if then else elif fi for while until do done case esac in function select time ! { } [[ ]] ' +
    '[ test echo printf cd exit return true false : . source export set unset read local eval exec command type ' +
    'shift wait trap kill let pwd umask ulimit alias unalias break continue readonly times getopts hash jobs fg bg ' +
    'declare typeset builtin'
  ).split(' '),
);

/** Words before the command itself that run it: `sudo x`, `env A=b x`, `nice x` check for x as well. */
const WRAPPERS = new Set(['sudo', 'env', 'nice', 'nohup', 'timeout', 'stdbuf', 'ionice']);

const TOOL_NAME = /^(?:[A-Za-z0-9_][A-Za-z0-9_.+-]*|\/[A-Za-z0-9_./+-]+)$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * The first words of the simple commands in a shell script: the programs it calls. A
 * reading, not a parser: words it cannot be sure of (quoted, with $ or globs) are left
 * out rather than guessed at.
 */
export function commandWords(script: string): string[] {
  const found: string[] = [];
  const noComments = withoutHereDocuments(script)
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '$1'))
    .join('\n');
  for (const segment of noComments.split(/[;&|\n()`]+/)) {
    const words = segment.trim().split(/\s+/).filter(Boolean);
    let index = 0;
    while (index < words.length) {
      const word = words[index]!;
      if (ASSIGNMENT.test(word) || /^(?:if|then|else|elif|do|while|until|!|\{|time)$/.test(word)) {
        index++;
        continue;
      }
      if (/^\d*[<>]/.test(word)) {
        // A redirection before the command: its target is the next word unless attached.
        index += /^\d*[<>]+&?$/.test(word) ? 2 : 1;
        continue;
      }
      if (WRAPPERS.has(word)) {
        if (!found.includes(word)) found.push(word);
        index++;
        while (index < words.length && (words[index]!.startsWith('-') || ASSIGNMENT.test(words[index]!))) index++;
        if (word === 'timeout' && /^\d/.test(words[index] ?? '')) index++;
        continue;
      }
      if (!NOT_TOOLS.has(word) && TOOL_NAME.test(word) && !found.includes(word)) found.push(word);
      break;
    }
  }
  return found;
}

/** The script without the bodies of its here-documents: their lines are text, not commands. */
function withoutHereDocuments(script: string): string {
  const kept: string[] = [];
  let until: string | null = null;
  for (const line of script.split('\n')) {
    if (until !== null) {
      if (line.replace(/^\t+/, '') === until) until = null;
      continue;
    }
    kept.push(line);
    const heredoc = /<<-?\s*(['"]?)([A-Za-z0-9_]+)\1/.exec(line);
    if (heredoc) until = heredoc[2]!;
  }
  return kept.join('\n');
}
