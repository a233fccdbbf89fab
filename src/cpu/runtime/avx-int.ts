/**
 * The element-wise AVX/AVX2 integer and bitwise operations (VPADDx, VPSUBx,
 * saturating forms, VPAND/VPOR/VPXOR/VPANDN and their PS/PD twins,
 * VPCMPEQx, VPCMPGTx, VPMINxx, VPMAXxx, VPMULLW/VPMULLD, VPAVG*): dst[i] =
 * op(src1[i], src2[i]) over the whole 128- or 256-bit vector at once.
 * Element-wise operations do not care about lanes, so these skip the
 * per-lane lift onto the legacy handlers (avx.ts) that the other
 * operations use: a fast path for the instructions compiled AVX2 loops are
 * made of; likewise the in-lane permutes and shifts that such loops use
 * most (VPSHUFB, VPUNPCK*, VPSHUFD/LW/HW, VPALIGNR, VPSLLDQ/VPSRLDQ, the
 * shifts by immediate or XMM count). Semantics: SDM Vol. 2, per mnemonic (as the legacy forms in
 * sse.ts/sse41.ts/sse42.ts, which the differential tests compare against the
 * host too).
 */
import { Mn, OpKind, type Instruction } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { readVecInto, vecBytes, writeYmm } from './avx.js';
import type { SimdCtx } from './simd.js';

type Lanes = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32';
type Op = readonly [Lanes, (a: number, b: number) => number];

const sat = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

const OPS = new Map<Mn, Op>([
  [Mn.VPADDB, ['u8', (a, b) => a + b]], [Mn.VPADDW, ['u16', (a, b) => a + b]], [Mn.VPADDD, ['u32', (a, b) => a + b]],
  [Mn.VPSUBB, ['u8', (a, b) => a - b]], [Mn.VPSUBW, ['u16', (a, b) => a - b]], [Mn.VPSUBD, ['u32', (a, b) => a - b]],
  [Mn.VPADDUSB, ['u8', (a, b) => sat(a + b, 0, 255)]], [Mn.VPADDUSW, ['u16', (a, b) => sat(a + b, 0, 65535)]],
  [Mn.VPSUBUSB, ['u8', (a, b) => sat(a - b, 0, 255)]], [Mn.VPSUBUSW, ['u16', (a, b) => sat(a - b, 0, 65535)]],
  [Mn.VPADDSB, ['i8', (a, b) => sat(a + b, -128, 127)]], [Mn.VPADDSW, ['i16', (a, b) => sat(a + b, -32768, 32767)]],
  [Mn.VPSUBSB, ['i8', (a, b) => sat(a - b, -128, 127)]], [Mn.VPSUBSW, ['i16', (a, b) => sat(a - b, -32768, 32767)]],
  [Mn.VPAND, ['u32', (a, b) => a & b]], [Mn.VANDPS, ['u32', (a, b) => a & b]], [Mn.VANDPD, ['u32', (a, b) => a & b]],
  [Mn.VPOR, ['u32', (a, b) => a | b]], [Mn.VORPS, ['u32', (a, b) => a | b]], [Mn.VORPD, ['u32', (a, b) => a | b]],
  [Mn.VPXOR, ['u32', (a, b) => a ^ b]], [Mn.VXORPS, ['u32', (a, b) => a ^ b]], [Mn.VXORPD, ['u32', (a, b) => a ^ b]],
  [Mn.VPANDN, ['u32', (a, b) => ~a & b]], [Mn.VANDNPS, ['u32', (a, b) => ~a & b]], [Mn.VANDNPD, ['u32', (a, b) => ~a & b]],
  [Mn.VPCMPEQB, ['u8', (a, b) => (a === b ? 0xff : 0)]], [Mn.VPCMPEQW, ['u16', (a, b) => (a === b ? 0xffff : 0)]],
  [Mn.VPCMPEQD, ['u32', (a, b) => (a === b ? 0xffffffff : 0)]],
  [Mn.VPCMPGTB, ['i8', (a, b) => (a > b ? -1 : 0)]], [Mn.VPCMPGTW, ['i16', (a, b) => (a > b ? -1 : 0)]],
  [Mn.VPCMPGTD, ['i32', (a, b) => (a > b ? -1 : 0)]],
  [Mn.VPMINUB, ['u8', Math.min]], [Mn.VPMAXUB, ['u8', Math.max]], [Mn.VPMINSW, ['i16', Math.min]], [Mn.VPMAXSW, ['i16', Math.max]],
  [Mn.VPMINSB, ['i8', Math.min]], [Mn.VPMAXSB, ['i8', Math.max]], [Mn.VPMINUW, ['u16', Math.min]], [Mn.VPMAXUW, ['u16', Math.max]],
  [Mn.VPMINSD, ['i32', Math.min]], [Mn.VPMAXSD, ['i32', Math.max]], [Mn.VPMINUD, ['u32', Math.min]], [Mn.VPMAXUD, ['u32', Math.max]],
  [Mn.VPAVGB, ['u8', (a, b) => (a + b + 1) >> 1]], [Mn.VPAVGW, ['u16', (a, b) => (a + b + 1) >> 1]],
  [Mn.VPMULLW, ['i16', (a, b) => Math.imul(a, b)]], [Mn.VPMULLD, ['i32', (a, b) => Math.imul(a, b)]],
]);

