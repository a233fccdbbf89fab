/**
 * The VEX operations that are not a legacy SSE operation per lane: the
 * cross-lane moves and permutes of AVX/AVX2 (VBROADCAST*, VPBROADCAST*,
 * VINSERT/VEXTRACT F128/I128, VPERM2F128/I128, VPERMQ/PD/D/PS,
 * VPERMILPS/PD), VPBLENDD, VPBLENDVB/VBLENDVPS/PD (whole vector, for
 * speed), the variable shifts (VPSLLV/VPSRLV/VPSRAV),
 * masked moves (VMASKMOVPS/PD, VPMASKMOVD/Q), gathers, VPTEST/VTESTPS/PD
 * and VPMOVSX/ZX (whose 256-bit forms widen across lanes). Semantics per the
 * Intel SDM Vol. 2 page of each mnemonic.
 */
import { Mn, NO_REG, OpKind, type Instruction, type Operand } from '../decoder/types.js';
import { Exit } from '../translate/core.js';
import { F_CF, F_ZF } from '../translate/flags.js';
import { Access, VEC_UD } from './mmu.js';
import { effAddr, linAddr, linearOf } from './ops.js';
import { readLin, readVecOp, readYmm, vecBytes, writeLin, writeVecDest, writeYmm } from './avx.js';
import { setStatusFlags, simdFault, type SimdCtx } from './simd.js';

/** VPMOVSX/ZX: element bytes in and out, sign-extending. */
const PMOV = new Map<Mn, readonly [number, number, boolean]>([
  [Mn.VPMOVSXBW, [1, 2, true]], [Mn.VPMOVSXBD, [1, 4, true]], [Mn.VPMOVSXBQ, [1, 8, true]], [Mn.VPMOVSXWD, [2, 4, true]],
  [Mn.VPMOVSXWQ, [2, 8, true]], [Mn.VPMOVSXDQ, [4, 8, true]], [Mn.VPMOVZXBW, [1, 2, false]], [Mn.VPMOVZXBD, [1, 4, false]],
  [Mn.VPMOVZXBQ, [1, 8, false]], [Mn.VPMOVZXWD, [2, 4, false]], [Mn.VPMOVZXWQ, [2, 8, false]], [Mn.VPMOVZXDQ, [4, 8, false]],
]);

const GATHERS = new Map<Mn, number>([ // index element bytes
  [Mn.VPGATHERDD, 4], [Mn.VPGATHERDQ, 4], [Mn.VGATHERDPS, 4], [Mn.VGATHERDPD, 4],
  [Mn.VPGATHERQD, 8], [Mn.VPGATHERQQ, 8], [Mn.VGATHERQPS, 8], [Mn.VGATHERQPD, 8],
]);

function getEl(v: Uint8Array, i: number, esz: number): bigint {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return esz === 8 ? dv.getBigUint64(i * 8, true) : esz === 4 ? BigInt(dv.getUint32(i * 4, true))
    : esz === 2 ? BigInt(dv.getUint16(i * 2, true)) : BigInt(v[i]!);
}
function setEl(v: Uint8Array, i: number, esz: number, x: bigint): void {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  if (esz === 8) dv.setBigUint64(i * 8, BigInt.asUintN(64, x), true);
  else if (esz === 4) dv.setUint32(i * 4, Number(BigInt.asUintN(32, x)), true);
  else if (esz === 2) dv.setUint16(i * 2, Number(BigInt.asUintN(16, x)), true);
  else v[i] = Number(BigInt.asUintN(8, x));
}
const msb = (v: Uint8Array, i: number, esz: number): boolean => (v[i * esz + esz - 1]! & 0x80) !== 0;

