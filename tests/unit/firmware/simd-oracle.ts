/**
 * Oracles for the simd workloads: Node's crypto (OpenSSL) for SHA-256 and
 * AES-128-GCM, and plain TypeScript for CRC-32C, popcount and the mix.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { SIMD } from './expectations.js';

/** The workload's input: xorshift64 from 0x243f6a8885a308d3, little-endian words. */
export function simdInput(n: number): Buffer {
  const M = (1n << 64n) - 1n;
  const b = Buffer.alloc(n);
  let s = 0x243f6a8885a308d3n;
  for (let i = 0; i < n; i += 8) {
    s ^= (s << 13n) & M;
    s ^= s >> 7n;
    s ^= (s << 17n) & M;
    b.writeBigUInt64LE(s, i);
  }
  return b;
}

function crc32c(b: Buffer): number {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0x82f63b78 ^ (c >>> 1)) >>> 0 : c >>> 1;
    table[i] = c >>> 0;
  }
  let c = 0xffffffff;
  for (const byte of b) c = (table[(c ^ byte) & 0xff]! ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}

function popcount(b: Buffer): number {
  let bits = 0;
  for (const byte of b) for (let v = byte; v; v &= v - 1) bits++;
  return bits;
}

function mix32(b: Buffer): string {
  const lanes = b.length / 8;
  let dot = 0;
  let x = 0;
  for (let i = 0; i < lanes; i++) {
    const a = b.readUInt32LE(4 * i);
    const c = b.readUInt32LE(4 * (lanes + i));
    dot = (dot + Math.imul(a, c)) >>> 0;
    x = (x ^ (((a + c) >>> 0) << (i & 7))) >>> 0;
  }
  return dot.toString(16).padStart(8, '0') + x.toString(16).padStart(8, '0');
}

/** The "simd ..." lines the workload must print for n bytes. */
export function expectedSimdLines(n: number): string[] {
  const input = simdInput(n);
  const key = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  const iv = Buffer.from([0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0, 1, 2, 3, 4, 5]);
  const aad = Buffer.concat([Buffer.from('microvm-ts simd aad'), Buffer.alloc(1)]); // 20 bytes incl. NUL
  const cipher = createCipheriv('aes-128-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(input), cipher.final()]);
  const tag = cipher.getAuthTag();
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  return [
    SIMD.selftestOk,
    `simd sha256 bytes=${n} digest=${sha(input)}`,
    `simd aes-128-gcm bytes=${n} tag=${tag.toString('hex')} ciphertext_sha256=${sha(ct)}`,
    `simd crc32c bytes=${n} crc=${crc32c(input).toString(16).padStart(8, '0')}`,
    `simd popcount words=${n / 8} bits=${popcount(input)}`,
    `simd mix32 lanes=${n / 8} result=${mix32(input)}`,
  ];
}