type View = { [i: number]: number; readonly length: number };
interface Scratch { readonly u8: Uint8Array; readonly views: Readonly<Record<Lanes, View>>; readonly q: BigUint64Array }
function scratch(): Scratch {
  const b = new ArrayBuffer(32), u8 = new Uint8Array(b);
  return {
    u8, q: new BigUint64Array(b),
    views: { u8, i8: new Int8Array(b), u16: new Uint16Array(b), i16: new Int16Array(b), u32: new Uint32Array(b), i32: new Int32Array(b) },
  };
}
/** The two operands' buffers, with every element view made once (typed-array creation per call dominated). */
const SA = scratch(), SB = scratch(), SO = scratch();

/** VPADDQ/VPSUBQ on 64-bit elements. */
const Q_OPS = new Map<Mn, (a: bigint, b: bigint) => bigint>([
  [Mn.VPADDQ, (a, b) => a + b], [Mn.VPSUBQ, (a, b) => a - b],
  [Mn.VPCMPEQQ, (a, b) => (a === b ? -1n : 0n)], [Mn.VPCMPGTQ, (a, b) => (BigInt.asIntN(64, a) > BigInt.asIntN(64, b) ? -1n : 0n)],
]);

export function execAvxInt(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const op = OPS.get(insn.mn), q = op ? undefined : Q_OPS.get(insn.mn);
  if (!op && !q) return execAvxLanes(ctx, insn, rip);
  const dst = insn.ops[0]!;
  if (!readVecInto(ctx, insn, insn.ops[1]!, rip, SA.u8) || !readVecInto(ctx, insn, insn.ops[2]!, rip, SB.u8)) return Exit.EXCEPTION;
  const bytes = vecBytes(dst);
  if (op) {
    const A = SA.views[op[0]], B = SB.views[op[0]], f = op[1];
    const n = (A.length * bytes) >> 5;
    for (let i = 0; i < n; i++) A[i] = f(A[i]!, B[i]!);
  } else {
    const A = SA.q, B = SB.q;
    for (let i = 0; i < bytes >> 3; i++) A[i] = BigInt.asUintN(64, q!(A[i]!, B[i]!));
  }
  writeYmm(ctx.st, dst.reg, SA.u8, bytes);
  return Exit.CONTINUE;
}

// ---- in-lane permutes and shifts, written over the whole vector ------------------------------------

