/**
 * The GDB stub for microvm machines: `-s` / `-gdb tcp::PORT` on the command
 * line, `startGdbServer(machine, {host, port})` from the library.
 *
 * The protocol lives in ./protocol (target-agnostic, the future
 * gdb-remote-protocol-ts package); this folder adds the x86-64 register
 * layout (amd64.ts), the machine adapter (machine-target.ts) and the monitor
 * commands (monitor.ts).
 */
import type { Microvm } from '../machine/microvm.js';
import { listenGdb, type GdbListener } from './protocol/index.js';
import { MicrovmGdbTarget } from './machine-target.js';

export { MicrovmGdbTarget } from './machine-target.js';
export { amd64TargetXml, AMD64_REGS, G_PACKET_BYTES } from './amd64.js';

export interface GdbServerOptions {
  /** Default 127.0.0.1 (QEMU's `tcp::1234` listens on all addresses; say '0.0.0.0' for that). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  log?: (message: string) => void;
}

export interface GdbServer {
  /** The port the stub listens on. */
  readonly port: number;
  /** Stop listening and drop the connection (breakpoints are removed, the guest runs on). */
  close(): Promise<void>;
}

/**
 * Listen for gdb. When gdb connects the machine stops (as QEMU does); when
 * it detaches or disconnects, breakpoints go and the machine runs on. Start
 * the machine first (`await machine.start()`; with `startPaused` it waits
 * for gdb's `continue`).
 */
export async function startGdbServer(machine: Microvm, opts: GdbServerOptions): Promise<GdbServer> {
  const log = opts.log;
  let target: MicrovmGdbTarget | undefined;
  const listener: GdbListener = await listenGdb({ host: opts.host ?? '127.0.0.1', port: opts.port, ...(log ? { log } : {}) }, async () => {
    const t = new MicrovmGdbTarget(machine, log ? { log } : {});
    target = t;
    // Packets wait (buffered by the listener) until every vCPU has stopped.
    await t.stopForDebugger();
    return {
      target: t,
      started: (session) => t.setSession(session),
      ended: (why) => {
        // A dropped connection lets the guest run on, as a detach would (QEMU does the same).
        const done = why === 'closed' || why === 'fatal' ? t.sessionEnded() : Promise.resolve();
        void done.catch(() => {}).finally(() => { t.dispose(); if (target === t) target = undefined; });
      },
    };
  });
  // The machine is gone: no new connections, and the listener must not keep the process alive.
  machine.once('exit', () => listener.release());
  return {
    port: listener.port,
    close: async () => {
      await listener.close();
      await target?.sessionEnded().catch(() => {});
      target?.dispose();
    },
  };
}
