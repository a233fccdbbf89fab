/**
 * The SIMD helper module: wasm functions for the instructions that have no
 * wasm SIMD counterpart (AES rounds, carry-less multiplication, the SHA
 * round and message functions), built once per engine and reached by
 * translated blocks through the engine's helper table (block.ts HelperSlot:
 * slots SIMD_SLOT_BASE + SimdHelper.X), not through function imports (V8
 * compiles an import wrapper per importing module, docs/jit.md).
 *
 * Every function has the signature (d, a, b, x) -> () on absolute wasm
 * addresses of 16-byte values: d = the destination, a = the first source
 * (the legacy destination, or VEX.vvvv), b = the second source (XMM register
 * in the state block or a guest page through the TLB), x = the immediate
 * (or, for SHA256RNDS2, the address of XMM0). Every source is read before d
 * is written, so d may alias a or b.
 *
 * Tables (S-box, inverse S-box, the AES round T-tables, CRC-32C) are written
 * once into the JIT reserved area at SIMD_TABLES (state.ts map).
 *
 * Definitions: Intel SDM Vol. 2 (AESENC..AESKEYGENASSIST, PCLMULQDQ,
 * SHA1RNDS4..SHA256MSG2), FIPS 197 (AES), FIPS 180-4 (SHA); the executor
 * versions (runtime/aesni.ts, pclmul.ts, sha.ts) are the reference the
 * differential tests compare both with.
 */
import { FunctionBuilder, ModuleBuilder, type FuncType, type I32 } from '../wasm/builder.js';
import { SIMD_TABLES } from '../state.js';
import { gmul, INV_SBOX, SBOX } from '../runtime/aes-sbox.js';

/** The helper table slot of the first SIMD helper (after block.ts's FLAGS COND INTERP). */
export const SIMD_SLOT_BASE = 3;
export const SimdHelper = {
  AESENC: 0, AESENCLAST: 1, AESDEC: 2, AESDECLAST: 3, AESIMC: 4, AESKEYGENASSIST: 5, PCLMULQDQ: 6,
  SHA256RNDS2: 7, SHA256MSG1: 8, SHA256MSG2: 9, SHA1RNDS4: 10, SHA1NEXTE: 11, SHA1MSG1: 12, SHA1MSG2: 13,
} as const;
export type SimdHelper = (typeof SimdHelper)[keyof typeof SimdHelper];
export const SIMD_HELPER_COUNT = 14;
export const SIMD_HELPER_SIG: FuncType = { params: ['i32', 'i32', 'i32', 'i32'], results: [] };

/** Byte offsets of the tables at SIMD_TABLES. */
export const SimdTable = {
  /** AES S-box (256 bytes). */
  SBOX: 0x000,
  /** AES inverse S-box (256 bytes). */
  INV_SBOX: 0x100,
  /** u32 LE {2s, s, s, 3s} with s = SBOX[x]: SubBytes + one MixColumns column term (FIPS 197 §5.1.3). */
  TE0: 0x200,
  /** u32 LE {14i, 9i, 13i, 11i} with i = INV_SBOX[x]: InvSubBytes + one InvMixColumns term (§5.3.3). */
  TD0: 0x600,
  /**
   * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, SDM CRC32) slicing tables T0..T7, 1 KiB each, u32 LE:
   * T0 the byte table, Tk[x] = (Tk-1[x] >>> 8) ^ T0[Tk-1[x] & 0xff] (the CRC of x followed by k zero bytes).
   */
  CRC32C: 0xa00,
  END: 0x2a00,
} as const;

/** The table bytes (SimdTable layout). */
export function simdTableBytes(): Uint8Array {
  const out = new Uint8Array(SimdTable.END);
  const dv = new DataView(out.buffer);
  out.set(SBOX, SimdTable.SBOX);
  out.set(INV_SBOX, SimdTable.INV_SBOX);
  for (let x = 0; x < 256; x++) {
    const s = out[SimdTable.SBOX + x]!, i = out[SimdTable.INV_SBOX + x]!;
    dv.setUint32(SimdTable.TE0 + 4 * x, (gmul(s, 2) | (s << 8) | (s << 16) | (gmul(s, 3) << 24)) >>> 0, true);
    dv.setUint32(SimdTable.TD0 + 4 * x, (gmul(i, 14) | (gmul(i, 9) << 8) | (gmul(i, 13) << 16) | (gmul(i, 11) << 24)) >>> 0, true);
    let c = x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    dv.setUint32(SimdTable.CRC32C + 4 * x, c >>> 0, true);
  }
  for (let k = 1; k < 8; k++) {
    for (let x = 0; x < 256; x++) {
      const prev = dv.getUint32(SimdTable.CRC32C + 1024 * (k - 1) + 4 * x, true);
      dv.setUint32(SimdTable.CRC32C + 1024 * k + 4 * x, ((prev >>> 8) ^ dv.getUint32(SimdTable.CRC32C + 4 * (prev & 0xff), true)) >>> 0, true);
    }
  }
  return out;
}