/** Unpacks: element bytes and whether the high halves of each lane are interleaved (SDM PUNPCKLBW, UNPCKLPS...). */
const UNPACK = new Map<Mn, readonly [number, boolean]>([
  [Mn.VPUNPCKLBW, [1, false]], [Mn.VPUNPCKLWD, [2, false]], [Mn.VPUNPCKLDQ, [4, false]], [Mn.VPUNPCKLQDQ, [8, false]],
  [Mn.VPUNPCKHBW, [1, true]], [Mn.VPUNPCKHWD, [2, true]], [Mn.VPUNPCKHDQ, [4, true]], [Mn.VPUNPCKHQDQ, [8, true]],
  [Mn.VUNPCKLPS, [4, false]], [Mn.VUNPCKLPD, [8, false]], [Mn.VUNPCKHPS, [4, true]], [Mn.VUNPCKHPD, [8, true]],
]);

/** Shifts: element bits, left, arithmetic (SDM PSLLW/PSRLW/PSRAW...: counts above the width give 0 or the sign). */
const SHIFTS = new Map<Mn, readonly [16 | 32 | 64, boolean, boolean]>([
  [Mn.VPSLLW, [16, true, false]], [Mn.VPSLLD, [32, true, false]], [Mn.VPSLLQ, [64, true, false]],
  [Mn.VPSRLW, [16, false, false]], [Mn.VPSRLD, [32, false, false]], [Mn.VPSRLQ, [64, false, false]],
  [Mn.VPSRAW, [16, false, true]], [Mn.VPSRAD, [32, false, true]],
]);

function shiftAll(A: Scratch, O: Scratch, bytes: number, bits: 16 | 32 | 64, left: boolean, arith: boolean, count: bigint): void {
  if (bits === 64) {
    for (let i = 0; i < bytes >> 3; i++) {
      const v = A.q[i]!;
      O.q[i] = count >= 64n ? 0n : left ? BigInt.asUintN(64, v << count) : v >> count;
    }
    return;
  }
  const n = bytes / (bits / 8);
  const src = arith ? A.views[bits === 16 ? 'i16' : 'i32'] : A.views[bits === 16 ? 'u16' : 'u32'];
  const dst = O.views[bits === 16 ? 'u16' : 'u32'];
  const c = count >= BigInt(bits) ? bits : Number(count);
  for (let i = 0; i < n; i++) {
    const v = src[i]!;
    if (arith) dst[i] = c >= bits ? v >> (bits - 1) : v >> c;
    else if (c >= bits) dst[i] = 0;
    else dst[i] = left ? v << c : bits === 32 ? v >>> c : v >> c;
  }
}

