// The helper channel of one run: the SSH endpoint on this machine, a reverse tunnel to it
// on the site host, each helper's screen, presence told to the engine (steps needing hands),
// and wall/write on the site while nobody has joined.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { joinCommandFor, type HelperAccess, type HelperAccessState } from '../chat/helper-access.js';
import { startHelperEndpoint, type HelperEndpoint, type HelperTerminal } from '../chat/helper-endpoint.js';
import type { ChatHub, Hands } from '../chat/hub.js';
import { SiteNotices } from '../chat/site-notices.js';
import { keepSiteTunnel, type SiteTunnel } from '../chat/site-tunnel.js';
import { visibleText } from '../output/neutralize.js';
import { generateEd25519KeyPair, parseKey } from '../remote/keys.js';
import { shellQuote } from '../runbook/shell-quote.js';
import { selfCommand } from './self-command.js';
import { stateDir } from '../store/paths.js';
import type { SentinelAccess } from '../runbook/types.js';
import type { Run } from '../runner/run.js';
import type { EntryFields } from '../store/journal.js';
import { viewOf } from '../engine/view.js';
import { confirmationText } from '../text/steps.js';
import { removeHelperFile, writeHelperFile } from '../store/helper-file.js';
import type { HelperSettings } from '../store/helper-settings.js';

/** Where the channel listens: the session's helper settings (--listen). */
export type HelperListen = HelperSettings['listen'];

export interface HelperChannel extends HelperAccess {
  state(): HelperAccessState;
  /** Ends the channel; helpers still in it are told `why`. */
  close(why?: string): Promise<void>;
}

const HOST_KEY_FILE = 'helper-host-key';

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

export async function openHelperChannel(args: { run: Run; hub: ChatHub; listen: HelperListen; site: SentinelAccess | null }): Promise<HelperChannel> {
  const { run, hub, listen, site } = args;
  const journal = run.session.journal;
  const siteTz = run.runbook.sites.site.tz;
  const screens = new Set<() => void>();
  const listeners = new Set<() => void>();
  const changed = () => {
    cached = undefined;
    for (const listener of [...listeners]) listener();
  };

  const onHelper = (terminal: HelperTerminal) => {
    const me = hub.join({ role: terminal.role, name: terminal.id, tz: siteTz, id: terminal.id });
    let stop = () => {};
    let left = false;
    const leave = () => {
      left = true;
      screens.delete(leave);
      stop();
      hub.leave(me.id);
    };
    screens.add(leave);
    terminal.onClose(leave);
    // Ink is loaded with the first screen it draws: a plain run nobody joins never loads it.
    import('../ui/helper/render-helper.js').then(
      ({ renderHelperView }) => {
        if (left) return;
        stop = renderHelperView(terminal, { run, hub, me, onQuit: () => terminal.close('nightshift: you left the chat; the upgrade goes on.') });
      },
      (error: unknown) => terminal.close(`nightshift: the chat screen could not be drawn: ${(error as Error).message}`),
    );
  };

  const hostKey = endpointHostKey(run.session.dir, site);
  const parsedKey = parseKey(hostKey);
  const endpoint: HelperEndpoint = await startHelperEndpoint({
    hostKey,
    label: run.runbook.name,
    address: listen.address,
    port: listen.port,
    allowNonLoopback: listen.allowNonLoopback,
    onHelper,
    onEvent: (event) => {
      const { type, ...fields } = event;
      // Each endpoint event fits its helper.* entry: checked by HELPER_EVENTS_FIT (store/journal-entries.ts).
      journal.append(`helper.${type}`, fields as EntryFields<`helper.${typeof type}`>);
      if (event.type === 'crowded') {
        hub.note(
          `the helper channel turned away ${event.refused === 1 ? 'a connection' : `${event.refused} connections`}: ` +
            `${event.limit} others had not logged in yet; if nobody on site is joining, someone is knocking`,
        );
      }
    },
  });
  const unsubscribeEndpoint = endpoint.subscribe(changed);
  writeHelperFile(run.session.dir, {
    address: endpoint.address,
    port: endpoint.port,
    fingerprint: endpoint.fingerprint,
    publicKey: `${parsedKey.type} ${parsedKey.getPublicSSH().toString('base64')}`,
    pid: process.pid,
  });

  const tunnel: SiteTunnel | null = site
    ? keepSiteTunnel(run.hosts, {
        host: site.host,
        remotePort: site.port,
        localPort: endpoint.port,
        localHost: listen.address === '0.0.0.0' ? '127.0.0.1' : listen.address,
        onChange: (state) => {
          changed();
          if (state.state === 'open') hub.note(`helpers on ${site.host} join with: ssh -p ${state.port} sentinel@localhost`);
          if (state.state === 'down') hub.note(`the tunnel on ${site.host} is down (${state.error}); trying again`);
          if (state.state === 'refused') {
            journal.append('helper.tunnel-refused', { host: site.host, addresses: state.addresses, error: state.error });
            hub.note(state.error);
          }
        },
      })
    : null;

  const joinHint = site
    ? `Join the upgrader's chat from ${site.host}: ssh -p ${site.port} sentinel@localhost  (the upgrader gives you the code)`
    : 'Ask the upgrader how to join the chat.';
  const notices =
    site && site.notify !== 'none'
      ? new SiteNotices({
          hub,
          where: site.notify === 'write' ? `write to ${site.user} on ${site.host}` : `wall on ${site.host}`,
          everyMs: site.everyMs,
          joinHint,
          journal: (type, fields, at) => journal.append(type, fields, at),
          broadcast: (text) => broadcast(run, site, text),
        })
      : null;

  // The engine holds steps needing hands on what the hub says about sentinels.
  let lastHands: Hands | null = null;
  let lastSeq = hub.messages().at(-1)?.seq ?? 0;
  const onHub = () => {
    const hands = hub.hands();
    if (!lastHands || hands.available !== lastHands.available || hands.why !== lastHands.why) {
      lastHands = hands;
      run.send({ type: 'HANDS', available: hands.available, why: hands.why });
    }
    // Most changes are typing or presence: look only at what came since the last time.
    const messages = hub.messages();
    let first = messages.length;
    while (first > 0 && messages[first - 1]!.seq > lastSeq) first--;
    for (const message of messages.slice(first)) {
      lastSeq = message.seq;
      if (message.from?.role === 'upgrader') notices?.message(message.from.name, message.text);
    }
  };
  const unsubscribeHub = hub.subscribe(onHub);
  onHub();

  const needOf = (): string | null => {
    const { focus } = viewOf(run.actor.getSnapshot(), run.stepOf);
    if (!focus) return null;
    const step = run.stepOf(focus.stepId);
    if (focus.waitingFor === 'confirmation' && focus.roles.includes('sentinel')) return confirmationText(step, focus.request);
    if (focus.waitingFor === 'hands') return `step ${step.number} ${step.title} needs someone at the machines`;
    return null;
  };
  const snapshots = notices ? run.actor.subscribe(() => notices.need(needOf())) : null;
  // The run may already wait for the site (the channel opens after the first frame).
  notices?.need(needOf());

  let cached: HelperAccessState | undefined;
  const state = (): HelperAccessState => {
    if (cached) return cached;
    const local = { address: endpoint.address, port: endpoint.port };
    const tunnelState = tunnel?.state();
    const sitePart = site && tunnelState ? { host: site.host, port: tunnelState.state === 'open' ? tunnelState.port : site.port, tunnel: tunnelState } : null;
    cached = {
      code: endpoint.code(),
      lockedUntil: endpoint.lockedUntil(),
      fingerprint: endpoint.fingerprint,
      local,
      site: sitePart,
      // A tunnel closed for listening too widely is no way in.
      joinCommand: joinCommandFor(local, tunnelState?.state === 'refused' ? null : sitePart, isLoopback(local.address) ? `${selfCommand()} join` : undefined),
    };
    return cached;
  };

  return {
    state,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    newCode: () => {
      endpoint.newCode();
      changed();
    },
    async close(why) {
      snapshots?.unsubscribe();
      notices?.close();
      unsubscribeHub();
      unsubscribeEndpoint();
      for (const leave of [...screens]) leave();
      // The helpers are told first: those that came in through the site's tunnel are cut off with it.
      await endpoint.close(why);
      await tunnel?.close();
      removeHelperFile(run.session.dir);
    },
  };
}

