import { ramRanges, type RamRange } from './layout.js';

/**
 * Guest physical RAM.
 *
 * All RAM lives in one shared `WebAssembly.Memory` so that the JIT's wasm code,
 * worker threads and the KVM addon (which maps the same host pages into the
 * guest) see one copy. The first `reservedBytes` of that memory belong to the
 * JIT (CPU state, TLB, code tables); guest RAM follows. Guest physical address
 * ranges are mapped onto the buffer by `regions`.
 *
 * wasm32 limits one memory to 4 GiB. RAM that does not fit (a guest with more
 * than ~4 GiB) is placed in further SharedArrayBuffers: the JIT reaches those
 * regions through its slow path only.
 *
 * Out-of-range accesses throw `GuestMemoryError`; callers on guest-driven paths
 * (devices, virtqueues) check with `isRam`/`translate` first.
 */
export interface RamRegion extends RamRange {
  /** The buffer holding this region. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of `gpa` inside `buffer`. */
  readonly offset: number;
}

export class GuestMemoryError extends Error {
  override readonly name = 'GuestMemoryError';
  constructor(readonly gpa: number, readonly length: number, msg?: string) {
    super(msg ?? `guest physical access outside RAM: 0x${gpa.toString(16)}+${length}`);
  }
}

const WASM_PAGE = 65536;
const WASM_MAX_PAGES = 65536; // 4 GiB

export interface GuestMemoryOptions {
  /** Bytes at the start of the wasm memory kept for the accelerator (multiple of 64 KiB). */
  reservedBytes?: number;
}

export class GuestMemory {
  readonly ramSize: number;
  readonly regions: readonly RamRegion[];
  /** The shared wasm memory; its buffer holds `reservedBytes` of accelerator state then RAM. */
  readonly wasmMemory: WebAssembly.Memory;
  readonly reservedBytes: number;
  private readonly views = new Map<SharedArrayBuffer, { u8: Uint8Array; dv: DataView }>();