function execAvxLanes(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const mn = insn.mn, ops = insn.ops, dst = ops[0]!;
  const unpack = UNPACK.get(mn), shift = SHIFTS.get(mn);
  if (!unpack && !shift && mn !== Mn.VPSHUFB && mn !== Mn.VPSHUFD && mn !== Mn.VPSHUFLW && mn !== Mn.VPSHUFHW &&
    mn !== Mn.VPALIGNR && mn !== Mn.VPSLLDQ && mn !== Mn.VPSRLDQ) return execAvxMul(ctx, insn, rip);
  const bytes = vecBytes(dst), lanes = bytes >> 4;
  const a = SA.u8, b = SB.u8, o = SO.u8;
  o.fill(0);
  if (shift) {
    const [bits, left, arith] = shift;
    if (ops[2]!.kind === OpKind.IMM) { // VEX.vvvv destination, r/m source, imm8 count
      if (!readVecInto(ctx, insn, ops[1]!, rip, a)) return Exit.EXCEPTION;
      shiftAll(SA, SO, bytes, bits, left, arith, BigInt(ops[2]!.imm & 0xff));
    } else { // count: bits 63:0 of an XMM register or m128, the same for every element
      if (!readVecInto(ctx, insn, ops[1]!, rip, a) || !readVecInto(ctx, insn, ops[2]!, rip, b)) return Exit.EXCEPTION;
      shiftAll(SA, SO, bytes, bits, left, arith, SB.q[0]!);
    }
    writeYmm(ctx.st, dst.reg, o, bytes);
    return Exit.CONTINUE;
  }
  if (mn === Mn.VPSLLDQ || mn === Mn.VPSRLDQ) { // per lane byte shifts (Hx,Ux,Ib)
    if (!readVecInto(ctx, insn, ops[1]!, rip, a)) return Exit.EXCEPTION;
    const n = Math.min(ops[2]!.imm & 0xff, 16);
    for (let l = 0; l < lanes; l++) {
      for (let i = 0; i < 16; i++) {
        const k = mn === Mn.VPSLLDQ ? i - n : i + n;
        o[l * 16 + i] = k >= 0 && k < 16 ? a[l * 16 + k]! : 0;
      }
    }
    writeYmm(ctx.st, dst.reg, o, bytes);
    return Exit.CONTINUE;
  }
  if (mn === Mn.VPSHUFD || mn === Mn.VPSHUFLW || mn === Mn.VPSHUFHW) { // Vx,Wx,Ib
    if (!readVecInto(ctx, insn, ops[1]!, rip, a)) return Exit.EXCEPTION;
    const imm = ops[2]!.imm & 0xff;
    if (mn === Mn.VPSHUFD) {
      const S32 = SA.views.u32, O32 = SO.views.u32;
      for (let i = 0; i < bytes >> 2; i++) O32[i] = S32[(i & ~3) + ((imm >> (2 * (i & 3))) & 3)]!;
    } else {
      const S16 = SA.views.u16, O16 = SO.views.u16, hi = mn === Mn.VPSHUFHW ? 4 : 0;
      for (let i = 0; i < bytes >> 1; i++) {
        const lane = i & ~7, w = i & 7;
        O16[i] = w >= hi && w < hi + 4 ? S16[lane + hi + ((imm >> (2 * (w - hi))) & 3)]! : S16[i]!;
      }
    }
    writeYmm(ctx.st, dst.reg, o, bytes);
    return Exit.CONTINUE;
  }
  // Vx,Hx,Wx[,Ib]: src1 = VEX.vvvv, src2 = r/m
  if (!readVecInto(ctx, insn, ops[1]!, rip, a) || !readVecInto(ctx, insn, ops[2]!, rip, b)) return Exit.EXCEPTION;
  if (unpack) {
    const [w, high] = unpack, base = high ? 8 : 0;
    for (let l = 0; l < lanes; l++) {
      const L = l * 16;
      for (let i = 0; i < 8 / w; i++) {
        for (let k = 0; k < w; k++) {
          o[L + 2 * i * w + k] = a[L + base + i * w + k]!;
          o[L + 2 * i * w + w + k] = b[L + base + i * w + k]!;
        }
      }
    }
  } else if (mn === Mn.VPSHUFB) { // SDM PSHUFB: index bits 3:0 within the lane, bit 7 zeroes
    for (let i = 0; i < bytes; i++) { const c = b[i]!; o[i] = c & 0x80 ? 0 : a[(i & ~15) + (c & 15)]!; }
  } else { // VPALIGNR: per lane, (src1:src2) >> imm8 bytes
    const n = ops[3]!.imm & 0xff;
    for (let l = 0; l < lanes; l++) {
      for (let i = 0; i < 16; i++) {
        const k = i + n;
        o[l * 16 + i] = k < 16 ? b[l * 16 + k]! : k < 32 ? a[l * 16 + k - 16]! : 0;
      }
    }
  }
  writeYmm(ctx.st, dst.reg, o, bytes);
  return Exit.CONTINUE;
}

// ---- multiplies, packs, immediate blends and shuffles, PABS/PSIGN over the whole vector ----------------

const sat16 = (v: number): number => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

