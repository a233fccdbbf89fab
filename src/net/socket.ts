/**
 * The `socket` netdev with QEMU's wire formats (net/socket.c, net/stream.c):
 * - `listen=[host]:port` / `connect=host:port`: a TCP stream, each frame
 *   preceded by its length as a 4-byte big-endian integer;
 * - `udp=host:port,localaddr=host:port`: one UDP datagram per frame.
 * So two microvm-ts VMs (or one and QEMU) can be wired together.
 *
 * Differences from QEMU: `connect=` retries for up to `connectRetryMs`
 * (QEMU fails at once), so two VMs may start in either order; `listen=`
 * accepts a new peer after the current one disconnects (QEMU does too).
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { NetdevBase } from './netdev.js';

/** QEMU's NET_BUFSIZE (4096 + 65536): the largest frame we accept on a stream. */
export const SOCKET_MAX_FRAME = 4096 + 65536;

export class NetdevConfigError extends Error {
  override readonly name = 'NetdevConfigError';
  constructor(readonly code: 'BAD_ADDRESS' | 'BAD_OPTIONS' | 'UNKNOWN_NETDEV' | 'NO_NATIVE' | 'OPEN_FAILED', msg: string) {
    super(msg);
  }
}

/** "host:port" or ":port" (host defaults to `defHost`). */
export function parseHostPort(s: string, defHost: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i < 0) throw new NetdevConfigError('BAD_ADDRESS', `expected host:port, got '${s}'`);
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(s.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new NetdevConfigError('BAD_ADDRESS', `bad port in '${s}'`);
  return { host: host === '' ? defHost : host, port };
}

/** Splits a byte stream into length-prefixed frames. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: Uint8Array) => void, private readonly maxFrame = SOCKET_MAX_FRAME) {}

  /** Feed bytes; returns false if the stream is corrupt (a length above maxFrame). */
  push(chunk: Buffer): boolean {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len > this.maxFrame) return false;
      if (this.buf.length < 4 + len) break;
      this.onFrame(new Uint8Array(this.buf.subarray(4, 4 + len)));
      this.buf = this.buf.subarray(4 + len);
    }
    return true;
  }
}

export function encodeFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeUInt32BE(frame.length, 0);
  out.set(frame, 4);
  return out;
}

export interface SocketNetdevOptions {
  listen?: string;
  connect?: string;
  udp?: string;
  localaddr?: string;
  /** connect=: keep retrying a refused connection this long (ms). */
  connectRetryMs?: number;
}

export class SocketNetdev extends NetdevBase {
  private server: Server | undefined;
  private stream: Socket | undefined;
  private udp: UdpSocket | undefined;
  private udpPeer: { host: string; port: number } | undefined;
  /** Resolves when the netdev is usable (listening, connected, or bound). */
  readonly ready: Promise<void>;
  /** The TCP port actually listened on (listen=...:0 picks one). */
  listenPort: number | undefined;

  constructor(id: string, opts: SocketNetdevOptions) {
    super(id);
    const modes = [opts.listen, opts.connect, opts.udp].filter((x) => x !== undefined).length;
    if (modes !== 1) throw new NetdevConfigError('BAD_OPTIONS', `netdev ${id}: socket needs exactly one of listen=, connect=, udp=`);
    if (opts.listen !== undefined) this.ready = this.startListen(parseHostPort(opts.listen, '0.0.0.0'));
    else if (opts.connect !== undefined) this.ready = this.startConnect(parseHostPort(opts.connect, '127.0.0.1'), opts.connectRetryMs ?? 10_000);
    else {
      if (opts.localaddr === undefined) throw new NetdevConfigError('BAD_OPTIONS', `netdev ${id}: udp= needs localaddr=`);
      this.ready = this.startUdp(parseHostPort(opts.udp!, '127.0.0.1'), parseHostPort(opts.localaddr, '0.0.0.0'));
    }
    // A failed start is reported through `ready`; keep it from being an unhandled rejection.
    this.ready.catch(() => {});
  }

  private startListen(addr: { host: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((sock) => {
        if (this.stream) {
          sock.destroy(); // one peer at a time
          return;
        }
        this.useStream(sock);
      });
      this.server = server;
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        const a = server.address();
        this.listenPort = typeof a === 'object' && a ? a.port : addr.port;
        server.unref();
        resolve();
      });
    });
  }

  private startConnect(addr: { host: string; port: number }, retryMs: number): Promise<void> {
    const deadline = Date.now() + retryMs;
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        if (this.closed) return reject(new Error('closed'));
        const sock = tcpConnect(addr.port, addr.host);
        sock.once('connect', () => {
          sock.removeAllListeners('error');
          this.useStream(sock);
          resolve();
        });
        sock.once('error', (e: NodeJS.ErrnoException) => {
          sock.destroy();
          if (e.code === 'ECONNREFUSED' && Date.now() < deadline) setTimeout(attempt, 50).unref();
          else reject(new NetdevConfigError('OPEN_FAILED', `netdev ${this.id}: connect ${addr.host}:${addr.port}: ${e.message}`));
        });
      };
      attempt();
    });
  }

  private startUdp(peer: { host: string; port: number }, local: { host: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      this.udp = s;
      this.udpPeer = peer;
      s.once('error', reject);
      s.on('message', (msg) => this.deliver(new Uint8Array(msg)));
      s.bind(local.port, local.host, () => {
        s.removeListener('error', reject);
        s.on('error', () => { this.stats.txDropped++; });
        s.unref();
        resolve();
      });
    });
  }

  private useStream(sock: Socket): void {
    this.stream = sock;
    sock.setNoDelay(true);
    const dec = new FrameDecoder((f) => this.deliver(f));
    sock.on('data', (chunk: Buffer) => {
      if (!dec.push(chunk)) sock.destroy(); // corrupt framing: drop the peer
    });
    const gone = (): void => {
      if (this.stream === sock) this.stream = undefined;
    };
    sock.on('close', gone);
    sock.on('error', gone);
    sock.unref();
  }

  protected transmit(frame: Uint8Array): void {
    if (this.stream && this.stream.writable) {
      this.stream.write(encodeFrame(frame));
    } else if (this.udp && this.udpPeer) {
      this.udp.send(frame, this.udpPeer.port, this.udpPeer.host);
    } else {
      this.stats.txDropped++;
    }
  }

  protected override setThrottled(paused: boolean): void {
    if (paused) this.stream?.pause();
    else this.stream?.resume();
  }

  override async close(): Promise<void> {
    await super.close();
    this.stream?.destroy();
    this.udp?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