const T = (t: number): number => SIMD_TABLES + t;

/** Push byte r (0..3) of the i32 in local w, as a table index scaled by `scale` (1 or 4). */
function byteIdx(fb: FunctionBuilder, w: I32, r: number, scale: 1 | 4): void {
  fb.get(w);
  if (r > 0) fb.i32Const(8 * r).i32ShrU();
  if (r < 3) fb.i32Const(0xff).i32And();
  if (scale === 4) fb.i32Const(2).i32Shl();
}

/**
 * AESENC / AESDEC (inverse = true) and their LAST forms (last = true): one
 * round on the state at a with the round key at b (SDM: ShiftRows,
 * SubBytes, MixColumns, AddRoundKey; the inverse steps for AESDEC). Byte i
 * of the register is state[row i % 4][column i / 4]; output column c takes
 * row r from column c + r (ShiftRows) or c - r (InvShiftRows).
 */
function genAesRound(fb: FunctionBuilder, inverse: boolean, last: boolean): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32');
  const s = [0, 1, 2, 3].map((c) => { const l = fb.local('i32'); fb.get(a).i32Load(4 * c).set(l); return l; });
  const k = [0, 1, 2, 3].map((c) => { const l = fb.local('i32'); fb.get(b).i32Load(4 * c).set(l); return l; });
  const out = [0, 1, 2, 3].map(() => fb.local('i32'));
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      const col = s[(inverse ? c - r + 4 : c + r) & 3]!;
      if (last) {
        byteIdx(fb, col, r, 1);
        fb.i32Load8U(T(inverse ? SimdTable.INV_SBOX : SimdTable.SBOX));
        if (r > 0) fb.i32Const(8 * r).i32Shl();
      } else {
        byteIdx(fb, col, r, 4);
        fb.i32Load(T(inverse ? SimdTable.TD0 : SimdTable.TE0));
        if (r > 0) fb.i32Const(8 * r).i32Rotl();
      }
      if (r > 0) fb.i32Xor();
    }
    fb.get(k[c]!).i32Xor().set(out[c]!);
  }
  for (let c = 0; c < 4; c++) fb.get(d).get(out[c]!).i32Store(4 * c);
}

/** AESIMC: InvMixColumns of b (TD0[SBOX[x]] is the InvMixColumns term of x alone). */
function genAesImc(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), b = fb.param(2, 'i32');
  const s = [0, 1, 2, 3].map((c) => { const l = fb.local('i32'); fb.get(b).i32Load(4 * c).set(l); return l; });
  const out = [0, 1, 2, 3].map(() => fb.local('i32'));
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      byteIdx(fb, s[c]!, r, 1);
      fb.i32Load8U(T(SimdTable.SBOX)).i32Const(2).i32Shl().i32Load(T(SimdTable.TD0));
      if (r > 0) fb.i32Const(8 * r).i32Rotl().i32Xor();
    }
    fb.set(out[c]!);
  }
  for (let c = 0; c < 4; c++) fb.get(d).get(out[c]!).i32Store(4 * c);
}

/** Push SubWord(w) (SBOX on each byte). */
function subWord(fb: FunctionBuilder, w: I32): void {
  for (let r = 0; r < 4; r++) {
    byteIdx(fb, w, r, 1);
    fb.i32Load8U(T(SimdTable.SBOX));
    if (r > 0) fb.i32Const(8 * r).i32Shl().i32Or();
  }
}

