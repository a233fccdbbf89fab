// Boot firmware/out/virtio-net.elf with a virtio-net device for the net-*
// integration tests. The machine wiring of virtio (Microvm calling
// attachVirtioDevices) belongs to the lead; until a Microvm does it itself,
// this helper attaches the devices to the machine before start(), exactly
// as the machine will.
import { existsSync } from 'node:fs';
import { Microvm } from '../../src/machine/microvm.js';
import { resolveConfig, type VmConfigInput } from '../../src/machine/defaults.js';
import { attachVirtioDevices, type VirtioAttachment } from '../../src/virtio/index.js';
import { kvmAvailability } from '../../src/kvm/accelerator.js';
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE } from '../../src/memory/layout.js';

export const FIRMWARE = new URL('../../firmware/out/virtio-net.elf', import.meta.url).pathname;
export const haveFirmware = existsSync(FIRMWARE);

export type Accel = 'kvm' | 'jit';

/** Which accelerators the net tests run on: KVM if usable, the JIT if it is present. */
export function accelerators(): Array<{ accel: Accel; skip: string | undefined }> {
  const kvm = kvmAvailability();
  return [
    { accel: 'kvm', skip: kvm.ok ? undefined : `KVM unavailable: ${kvm.reason}` },
    { accel: 'jit', skip: process.env.NET_JIT === '0' ? 'NET_JIT=0' : undefined },
  ];
}

export interface NetGuest {
  machine: Microvm;
  virtio: VirtioAttachment;
  output(): string;
  waitFor(re: RegExp | string, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

export async function bootNetGuest(input: Omit<VmConfigInput, 'kernel'> & { accel: Accel }): Promise<NetGuest> {
  const config = resolveConfig({
    kernel: FIRMWARE, memory: 64 * 1024 * 1024, cpu: { model: input.accel === 'kvm' ? 'host' : 'microvm-default' },
    ...input, serial: { kind: 'stream' },
  });
  let out = '';
  const waiters = new Set<() => void>();
  const machine = new Microvm(config, {
    onSerialOutput: (b) => {
      out += String.fromCharCode(b);
      if (b === 10) for (const w of [...waiters]) w();
    },
  });
  // If the machine already wired virtio (the lead's integration), use that; else attach here.
  const wired = machine.mmio.find(VIRTIO_MMIO_BASE + 23 * VIRTIO_MMIO_STRIDE) !== undefined;
  const virtio = wired
    ? ((machine as unknown as { virtio: VirtioAttachment }).virtio)
    : attachVirtioDevices(machine, config);
  await virtio.ready;
  await machine.start();
  let exited = false;
  void machine.exited.then(() => { exited = true; for (const w of [...waiters]) w(); });
  return {
    machine,
    virtio,
    output: () => out,
    waitFor: (re, timeoutMs = 60_000) => new Promise((resolve, reject) => {
      const rx = typeof re === 'string' ? new RegExp(re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : re;
      const check = (): void => {
        const m = out.match(rx);
        if (m) { done(); resolve(m); return; }
        if (exited) { done(); reject(new Error(`guest exited before ${String(re)}; output:\n${out.slice(-2000)}`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timeout waiting for ${String(re)}; output:\n${out.slice(-2000)}`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); waiters.delete(check); };
      waiters.add(check);
      check();
    }),
    stop: async () => {
      await machine.stop();
      if (!wired) await virtio.close();
    },
  };
}
