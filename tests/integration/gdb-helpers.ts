// Shared harness for the gdb integration tests: boot a firmware guest paused
// (as `-S -gdb tcp::PORT`), run the real gdb (Debian's package) in batch mode
// against our stub, and collect gdb's output and the guest's serial output.
import { execFile, spawnSync } from 'node:child_process';
import { Microvm, type ExitReason } from '../../src/machine/microvm.js';
import { resolveConfig } from '../../src/machine/defaults.js';
import { startGdbServer, type GdbServer } from '../../src/gdbstub/index.js';

export const fw = (name: string): string => new URL(`../../firmware/out/${name}`, import.meta.url).pathname;

export const gdbPath = (() => {
  const r = spawnSync('gdb', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'gdb' : undefined;
})();

export interface GdbGuest {
  machine: Microvm;
  server: GdbServer;
  serial(): string;
  exited: Promise<ExitReason>;
  /** Run gdb -batch with these -ex commands (after `target remote`); resolves with stdout+stderr. */
  gdb(commands: string[], opts?: { elf?: string; timeoutMs?: number; extraArgs?: string[] }): Promise<string>;
  close(): Promise<void>;
}

export async function bootForGdb(opts: { kernel: string; accel: 'kvm' | 'jit'; cpus?: number; append?: string; memory?: number; startPaused?: boolean }): Promise<GdbGuest> {
  let out = '';
  const config = resolveConfig({
    kernel: opts.kernel, accel: opts.accel, memory: opts.memory ?? 256 * 2 ** 20, cpus: opts.cpus ?? 1,
    cpu: { model: opts.accel === 'kvm' ? 'host' : 'microvm-default' },
    serial: { kind: 'stream' }, startPaused: opts.startPaused ?? true,
    devices: [{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }],
    ...(opts.append !== undefined ? { append: opts.append } : {}),
  });
  const machine = new Microvm(config, { onSerialOutput: (b) => { out += String.fromCharCode(b); } });
  await machine.start();
  const logs: string[] = [];
  const server = await startGdbServer(machine, { port: 0, log: (m) => logs.push(m) });
  const port = server.port;
  return {
    machine,
    server,
    serial: () => out,
    exited: machine.exited,
    gdb: (commands, o = {}) => new Promise((resolve) => {
      const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off',
        ...(o.extraArgs ?? []), '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c]), o.elf ?? opts.kernel];
      execFile(gdbPath ?? 'gdb', args, { timeout: o.timeoutMs ?? 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
        resolve(`${stdout}\n${stderr}${err && err.killed ? '\n[gdb timed out]' : ''}${logs.length ? `\n[stub log] ${logs.join('\n[stub log] ')}` : ''}`);
      });
    }),
    close: async () => {
      await server.close();
      await machine.stop();
    },
  };
}

/** Run gdb and send it SIGINT (what Ctrl-C at the terminal does) after `afterMs`. */
export function gdbWithCtrlC(port: number, elf: string, commands: string[], afterMs: number): Promise<string> {
  return new Promise((resolve) => {
    const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c]), elf];
    const child = execFile(gdbPath ?? 'gdb', args, { timeout: 60_000, encoding: 'utf8' }, (_e, so, se) => resolve(`${so}\n${se}`));
    setTimeout(() => child.kill('SIGINT'), afterMs);
  });
}