/** AESKEYGENASSIST: X1 = b[63:32], X3 = b[127:96]; {SubWord(X1), RotWord(SubWord(X1)) ^ RCON, SubWord(X3), ...} (RotWord = ROR 8). */
function genAesKeygen(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), b = fb.param(2, 'i32'), x = fb.param(3, 'i32');
  const x1 = fb.local('i32'), x3 = fb.local('i32'), rcon = fb.local('i32');
  fb.get(x).i32Const(0xff).i32And().set(rcon);
  fb.get(b).i32Load(4).set(x1);
  fb.get(b).i32Load(12).set(x3);
  subWord(fb, x1); fb.set(x1);
  subWord(fb, x3); fb.set(x3);
  fb.get(d).get(x1).i32Store(0);
  fb.get(d).get(x1).i32Const(8).i32Rotr().get(rcon).i32Xor().i32Store(4);
  fb.get(d).get(x3).i32Store(8);
  fb.get(d).get(x3).i32Const(8).i32Rotr().get(rcon).i32Xor().i32Store(12);
}

/**
 * PCLMULQDQ: a[imm8[0]] x b[imm8[4]] carry-less, 128-bit product at d. One
 * step per set bit of the multiplier (ctz finds the next): lo ^= A << i,
 * hi ^= A >> (64 - i), written as (A >> 1) >> (63 - i) so i = 0 adds nothing.
 */
function genPclmul(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32'), x = fb.param(3, 'i32');
  const A = fb.local('i64'), B = fb.local('i64'), lo = fb.local('i64'), hi = fb.local('i64'), i = fb.local('i64');
  fb.get(a).get(x).i32Const(1).i32And().i32Const(3).i32Shl().i32Add().i64Load(0).set(A);
  fb.get(b).get(x).i32Const(4).i32ShrU().i32Const(1).i32And().i32Const(3).i32Shl().i32Add().i64Load(0).set(B);
  const done = fb.block();
  const loop = fb.loop();
  fb.get(B).i64Eqz().brIf(done);
  fb.get(B).i64Ctz().set(i);
  fb.get(lo).get(A).get(i).i64Shl().i64Xor().set(lo);
  fb.get(hi).get(A).i64Const(1).i64ShrU().i64Const(63).get(i).i64Sub().i64ShrU().i64Xor().set(hi);
  fb.get(B).get(B).i64Const(1).i64Sub().i64And().set(B);
  fb.br(loop);
  fb.end();
  fb.end();
  fb.get(d).get(lo).i64Store(0);
  fb.get(d).get(hi).i64Store(8);
}

/** Dword lanes of a 16-byte value into fresh locals, index 0 = bits 31:0. */
function dwords(fb: FunctionBuilder, p: I32): I32[] {
  return [0, 1, 2, 3].map((i) => { const l = fb.local('i32'); fb.get(p).i32Load(4 * i).set(l); return l; });
}
function store4(fb: FunctionBuilder, d: I32, r: readonly I32[]): void {
  for (let i = 0; i < 4; i++) fb.get(d).get(r[i]!).i32Store(4 * i);
}
/** Push rotr(x, n1) ^ rotr(x, n2) ^ (third: rotr(x, n3), or x >> -n3 when n3 < 0). */
function sigma(fb: FunctionBuilder, x: I32, n1: number, n2: number, n3: number): void {
  fb.get(x).i32Const(n1).i32Rotr().get(x).i32Const(n2).i32Rotr().i32Xor();
  if (n3 > 0) fb.get(x).i32Const(n3).i32Rotr(); else fb.get(x).i32Const(-n3).i32ShrU();
  fb.i32Xor();
}