const MUL_FORMS = new Set<Mn>([Mn.VPMADDWD, Mn.VPMULUDQ, Mn.VPMULDQ, Mn.VPMULHW, Mn.VPMULHUW, Mn.VPMULHRSW, Mn.VPMADDUBSW,
  Mn.VPSADBW, Mn.VPACKSSWB, Mn.VPACKUSWB, Mn.VPACKSSDW, Mn.VPACKUSDW, Mn.VPBLENDW, Mn.VBLENDPS, Mn.VBLENDPD, Mn.VSHUFPS,
  Mn.VSHUFPD, Mn.VPSIGNB, Mn.VPSIGNW, Mn.VPSIGND, Mn.VPABSB, Mn.VPABSW, Mn.VPABSD]);

function execAvxMul(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const mn = insn.mn, ops = insn.ops, dst = ops[0]!;
  if (!MUL_FORMS.has(mn)) return undefined;
  const bytes = vecBytes(dst), lanes = bytes >> 4;
  const A = SA.views, B = SB.views, O = SO.views;
  SO.u8.fill(0);
  if (mn === Mn.VPABSB || mn === Mn.VPABSW || mn === Mn.VPABSD) { // Vx,Wx
    if (!readVecInto(ctx, insn, ops[1]!, rip, SA.u8)) return Exit.EXCEPTION;
    const [src, out] = mn === Mn.VPABSB ? [A.i8, O.u8] : mn === Mn.VPABSW ? [A.i16, O.u16] : [A.i32, O.u32];
    const n = (src.length * bytes) >> 5;
    for (let i = 0; i < n; i++) out[i] = Math.abs(src[i]!);
    writeYmm(ctx.st, dst.reg, SO.u8, bytes);
    return Exit.CONTINUE;
  }
  if (!readVecInto(ctx, insn, ops[1]!, rip, SA.u8) || !readVecInto(ctx, insn, ops[2]!, rip, SB.u8)) return Exit.EXCEPTION;
  const imm = insn.opCount > 3 ? ops[3]!.imm & 0xff : 0;
  switch (mn) {
    case Mn.VPMADDWD: for (let i = 0; i < bytes >> 2; i++) O.i32[i] = A.i16[2 * i]! * B.i16[2 * i]! + A.i16[2 * i + 1]! * B.i16[2 * i + 1]!; break;
    case Mn.VPMADDUBSW: // unsigned bytes of src1 times signed bytes of src2, pairs added with signed saturation
      for (let i = 0; i < bytes >> 1; i++) O.i16[i] = sat16(A.u8[2 * i]! * B.i8[2 * i]! + A.u8[2 * i + 1]! * B.i8[2 * i + 1]!);
      break;
    case Mn.VPMULUDQ: case Mn.VPMULDQ: {
      const sx = mn === Mn.VPMULDQ;
      for (let i = 0; i < bytes >> 3; i++) {
        const x = sx ? BigInt(A.i32[2 * i]!) : BigInt(A.u32[2 * i]!), y = sx ? BigInt(B.i32[2 * i]!) : BigInt(B.u32[2 * i]!);
        SO.q[i] = BigInt.asUintN(64, x * y);
      }
      break;
    }
    case Mn.VPMULHW: for (let i = 0; i < bytes >> 1; i++) O.i16[i] = (A.i16[i]! * B.i16[i]!) >> 16; break;
    case Mn.VPMULHUW: for (let i = 0; i < bytes >> 1; i++) O.u16[i] = (A.u16[i]! * B.u16[i]!) >>> 16; break;
    case Mn.VPMULHRSW: for (let i = 0; i < bytes >> 1; i++) O.i16[i] = (((A.i16[i]! * B.i16[i]!) >> 14) + 1) >> 1; break;
    case Mn.VPSADBW:
      for (let g = 0; g < bytes >> 3; g++) {
        let sum = 0;
        for (let k = 0; k < 8; k++) sum += Math.abs(A.u8[g * 8 + k]! - B.u8[g * 8 + k]!);
        O.u16[g * 4] = sum;
      }
      break;
    case Mn.VPSIGNB: case Mn.VPSIGNW: case Mn.VPSIGND: {
      const [x, y, out] = mn === Mn.VPSIGNB ? [A.i8, B.i8, O.i8] : mn === Mn.VPSIGNW ? [A.i16, B.i16, O.i16] : [A.i32, B.i32, O.i32];
      const n = (x.length * bytes) >> 5;
      for (let i = 0; i < n; i++) { const c = y[i]!; out[i] = c < 0 ? -x[i]! : c === 0 ? 0 : x[i]!; }
      break;
    }
    case Mn.VPACKSSWB: case Mn.VPACKUSWB: { // per lane: 8 words of src1 then 8 of src2, saturated to bytes
      const lo = mn === Mn.VPACKUSWB ? 0 : -128, hi = mn === Mn.VPACKUSWB ? 255 : 127;
      for (let l = 0; l < lanes; l++) {
        for (let i = 0; i < 8; i++) {
          const x = A.i16[l * 8 + i]!, y = B.i16[l * 8 + i]!;
          O.u8[l * 16 + i] = (x < lo ? lo : x > hi ? hi : x) & 0xff;
          O.u8[l * 16 + 8 + i] = (y < lo ? lo : y > hi ? hi : y) & 0xff;
        }
      }
      break;
    }
    case Mn.VPACKSSDW: case Mn.VPACKUSDW: { // per lane: 4 dwords of src1 then 4 of src2, saturated to words
      const lo = mn === Mn.VPACKUSDW ? 0 : -32768, hi = mn === Mn.VPACKUSDW ? 65535 : 32767;
      for (let l = 0; l < lanes; l++) {
        for (let i = 0; i < 4; i++) {
          const x = A.i32[l * 4 + i]!, y = B.i32[l * 4 + i]!;
          O.u16[l * 8 + i] = (x < lo ? lo : x > hi ? hi : x) & 0xffff;
          O.u16[l * 8 + 4 + i] = (y < lo ? lo : y > hi ? hi : y) & 0xffff;
        }
      }
      break;
    }
    case Mn.VPBLENDW: for (let i = 0; i < bytes >> 1; i++) O.u16[i] = (imm >> (i & 7)) & 1 ? B.u16[i]! : A.u16[i]!; break;
    case Mn.VBLENDPS: for (let i = 0; i < bytes >> 2; i++) O.u32[i] = (imm >> i) & 1 ? B.u32[i]! : A.u32[i]!; break;
    case Mn.VBLENDPD: for (let i = 0; i < bytes >> 3; i++) SO.q[i] = (imm >> i) & 1 ? SB.q[i]! : SA.q[i]!; break;
    case Mn.VSHUFPS: // per lane: two elements of src1, two of src2, chosen by the same imm8
      for (let l = 0; l < lanes; l++) {
        const L = l * 4;
        O.u32[L] = A.u32[L + (imm & 3)]!; O.u32[L + 1] = A.u32[L + ((imm >> 2) & 3)]!;
        O.u32[L + 2] = B.u32[L + ((imm >> 4) & 3)]!; O.u32[L + 3] = B.u32[L + ((imm >> 6) & 3)]!;
      }
      break;
    default: // VSHUFPD: element 2l from src1, 2l+1 from src2, one imm8 bit each
      for (let l = 0; l < lanes; l++) {
        SO.q[2 * l] = SA.q[2 * l + ((imm >> (2 * l)) & 1)]!;
        SO.q[2 * l + 1] = SB.q[2 * l + ((imm >> (2 * l + 1)) & 1)]!;
      }
  }
  writeYmm(ctx.st, dst.reg, SO.u8, bytes);
  return Exit.CONTINUE;
}
