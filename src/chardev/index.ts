/**
 * Serial backends: `createCharBackend(cfg)` builds the host side named by a
 * `-serial` option; `SerialPort` joins it to the UART.
 *
 * Wiring (machine):
 *   if (serialDevicePresent(cfg.serial)) {
 *     const backend = createCharBackend(cfg.serial, { onQuit, log });
 *     const port = new SerialPort(backend);
 *     const uart = new Uart16550(gsi.line(COM1_IRQ), port.tx, { time });
 *     port.attach(uart);
 *     pio.register(COM1_PORT, 8, uart, 'serial0');
 *     await backend.ready; // tcp server with wait: blocks until a client connects
 *   }
 */
import type { Readable, Writable } from 'node:stream';
import type { SerialConfig } from '../machine/config.js';
import { CharBackendError, type CharBackend } from './backend.js';
import { FileBackend } from './file.js';
import { NullBackend } from './null.js';
import { StdioBackend, type QuitReason, type StdioInput } from './stdio.js';
import { StreamBackend } from './stream.js';
import { TcpBackend } from './tcp.js';

export { CharBackendError, type CharBackend } from './backend.js';
export { SerialPort, type SerialFrontend } from './serial-port.js';
export { StdioBackend, type QuitReason, type StdioBackendOptions } from './stdio.js';
export { NullBackend } from './null.js';
export { FileBackend } from './file.js';
export { TcpBackend } from './tcp.js';
export { StreamBackend } from './stream.js';
export { EscapeDecoder, escapeHelpText } from './escape.js';

export interface CharBackendOptions {
  /** stdio: C-a x / Ctrl-C. Default: restore the terminal and exit(0). */
  onQuit?: (reason: QuitReason) => void;
  /** stdio: Ctrl-C quits (default true) or goes to the guest (false). */
  signal?: boolean;
  /** stdio: streams to use instead of process.stdin/stdout. */
  stdin?: StdioInput | Readable;
  stdout?: Writable;
  /** Status lines for the user (tcp server waiting); the CLI passes a stderr writer. */
  log?: (msg: string) => void;
}

/**
 * QEMU creates no serial device at all for `-serial none` (the port then
 * reads all ones); every other kind has a UART at 0x3f8.
 */
export function serialDevicePresent(cfg: SerialConfig): boolean {
  return cfg.kind !== 'none';
}

/** Build the backend for `cfg`. Throws CharBackendError for a file that cannot be opened or a bad port. */
export function createCharBackend(cfg: SerialConfig, opts: CharBackendOptions = {}): CharBackend {
  switch (cfg.kind) {
    case 'stdio':
      return new StdioBackend({ input: opts.stdin as StdioInput | undefined, output: opts.stdout, onQuit: opts.onQuit, signal: opts.signal });
    case 'none':
    case 'null':
      return new NullBackend();
    case 'file':
      if (cfg.path === '') throw new CharBackendError('BAD_CONFIG', '-serial file: needs a path');
      return new FileBackend(cfg.path);
    case 'tcp':
      return new TcpBackend({ host: cfg.host, port: cfg.port, server: cfg.server, wait: cfg.wait, log: opts.log });
    case 'stream':
      return new StreamBackend();
    default: {
      const never: never = cfg;
      throw new CharBackendError('BAD_CONFIG', `unknown serial backend ${JSON.stringify(never)}`);
    }
  }
}
