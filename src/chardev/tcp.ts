/**
 * `-serial tcp:host:port[,server][,nowait|wait=off]` (QEMU chardev/char-socket.c).
 *
 * Client: connects at start; if the connection fails the machine does not
 * start (QEMU: "Failed to connect to ..."). After the peer closes, output is
 * discarded.
 *
 * Server: listens on host:port. With `wait` (QEMU's default for a server) the
 * guest must not start before the first client connects: `ready` settles then
 * and the machine awaits it. One client at a time is served; further clients
 * wait (paused, as in the listen backlog) and are served in turn when the
 * current one leaves. Output with no client connected is discarded, as QEMU
 * does.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { BackendBase, CharBackendError, type CharBackend } from './backend.js';

export interface TcpBackendOptions {
  host: string;
  port: number;
  server: boolean;
  wait: boolean;
  /** Status lines for the user ("waiting for connection on ..."); default: none. */
  log?: (msg: string) => void;
}

export class TcpBackend extends BackendBase implements CharBackend {
  readonly ready: Promise<void>;
  private socket: Socket | undefined;
  private server: Server | undefined;
  private readonly waiting: Socket[] = [];
  private closed = false;
  /** Bytes the guest wrote while no peer was connected. */
  discardedBytes = 0;
  private listening: Promise<void> | undefined;
  /** Settles the server's `ready` with wait: the first client has connected. */
  private firstClient: (() => void) | undefined;

  constructor(private readonly opts: TcpBackendOptions) {
    super();
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new CharBackendError('BAD_CONFIG', `-serial tcp:${opts.host}:${opts.port}: port out of range`);
    }
    this.ready = opts.server ? this.startServer() : this.startClient();
    // The machine awaits `ready`; an unobserved rejection must not crash the process first.
    this.ready.catch(() => {});
  }

  /** The bound address of a server (port 0 picks a free port). */
  async address(): Promise<AddressInfo> {
    await this.listening;
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new CharBackendError('TCP_LISTEN', 'tcp chardev is not listening');
    return a;
  }

  /** True while a peer is connected. */
  get connected(): boolean {
    return this.socket !== undefined;
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    const s = this.socket;
    if (!s || s.destroyed) {
      this.discardedBytes += bytes.length;
      return;
    }
    s.write(bytes);
  }

  pauseInput(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resumeInput(): void {
    this.paused = false;
    this.socket?.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sockets = [this.socket, ...this.waiting].filter((s): s is Socket => s !== undefined);
    this.socket = undefined;
    this.waiting.length = 0;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      if (s.destroyed) return resolve();
      s.once('close', () => resolve());
      s.end();
      // A peer that never answers the FIN must not hold close() forever.
      setTimeout(() => s.destroy(), 1000).unref();
    })));
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private label(): string {
    return `tcp:${this.opts.host}:${this.opts.port}${this.opts.server ? ',server=on' : ''}`;
  }

  private startClient(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const s = createConnection({ host: this.opts.host, port: this.opts.port });
      const onError = (e: Error) => {
        reject(new CharBackendError('TCP_CONNECT', `Failed to connect to '${this.opts.host}:${this.opts.port}': ${e.message}`, { cause: e }));
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        this.adopt(s);
        resolve();
      });
    });
  }

  private startServer(): Promise<void> {
    const server = createServer({ pauseOnConnect: true }, (s) => this.onConnection(s));
    this.server = server;
    let firstClient: (() => void) | undefined;
    const connected = new Promise<void>((resolve) => {
      firstClient = resolve;
    });
    this.firstClient = firstClient;
    this.listening = new Promise<void>((resolve, reject) => {
      server.once('error', (e) => {
        reject(new CharBackendError('TCP_LISTEN', `-serial ${this.label()}: cannot listen: ${e.message}`, { cause: e }));
      });
      server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        server.on('error', () => {}); // later accept errors are not fatal
        if (this.opts.wait) this.opts.log?.(`microvm-ts: waiting for connection on: disconnected:${this.label()}`);
        resolve();
      });
    });
    this.listening.catch(() => {});
    return this.opts.wait ? this.listening.then(() => connected) : this.listening;
  }

  private onConnection(s: Socket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    if (this.socket) {
      // Busy: the newcomer waits its turn, unread.
      this.waiting.push(s);
      s.once('close', () => {
        const i = this.waiting.indexOf(s);
        if (i >= 0) this.waiting.splice(i, 1);
      });
      return;
    }
    this.adopt(s);
  }

  private adopt(s: Socket): void {
    this.socket = s;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.deliver(chunk));
    s.on('error', () => {}); // ECONNRESET etc.: 'close' follows
    s.once('close', () => {
      if (this.socket !== s) return;
      this.socket = undefined;
      const next = this.waiting.shift();
      if (next && !this.closed) this.adopt(next);
    });
    if (this.paused) s.pause();
    else s.resume();
    const first = this.firstClient;
    this.firstClient = undefined;
    first?.();
  }
}