/**
 * The endpoint's key. A session keeps its key for its whole life, so a helper's known_hosts
 * still fits after a resume. With a site tunnel the key is also kept for that site host and
 * port (in the state folder) and a new session starts with it: a helper who types `ssh -p
 * 2222 sentinel@localhost` on the site host the next night does not meet "REMOTE HOST
 * IDENTIFICATION HAS CHANGED".
 */
export function endpointHostKey(dir: string, site: Pick<SentinelAccess, 'host' | 'port'> | null, env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(dir, HOST_KEY_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const siteFile = site ? path.join(stateDir(env), 'site-keys', `${site.host.replace(/[^\w.-]/g, '_')}-${site.port}`) : null;
  const kept = siteFile && existsSync(siteFile) ? readFileSync(siteFile, 'utf8') : null;
  const key = kept ?? generateEd25519KeyPair('nightshift helper endpoint').privateKey;
  if (siteFile && kept === null) {
    mkdirSync(path.dirname(siteFile), { recursive: true, mode: 0o700 });
    writeFileSync(siteFile, key, { mode: 0o600 });
  }
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

async function broadcast(run: Run, site: SentinelAccess, text: string): Promise<void> {
  const tool = site.notify === 'write' ? `write ${shellQuote(site.user ?? 'root')}` : 'wall';
  const errors: Buffer[] = [];
  // The site's consoles are terminals too: the runbook's text reaches them with its controls shown.
  const result = await run.hosts.exec(site.host, `printf '%s\\n' ${shellQuote(visibleText(text))} | ${tool}`, {
    onStdout: () => {},
    onStderr: (chunk) => errors.push(chunk),
  });
  if (result.exitCode !== 0) {
    const said = Buffer.concat(errors).toString('utf8').trim().split('\n').at(-1);
    throw new Error(`${tool} exited with status ${result.exitCode ?? result.signal}${said ? `: ${said}` : ''}`);
  }
}
