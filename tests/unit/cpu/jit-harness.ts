// Test harness: a minimal machine around the JIT (GuestMemory, buses, a UART
// transmit stub on 0x3f8, isa-debug-exit on 0xf4), booting a PVH ELF.
import { readFileSync } from 'node:fs';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus, type AccessSize } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import { setupBoot } from '../../../src/loader/boot.js';
import type { StopReason } from '../../../src/accel/types.js';

export interface RunResult { out: string; exitCode?: number; stop?: StopReason; timedOut: boolean; jit: JitAccelerator; ms: number }

export async function bootElf(path: string, opts: { ramMiB?: number; timeoutMs?: number; cpus?: number; noInline?: boolean } = {}): Promise<RunResult> {
  const mem = new GuestMemory((opts.ramMiB ?? 256) * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const pio = new Bus('pio'), mmio = new Bus('mmio');
  let out = '';
  let finish: (r: { exitCode?: number; stop?: StopReason }) => void = () => {};
  const done = new Promise<{ exitCode?: number; stop?: StopReason }>((res) => { finish = res; });
  // 16550 stub: THR writes are output, LSR says "transmitter empty".
  pio.register(0x3f8, 8, {
    read: (off: number) => (off === 5 ? 0x60 : 0),
    write: (off: number, _s: AccessSize, v: number) => { if (off === 0) out += String.fromCharCode(v & 0xff); },
  }, 'uart');
  pio.register(0xf4, 1, { read: () => 0, write: (_o: number, _s: AccessSize, v: number) => finish({ exitCode: ((v & 0xff) << 1) | 1 }) }, 'debug-exit');
  const cpus = opts.cpus ?? 1;
  const jit = new JitAccelerator();
  jit.noInline = opts.noInline ?? false;
  await jit.init({
    memory: mem, pio, mmio, cpuid: createCpuidPolicy({ accel: 'jit', cpus }), cpuCount: cpus,
    onStop: (r) => finish({ stop: r }), onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  const boot = setupBoot(new Uint8Array(readFileSync(path)), mem);
  jit.setState(0, boot.state);
  const t0 = performance.now();
  jit.resume();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((res) => { timer = setTimeout(() => res('timeout'), opts.timeoutMs ?? 30000); });
  const r = await Promise.race([done, timeout]);
  clearTimeout(timer);
  await jit.pause();
  const ms = performance.now() - t0;
  if (r === 'timeout') return { out, timedOut: true, jit, ms };
  return { out, ...r, timedOut: false, jit, ms };
}
