// One lab host: an ssh2 Server fed by a TCP listener on 127.0.0.1 that the lab owns, so
// that it can drop connections at will. Only the lab's client key gets in; only `exec` runs.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { ssh2 } from '../remote/ssh2.js';
import type { AuthContext, Connection, ParsedKey, ServerChannel, Session } from 'ssh2';
import { RunningCommand, type Sandbox } from './exec.js';

export interface LabSshHostOptions {
  sandbox: Sandbox;
  /** Commands wait for this before they start: the sandbox may still be being built. */
  ready: Promise<void>;
  hostPrivateKey: string;
  clientKey: ParsedKey;
  user: string;
}

export class LabSshHost {
  readonly #options: LabSshHostOptions;
  readonly #tcp: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #commands = new Set<RunningCommand>();
  #port = 0;
  #closing = false;

  private constructor(options: LabSshHostOptions) {
    this.#options = options;
    const ssh = new (ssh2().Server)({ hostKeys: [options.hostPrivateKey], ident: 'nightshift-demo-lab' }, (client) => this.#serve(client));
    this.#tcp = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
      // Small packets, one round trip after another: Nagle would add ~40 ms to each.
      socket.setNoDelay(true);
      ssh.injectSocket(socket);
    });
  }

  static async start(options: LabSshHostOptions): Promise<LabSshHost> {
    const host = new LabSshHost(options);
    await new Promise<void>((resolve, reject) => {
      host.#tcp.once('error', reject);
      host.#tcp.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        host.#tcp.off('error', reject);
        resolve();
      });
    });
    host.#port = (host.#tcp.address() as net.AddressInfo).port;
    return host;
  }

  get port(): number {
    return this.#port;
  }

  /** Destroys every TCP connection, as a cut cable would; the commands on them are terminated. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Cuts every connection once, when this many bytes have gone out to the clients from now on. */
  dropOnceAfter(bytes: number): void {
    const baseline = new Map<net.Socket, number>();
    let gone = 0;
    const sent = () => {
      let total = gone;
      for (const socket of this.#sockets) total += socket.bytesWritten - (baseline.get(socket) ?? 0);
      return total;
    };
    for (const socket of this.#sockets) baseline.set(socket, socket.bytesWritten);
    const remember = (socket: net.Socket) => socket.once('close', () => (gone += socket.bytesWritten - (baseline.get(socket) ?? 0)));
    this.#sockets.forEach(remember);
    this.#tcp.on('connection', remember);
    const watch = setInterval(() => {
      if (sent() < bytes) return;
      clearInterval(watch);
      this.#tcp.off('connection', remember);
      this.dropConnections();
    }, 20);
    watch.unref();
  }

  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
    this.dropConnections();
    for (const command of this.#commands) command.kill();
    await Promise.all([closed, ...[...this.#commands].map((command) => command.done)]);
  }

  #serve(client: Connection): void {
    const started = new Set<RunningCommand>();
    client.on('error', () => {});
    client.on('authentication', (ctx) => this.#authenticate(ctx));
    client.on('ready', () => {
      client.on('session', (accept) => this.#session(accept(), started));
    });
    client.on('close', () => {
      for (const command of started) if (command.running) command.terminate();
    });
  }

  #authenticate(ctx: AuthContext): void {
    const { clientKey, user } = this.#options;
    if (ctx.method !== 'publickey' || !sameBytes(Buffer.from(ctx.username), Buffer.from(user))) {
      ctx.reject(['publickey']);
      return;
    }
    const offered = ctx.key;
    if (offered.algo !== clientKey.type || !sameBytes(offered.data, clientKey.getPublicSSH())) {
      ctx.reject(['publickey']);
      return;
    }
    // Without a signature the client only asks whether the key would do; accept() says yes.
    if (ctx.signature && (!ctx.blob || clientKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)) {
      ctx.reject(['publickey']);
      return;
    }
    ctx.accept();
  }

  #session(session: Session, started: Set<RunningCommand>): void {
    let command: RunningCommand | undefined;
    let pty: { cols: number; rows: number; term: string } | undefined;
    const refuse = (_accept: unknown, reject?: () => void) => reject?.();
    session.on('subsystem', refuse);
    session.on('sftp', refuse);
    session.on('env', refuse);
    session.on('x11', refuse);
    session.on('auth-agent', refuse);
    // A shell by hand (the `!` key) gets a pty of the size asked; the demo's pty keeps it.
    session.on('pty', (accept, _reject, info) => {
      pty = { cols: info.cols, rows: info.rows, term: info.term };
      accept?.();
    });
    session.on('window-change', (accept) => accept?.());
    session.on('signal', (accept, reject, info) => {
      if (command?.running && command.forwardSignal(info.name)) accept?.();
      else reject?.();
    });
    const run = (channel: ServerChannel, text: string, term?: string) => {
      let channelClosed = false;
      channel.once('close', () => (channelClosed = true));
      const start = () => {
        if (channelClosed || this.#closing) return;
        command = new RunningCommand(channel, text, this.#options.sandbox, term);
        const running = command;
        started.add(running);
        this.#commands.add(running);
        void running.done.then(() => {
          started.delete(running);
          this.#commands.delete(running);
        });
      };
      this.#options.ready.then(start, (error: Error) => {
        if (channelClosed) return;
        channel.stderr.write(`demo lab: ${this.#options.sandbox.hostName} is not ready: ${error.message}\n`);
        channel.exit(1);
        channel.end();
      });
    };
    session.once('exec', (accept, _reject, info) => {
      const channel = accept();
      if (channel) run(channel, info.command);
    });
    session.once('shell', (accept, reject) => {
      if (!pty) return reject?.();
      const channel = accept();
      if (channel) run(channel, interactiveShellCommand(this.#options.sandbox.hostName, pty), pty.term);
    });
  }
}

/** An interactive sh on a pty of its own (util-linux's script makes it), as a login would give. */
function interactiveShellCommand(hostName: string, pty: { cols: number; rows: number }): string {
  const cols = Math.max(1, Math.min(1000, Math.trunc(pty.cols) || 80));
  const rows = Math.max(1, Math.min(1000, Math.trunc(pty.rows) || 24));
  const inner = `stty cols ${cols} rows ${rows} 2>/dev/null; PS1='${hostName.replace(/[^\w.-]/g, '')}:demo# ' exec sh -i`;
  return `exec script -qfec "${inner}" /dev/null`;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
