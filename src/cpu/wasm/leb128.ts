/**
 * LEB128 encoders (WebAssembly core spec §5.2.2 "Integers").
 * Bytes are appended to a plain number array, the emitter's code buffer.
 */

/** Unsigned LEB128 of a non-negative safe integer (u32 indices, sizes). */
export function uleb(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`uleb: bad value ${value}`);
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

/** Signed LEB128 of a 32-bit integer (i32.const operands). */
export function sleb32(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const signBitSet = (byte & 0x40) !== 0;
    if ((v === 0 && !signBitSet) || (v === -1 && signBitSet)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** Signed LEB128 of a 64-bit integer (i64.const operands). */
export function sleb64(out: number[], value: bigint): void {
  let v = BigInt.asIntN(64, value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const signBitSet = (byte & 0x40) !== 0;
    if ((v === 0n && !signBitSet) || (v === -1n && signBitSet)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** A length-prefixed UTF-8 name (§5.2.4). */
export function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}
