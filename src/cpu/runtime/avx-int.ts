/**
 * The element-wise AVX/AVX2 integer and bitwise operations (VPADDx, VPSUBx,
 * saturating forms, VPAND/VPOR/VPXOR/VPANDN and their PS/PD twins,
 * VPCMPEQx, VPCMPGTx, VPMINxx, VPMAXxx, VPMULLW/VPMULLD, VPAVG*): dst[i] =
 * op(src1[i], src2[i]) over the whole 128- or 256-bit vector at once.
 * Element-wise operations do not care about lanes, so these skip the
 * per-lane lift onto the legacy handlers (avx.ts) that the other
 * operations use: a fast path for the instructions compiled AVX2 loops are
 * made of. Semantics: SDM Vol. 2, per mnemonic (as the legacy forms in
 * sse.ts/sse41.ts/sse42.ts, which the differential tests compare against the
 * host too).
 */
import { Mn, type Instruction } from '../decoder/types.js';
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
const SA = scratch(), SB = scratch();

/** VPADDQ/VPSUBQ on 64-bit elements. */
const Q_OPS = new Map<Mn, (a: bigint, b: bigint) => bigint>([
  [Mn.VPADDQ, (a, b) => a + b], [Mn.VPSUBQ, (a, b) => a - b],
]);

export function execAvxInt(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const op = OPS.get(insn.mn), q = op ? undefined : Q_OPS.get(insn.mn);
  if (!op && !q) return undefined;
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