/** SHA256RNDS2: two rounds; SRC1 (a) = {C, D, G, H}, SRC2 (b) = {A, B, E, F} (high to low), x -> XMM0 = {.., WK1, WK0}. */
function genSha256Rnds2(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32'), x = fb.param(3, 'i32');
  const A = dwords(fb, a), B = dwords(fb, b);
  const wk0 = fb.local('i32'), wk1 = fb.local('i32');
  fb.get(x).i32Load(0).set(wk0); fb.get(x).i32Load(4).set(wk1);
  let va = B[3]!, vb = B[2]!, vc = A[3]!, vd = A[2]!, ve = B[1]!, vf = B[0]!, vg = A[1]!, vh = A[0]!;
  for (const wk of [wk0, wk1]) {
    const t1 = fb.local('i32'), t2 = fb.local('i32');
    // T1 = H + Σ1(E) + Ch(E, F, G) + WK; T2 = Σ0(A) + Maj(A, B, C)  (FIPS 180-4 §6.2.2)
    fb.get(vh); sigma(fb, ve, 6, 11, 25); fb.i32Add();
    fb.get(ve).get(vf).i32And().get(ve).i32Const(-1).i32Xor().get(vg).i32And().i32Xor().i32Add();
    fb.get(wk).i32Add().set(t1);
    sigma(fb, va, 2, 13, 22);
    fb.get(va).get(vb).i32And().get(va).get(vc).i32And().i32Xor().get(vb).get(vc).i32And().i32Xor().i32Add().set(t2);
    const ne = fb.local('i32'), na = fb.local('i32');
    fb.get(vd).get(t1).i32Add().set(ne);
    fb.get(t1).get(t2).i32Add().set(na);
    vh = vg; vg = vf; vf = ve; ve = ne; vd = vc; vc = vb; vb = va; va = na;
  }
  store4(fb, d, [vf, ve, vb, va]);
}

/** SHA256MSG1: W0..W3 = a, W4 = b[31:0]; d = {W3 + σ0(W4), W2 + σ0(W3), W1 + σ0(W2), W0 + σ0(W1)}. */
function genSha256Msg1(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32');
  const A = dwords(fb, a), w4 = fb.local('i32');
  fb.get(b).i32Load(0).set(w4);
  const next = [A[1]!, A[2]!, A[3]!, w4];
  const r = [0, 1, 2, 3].map((i) => { const l = fb.local('i32'); fb.get(A[i]!); sigma(fb, next[i]!, 7, 18, -3); fb.i32Add().set(l); return l; });
  store4(fb, d, r);
}

/** SHA256MSG2: W14 = b[95:64], W15 = b[127:96]; W16 = a0 + σ1(W14), W17 = a1 + σ1(W15), W18 = a2 + σ1(W16), W19 = a3 + σ1(W17). */
function genSha256Msg2(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32');
  const A = dwords(fb, a), w14 = fb.local('i32'), w15 = fb.local('i32');
  fb.get(b).i32Load(8).set(w14); fb.get(b).i32Load(12).set(w15);
  const w = [fb.local('i32'), fb.local('i32'), fb.local('i32'), fb.local('i32')];
  const src = [w14, w15, w[0]!, w[1]!];
  for (let i = 0; i < 4; i++) { fb.get(A[i]!); sigma(fb, src[i]!, 17, 19, -10); fb.i32Add().set(w[i]!); }
  store4(fb, d, w);
}

/** SHA1RNDS4: four rounds with f and K chosen by imm8[1:0]; a = {A, B, C, D} (high to low), b = {W0+E, W1, W2, W3}. */
function genSha1Rnds4(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32'), x = fb.param(3, 'i32');
  const A = dwords(fb, a), B = dwords(fb, b);
  const sel = fb.local('i32'), k = fb.local('i32');
  fb.get(x).i32Const(3).i32And().set(sel);
  // K per FIPS 180-4 §4.2.1: 0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6
  fb.i32Const(0xca62c1d6 | 0).i32Const(0x8f1bbcdc | 0).get(sel).i32Const(3).i32Eq().select();
  fb.i32Const(0x6ed9eba1).i32Const(0x5a827999).get(sel).i32Const(1).i32Eq().select();
  fb.get(sel).i32Const(2).i32GeU().select().set(k);
  let va = A[3]!, vb = A[2]!, vc = A[1]!, vd = A[0]!;
  let ve: I32 | undefined;
  const w = [B[3]!, B[2]!, B[1]!, B[0]!];
  for (let i = 0; i < 4; i++) {
    const t = fb.local('i32');
    // f (§4.1.1): Ch for 0, Maj for 2, Parity for 1 and 3
    fb.get(vb).get(vc).i32And().get(vb).i32Const(-1).i32Xor().get(vd).i32And().i32Xor();
    fb.get(vb).get(vc).i32And().get(vb).get(vd).i32And().i32Xor().get(vc).get(vd).i32And().i32Xor();
    fb.get(vb).get(vc).i32Xor().get(vd).i32Xor();
    fb.get(sel).i32Const(2).i32Eq().select(); // Maj or Parity
    fb.get(sel).i32Eqz().select(); // Ch when 0
    fb.get(va).i32Const(5).i32Rotl().i32Add().get(w[i]!).i32Add();
    if (ve) fb.get(ve).i32Add();
    fb.get(k).i32Add().set(t);
    const nc = fb.local('i32');
    fb.get(vb).i32Const(30).i32Rotl().set(nc);
    ve = vd; vd = vc; vc = nc; vb = va; va = t;
  }
  store4(fb, d, [vd, vc, vb, va]);
}

