/**
 * virtio devices on the microvm's virtio-mmio transports.
 *
 * QEMU's microvm (hw/i386/microvm.c) creates 24 transports at
 * 0xfeb00000 + n*0x200 on GSI 24+n when ACPI and ioapic2 are on (8 on GSI
 * 5+n / 16+n otherwise) and plugs `-device virtio-*-device`s into them from
 * the top: the first one on transport 23 (0xfeb02e00, GSI 47). Transports
 * are legacy (version 1) unless `-global virtio-mmio.force-legacy=false`.
 */
import type { Bus } from '../memory/bus.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { IrqLine } from '../devices/irq.js';
import type { TimeSource } from '../devices/clock.js';
import type { MachineConfig } from '../machine/config.js';
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE } from '../memory/layout.js';
import { microvmVirtioGsi } from '../loader/cmdline.js';
import { createNetdev, attachFilterDump, type Netdev, NetdevConfigError } from '../net/index.js';
import type { PcapWriter } from '../net/pcap.js';
import { VirtioMmioTransport, VIRTIO_MMIO_SIZE } from './mmio.js';
import { VirtioNet, parseMac } from './net.js';

export { VirtioMmioTransport, VIRTIO_MMIO_SIZE } from './mmio.js';
export { VirtioNet, parseMac, formatMac } from './net.js';
export { Virtqueue } from './virtqueue.js';

/** What attachVirtioDevices needs from the machine. */
export interface VirtioHost {
  memory: GuestMemory;
  mmio: Bus;
  gsi: { line(gsi: number): IrqLine };
  time?: TimeSource;
}

export interface VirtioAttachment {
  /** Transport indices that carry a device (for the DSDT / the virtio_mmio.device= command line). */
  transports: number[];
  /** Every transport registered (with or without a device), by index. */
  mmioTransports: Map<number, VirtioMmioTransport>;
  /** The netdevs, by id (a `stream` netdev's FramePort is `(netdev as StreamNetdev).port`). */
  netdevs: Map<string, Netdev>;
  nics: VirtioNet[];
  /** Resolves when every backend is ready (sockets bound/connected); await before starting vCPUs. */
  ready: Promise<void>;
  /** Device reset for a machine reset. */
  reset(): void;
  close(): Promise<void>;
}

export class VirtioConfigError extends Error {
  override readonly name = 'VirtioConfigError';
  constructor(readonly code: 'NO_NETDEV' | 'BAD_MAC' | 'NO_TRANSPORT' | 'NETDEV_IN_USE', msg: string) {
    super(msg);
  }
}

/** True when `-global virtio-mmio.force-legacy=false` (or off/no) was given. */
export function virtioModern(config: Pick<MachineConfig, 'globals'>): boolean {
  let modern = false;
  for (const g of config.globals) {
    if (g.driver === 'virtio-mmio' && g.property === 'force-legacy') modern = ['false', 'off', 'no', '0'].includes(g.value.toLowerCase());
  }
  return modern;
}

/** Number of virtio-mmio transports microvm creates (hw/i386/microvm.c). */
export function virtioTransportCount(m: { acpi: boolean; ioapic2: boolean }): number {
  return m.acpi && m.ioapic2 ? 24 : 8;
}

/** QEMU's default MAC for the n-th NIC: 52:54:00:12:34:56 + n. */
export function defaultMac(n: number): Uint8Array {
  return new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + n]);
}

export function attachVirtioDevices(host: VirtioHost, config: MachineConfig): VirtioAttachment {
  const modern = virtioModern(config);
  const count = virtioTransportCount(config.machine);
  const netdevs = new Map<string, Netdev>();
  const readies: Promise<void>[] = [];
  const dumps: PcapWriter[] = [];
  const used = new Set<string>();
  const mmioTransports = new Map<number, VirtioMmioTransport>();
  const transports: number[] = [];
  const nics: VirtioNet[] = [];
  const cleanup = async (): Promise<void> => {
    for (const t of mmioTransports.values()) host.mmio.unregister(t);
    for (const d of dumps) d.close();
    await Promise.all([...netdevs.values()].map((n) => n.close()));
  };
  try {
    for (const nc of config.netdevs) {
      const { netdev, ready } = createNetdev(nc);
      netdevs.set(nc.id, netdev);
      readies.push(ready);
    }
    for (const f of config.filterDumps ?? []) {
      const n = netdevs.get(f.netdev);
      if (!n) throw new VirtioConfigError('NO_NETDEV', `filter-dump ${f.id}: no netdev '${f.netdev}'`);
      dumps.push(attachFilterDump(n, f));
    }
    let next = count - 1;
    for (const dev of config.devices) {
      if (dev.driver !== 'virtio-net-device') continue;
      const netdev = netdevs.get(dev.netdev);
      if (!netdev) throw new VirtioConfigError('NO_NETDEV', `virtio-net-device: netdev '${dev.netdev}' not found`);
      if (used.has(dev.netdev)) throw new VirtioConfigError('NETDEV_IN_USE', `netdev '${dev.netdev}' is used by two devices`);
      used.add(dev.netdev);
      if (next < 0) throw new VirtioConfigError('NO_TRANSPORT', `no free virtio-mmio transport (microvm has ${count})`);
      const mac = dev.mac !== undefined ? parseMac(dev.mac) : defaultMac(nics.length);
      if (!mac) throw new VirtioConfigError('BAD_MAC', `virtio-net-device: bad mac '${dev.mac}'`);
      const nic = new VirtioNet(netdev, { mac });
      const n = next--;
      const gsi = microvmVirtioGsi(n, config.machine.acpi, config.machine.ioapic2);
      const t = new VirtioMmioTransport(host.memory, nic, host.gsi.line(gsi), { modern });
      host.mmio.register(VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE, t, `virtio-mmio.${n}`);
      mmioTransports.set(n, t);
      transports.push(n);
      nics.push(nic);
    }
    // The rest of the transports exist but are empty (device ID 0), as on QEMU.
    for (let n = next; n >= 0; n--) {
      const t = new VirtioMmioTransport(host.memory, undefined, { set() {} }, { modern });
      host.mmio.register(VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE, t, `virtio-mmio.${n}`);
      mmioTransports.set(n, t);
    }
  } catch (e) {
    void cleanup();
    if (e instanceof NetdevConfigError || e instanceof VirtioConfigError) throw e;
    throw e;
  }
  return {
    transports,
    mmioTransports,
    netdevs,
    nics,
    ready: Promise.all(readies).then(() => {}),
    reset: () => { for (const t of mmioTransports.values()) t.resetDevice(); },
    close: cleanup,
  };
}