export function execAvx2(ctx: SimdCtx, insn: Instruction, rip: bigint): number | undefined {
  const st = ctx.st, ops = insn.ops, o0 = ops[0]!, o1 = ops[1]!, o2 = ops[2]!;
  const mn = insn.mn;
  const pmov = PMOV.get(mn);
  if (pmov) {
    const [inB, outB, sx] = pmov;
    const bytes = vecBytes(o0), n = bytes / outB;
    const s = readVecOp(ctx, insn, o1, rip); if (!s) return Exit.EXCEPTION;
    const out = new Uint8Array(32);
    for (let i = 0; i < n; i++) {
      const v = getEl(s, i, inB);
      setEl(out, i, outB, sx ? BigInt.asIntN(inB * 8, v) : v);
    }
    writeYmm(st, o0.reg, out, bytes);
    return Exit.CONTINUE;
  }
  const gatherIdx = GATHERS.get(mn);
  if (gatherIdx !== undefined) return gather(ctx, insn, rip, gatherIdx);
  switch (mn) {
    case Mn.VBROADCASTSS: case Mn.VBROADCASTSD: case Mn.VPBROADCASTB: case Mn.VPBROADCASTW: case Mn.VPBROADCASTD:
    case Mn.VPBROADCASTQ: case Mn.VBROADCASTF128: case Mn.VBROADCASTI128: {
      const esz = mn === Mn.VPBROADCASTB ? 1 : mn === Mn.VPBROADCASTW ? 2 : mn === Mn.VBROADCASTSS || mn === Mn.VPBROADCASTD ? 4
        : mn === Mn.VBROADCASTF128 || mn === Mn.VBROADCASTI128 ? 16 : 8;
      const s = readVecOp(ctx, insn, o1, rip, o1.kind === OpKind.MEM ? esz : undefined); if (!s) return Exit.EXCEPTION;
      const bytes = vecBytes(o0), out = new Uint8Array(32);
      for (let i = 0; i < bytes; i += esz) out.set(s.subarray(0, esz), i);
      writeYmm(st, o0.reg, out, bytes);
      return Exit.CONTINUE;
    }
    case Mn.VINSERTF128: case Mn.VINSERTI128: { // dst = src1 with lane imm8[0] replaced by src2
      const a = readVecOp(ctx, insn, o1, rip), b = a && readVecOp(ctx, insn, o2, rip, 16); if (!a || !b) return Exit.EXCEPTION;
      a.set(b.subarray(0, 16), (ops[3]!.imm & 1) * 16);
      writeYmm(st, o0.reg, a, 32);
      return Exit.CONTINUE;
    }
    case Mn.VEXTRACTF128: case Mn.VEXTRACTI128: {
      const a = readYmm(st, o1.reg), lane = (o2.imm & 1) * 16;
      return writeVecDest(ctx, insn, o0, rip, a.slice(lane, lane + 16), 16);
    }
    case Mn.VPERM2F128: case Mn.VPERM2I128: { // SDM VPERM2F128: imm8[1:0]/[5:4] select, imm8[3]/[7] zero
      const a = readVecOp(ctx, insn, o1, rip), b = a && readVecOp(ctx, insn, o2, rip); if (!a || !b) return Exit.EXCEPTION;
      const imm = ops[3]!.imm, out = new Uint8Array(32);
      for (let half = 0; half < 2; half++) {
        const c = imm >> (4 * half);
        if (c & 8) continue;
        const srcv = c & 2 ? b : a, at = (c & 1) * 16;
        out.set(srcv.subarray(at, at + 16), half * 16);
      }
      writeYmm(st, o0.reg, out, 32);
      return Exit.CONTINUE;
    }
    case Mn.VPERMQ: case Mn.VPERMPD: { // dst[i] = src[imm8[2i+1:2i]]
      const s = readVecOp(ctx, insn, o1, rip); if (!s) return Exit.EXCEPTION;
      const out = new Uint8Array(32), imm = o2.imm;
      for (let i = 0; i < 4; i++) { const k = (imm >> (2 * i)) & 3; out.set(s.subarray(k * 8, k * 8 + 8), i * 8); }
      writeYmm(st, o0.reg, out, 32);
      return Exit.CONTINUE;
    }
    case Mn.VPERMD: case Mn.VPERMPS: { // indices in VEX.vvvv, data in r/m (SDM VPERMD)
      const idx = readVecOp(ctx, insn, o1, rip), s = idx && readVecOp(ctx, insn, o2, rip); if (!idx || !s) return Exit.EXCEPTION;
      const out = new Uint8Array(32);
      for (let i = 0; i < 8; i++) { const k = idx[i * 4]! & 7; out.set(s.subarray(k * 4, k * 4 + 4), i * 4); }
      writeYmm(st, o0.reg, out, 32);
      return Exit.CONTINUE;
    }
    case Mn.VPERMILPS: case Mn.VPERMILPD: { // within each lane; control from r/m (variable) or imm8
      const imm = insn.opCount === 3 && o2.kind === OpKind.IMM;
      const s = readVecOp(ctx, insn, o1, rip); if (!s) return Exit.EXCEPTION;
      const ctl = imm ? undefined : readVecOp(ctx, insn, o2, rip); if (!imm && !ctl) return Exit.EXCEPTION;
      const bytes = vecBytes(o0), out = new Uint8Array(32);
      const ps = mn === Mn.VPERMILPS, esz = ps ? 4 : 8, per = 16 / esz;
      for (let i = 0; i < bytes / esz; i++) {
        const lane = Math.floor(i / per) * per;
        let k: number;
        if (imm) k = ps ? (o2.imm >> (2 * (i % 4))) & 3 : (o2.imm >> i) & 1;
        else k = ps ? ctl![i * 4]! & 3 : (ctl![i * 8]! >> 1) & 1;
        out.set(s.subarray((lane + k) * esz, (lane + k) * esz + esz), i * esz);
      }
      writeYmm(st, o0.reg, out, bytes);
      return Exit.CONTINUE;
    }
    case Mn.VPBLENDD: {
      const a = readVecOp(ctx, insn, o1, rip), b = a && readVecOp(ctx, insn, o2, rip); if (!a || !b) return Exit.EXCEPTION;
      const bytes = vecBytes(o0), imm = ops[3]!.imm;
      for (let i = 0; i < bytes / 4; i++) if ((imm >> i) & 1) a.set(b.subarray(i * 4, i * 4 + 4), i * 4);
      writeYmm(st, o0.reg, a, bytes);
      return Exit.CONTINUE;
    }
    case Mn.VPSLLVD: case Mn.VPSLLVQ: case Mn.VPSRLVD: case Mn.VPSRLVQ: case Mn.VPSRAVD: {
      // Counts per element, unsigned: >= the width gives 0 (VPSRAVD: the sign) (SDM VPSLLVD/VPSRLVD/VPSRAVD).
      const a = readVecOp(ctx, insn, o1, rip), b = a && readVecOp(ctx, insn, o2, rip); if (!a || !b) return Exit.EXCEPTION;
      const bytes = vecBytes(o0);
      if (mn === Mn.VPSLLVQ || mn === Mn.VPSRLVQ) {
        const A = new BigUint64Array(a.buffer), B = new BigUint64Array(b.buffer);
        for (let i = 0; i < bytes >> 3; i++) {
          const c = B[i]!;
          A[i] = c >= 64n ? 0n : mn === Mn.VPSLLVQ ? BigInt.asUintN(64, A[i]! << c) : A[i]! >> c;
        }
      } else {
        const A = new Uint32Array(a.buffer), I = new Int32Array(a.buffer), B = new Uint32Array(b.buffer);
        for (let i = 0; i < bytes >> 2; i++) {
          const c = B[i]!;
          if (mn === Mn.VPSRAVD) I[i] = I[i]! >> (c > 31 ? 31 : c);
          else A[i] = c > 31 ? 0 : mn === Mn.VPSLLVD ? A[i]! << c : A[i]! >>> c;
        }
      }
      writeYmm(st, o0.reg, a, bytes);
      return Exit.CONTINUE;
    }
    case Mn.VPBLENDVB: case Mn.VBLENDVPS: case Mn.VBLENDVPD: { // element from src2 where the mask element's top bit is set
      const a = readVecOp(ctx, insn, o1, rip), b = a && readVecOp(ctx, insn, o2, rip); if (!a || !b) return Exit.EXCEPTION;
      const m = readYmm(st, ops[3]!.reg), bytes = vecBytes(o0);
      const esz = mn === Mn.VPBLENDVB ? 1 : mn === Mn.VBLENDVPS ? 4 : 8;
      for (let i = 0; i < bytes; i += esz) if (m[i + esz - 1]! & 0x80) for (let k = 0; k < esz; k++) a[i + k] = b[i + k]!;
      writeYmm(st, o0.reg, a, bytes);
      return Exit.CONTINUE;
    }
    case Mn.VPTEST: case Mn.VTESTPS: case Mn.VTESTPD: { // ZF: (src AND dst) == 0; CF: (src AND NOT dst) == 0
      const a = readYmm(st, o0.reg), b = readVecOp(ctx, insn, o1, rip); if (!b) return Exit.EXCEPTION;
      const bytes = vecBytes(o0), esz = mn === Mn.VTESTPS ? 4 : mn === Mn.VTESTPD ? 8 : 1;
      let z = true, c = true;
      for (let i = 0; i < bytes; i++) {
        const m = esz === 1 || i % esz === esz - 1 ? (esz === 1 ? 0xff : 0x80) : 0;
        if (b[i]! & a[i]! & m) z = false;
        if (b[i]! & ~a[i]! & m) c = false;
      }
      setStatusFlags(ctx, (z ? F_ZF : 0) | (c ? F_CF : 0));
      return Exit.CONTINUE;
    }
    case Mn.VMASKMOVPS: case Mn.VMASKMOVPD: case Mn.VPMASKMOVD: case Mn.VPMASKMOVQ: {
      const esz = mn === Mn.VMASKMOVPS || mn === Mn.VPMASKMOVD ? 4 : 8;
      const mask = readYmm(st, o1.reg), bytes = vecBytes(o1);
      if (o0.kind === OpKind.MEM) { // store: only the selected elements are accessed (SDM VMASKMOV "Faults occur only ...")
        const lin = linAddr(ctx, insn, o0, rip), v = readYmm(st, o2.reg);
        for (let i = 0; i < bytes / esz; i++) {
          if (msb(mask, i, esz) && ctx.mmu.translate(lin + BigInt(i * esz), Access.WRITE, ctx.cpl) < 0) return Exit.EXCEPTION;
          if (msb(mask, i, esz) && ctx.mmu.translate(lin + BigInt(i * esz + esz - 1), Access.WRITE, ctx.cpl) < 0) return Exit.EXCEPTION;
        }
        for (let i = 0; i < bytes / esz; i++) {
          if (msb(mask, i, esz) && !writeLin(ctx, lin + BigInt(i * esz), esz, v, i * esz)) return Exit.EXCEPTION;
        }
        return Exit.CONTINUE;
      }
      const lin = linAddr(ctx, insn, o2, rip), out = new Uint8Array(32);
      for (let i = 0; i < bytes / esz; i++) {
        if (msb(mask, i, esz) && !readLin(ctx, lin + BigInt(i * esz), esz, out, i * esz)) return Exit.EXCEPTION;
      }
      writeYmm(st, o0.reg, out, bytes);
      return Exit.CONTINUE;
    }
    default: return undefined;
  }
}

