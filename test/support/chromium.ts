// Headless Chromium for the tests that look at a page as a browser shows it: load a file,
// see every request the page makes, and evaluate expressions in it, over the DevTools
// protocol (Node's own WebSocket; nothing to install but the browser).
//
//   const page = await openInChromium(`file://${file}`);
//   page.requests                       // every URL the page asked for, the page included
//   await page.evaluate('document.title')
//   await page.close();
//
// Suites wrap themselves in describeWithChromium(...) so that a machine without Chromium
// skips them loudly instead of failing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe } from 'vitest';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];

export const CHROMIUM: string | undefined = CANDIDATES.find((name) => spawnSync('which', [name]).status === 0);

let warned = false;

/** describe() when Chromium is installed; otherwise a skipped suite and a message nobody can miss. */
export function describeWithChromium(name: string, body: () => void): void {
  if (!CHROMIUM && !warned) {
    warned = true;
    const bar = '!'.repeat(78);
    console.warn(
      `\n${bar}\n!! SKIPPING the browser tests: none of ${CANDIDATES.join(', ')} is installed.\n` +
        `!! Install the Debian package chromium (apt-get install chromium) to run them.\n${bar}\n`,
    );
  }
  describe.skipIf(!CHROMIUM)(name, body);
}

export interface BrowserPage {
  /** URLs of every request the page made, in order. */
  requests: string[];
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** Opens `url` in a fresh headless Chromium and resolves once the page has loaded. */
export async function openInChromium(url: string, timeoutMs = 30_000): Promise<BrowserPage> {
  if (!CHROMIUM) throw new Error('Chromium is not installed');
  const profile = mkdtempSync(path.join(tmpdir(), 'ns-chromium-'));
  const browser = spawn(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
    // A group of its own: its helper processes (zygote, renderers) are stopped with it.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const stop = async () => {
    if (browser.exitCode === null && browser.signalCode === null) {
      const exited = new Promise((resolve) => browser.once('exit', resolve));
      browser.kill('SIGTERM');
      await exited;
    }
    try {
      process.kill(-browser.pid!, 'SIGKILL');
    } catch {
      // The group has ended already.
    }
    // Chromium's helper processes may still write into the profile for a moment after they are told to end.
    rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 200 });
  };
  try {
    const port = await devToolsPort(browser, timeoutMs);
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((candidate) => candidate.type === 'page');
    if (!target) throw new Error('Chromium opened no page');
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error('could not connect to Chromium')), { once: true });
    });

    let nextId = 0;
    const pending = new Map<number, { resolve(result: Record<string, unknown>): void; reject(error: Error): void }>();
    const listeners: ((message: CdpMessage) => void)[] = [];
    socket.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as CdpMessage;
      if (message.id !== undefined) {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result ?? {});
      } else for (const listener of listeners) listener(message);
    });
    const send = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      });

    const requests: string[] = [];
    listeners.push((message) => {
      if (message.method === 'Network.requestWillBeSent') {
        requests.push(String((message.params?.['request'] as { url?: string } | undefined)?.url));
      }
    });
    const loaded = new Promise<void>((resolve) => listeners.push((message) => message.method === 'Page.loadEventFired' && resolve()));
    await send('Network.enable');
    await send('Page.enable');
    await send('Page.navigate', { url });
    await withTimeout(loaded, timeoutMs, `${url} did not load`);

    return {
      requests,
      async evaluate<T>(expression: string): Promise<T> {
        const reply = await send('Runtime.evaluate', { expression, returnByValue: true });
        if (reply['exceptionDetails']) throw new Error(`${expression}: ${JSON.stringify(reply['exceptionDetails'])}`);
        return (reply['result'] as { value: T }).value;
      },
      async close() {
        socket.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function devToolsPort(browser: ChildProcess, timeoutMs: number): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      let said = '';
      createInterface({ input: browser.stderr! }).on('line', (line) => {
        said += `${line}\n`;
        const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(line);
        if (match) resolve(Number(match[1]));
      });
      browser.once('exit', (code) => reject(new Error(`Chromium exited (${code}) before it listened:\n${said}`)));
    }),
    timeoutMs,
    'Chromium did not start',
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