  constructor(ramSize: number, opts: GuestMemoryOptions = {}) {
    if (!Number.isSafeInteger(ramSize) || ramSize <= 0 || ramSize % 4096 !== 0) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB, got ${ramSize}`);
    }
    const reserved = opts.reservedBytes ?? 0;
    if (reserved % WASM_PAGE !== 0) throw new RangeError('reservedBytes must be a multiple of 64 KiB');
    this.ramSize = ramSize;
    this.reservedBytes = reserved;
    const wasmRamBytes = Math.min(ramSize, WASM_MAX_PAGES * WASM_PAGE - reserved);
    // Lazily committed: the host only touches pages the guest touches.
    const pages = Math.ceil((reserved + wasmRamBytes) / WASM_PAGE);
    this.wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const main = this.wasmMemory.buffer as unknown as SharedArrayBuffer;

    const regions: RamRegion[] = [];
    let placedInWasm = 0;
    for (const r of ramRanges(ramSize)) {
      let gpa = r.gpa;
      let left = r.size;
      const inWasm = Math.min(left, wasmRamBytes - placedInWasm);
      if (inWasm > 0) {
        regions.push({ gpa, size: inWasm, buffer: main, offset: reserved + placedInWasm });
        placedInWasm += inWasm;
        gpa += inWasm;
        left -= inWasm;
      }
      // RAM beyond the main memory lives in further shared wasm memories (at
      // most 4 GiB each) rather than plain SharedArrayBuffers: their pages are
      // page aligned and lazily committed, so KVM can map them as memory slots
      // (a SharedArrayBuffer's data comes from malloc, 16 bytes into a page).
      while (left > 0) {
        const n = Math.min(left, WASM_MAX_PAGES * WASM_PAGE);
        const extra = new WebAssembly.Memory({ initial: Math.ceil(n / WASM_PAGE), maximum: Math.ceil(n / WASM_PAGE), shared: true });
        regions.push({ gpa, size: n, buffer: extra.buffer as unknown as SharedArrayBuffer, offset: 0 });
        gpa += n;
        left -= n;
      }
    }
    this.regions = regions;
    for (const r of regions) this.viewsOf(r.buffer);
  }

  private viewsOf(buf: SharedArrayBuffer): { u8: Uint8Array; dv: DataView } {
    let v = this.views.get(buf);
    if (!v) {
      v = { u8: new Uint8Array(buf), dv: new DataView(buf) };
      this.views.set(buf, v);
    }
    return v;
  }

  /** The region containing [gpa, gpa+len), or undefined if it is not wholly RAM. */
  regionOf(gpa: number, len = 1): RamRegion | undefined {
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa + len <= r.gpa + r.size) return r;
    }
    return undefined;
  }

  isRam(gpa: number, len = 1): boolean {
    return len >= 0 && Number.isSafeInteger(gpa) && gpa >= 0 && this.regionOf(gpa, len) !== undefined;
  }

  private locate(gpa: number, len: number): { dv: DataView; u8: Uint8Array; off: number } {
    const r = this.regionOf(gpa, len);
    if (!r) throw new GuestMemoryError(gpa, len);
    const v = this.viewsOf(r.buffer);
    return { dv: v.dv, u8: v.u8, off: r.offset + (gpa - r.gpa) };
  }

  readU8(gpa: number): number { const l = this.locate(gpa, 1); return l.u8[l.off]!; }
  readU16(gpa: number): number { const l = this.locate(gpa, 2); return l.dv.getUint16(l.off, true); }
  readU32(gpa: number): number { const l = this.locate(gpa, 4); return l.dv.getUint32(l.off, true); }
  readU64(gpa: number): bigint { const l = this.locate(gpa, 8); return l.dv.getBigUint64(l.off, true); }
  writeU8(gpa: number, v: number): void { const l = this.locate(gpa, 1); l.u8[l.off] = v; }
  writeU16(gpa: number, v: number): void { const l = this.locate(gpa, 2); l.dv.setUint16(l.off, v, true); }
  writeU32(gpa: number, v: number): void { const l = this.locate(gpa, 4); l.dv.setUint32(l.off, v >>> 0, true); }
  writeU64(gpa: number, v: bigint): void { const l = this.locate(gpa, 8); l.dv.setBigUint64(l.off, BigInt.asUintN(64, v), true); }

  /** Copy out `len` bytes (may span regions only if they are contiguous in gpa). */
  readBytes(gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.copyOut(gpa, out);
    return out;
  }

  copyOut(gpa: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const r = this.regionOf(gpa + done);
      if (!r) throw new GuestMemoryError(gpa, dst.length);
      const n = Math.min(dst.length - done, r.gpa + r.size - (gpa + done));
      const src = this.viewsOf(r.buffer).u8;
      const o = r.offset + (gpa + done - r.gpa);
      dst.set(src.subarray(o, o + n), done);
      done += n;
    }
  }

  writeBytes(gpa: number, data: Uint8Array): void {
    if (!this.isRangeRam(gpa, data.length)) throw new GuestMemoryError(gpa, data.length);
    let done = 0;
    while (done < data.length) {
      const r = this.regionOf(gpa + done)!;
      const n = Math.min(data.length - done, r.gpa + r.size - (gpa + done));
      const o = r.offset + (gpa + done - r.gpa);
      this.viewsOf(r.buffer).u8.set(data.subarray(done, done + n), o);
      done += n;
    }
  }

  fill(gpa: number, len: number, value = 0): void {
    if (!this.isRangeRam(gpa, len)) throw new GuestMemoryError(gpa, len);
    let done = 0;
    while (done < len) {
      const r = this.regionOf(gpa + done)!;
      const n = Math.min(len - done, r.gpa + r.size - (gpa + done));
      const o = r.offset + (gpa + done - r.gpa);
      this.viewsOf(r.buffer).u8.fill(value, o, o + n);
      done += n;
    }
  }

  /** True if every byte of [gpa, gpa+len) is RAM (ranges may cross adjacent regions). */
  isRangeRam(gpa: number, len: number): boolean {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(len) || gpa < 0 || len < 0) return false;
    let done = 0;
    while (done < len) {
      const r = this.regionOf(gpa + done);
      if (!r) return false;
      done += Math.min(len - done, r.gpa + r.size - (gpa + done));
    }
    return true;
  }

  /** A live view of [gpa, gpa+len) if it lies in one region (for zero-copy device I/O). */
  view(gpa: number, len: number): Uint8Array {
    const l = this.locate(gpa, len);
    return l.u8.subarray(l.off, l.off + len);
  }
}