/**
 * VGATHERxxx and VPGATHERxxx (SDM "VPGATHERDD"): for each element whose mask
 * element has its top bit set, load it from base + index[i] * scale + disp
 * and clear that mask element, in element order, so a fault leaves the
 * completed elements loaded and their mask cleared. At the end the whole
 * mask register is zero; elements past the index vector and bits 255:128
 * of VEX.128 forms are zeroed. #UD when any two of destination, index and
 * mask are the same register.
 */
function gather(ctx: SimdCtx, insn: Instruction, rip: bigint, idxBytes: number): number {
  const st = ctx.st, dst = insn.ops[0]!, mem = insn.ops[1]!, maskOp = insn.ops[2]!;
  if (dst.reg === maskOp.reg || dst.reg === mem.index || maskOp.reg === mem.index) return simdFault(ctx, VEC_UD);
  const esz = mem.size, bytes = vecBytes(dst), count = mem.vsib / idxBytes;
  const idx = readYmm(st, mem.index), out = readYmm(st, dst.reg), mask = readYmm(st, maskOp.reg);
  const noIndex: Operand = Object.assign(Object.create(Object.getPrototypeOf(mem) as object) as Operand, mem, { index: NO_REG });
  const base = effAddr(st, noIndex, rip + BigInt(insn.length));
  const maskBytes = vecBytes(maskOp);
  for (let i = 0; i < count; i++) {
    if (!msb(mask, i, esz)) continue;
    const ix = BigInt.asIntN(idxBytes * 8, getEl(idx, i, idxBytes));
    const lin = linearOf(st, ctx.mode, mem.seg, BigInt.asUintN(mem.addrSize, base + ix * BigInt(mem.scale)));
    if (!readLin(ctx, lin, esz, out, i * esz)) { // partial progress stays architectural
      writeYmm(st, dst.reg, out, bytes); writeYmm(st, maskOp.reg, mask, maskBytes);
      return Exit.EXCEPTION;
    }
    setEl(mask, i, esz, 0n);
  }
  out.fill(0, count * esz);
  writeYmm(st, dst.reg, out, bytes);
  writeYmm(st, maskOp.reg, new Uint8Array(32), maskBytes);
  return Exit.CONTINUE;
}
