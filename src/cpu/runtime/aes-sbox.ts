/**
 * AES field arithmetic and S-boxes (FIPS 197), shared by the executor's
 * AES-NI (aesni.ts) and the translator's AES helper tables
 * (translate/simd-helpers.ts).
 */

/** GF(2^8) multiply modulo x^8 + x^4 + x^3 + x + 1 (FIPS 197 §4.2). */
export function gmul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) r ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return r;
}

/** The S-box from its definition (FIPS 197 §5.1.1): multiplicative inverse, then the affine map. */
export const SBOX = new Uint8Array(256);
export const INV_SBOX = new Uint8Array(256);
{
  // Inverses through the generator 3 (FIPS 197 §4.2): inv(x) = exp[255 - log[x]].
  const log = new Uint8Array(256), exp = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) { exp[i] = x; log[x] = i; x = gmul(x, 3); }
  for (let x = 0; x < 256; x++) {
    const inv = x === 0 ? 0 : exp[(255 - log[x]!) % 255]!;
    let s = inv;
    for (let k = 1; k <= 4; k++) s ^= ((inv << k) | (inv >> (8 - k))) & 0xff;
    s ^= 0x63;
    SBOX[x] = s; INV_SBOX[s] = x;
  }
}
