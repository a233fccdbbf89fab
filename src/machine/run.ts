/**
 * Running a machine the way `qemu-system-x86_64` does from the command line:
 * the serial backend on the host side, signals, and the process exit status.
 */
import type { MachineConfig } from './config.js';
import { Microvm, type ExitReason } from './microvm.js';
import { createCharBackend, serialDevicePresent, SerialPort, type CharBackend } from '../chardev/index.js';
import { startGdbServer, type GdbServer } from '../gdbstub/index.js';

export interface RunOptions {
  /** Status lines for the user (stderr by default). */
  log?: (msg: string) => void;
}

/** Boot `config` and run until the guest ends; resolves with the process exit status. */
export async function runFromCli(config: MachineConfig, opts: RunOptions = {}): Promise<number> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`microvm-ts: ${m}\n`));
  let machine: Microvm | undefined;
  let backend: CharBackend | undefined;
  let port: SerialPort | undefined;
  let gdb: GdbServer | undefined;
  if (serialDevicePresent(config.serial)) {
    backend = createCharBackend(config.serial, {
      onQuit: () => { void machine?.stop(); },
      log,
    });
    port = new SerialPort(backend);
  }

  const onSignal = (sig: NodeJS.Signals): void => {
    // QEMU: "terminating on signal N" and a clean exit.
    log(`terminating on signal ${sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : sig}`);
    void machine?.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  if (config.serial.kind !== 'stdio') process.on('SIGINT', onSignal);

  let reason: ExitReason;
  try {
    machine = new Microvm(config, port ? { onSerialOutput: port.tx } : {});
    machine.on('warning', (w: string) => log(`warning: ${w}`));
    if (port && machine.uart) port.attach(machine.uart);
    if (backend) await backend.ready;
    await machine.start();
    if (config.gdb) {
      // QEMU's `tcp::1234` (empty host) listens on every address.
      gdb = await startGdbServer(machine, { host: config.gdb.host === '' ? '0.0.0.0' : config.gdb.host, port: config.gdb.port });
      if (config.startPaused) log(`waiting for gdb on port ${gdb.port} (machine paused by -S)`);
    }
    reason = await machine.exited;
  } finally {
    await gdb?.close().catch(() => {});
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('SIGINT', onSignal);
    if (port) await port.close();
    else await backend?.close();
  }
  if (reason.kind === 'error') log(`guest stopped: ${reason.error.message}`);
  return reason.status;
}
