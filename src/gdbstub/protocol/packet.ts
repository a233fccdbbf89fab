/**
 * The GDB Remote Serial Protocol packet layer (GDB manual, Appendix E.1
 * "Overview"): `$payload#cs` framing with a two-digit hex checksum (the sum
 * of the payload bytes modulo 256), `+`/`-` acknowledgements, the 0x03
 * interrupt byte, binary escapes (`}` then the byte XOR 0x20) and run-length
 * encoding (`X*n`: n - 29 further copies of X).
 *
 * Target-agnostic: nothing here knows about x86 or about our machine. The
 * decoder is an explicit state machine fed one byte at a time, so a
 * connection can hand it whatever chunks the socket delivers.
 */

export const PACKET_START = 0x24; // '$'
export const PACKET_END = 0x23; // '#'
export const ESCAPE = 0x7d; // '}'
export const RUN_LENGTH = 0x2a; // '*'
export const ACK = 0x2b; // '+'
export const NACK = 0x2d; // '-'
/** Ctrl-C: "interrupt the target" (E.8 "Interrupts"), sent outside any packet. */
export const INTERRUPT = 0x03;
/** `X*n`: the count character n stands for n - 29 repeats (E.1). */
const RLE_BIAS = 29;

/** Modulo-256 sum of the payload bytes (E.1). */
export function checksum(payload: Uint8Array): number {
  let sum = 0;
  for (const b of payload) sum = (sum + b) & 0xff;
  return sum;
}

/** Bytes that must be escaped in binary data: `#`, `$`, `}` and `*` (E.1). */
function needsEscape(b: number): boolean {
  return b === PACKET_END || b === PACKET_START || b === ESCAPE || b === RUN_LENGTH;
}

/** Escape binary data for a packet body (X packets, qXfer replies). */
export function escapeBinary(data: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of data) if (needsEscape(b)) extra++;
  if (extra === 0) return data;
  const out = new Uint8Array(data.length + extra);
  let o = 0;
  for (const b of data) {
    if (needsEscape(b)) {
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
    } else {
      out[o++] = b;
    }
  }
  return out;
}

/** Undo `escapeBinary`; undefined when the data ends inside an escape. */
export function unescapeBinary(data: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(data.length);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === ESCAPE) {
      if (i + 1 >= data.length) return undefined;
      out[o++] = data[++i]! ^ 0x20;
    } else {
      out[o++] = b;
    }
  }
  return out.subarray(0, o);
}

/**
 * Expand run-length encoding. Undefined for a `*` with nothing to repeat or
 * without a count, or a count outside the printable range E.1 allows.
 * `maxLength` bounds the expansion (a hostile peer cannot make us allocate).
 */
export function expandRunLength(data: Uint8Array, maxLength: number): Uint8Array | undefined {
  if (!data.includes(RUN_LENGTH)) return data.length <= maxLength ? data : undefined;
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b !== RUN_LENGTH) {
      out.push(b);
    } else {
      if (out.length === 0 || i + 1 >= data.length) return undefined;
      const n = data[++i]!;
      if (n < 32 || n > 126) return undefined;
      const prev = out[out.length - 1]!;
      for (let k = 0; k < n - RLE_BIAS; k++) out.push(prev);
    }
    if (out.length > maxLength) return undefined;
  }
  return Uint8Array.from(out);
}

/**
 * Run-length encode a payload. Runs of 4..98 identical bytes become `X*n`;
 * counts that would be `#` (35) or `$` (36) are avoided as E.1 requires, and
 * runs of `*`, `}`, `#` or `$` themselves are left alone.
 */
export function compressRunLength(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < data.length) {
    const b = data[i]!;
    let run = 1;
    while (i + run < data.length && data[i + run] === b && run < 126 - RLE_BIAS + 1) run++;
    if (needsEscape(b) || run < 4) {
      for (let k = 0; k < run; k++) out.push(b);
      i += run;
      continue;
    }
    // Total run t is encoded as X followed by the count (t - 1) + 29.
    let t = run;
    while (t + RLE_BIAS - 1 === PACKET_END || t + RLE_BIAS - 1 === PACKET_START) t--;
    out.push(b, RUN_LENGTH, t - 1 + RLE_BIAS);
    i += t;
  }
  return Uint8Array.from(out);
}

const HEX = '0123456789abcdef';

