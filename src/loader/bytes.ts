/**
 * Bounds-checked little-endian reads of an untrusted image, and overflow-safe
 * arithmetic on the values read from it. Image values are u64 in ELF64; they
 * become JavaScript numbers only after a range check (STYLE.md: "a guest u64
 * is read with getBigUint64 and range-checked before it becomes a number").
 */
import { LoaderError, type LoaderErrorCode, hex } from './errors.js';

export class ImageReader {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, private readonly truncated: LoaderErrorCode, private readonly what: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number { return this.bytes.length; }

  /** Throws the reader's "truncated" code unless [offset, offset+len) lies in the image. */
  need(offset: number, len: number, field: string): void {
    const end = checkedAdd(offset, len);
    if (end === undefined || offset < 0 || end > this.bytes.length) {
      throw new LoaderError(this.truncated,
        `${this.what} truncated: ${field} at file offset ${hex(offset)}+${len} is beyond the end of the ${this.bytes.length}-byte image`);
    }
  }

  u8(offset: number, field: string): number { this.need(offset, 1, field); return this.bytes[offset]!; }
  u16(offset: number, field: string): number { this.need(offset, 2, field); return this.dv.getUint16(offset, true); }
  u32(offset: number, field: string): number { this.need(offset, 4, field); return this.dv.getUint32(offset, true); }
  u64(offset: number, field: string): bigint { this.need(offset, 8, field); return this.dv.getBigUint64(offset, true); }
}

/** a + b, or undefined when the sum is not a safe integer (treated as overflow). */
export function checkedAdd(a: number, b: number): number | undefined {
  const s = a + b;
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) && Number.isSafeInteger(s) ? s : undefined;
}

/** A u64 as a number, or undefined when it exceeds 2^53-1. */
export function u64ToSafe(v: bigint): number | undefined {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

export function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

export function alignDown(v: number, a: number): number {
  return Math.floor(v / a) * a;
}

/** Little-endian writer over a fresh buffer, for building boot structures. */
export class StructWriter {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u8(off: number, v: number): this { this.dv.setUint8(off, v); return this; }
  u16(off: number, v: number): this { this.dv.setUint16(off, v, true); return this; }
  u32(off: number, v: number): this { this.dv.setUint32(off, v >>> 0, true); return this; }
  u64(off: number, v: number | bigint): this { this.dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true); return this; }
  ascii(off: number, s: string, len = s.length): this {
    for (let i = 0; i < len; i++) this.bytes[off + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0x20;
    return this;
  }
  set(off: number, data: Uint8Array): this { this.bytes.set(data, off); return this; }
}
