/**
 * Port I/O and MMIO buses: address ranges mapped to device handlers.
 * Devices see offsets within their range; unassigned PIO reads all ones
 * (as on a PC), unassigned MMIO reads all ones too and writes are ignored.
 */
export type AccessSize = 1 | 2 | 4 | 8;

export interface BusDevice {
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

interface Mapping { base: number; size: number; dev: BusDevice; name: string }

export class BusError extends Error {
  override readonly name = 'BusError';
}

export class Bus {
  private maps: Mapping[] = [];
  /** Counters for accesses that hit no device (useful when a guest probes). */
  unassignedReads = 0;
  unassignedWrites = 0;
  /** Called for each access that hits no device (the machine's -d guest_errors log). */
  onUnassigned: ((addr: number, size: AccessSize, write: boolean, value: number) => void) | undefined;

  constructor(readonly kind: 'pio' | 'mmio') {}

  register(base: number, size: number, dev: BusDevice, name: string): void {
    if (size <= 0) throw new BusError(`${name}: empty range`);
    for (const m of this.maps) {
      if (base < m.base + m.size && m.base < base + size) {
        throw new BusError(`${this.kind} range of ${name} 0x${base.toString(16)}+0x${size.toString(16)} overlaps ${m.name}`);
      }
    }
    this.maps.push({ base, size, dev, name });
    this.maps.sort((a, b) => a.base - b.base);
  }

  unregister(dev: BusDevice): void {
    this.maps = this.maps.filter((m) => m.dev !== dev);
  }

  find(addr: number): Mapping | undefined {
    // Few mappings (< 32): a linear scan beats anything cleverer.
    for (const m of this.maps) if (addr >= m.base && addr < m.base + m.size) return m;
    return undefined;
  }

  read(addr: number, size: AccessSize): number {
    const m = this.find(addr);
    if (!m) {
      this.unassignedReads++;
      this.onUnassigned?.(addr, size, false, 0);
      return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    }
    return m.dev.read(addr - m.base, size);
  }

  write(addr: number, size: AccessSize, value: number): void {
    const m = this.find(addr);
    if (!m) {
      this.unassignedWrites++;
      this.onUnassigned?.(addr, size, true, value);
      return;
    }
    m.dev.write(addr - m.base, size, value);
  }

  mappings(): ReadonlyArray<{ base: number; size: number; name: string }> {
    return this.maps.map(({ base, size, name }) => ({ base, size, name }));
  }
}