/** Frame a payload: `$payload#cs`. The payload must already be escaped. */
export function encodePacket(payload: Uint8Array, opts: { runLength?: boolean } = {}): Uint8Array {
  const body = opts.runLength ? compressRunLength(payload) : payload;
  const cs = checksum(body);
  const out = new Uint8Array(body.length + 4);
  out[0] = PACKET_START;
  out.set(body, 1);
  out[body.length + 1] = PACKET_END;
  out[body.length + 2] = HEX.charCodeAt(cs >> 4);
  out[body.length + 3] = HEX.charCodeAt(cs & 0xf);
  return out;
}

export type PacketEvent =
  /** A complete packet. `payload` is RLE-expanded but not unescaped (that is per command). */
  | { kind: 'packet'; payload: Uint8Array }
  /** A framed packet whose checksum did not match, or whose RLE was malformed: answer `-`. */
  | { kind: 'bad-packet'; reason: 'checksum' | 'run-length' | 'too-long' }
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'interrupt' };

type DecoderState = 'idle' | 'payload' | 'checksum-high' | 'checksum-low';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * The receiving half of the packet layer, one byte at a time. Outside a
 * packet it recognises `+`, `-` and 0x03 and skips anything else (line
 * noise); a `$` inside a packet starts over (resynchronisation). A payload
 * longer than `maxPayload` is dropped whole and reported once.
 */
export class PacketDecoder {
  private state: DecoderState = 'idle';
  private buf: number[] = [];
  private overflow = false;
  private csHigh = 0;
  /** In no-ack mode the checksum is not checked (E.11 "Packet Acknowledgment"). */
  verifyChecksum = true;

  constructor(readonly maxPayload = 0x10000) {}

  feed(byte: number): PacketEvent | undefined {
    switch (this.state) {
      case 'idle':
        if (byte === PACKET_START) this.start();
        else if (byte === ACK) return { kind: 'ack' };
        else if (byte === NACK) return { kind: 'nack' };
        else if (byte === INTERRUPT) return { kind: 'interrupt' };
        return undefined;
      case 'payload':
        if (byte === PACKET_START) {
          this.start();
        } else if (byte === PACKET_END) {
          this.state = 'checksum-high';
        } else if (this.buf.length < this.maxPayload) {
          this.buf.push(byte);
        } else {
          this.overflow = true;
        }
        return undefined;
      case 'checksum-high':
        this.csHigh = hexValue(byte);
        this.state = 'checksum-low';
        return undefined;
      case 'checksum-low': {
        this.state = 'idle';
        const low = hexValue(byte);
        const raw = Uint8Array.from(this.buf);
        this.buf = [];
        if (this.overflow) return { kind: 'bad-packet', reason: 'too-long' };
        if (this.verifyChecksum && (this.csHigh < 0 || low < 0 || ((this.csHigh << 4) | low) !== checksum(raw))) {
          return { kind: 'bad-packet', reason: 'checksum' };
        }
        const payload = expandRunLength(raw, this.maxPayload);
        if (!payload) return { kind: 'bad-packet', reason: 'run-length' };
        return { kind: 'packet', payload };
      }
      default: {
        const never: never = this.state;
        return never;
      }
    }
  }

  private start(): void {
    this.state = 'payload';
    this.buf = [];
    this.overflow = false;
  }
}

/** Hex text of bytes, two lowercase digits each. */
export function toHex(data: Uint8Array): string {
  let s = '';
  for (const b of data) s += HEX[b >> 4]! + HEX[b & 0xf]!;
  return s;
}

/** Bytes of an even-length hex string; undefined for anything else. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const h = hexValue(s.charCodeAt(2 * i));
    const l = hexValue(s.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return undefined;
    out[i] = (h << 4) | l;
  }
  return out;
}

/** A hex number as the protocol writes addresses and lengths (no prefix, 1..16 digits). */
export function parseHexBig(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F]{1,16}$/.test(s)) return undefined;
  return BigInt('0x' + s);
}

/** A small hex number (lengths, register numbers, thread ids): at most 8 digits. */
export function parseHexNumber(s: string): number | undefined {
  if (!/^[0-9a-fA-F]{1,8}$/.test(s)) return undefined;
  return parseInt(s, 16);
}

/** Latin-1 bytes of a string (packets are byte strings). */
export function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function bytesToAscii(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x2000) s += String.fromCharCode(...b.subarray(i, i + 0x2000));
  return s;
}