/** SHA1NEXTE: d = {b3 + ROL(a3, 30), b2, b1, b0}. */
function genSha1Nexte(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32');
  const B = dwords(fb, b), t = fb.local('i32');
  fb.get(a).i32Load(12).i32Const(30).i32Rotl().get(B[3]!).i32Add().set(t);
  store4(fb, d, [B[0]!, B[1]!, B[2]!, t]);
}

/** SHA1MSG1: d = {a1 ^ a3, a0 ^ a2, b3 ^ a1, b2 ^ a0} (high to low). */
function genSha1Msg1(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32');
  const A = dwords(fb, a), B = dwords(fb, b);
  const x = (p: I32, q: I32): I32 => { const l = fb.local('i32'); fb.get(p).get(q).i32Xor().set(l); return l; };
  store4(fb, d, [x(B[2]!, A[0]!), x(B[3]!, A[1]!), x(A[0]!, A[2]!), x(A[1]!, A[3]!)]);
}

/** SHA1MSG2: W16 = ROL(a3 ^ b2, 1), W17 = ROL(a2 ^ b1, 1), W18 = ROL(a1 ^ b0, 1), W19 = ROL(a0 ^ W16, 1); d = {W16, W17, W18, W19}. */
function genSha1Msg2(fb: FunctionBuilder): void {
  const d = fb.param(0, 'i32'), a = fb.param(1, 'i32'), b = fb.param(2, 'i32');
  const A = dwords(fb, a), B = dwords(fb, b);
  const x = (p: I32, q: I32): I32 => { const l = fb.local('i32'); fb.get(p).get(q).i32Xor().i32Const(1).i32Rotl().set(l); return l; };
  const w16 = x(A[3]!, B[2]!), w17 = x(A[2]!, B[1]!), w18 = x(A[1]!, B[0]!), w19 = x(A[0]!, w16);
  store4(fb, d, [w19, w18, w17, w16]);
}

/** The helper module's bytes: one exported function per SimdHelper, named by its key. */
export function buildSimdHelperModule(memPages: number): Uint8Array {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'mem', memPages, memPages, true);
  const gens: Record<keyof typeof SimdHelper, (fb: FunctionBuilder) => void> = {
    AESENC: (fb) => genAesRound(fb, false, false), AESENCLAST: (fb) => genAesRound(fb, false, true),
    AESDEC: (fb) => genAesRound(fb, true, false), AESDECLAST: (fb) => genAesRound(fb, true, true),
    AESIMC: genAesImc, AESKEYGENASSIST: genAesKeygen, PCLMULQDQ: genPclmul,
    SHA256RNDS2: genSha256Rnds2, SHA256MSG1: genSha256Msg1, SHA256MSG2: genSha256Msg2,
    SHA1RNDS4: genSha1Rnds4, SHA1NEXTE: genSha1Nexte, SHA1MSG1: genSha1Msg1, SHA1MSG2: genSha1Msg2,
  };
  for (const name of Object.keys(SimdHelper) as Array<keyof typeof SimdHelper>) {
    const { fb } = mb.func(SIMD_HELPER_SIG, name);
    gens[name](fb);
  }
  return mb.bytes();
}

/**
 * Write the tables into the reserved area and put the helpers into `table`
 * at SIMD_SLOT_BASE + SimdHelper.X (the engine calls this once).
 */
export function installSimdHelpers(table: WebAssembly.Table, memory: WebAssembly.Memory): void {
  const buf = memory.buffer as ArrayBuffer;
  new Uint8Array(buf).set(simdTableBytes(), SIMD_TABLES);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(buildSimdHelperModule(buf.byteLength / 65536)), { env: { mem: memory } });
  for (const [name, id] of Object.entries(SimdHelper)) table.set(SIMD_SLOT_BASE + id, inst.exports[name]);
}

