/**
 * A TCP listener for gdb (`target remote HOST:PORT`): one session at a
 * time, as QEMU's gdbstub; a second connection while one is open is closed
 * at once. The target-specific part is the `attach` callback, which gets
 * each new session and returns what to do when it ends.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GdbSession, type GdbSessionOptions } from './session.js';
import type { GdbTarget } from './target.js';

export interface GdbListenOptions extends Omit<GdbSessionOptions, 'onClose' | 'initialStop'> {
  host: string;
  /** 0 picks a free port (the result says which). */
  port: number;
}

export interface GdbConnection {
  /** The target for this connection (for example after pausing the machine). */
  target: GdbTarget;
  /** Options for this session: the initial stop reply. */
  initialStop?: GdbSessionOptions['initialStop'];
  /** The session is ready: the target uses it to report stops. */
  started?(session: GdbSession): void;
  /** The session ended (detach, kill, exit, or the socket closed). */
  ended?(why: Parameters<NonNullable<GdbSessionOptions['onClose']>>[0]): void;
}

export interface GdbListener {
  readonly port: number;
  readonly host: string;
  /** The open session, if gdb is connected. */
  readonly session: GdbSession | undefined;
  /** Stop listening and drop the connection. */
  close(): Promise<void>;
  /**
   * Stop accepting connections and let the process exit while gdb is still
   * connected (after the target exited: the connection ends when gdb closes it).
   */
  release(): void;
}

export async function listenGdb(
  opts: GdbListenOptions,
  attach: () => Promise<GdbConnection>,
): Promise<GdbListener> {
  let current: { socket: Socket; session: GdbSession | undefined } | undefined;
  const server: Server = createServer((socket) => {
    if (current) {
      opts.log?.('gdb: a debugger is already connected; refusing another connection');
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn: { socket: Socket; session: GdbSession | undefined } = { socket, session: undefined };
    current = conn;
    const early: Buffer[] = [];
    let ended = false;
    let connection: GdbConnection | undefined;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (current === conn) current = undefined;
      conn.session?.close('closed');
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      if (conn.session) conn.session.receive(chunk);
      else early.push(chunk);
    });
    socket.on('error', (e) => { opts.log?.(`gdb: connection error: ${e.message}`); end(); });
    socket.on('close', end);
    void attach().then((c) => {
      connection = c;
      if (ended) { c.ended?.('closed'); return; }
      const session = new GdbSession(c.target, (data) => { if (!socket.destroyed) socket.write(data); }, {
        ...opts,
        ...(c.initialStop ? { initialStop: c.initialStop } : {}),
        onClose: (why) => {
          connection?.ended?.(why);
          // Let the last reply (OK to D, W to an exit) reach gdb before closing.
          if (!socket.destroyed) socket.end();
        },
      });
      conn.session = session;
      c.started?.(session);
      for (const chunk of early.splice(0)) session.receive(chunk);
    }, (e: unknown) => {
      opts.log?.(`gdb: could not attach: ${(e as Error).message}`);
      end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  server.on('error', (e) => opts.log?.(`gdb: listener error: ${e.message}`));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    host: opts.host,
    get session() { return current?.session; },
    release: () => {
      server.close();
      server.unref();
      current?.socket.unref();
    },
    close: () => new Promise<void>((resolve) => {
      current?.session?.close('closed');
      current?.socket.destroy();
      server.close(() => resolve());
    }),
  };
}
