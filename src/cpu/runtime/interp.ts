/**
 * The TypeScript executor: semantics of every instruction the translator does
 * not inline (and of every instruction outside 64-bit mode). Called from
 * translated code through the `interp` import with the state in memory; it
 * returns an exit code (translate/core.ts Exit). Semantics per SDM Vol. 2;
 * undefined flags follow the host (Intel) where tests pin them.
 */
import {
  ATTR_AVX, ATTR_MMX, ATTR_PRIVILEGED, ATTR_REP, ATTR_REPCC, ATTR_SSE, ATTR_X87, Flow, Mn, OpKind, RegClass, type Instruction, type Operand,
} from '../decoder/types.js';
import { relTarget } from '../decoder/decoder.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, S } from '../state.js';
import { Exit } from '../translate/core.js';
import { arithFlags, condFromFlags, F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, FlKind, flOp, STATUS_FLAGS } from '../translate/flags.js';
import { VEC_BP, VEC_DE, VEC_GP, VEC_NM, VEC_OF, VEC_UD } from './mmu.js';
import {
  immValue, linAddr, M64, MASK, peek, pop, push, readOp, regGet, setGprSized, signExtend, trunc, writeOp, type OpCtx,
} from './ops.js';
import { execAvx } from './avx.js';
import { execBitmanip } from './bitmanip.js';
import { execSimd } from './simd.js';
import { execSse } from './sse.js';
import { execXsave } from './xsave.js';
import type { SystemOps } from './system-ops.js';

export type Status = number;

const IF_MASK = 1n << 9n, DF_MASK = 1n << 10n;

export function setLazy(ctx: OpCtx, kind: FlKind, size: number, a: bigint, b: bigint, res: bigint, aux = 0): void {
  const st = ctx.st;
  st.setU32(S.FL_OP, flOp(kind, size));
  st.setU32(S.FL_AUX, aux);
  st.setU64(S.FL_A, a); st.setU64(S.FL_B, b); st.setU64(S.FL_RES, res);
}
export function statusFlags(ctx: OpCtx): number {
  const st = ctx.st;
  return arithFlags(st.u32(S.FL_OP), st.u64(S.FL_A), st.u64(S.FL_B), st.u64(S.FL_RES), st.u32(S.FL_AUX));
}
export function setStatus(ctx: OpCtx, bits: number): void {
  setLazy(ctx, FlKind.EXPLICIT, 8, BigInt(bits & STATUS_FLAGS), 0n, 0n, 0);
}
export function getRflags(ctx: OpCtx): bigint {
  return (ctx.st.u64(S.RFLAGS) & ~BigInt(STATUS_FLAGS)) | BigInt(statusFlags(ctx)) | 2n;
}
export function setRflagsRaw(ctx: OpCtx, v: bigint): void {
  ctx.st.setU64(S.RFLAGS, (v & ~BigInt(STATUS_FLAGS)) | 2n);
  setStatus(ctx, Number(v & BigInt(STATUS_FLAGS)));
}
function cf(ctx: OpCtx): bigint { return (statusFlags(ctx) & F_CF) ? 1n : 0n; }

function parity(v: bigint): number {
  let p = Number(v & 0xffn); p ^= p >> 4; p ^= p >> 2; p ^= p >> 1;
  return (p & 1) === 0 ? F_PF : 0;
}
function szp(v: bigint, size: number): number {
  const t = trunc(v, size);
  return (t === 0n ? F_ZF : 0) | ((t >> BigInt(size * 8 - 1)) & 1n ? F_SF : 0) | parity(t);
}

export interface Interp extends OpCtx {
  sys: SystemOps;
}

function fault(ctx: Interp, vector: number, error = -1): Status {
  ctx.st.setU32(S.EXC_VECTOR, vector);
  ctx.st.setU32(S.EXC_ERROR, error);
  return Exit.EXCEPTION;
}

const FAULT = -1n; // sentinel never used as a value

/** The SSE/MMX/x87-class mnemonics the switch in `execute` handles itself (every other one goes to simd.ts/sse.ts). */
const SWITCH_SIMD = new Set<Mn>([Mn.LDMXCSR, Mn.STMXCSR, Mn.LFENCE, Mn.MFENCE, Mn.SFENCE, Mn.EMMS, Mn.FLDCW, Mn.FNSTCW,
  Mn.FNCLEX, Mn.FNINIT, Mn.FNSTSW]);

/** Execute one instruction at `rip`. On success RIP is advanced (or set by a branch). */
export function execute(ctx: Interp, insn: Instruction, rip: bigint): Status {
  const st = ctx.st;
  const next = BigInt.asUintN(ctx.mode === 64 ? 64 : 32, rip + BigInt(insn.length));
  const o0 = insn.ops[0]!, o1 = insn.ops[1]!, o2 = insn.ops[2]!;
  const size = o0.size;
  const done = (): Status => { st.rip = ctx.mode === 16 && insn.opSize !== 32 ? next & 0xffffn : next; return Exit.CONTINUE; };
  const jumpTo = (t: bigint): Status => {
    st.rip = insn.opSize === 16 ? t & 0xffffn : insn.opSize === 32 ? t & 0xffffffffn : t; return Exit.CONTINUE;
  };
  const rd = (op: Operand): bigint | undefined => readOp(ctx, insn, op, rip);
  const wr = (op: Operand, v: bigint): boolean => writeOp(ctx, insn, op, rip, v);
  if ((insn.attrs & ATTR_PRIVILEGED) && ctx.cpl !== 0) return fault(ctx, VEC_GP, 0);
  const sys = ctx.sys;
  // SIMD before the big switch: its default case (where these go) is reached only after every case is
  // tested, several microseconds per executor call. Same handlers as the default case below.
  if ((insn.attrs & ATTR_AVX) !== 0) {
    const r = execAvx(ctx, insn, rip);
    if (r !== undefined) return r === Exit.CONTINUE ? done() : r;
  } else if ((insn.attrs & (ATTR_SSE | ATTR_MMX | ATTR_X87)) !== 0 && !SWITCH_SIMD.has(insn.mn)) {
    const r = execSimd(ctx, insn, rip) ?? execSse(ctx, insn, rip);
    if (r === undefined) return fault(ctx, VEC_UD);
    return r === Exit.CONTINUE ? done() : r;
  }

  switch (insn.mn) {
    case Mn.NOP: case Mn.PAUSE: case Mn.LFENCE: case Mn.MFENCE: case Mn.SFENCE: case Mn.PREFETCHNTA:
    case Mn.PREFETCHT0: case Mn.PREFETCHT1: case Mn.PREFETCHT2: case Mn.PREFETCHW: case Mn.CLFLUSH:
    case Mn.CLFLUSHOPT: case Mn.ENDBR64: case Mn.ENDBR32: case Mn.WAIT:
      return done();
    case Mn.WBINVD: case Mn.INVD: return done();

    // ---- data movement
    case Mn.MOV: {
      if (o0.kind === OpKind.REG && o0.regClass === RegClass.CR) return sys.movToCr(o0.reg, st.gpr(o1.reg), next);
      if (o1.kind === OpKind.REG && o1.regClass === RegClass.CR) {
        const v = sys.readCr(o1.reg); if (v === undefined) return fault(ctx, VEC_UD);
        st.setGpr(o0.reg, ctx.mode === 64 ? v : v & 0xffffffffn); return done();
      }
      if (o0.kind === OpKind.REG && o0.regClass === RegClass.DR) { sys.writeDr(o0.reg, st.gpr(o1.reg)); return done(); }
      if (o1.kind === OpKind.REG && o1.regClass === RegClass.DR) { st.setGpr(o0.reg, sys.readDr(o1.reg)); return done(); }
      if (o0.kind === OpKind.REG && o0.regClass === RegClass.SEG) {
        const v = rd(o1); if (v === undefined) return Exit.EXCEPTION;
        const s = sys.loadSeg(o0.reg, Number(v & 0xffffn)); if (s !== Exit.CONTINUE) return s;
        if (o0.reg === 2) { sys.inhibitIrq(); done(); return Exit.HOST; }
        return done();
      }
      if (o1.kind === OpKind.REG && o1.regClass === RegClass.SEG) {
        const sel = BigInt(st.seg(o1.reg).selector);
        // MOV r32/r64, Sreg zero-extends (SDM MOV: "the upper bits are cleared" on current CPUs).
        if (!wr(o0, o0.kind === OpKind.REG ? sel : sel)) return Exit.EXCEPTION;
        return done();
      }
      const v = rd(o1); if (v === undefined) return Exit.EXCEPTION;
      if (!wr(o0, v)) return Exit.EXCEPTION;
      return done();
    }
    case Mn.MOVZX: { const v = rd(o1); if (v === undefined) return Exit.EXCEPTION; wr(o0, v); return done(); }
    case Mn.MOVSX: case Mn.MOVSXD: {
      const v = rd(o1); if (v === undefined) return Exit.EXCEPTION;
      wr(o0, trunc(signExtend(v, o1.size), size)); return done();
    }
    case Mn.LEA: {
      const ea = linAddrNoSeg(ctx, insn, o1, rip);
      wr(o0, trunc(ea, size)); return done();
    }
    case Mn.XCHG: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const b = rd(o1); if (b === undefined) return Exit.EXCEPTION;
      if (!wr(o0, b)) return Exit.EXCEPTION;
      if (!wr(o1, a)) return Exit.EXCEPTION;
      return done();
    }
    case Mn.BSWAP: {
      const v = regGet(st, o0);
      let r = 0n;
      for (let i = 0; i < size; i++) r |= ((v >> BigInt(8 * i)) & 0xffn) << BigInt(8 * (size - 1 - i));
      wr(o0, size === 2 ? 0n : r); return done();
    }
    case Mn.CBW: setGprSized(st, 0, 2, trunc(signExtend(st.gpr(0) & 0xffn, 1), 2)); return done();
    case Mn.CWDE: setGprSized(st, 0, 4, trunc(signExtend(st.gpr(0) & 0xffffn, 2), 4)); return done();
    case Mn.CDQE: st.setGpr(0, trunc(signExtend(st.gpr(0) & 0xffffffffn, 4), 8)); return done();
    case Mn.CWD: setGprSized(st, 2, 2, (st.gpr(0) & 0x8000n) ? 0xffffn : 0n); return done();
    case Mn.CDQ: setGprSized(st, 2, 4, (st.gpr(0) & 0x80000000n) ? 0xffffffffn : 0n); return done();
    case Mn.CQO: st.setGpr(2, (st.gpr(0) >> 63n) ? M64 : 0n); return done();
    case Mn.XLATB: {
      const base = ctx.mode === 64 && insn.addrSize === 64 ? st.gpr(3) : st.gpr(3) & MASK(insn.addrSize);
      const ea = trunc(base + (st.gpr(0) & 0xffn), insn.addrSize / 8);
      const seg = insn.segPrefix >= 0 ? insn.segPrefix : 3;
      const v = ctx.mmu.read(ctx.mode === 64 ? (seg >= 4 ? ea + st.segBase(seg) : ea) : (ea + st.segBase(seg)) & 0xffffffffn, 1, ctx.cpl);
      if (v === undefined) return Exit.EXCEPTION;
      setGprSized(st, 0, 1, v); return done();
    }

    // ---- arithmetic
    case Mn.ADD: case Mn.OR: case Mn.ADC: case Mn.SBB: case Mn.AND: case Mn.SUB: case Mn.XOR: case Mn.CMP: case Mn.TEST: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const b = rd(o1); if (b === undefined) return Exit.EXCEPTION;
      let r: bigint, kind: FlKind, aux = 0;
      switch (insn.mn) {
        case Mn.ADD: r = a + b; kind = FlKind.ADD; break;
        case Mn.ADC: aux = Number(cf(ctx)); r = a + b + BigInt(aux); kind = FlKind.ADC; break;
        case Mn.SUB: case Mn.CMP: r = a - b; kind = FlKind.SUB; break;
        case Mn.SBB: aux = Number(cf(ctx)); r = a - b - BigInt(aux); kind = FlKind.SBB; break;
        case Mn.AND: case Mn.TEST: r = a & b; kind = FlKind.LOGIC; break;
        case Mn.OR: r = a | b; kind = FlKind.LOGIC; break;
        default: r = a ^ b; kind = FlKind.LOGIC; break;
      }
      r = trunc(r, size);
      if (insn.mn !== Mn.CMP && insn.mn !== Mn.TEST && !wr(o0, r)) return Exit.EXCEPTION;
      setLazy(ctx, kind, size, a, b, r, aux);
      return done();
    }
    case Mn.INC: case Mn.DEC: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const r = trunc(insn.mn === Mn.INC ? a + 1n : a - 1n, size);
      const c = Number(cf(ctx));
      if (!wr(o0, r)) return Exit.EXCEPTION;
      setLazy(ctx, insn.mn === Mn.INC ? FlKind.INC : FlKind.DEC, size, a, 1n, r, c);
      return done();
    }
    case Mn.NEG: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const r = trunc(-a, size);
      if (!wr(o0, r)) return Exit.EXCEPTION;
      setLazy(ctx, FlKind.SUB, size, 0n, a, r);
      return done();
    }
    case Mn.NOT: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      if (!wr(o0, trunc(~a, size))) return Exit.EXCEPTION;
      return done();
    }
    case Mn.MUL: case Mn.IMUL: {
      if (insn.mn === Mn.IMUL && insn.opCount >= 2) {
        const a = insn.opCount === 3 ? rd(o1) : rd(o0); if (a === undefined) return Exit.EXCEPTION;
        const b = insn.opCount === 3 ? rd(o2) : rd(o1); if (b === undefined) return Exit.EXCEPTION;
        const full = signExtend(a, size) * signExtend(b, size);
        const r = trunc(full, size);
        wr(o0, r);
        const ovf = signExtend(r, size) !== full ? 1 : 0;
        setLazy(ctx, FlKind.MUL, size, 0n, 0n, r, ovf);
        return done();
      }
      const src = rd(o0); if (src === undefined) return Exit.EXCEPTION;
      const acc = st.gpr(0) & MASK(size * 8);
      const signed = insn.mn === Mn.IMUL;
      const full = signed ? signExtend(acc, size) * signExtend(src, size) : acc * src;
      const lo = trunc(full, size), hi = trunc(full >> BigInt(size * 8), size);
      if (size === 1) setGprSized(st, 0, 2, trunc(full, 2));
      else { setGprSized(st, 0, size, lo); setGprSized(st, 2, size, hi); }
      const ovf = signed ? (signExtend(lo, size) !== full ? 1 : 0) : (hi !== 0n ? 1 : 0);
      setLazy(ctx, FlKind.MUL, size, 0n, 0n, lo, ovf);
      return done();
    }
    case Mn.DIV: case Mn.IDIV: {
      const d = rd(o0); if (d === undefined) return Exit.EXCEPTION;
      if (d === 0n) return fault(ctx, VEC_DE);
      const bits = BigInt(size * 8);
      const dividend = size === 1 ? st.gpr(0) & 0xffffn : ((st.gpr(2) & MASK(size * 8)) << bits) | (st.gpr(0) & MASK(size * 8));
      let q: bigint, r: bigint;
      if (insn.mn === Mn.DIV) {
        q = dividend / d; r = dividend % d;
        if (q > MASK(size * 8)) return fault(ctx, VEC_DE);
      } else {
        const n = BigInt.asIntN(size * 16, dividend), dv = signExtend(d, size);
        q = n / dv; r = n % dv;
        if (q > MASK(size * 8 - 1) || q < -(1n << (bits - 1n))) return fault(ctx, VEC_DE);
      }
      if (size === 1) setGprSized(st, 0, 2, (trunc(r, 1) << 8n) | trunc(q, 1));
      else { setGprSized(st, 0, size, trunc(q, size)); setGprSized(st, 2, size, trunc(r, size)); }
      // Flags undefined (SDM DIV); Intel hosts leave them as computed by the microcode. Keep them.
      return done();
    }

    // ---- shifts and rotates (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR)
    case Mn.SHL: case Mn.SAL: case Mn.SHR: case Mn.SAR: case Mn.ROL: case Mn.ROR: case Mn.RCL: case Mn.RCR: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const cntRaw = rd(o1); if (cntRaw === undefined) return Exit.EXCEPTION;
      const bits = size * 8;
      const count = Number(cntRaw & (size === 8 ? 0x3fn : 0x1fn));
      // Count 0: flags unchanged, but a 32-bit register destination is still zero-extended (host behaviour).
      if (count === 0) { if (size === 4 && o0.kind === OpKind.REG) wr(o0, a); return done(); }
      let f = statusFlags(ctx);
      let r: bigint;
      const B = BigInt(bits);
      switch (insn.mn) {
        case Mn.SHL: case Mn.SAL: {
          r = trunc(a << BigInt(count), size);
          const c = count <= bits ? (a >> BigInt(bits - count)) & 1n : 0n;
          f = szp(r, size) | (c ? F_CF : 0) | (((r >> (B - 1n)) & 1n) ^ c ? F_OF : 0);
          break;
        }
        case Mn.SHR: {
          r = a >> BigInt(count);
          const c = (a >> BigInt(count - 1)) & 1n;
          f = szp(r, size) | (c ? F_CF : 0) | ((a >> (B - 1n)) & 1n ? F_OF : 0);
          break;
        }
        case Mn.SAR: {
          const sa = signExtend(a, size);
          r = trunc(sa >> BigInt(count), size);
          const c = (sa >> BigInt(count - 1)) & 1n;
          f = szp(r, size) | (c ? F_CF : 0);
          break;
        }
        case Mn.ROL: {
          const n = BigInt(count % bits);
          r = trunc((a << n) | (a >> ((B - n) % B)), size);
          const c = r & 1n;
          f = (f & ~(F_CF | F_OF)) | (c ? F_CF : 0) | (((r >> (B - 1n)) & 1n) ^ c ? F_OF : 0);
          break;
        }
        case Mn.ROR: {
          const n = BigInt(count % bits);
          r = trunc((a >> n) | (a << ((B - n) % B)), size);
          const msb = (r >> (B - 1n)) & 1n, msb2 = (r >> (B - 2n)) & 1n;
          f = (f & ~(F_CF | F_OF)) | (msb ? F_CF : 0) | (msb ^ msb2 ? F_OF : 0);
          break;
        }
        case Mn.RCL: {
          const n = count % (bits + 1);
          const wide = (BigInt(f & F_CF) << B) | a;
          const W = B + 1n, N = BigInt(n);
          const rot = ((wide << N) | (wide >> ((W - N) % W))) & MASK(bits + 1);
          r = trunc(rot, size);
          const c = (rot >> B) & 1n;
          f = (f & ~(F_CF | F_OF)) | (c ? F_CF : 0) | (((r >> (B - 1n)) & 1n) ^ c ? F_OF : 0);
          break;
        }
        default: { // RCR
          const n = count % (bits + 1);
          const wide = (BigInt(f & F_CF) << B) | a;
          const W = B + 1n, N = BigInt(n);
          const rot = ((wide >> N) | (wide << ((W - N) % W))) & MASK(bits + 1);
          r = trunc(rot, size);
          const c = (rot >> B) & 1n;
          const msb = (r >> (B - 1n)) & 1n, msb2 = (r >> (B - 2n)) & 1n;
          f = (f & ~(F_CF | F_OF)) | (c ? F_CF : 0) | (msb ^ msb2 ? F_OF : 0);
          break;
        }
      }
      if (!wr(o0, r)) return Exit.EXCEPTION;
      setStatus(ctx, f);
      return done();
    }
    case Mn.SHLD: case Mn.SHRD: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const b = regGet(st, o1);
      const cnt = rd(o2); if (cnt === undefined) return Exit.EXCEPTION;
      const bits = size * 8;
      const count = Number(cnt & (size === 8 ? 0x3fn : 0x1fn));
      if (count === 0) { if (size === 4 && o0.kind === OpKind.REG) wr(o0, a); return done(); }
      const B = BigInt(bits), N = BigInt(count);
      let r: bigint, c: bigint;
      if (insn.mn === Mn.SHLD) {
        const wide = (a << B) | b;
        r = trunc((wide << N) >> B, size);
        c = (a >> (B - N)) & 1n;
      } else {
        const wide = (b << B) | a;
        r = trunc(wide >> N, size);
        c = (a >> (N - 1n)) & 1n;
      }
      const of = ((r ^ a) >> (B - 1n)) & 1n;
      if (!wr(o0, r)) return Exit.EXCEPTION;
      setStatus(ctx, szp(r, size) | (c ? F_CF : 0) | (of ? F_OF : 0));
      return done();
    }

    // ---- bit operations
    case Mn.BT: case Mn.BTS: case Mn.BTR: case Mn.BTC: {
      const bits = size * 8;
      let offset = rd(o1); if (offset === undefined) return Exit.EXCEPTION;
      let val: bigint | undefined, lin = 0n;
      if (o0.kind === OpKind.MEM && o1.kind === OpKind.REG) {
        // Bit string addressing: the register offset is signed and may reach outside the operand.
        const so = signExtend(offset, o1.size);
        const byteOff = (so >> BigInt(Math.log2(bits))) * BigInt(size);
        lin = BigInt.asUintN(ctx.mode === 64 ? 64 : 32, linAddr(ctx, insn, o0, rip) + byteOff);
        offset = BigInt.asUintN(64, so) & BigInt(bits - 1);
        val = ctx.mmu.read(lin, size, ctx.cpl);
      } else {
        offset &= BigInt(bits - 1);
        val = rd(o0);
        if (o0.kind === OpKind.MEM) lin = linAddr(ctx, insn, o0, rip);
      }
      if (val === undefined) return Exit.EXCEPTION;
      const bit = (val >> offset) & 1n;
      let nv = val;
      if (insn.mn === Mn.BTS) nv = val | (1n << offset);
      else if (insn.mn === Mn.BTR) nv = val & ~(1n << offset);
      else if (insn.mn === Mn.BTC) nv = val ^ (1n << offset);
      if (insn.mn !== Mn.BT) {
        if (o0.kind === OpKind.MEM) { if (!ctx.mmu.write(lin, size, nv, ctx.cpl)) return Exit.EXCEPTION; }
        else wr(o0, nv);
      }
      setStatus(ctx, (statusFlags(ctx) & ~F_CF) | (bit ? F_CF : 0));
      return done();
    }
    case Mn.BSF: case Mn.BSR: case Mn.POPCNT: {
      const v = rd(o1); if (v === undefined) return Exit.EXCEPTION;
      const bits = size * 8;
      const f0 = statusFlags(ctx);
      if (insn.mn === Mn.POPCNT) {
        let n = 0n, x = v; while (x) { n += x & 1n; x >>= 1n; }
        wr(o0, n); setStatus(ctx, n === 0n && v === 0n ? F_ZF : 0); return done();
      }
      if (v === 0n) { setStatus(ctx, (f0 & ~F_ZF) | F_ZF); return done(); } // dest unchanged (AMD/Intel in practice)
      let i = 0;
      if (insn.mn === Mn.BSF) { while (((v >> BigInt(i)) & 1n) === 0n) i++; }
      else { i = bits - 1; while (((v >> BigInt(i)) & 1n) === 0n) i--; }
      wr(o0, BigInt(i));
      setStatus(ctx, f0 & ~F_ZF);
      return done();
    }
    // BMI1, BMI2, ADX, MOVBE, LZCNT (bitmanip.ts)
    case Mn.ANDN: case Mn.BEXTR: case Mn.BLSI: case Mn.BLSMSK: case Mn.BLSR: case Mn.TZCNT: case Mn.LZCNT:
    case Mn.BZHI: case Mn.MULX: case Mn.PDEP: case Mn.PEXT: case Mn.RORX: case Mn.SARX: case Mn.SHLX: case Mn.SHRX:
    case Mn.ADCX: case Mn.ADOX: case Mn.MOVBE: {
      const r = execBitmanip(ctx, insn, rip) ?? fault(ctx, VEC_UD);
      return r === Exit.CONTINUE ? done() : r;
    }

    // ---- exchange and compare
    case Mn.XADD: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const b = regGet(st, o1);
      const r = trunc(a + b, size);
      if (!wr(o0, r)) return Exit.EXCEPTION;
      if (o0.kind === OpKind.MEM || o0.reg !== o1.reg || o0.highByte !== o1.highByte) wr(o1, a);
      setLazy(ctx, FlKind.ADD, size, a, b, r);
      return done();
    }
    case Mn.CMPXCHG: {
      const a = rd(o0); if (a === undefined) return Exit.EXCEPTION;
      const acc = st.gpr(0) & MASK(size * 8);
      const r = trunc(acc - a, size);
      if (acc === a) { if (!wr(o0, regGet(st, o1))) return Exit.EXCEPTION; }
      else {
        // The destination is written back even when unequal (SDM CMPXCHG: "the processor never produces a locked read without also producing a locked write").
        if (o0.kind === OpKind.MEM && !wr(o0, a)) return Exit.EXCEPTION;
        setGprSized(st, 0, size, a);
      }
      setLazy(ctx, FlKind.SUB, size, acc, a, r);
      return done();
    }
    case Mn.CMPXCHG8B: case Mn.CMPXCHG16B: {
      const half = insn.mn === Mn.CMPXCHG8B ? 4 : 8;
      const lin = linAddr(ctx, insn, o0, rip);
      if (half === 8 && (lin & 15n) !== 0n) return fault(ctx, VEC_GP, 0);
      const lo = ctx.mmu.read(lin, half, ctx.cpl); if (lo === undefined) return Exit.EXCEPTION;
      const hi = ctx.mmu.read(lin + BigInt(half), half, ctx.cpl); if (hi === undefined) return Exit.EXCEPTION;
      const m = MASK(half * 8);
      const eq = lo === (st.gpr(0) & m) && hi === (st.gpr(2) & m);
      let f = statusFlags(ctx) & ~F_ZF;
      if (eq) {
        if (!ctx.mmu.write(lin, half, st.gpr(3) & m, ctx.cpl)) return Exit.EXCEPTION;
        if (!ctx.mmu.write(lin + BigInt(half), half, st.gpr(1) & m, ctx.cpl)) return Exit.EXCEPTION;
        f |= F_ZF;
      } else {
        if (!ctx.mmu.write(lin, half, lo, ctx.cpl)) return Exit.EXCEPTION;
        setGprSized(st, 0, half, lo); setGprSized(st, 2, half, hi);
      }
      setStatus(ctx, f);
      return done();
    }

    // ---- conditional
    case Mn.CMOVO: case Mn.CMOVNO: case Mn.CMOVB: case Mn.CMOVAE: case Mn.CMOVE: case Mn.CMOVNE: case Mn.CMOVBE:
    case Mn.CMOVA: case Mn.CMOVS: case Mn.CMOVNS: case Mn.CMOVP: case Mn.CMOVNP: case Mn.CMOVL: case Mn.CMOVGE:
    case Mn.CMOVLE: case Mn.CMOVG: {
      const v = rd(o1); if (v === undefined) return Exit.EXCEPTION;
      if (condFromFlags(insn.cond, statusFlags(ctx))) wr(o0, v);
      else if (size === 4) wr(o0, regGet(st, o0)); // 32-bit CMOVcc zero-extends even when false
      return done();
    }
    case Mn.SETO: case Mn.SETNO: case Mn.SETB: case Mn.SETAE: case Mn.SETE: case Mn.SETNE: case Mn.SETBE:
    case Mn.SETA: case Mn.SETS: case Mn.SETNS: case Mn.SETP: case Mn.SETNP: case Mn.SETL: case Mn.SETGE:
    case Mn.SETLE: case Mn.SETG:
      if (!wr(o0, condFromFlags(insn.cond, statusFlags(ctx)) ? 1n : 0n)) return Exit.EXCEPTION;
      return done();

    // ---- control flow
    case Mn.JO: case Mn.JNO: case Mn.JB: case Mn.JAE: case Mn.JE: case Mn.JNE: case Mn.JBE: case Mn.JA:
    case Mn.JS: case Mn.JNS: case Mn.JP: case Mn.JNP: case Mn.JL: case Mn.JGE: case Mn.JLE: case Mn.JG:
      return condFromFlags(insn.cond, statusFlags(ctx)) ? jumpTo(relTarget(insn, rip)) : done();
    case Mn.JCXZ: case Mn.JECXZ: case Mn.JRCXZ: {
      const c = st.gpr(1) & MASK(insn.addrSize);
      return c === 0n ? jumpTo(relTarget(insn, rip)) : done();
    }
    case Mn.LOOP: case Mn.LOOPE: case Mn.LOOPNE: {
      const c = trunc(st.gpr(1) - 1n, insn.addrSize / 8);
      setGprSized(st, 1, insn.addrSize / 8, c);
      const zf = (statusFlags(ctx) & F_ZF) !== 0;
      const take = c !== 0n && (insn.mn === Mn.LOOP || (insn.mn === Mn.LOOPE ? zf : !zf));
      return take ? jumpTo(relTarget(insn, rip)) : done();
    }
    case Mn.JMP: {
      if (insn.flow === Flow.JMP_FAR) return farTransfer(ctx, insn, rip, next, false);
      if (o0.kind === OpKind.REL) return jumpTo(relTarget(insn, rip));
      const t = rd(o0); if (t === undefined) return Exit.EXCEPTION;
      return jumpTo(t);
    }
    case Mn.CALL: {
      if (insn.flow === Flow.CALL_FAR) return farTransfer(ctx, insn, rip, next, true);
      let t: bigint;
      if (o0.kind === OpKind.REL) t = relTarget(insn, rip);
      else { const v = rd(o0); if (v === undefined) return Exit.EXCEPTION; t = v; }
      if (!push(ctx, next, insn.opSize / 8)) return Exit.EXCEPTION;
      return jumpTo(t);
    }
    case Mn.RET: {
      const t = pop(ctx, insn.opSize / 8); if (t === undefined) return Exit.EXCEPTION;
      if (insn.opCount > 0 && o0.kind === OpKind.IMM) {
        const bits = ctx.mode === 64 ? 64 : (ctx.st.segAttr(2) & (1 << 14)) ? 32 : 16;
        setGprSized(st, 4, bits / 8, st.gpr(4) + BigInt(o0.imm & 0xffff));
      }
      return jumpTo(t);
    }
    case Mn.RETF: return sys.farReturn(insn, insn.opCount > 0 ? o0.imm & 0xffff : 0);
    case Mn.IRET: case Mn.IRETD: case Mn.IRETQ: return sys.iret(insn.opSize);
    case Mn.INT: return sys.softInt(o0.imm & 0xff, next);
    case Mn.INT3: return sys.softInt(VEC_BP, next, true);
    case Mn.INTO: return (statusFlags(ctx) & F_OF) ? sys.softInt(VEC_OF, next, true) : done();
    case Mn.INT1: return sys.softInt(1, next, true);
    case Mn.UD0: case Mn.UD1: case Mn.UD2: case Mn.UD: return fault(ctx, VEC_UD);
    case Mn.ENTER: {
      const alloc = BigInt(o0.imm & 0xffff);
      const level = (o1.imm & 0xff) % 32;
      const os = insn.opSize / 8;
      if (!push(ctx, st.gpr(5), os)) return Exit.EXCEPTION;
      const frame = st.gpr(4);
      for (let i = 1; i < level; i++) {
        const v = ctx.mmu.read(BigInt.asUintN(64, st.gpr(5) - BigInt(i * os)), os, ctx.cpl);
        if (v === undefined || !push(ctx, v, os)) return Exit.EXCEPTION;
      }
      if (level > 0 && !push(ctx, frame, os)) return Exit.EXCEPTION;
      setGprSized(st, 5, os, frame);
      setGprSized(st, 4, ctx.mode === 64 ? 8 : os, st.gpr(4) - alloc);
      return done();
    }
    case Mn.LEAVE: {
      const os = insn.opSize / 8;
      const bits = ctx.mode === 64 ? 64 : (ctx.st.segAttr(2) & (1 << 14)) ? 32 : 16;
      setGprSized(st, 4, bits / 8, st.gpr(5));
      const v = pop(ctx, os); if (v === undefined) return Exit.EXCEPTION;
      setGprSized(st, 5, os, v);
      return done();
    }

    // ---- stack
    case Mn.PUSH: {
      if (o0.kind === OpKind.REG && o0.regClass === RegClass.SEG) {
        if (!push(ctx, BigInt(st.seg(o0.reg).selector), insn.opSize / 8)) return Exit.EXCEPTION;
        return done();
      }
      let v: bigint | undefined;
      if (o0.kind === OpKind.IMM) v = trunc(immValue(o0), insn.opSize / 8);
      else v = rd(o0);
      if (v === undefined) return Exit.EXCEPTION;
      if (!push(ctx, v, insn.opSize / 8)) return Exit.EXCEPTION;
      return done();
    }
    case Mn.POP: {
      if (o0.kind === OpKind.REG && o0.regClass === RegClass.SEG) {
        const v = peek(ctx, 0, insn.opSize / 8); if (v === undefined) return Exit.EXCEPTION;
        const s = sys.loadSeg(o0.reg, Number(v & 0xffffn)); if (s !== Exit.CONTINUE) return s;
        pop(ctx, insn.opSize / 8);
        if (o0.reg === 2) { sys.inhibitIrq(); done(); return Exit.HOST; }
        return done();
      }
      const v = peek(ctx, 0, insn.opSize / 8); if (v === undefined) return Exit.EXCEPTION;
      if (o0.kind === OpKind.MEM) {
        // POP m: the address is computed after RSP is incremented (SDM POP).
        const oldSp = st.gpr(4);
        pop(ctx, insn.opSize / 8);
        if (!wr(o0, v)) { st.setGpr(4, oldSp); return Exit.EXCEPTION; }
        return done();
      }
      pop(ctx, insn.opSize / 8);
      wr(o0, v);
      return done();
    }
    case Mn.PUSHF: case Mn.PUSHFD: case Mn.PUSHFQ: {
      const f = getRflags(ctx) & ~(0x30000n); // VM and RF are cleared in the pushed image
      if (!push(ctx, f, insn.opSize / 8)) return Exit.EXCEPTION;
      return done();
    }
    case Mn.POPF: case Mn.POPFD: case Mn.POPFQ: {
      const v = pop(ctx, insn.opSize / 8); if (v === undefined) return Exit.EXCEPTION;
      sys.writeFlagsFromPop(v, insn.opSize);
      return done();
    }
    case Mn.PUSHA: case Mn.PUSHAD: {
      const os = insn.opSize / 8;
      const sp = st.gpr(4);
      for (const r of [0, 1, 2, 3, -1, 5, 6, 7]) {
        if (!push(ctx, r < 0 ? sp : st.gpr(r), os)) return Exit.EXCEPTION;
      }
      return done();
    }
    case Mn.POPA: case Mn.POPAD: {
      const os = insn.opSize / 8;
      for (const r of [7, 6, 5, -1, 3, 2, 1, 0]) {
        const v = pop(ctx, os); if (v === undefined) return Exit.EXCEPTION;
        if (r >= 0) setGprSized(st, r, os, v);
      }
      return done();
    }

    // ---- flags
    case Mn.CLC: setStatus(ctx, statusFlags(ctx) & ~F_CF); return done();
    case Mn.STC: setStatus(ctx, statusFlags(ctx) | F_CF); return done();
    case Mn.CMC: setStatus(ctx, statusFlags(ctx) ^ F_CF); return done();
    case Mn.CLD: st.setU64(S.RFLAGS, st.u64(S.RFLAGS) & ~DF_MASK); return done();
    case Mn.STD: st.setU64(S.RFLAGS, st.u64(S.RFLAGS) | DF_MASK); return done();
    case Mn.CLI: { const s = sys.checkIopl(); if (s !== Exit.CONTINUE) return s; st.setU64(S.RFLAGS, st.u64(S.RFLAGS) & ~IF_MASK); return done(); }
    case Mn.STI: {
      const s = sys.checkIopl(); if (s !== Exit.CONTINUE) return s;
      const shadow = (st.u64(S.RFLAGS) & IF_MASK) === 0n;
      st.setU64(S.RFLAGS, st.u64(S.RFLAGS) | IF_MASK);
      if (!shadow) return done();
      // Interrupt shadow (SDM STI): back to the run loop, which runs exactly one more instruction before checking.
      sys.inhibitIrq(); done(); return Exit.HOST;
    }
    case Mn.LAHF: setGprSized(st, 0, 1, BigInt((statusFlags(ctx) & 0xd5) | 2), true); return done();
    case Mn.SAHF: {
      const ah = Number((st.gpr(0) >> 8n) & 0xffn);
      setStatus(ctx, (statusFlags(ctx) & F_OF) | (ah & (F_CF | F_PF | F_AF | F_ZF | F_SF)));
      return done();
    }

    // ---- strings
    case Mn.MOVS: case Mn.STOS: case Mn.LODS: case Mn.CMPS: case Mn.SCAS: case Mn.INS: case Mn.OUTS:
      return stringOp(ctx, insn, rip, next);

    // ---- system and model state
    case Mn.HLT: st.rip = next; return sys.hlt();
    case Mn.CPUID: sys.cpuid(); return done();
    case Mn.RDTSC: { const s = sys.rdtsc(false); return s === Exit.CONTINUE ? done() : s; }
    case Mn.RDTSCP: { const s = sys.rdtsc(true); return s === Exit.CONTINUE ? done() : s; }
    // SDM RDPID: IA32_TSC_AUX into r32/r64 (not subject to CR4.TSD).
    case Mn.RDPID: wr(o0, sys.readTscAux()); return done();
    case Mn.RDMSR: { const s = sys.rdmsr(); return s === Exit.CONTINUE ? done() : s; }
    case Mn.WRMSR: { const s = sys.wrmsr(next); return s; }
    case Mn.RDRAND: case Mn.RDSEED: {
      wr(o0, sys.random(size));
      setStatus(ctx, F_CF);
      return done();
    }
    case Mn.IN: case Mn.OUT: {
      const isIn = insn.mn === Mn.IN;
      const portOp = isIn ? o1 : o0;
      const port = portOp.kind === OpKind.IMM ? portOp.imm & 0xff : Number(st.gpr(2) & 0xffffn);
      const sz = isIn ? o0.size : o1.size;
      const s = sys.checkIo(port, sz); if (s !== Exit.CONTINUE) return s;
      if (isIn) setGprSized(st, 0, sz, BigInt(sys.portIn(port, sz) >>> 0));
      else sys.portOut(port, sz, Number(st.gpr(0) & MASK(sz * 8)));
      return done();
    }
    case Mn.LGDT: case Mn.LIDT: {
      const lin = linAddr(ctx, insn, o0, rip);
      const limit = ctx.mmu.read(lin, 2, ctx.cpl); if (limit === undefined) return Exit.EXCEPTION;
      const base = ctx.mmu.read(lin + 2n, ctx.mode === 64 ? 8 : 4, ctx.cpl); if (base === undefined) return Exit.EXCEPTION;
      const b = ctx.mode === 64 ? base : insn.opSize === 16 ? base & 0xffffffn : base;
      if (insn.mn === Mn.LGDT) { st.setU64(S.GDTR_BASE, b); st.setU32(S.GDTR_LIMIT, Number(limit)); }
      else { st.setU64(S.IDTR_BASE, b); st.setU32(S.IDTR_LIMIT, Number(limit)); }
      return done();
    }
    case Mn.SGDT: case Mn.SIDT: {
      const lin = linAddr(ctx, insn, o0, rip);
      const isG = insn.mn === Mn.SGDT;
      if (!ctx.mmu.write(lin, 2, BigInt(st.u32(isG ? S.GDTR_LIMIT : S.IDTR_LIMIT)), ctx.cpl)) return Exit.EXCEPTION;
      if (!ctx.mmu.write(lin + 2n, ctx.mode === 64 ? 8 : 4, st.u64(isG ? S.GDTR_BASE : S.IDTR_BASE) & (ctx.mode === 64 ? M64 : 0xffffffffn), ctx.cpl)) return Exit.EXCEPTION;
      return done();
    }
    case Mn.LTR: case Mn.LLDT: {
      const v = rd(o0); if (v === undefined) return Exit.EXCEPTION;
      const s = insn.mn === Mn.LTR ? sys.ltr(Number(v & 0xffffn)) : sys.lldt(Number(v & 0xffffn));
      return s === Exit.CONTINUE ? done() : s;
    }
    case Mn.STR: case Mn.SLDT: {
      const sel = BigInt(st.seg(insn.mn === Mn.STR ? 7 : 6).selector);
      if (!wr(o0, sel)) return Exit.EXCEPTION;
      return done();
    }
    case Mn.SMSW: if (!wr(o0, o0.kind === OpKind.REG ? trunc(st.cr0, size) : st.cr0 & 0xffffn)) return Exit.EXCEPTION; return done();
    case Mn.LMSW: {
      const v = rd(o0); if (v === undefined) return Exit.EXCEPTION;
      // LMSW loads PE MP EM TS; it cannot clear PE (SDM LMSW).
      const cr0 = (st.cr0 & ~0xen) | (v & 0xfn) | (st.cr0 & 1n);
      return sys.movToCr(0, cr0, next);
    }
    case Mn.CLTS: return sys.movToCr(0, st.cr0 & ~CR0_TS, next);
    case Mn.INVLPG: sys.invlpg(linAddr(ctx, insn, o0, rip)); st.rip = next; return Exit.HOST;
    case Mn.SWAPGS: {
      if (ctx.mode !== 64) return fault(ctx, VEC_UD);
      const g = st.segBase(5); st.setSegBase(5, st.u64(S.KERNEL_GS_BASE)); st.setU64(S.KERNEL_GS_BASE, g);
      return done();
    }
    case Mn.SYSCALL: return sys.syscall(next);
    case Mn.SYSRET: case Mn.SYSRETQ: return sys.sysret(insn.opSize);
    case Mn.VMCALL: case Mn.VMMCALL: sys.hypercall(); return done();
    case Mn.RDFSBASE: case Mn.RDGSBASE: case Mn.WRFSBASE: case Mn.WRGSBASE: return fault(ctx, VEC_UD);

    // ---- x87 / SSE state
    case Mn.FNINIT: sys.fninit(); return done();
    case Mn.FLDCW: { const v = rd(o0); if (v === undefined) return Exit.EXCEPTION; st.setU16(S.FCW, Number(v)); return done(); }
    case Mn.FNSTCW: if (!wr(o0, BigInt(st.u16(S.FCW)))) return Exit.EXCEPTION; return done();
    case Mn.FNSTSW: if (!wr(o0, BigInt(st.u16(S.FSW)))) return Exit.EXCEPTION; return done();
    case Mn.FNCLEX: st.setU16(S.FSW, st.u16(S.FSW) & 0x7f00); return done();
    case Mn.EMMS: st.setU16(S.FTW, 0xffff); return done();
    case Mn.FXSAVE: case Mn.FXSAVE64: case Mn.FXRSTOR: case Mn.FXRSTOR64: {
      if (st.cr0 & (CR0_EM | CR0_TS)) return fault(ctx, (st.cr0 & CR0_EM) ? VEC_UD : VEC_NM);
      const lin = linAddr(ctx, insn, o0, rip);
      if (lin & 15n) return fault(ctx, VEC_GP, 0);
      const s = insn.mn === Mn.FXSAVE || insn.mn === Mn.FXSAVE64 ? sys.fxsave(lin) : sys.fxrstor(lin);
      return s === Exit.CONTINUE ? done() : s;
    }
    // XSAVE feature set (xsave.ts)
    case Mn.XGETBV: case Mn.XSETBV: case Mn.XSAVE: case Mn.XSAVE64: case Mn.XSAVEOPT: case Mn.XSAVEOPT64:
    case Mn.XSAVEC: case Mn.XSAVEC64: case Mn.XRSTOR: case Mn.XRSTOR64: {
      const r = execXsave(ctx, sys.xsaveCaps, insn, rip) ?? fault(ctx, VEC_UD);
      return r === Exit.CONTINUE ? done() : r;
    }
    case Mn.LDMXCSR: case Mn.STMXCSR: {
      if ((st.cr4 & CR4_OSFXSR) === 0n || (st.cr0 & CR0_EM)) return fault(ctx, VEC_UD);
      if (st.cr0 & CR0_TS) return fault(ctx, VEC_NM);
      if (insn.mn === Mn.STMXCSR) { if (!wr(o0, BigInt(st.u32(S.MXCSR)))) return Exit.EXCEPTION; return done(); }
      const v = rd(o0); if (v === undefined) return Exit.EXCEPTION;
      if (v & ~0xffffn) return fault(ctx, VEC_GP, 0);
      st.setU32(S.MXCSR, Number(v));
      return done();
    }
    default: {
      // SSE3..SSE4.2, AES-NI, PCLMULQDQ, SHA (simd.ts) first: it also takes PEXTRW's SSE4.1 memory form.
      const r = execSimd(ctx, insn, rip) ?? execSse(ctx, insn, rip);
      if (r === undefined) return fault(ctx, VEC_UD);
      if (r === Exit.CONTINUE) return done();
      return r;
    }
  }
}

function linAddrNoSeg(ctx: Interp, insn: Instruction, op: Operand, rip: bigint): bigint {
  // LEA: the effective address only, no segment base (SDM LEA).
  let ea = op.base === 16 ? rip + BigInt(insn.length) : op.base < 0 ? 0n : ctx.st.gpr(op.base);
  if (op.index >= 0) ea += ctx.st.gpr(op.index) * BigInt(op.scale);
  ea += (BigInt(op.dispHi) << 32n) | BigInt(op.disp >>> 0);
  return BigInt.asUintN(op.addrSize, ea);
}

function farTransfer(ctx: Interp, insn: Instruction, rip: bigint, next: bigint, isCall: boolean): Status {
  const o0 = insn.ops[0]!;
  let sel: number, off: bigint;
  if (o0.kind === OpKind.FAR) { sel = o0.sel; off = BigInt(o0.imm >>> 0); }
  else {
    const lin = linAddr(ctx, insn, o0, rip);
    const osz = insn.opSize / 8;
    const o = ctx.mmu.read(lin, osz, ctx.cpl); if (o === undefined) return Exit.EXCEPTION;
    const s = ctx.mmu.read(lin + BigInt(osz), 2, ctx.cpl); if (s === undefined) return Exit.EXCEPTION;
    sel = Number(s); off = o;
  }
  return ctx.sys.farJump(sel, off, isCall ? next : undefined, insn.opSize);
}

/** MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS with REP/REPE/REPNE (SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ"). */
function stringOp(ctx: Interp, insn: Instruction, rip: bigint, next: bigint): Status {
  const st = ctx.st;
  const a = insn.addrSize;
  const am = MASK(a);
  const size = insn.opSize / 8;
  const rep = (insn.attrs & (ATTR_REP | ATTR_REPCC)) !== 0 && insn.rep !== 0;
  const df = (st.u64(S.RFLAGS) & DF_MASK) !== 0n;
  const delta = BigInt(df ? -size : size);
  const srcSeg = insn.segPrefix >= 0 ? insn.segPrefix : 3;
  const lin = (seg: number, off: bigint): bigint => ctx.mode === 64 ? (seg >= 4 ? off + st.segBase(seg) : off) : (off + st.segBase(seg)) & 0xffffffffn;
  const setIdx = (r: number, v: bigint): void => setGprSized(st, r, a / 8, v & am);
  const mn = insn.mn;
  if (mn === Mn.INS || mn === Mn.OUTS) {
    const port = Number(st.gpr(2) & 0xffffn);
    const s = ctx.sys.checkIo(port, size); if (s !== Exit.CONTINUE) return s;
  }
  // Bound the iterations per call so the guest stays interruptible (RIP stays on the instruction until
  // RCX = 0), and charge them to the instruction budget so a huge RCX cannot stall the run loop.
  const left = st.i32(S.BUDGET);
  let budget = Math.max(1, Math.min(4096, left));
  st.setU32(S.BUDGET, left - budget);
  for (;;) {
    if (rep && (st.gpr(1) & am) === 0n) break;
    const si = st.gpr(6) & am, di = st.gpr(7) & am;
    let zfAfter = true;
    switch (mn) {
      case Mn.MOVS: {
        const v = ctx.mmu.read(lin(srcSeg, si), size, ctx.cpl); if (v === undefined) return Exit.EXCEPTION;
        if (!ctx.mmu.write(lin(0, di), size, v, ctx.cpl)) return Exit.EXCEPTION;
        setIdx(6, si + delta); setIdx(7, di + delta);
        break;
      }
      case Mn.STOS:
        if (!ctx.mmu.write(lin(0, di), size, st.gpr(0) & MASK(size * 8), ctx.cpl)) return Exit.EXCEPTION;
        setIdx(7, di + delta);
        break;
      case Mn.LODS: {
        const v = ctx.mmu.read(lin(srcSeg, si), size, ctx.cpl); if (v === undefined) return Exit.EXCEPTION;
        setGprSized(st, 0, size, v); setIdx(6, si + delta);
        break;
      }
      case Mn.CMPS: {
        const x = ctx.mmu.read(lin(srcSeg, si), size, ctx.cpl); if (x === undefined) return Exit.EXCEPTION;
        const y = ctx.mmu.read(lin(0, di), size, ctx.cpl); if (y === undefined) return Exit.EXCEPTION;
        const r = trunc(x - y, size);
        setLazy(ctx, FlKind.SUB, size, x, y, r);
        setIdx(6, si + delta); setIdx(7, di + delta);
        zfAfter = r === 0n;
        break;
      }
      case Mn.SCAS: {
        const y = ctx.mmu.read(lin(0, di), size, ctx.cpl); if (y === undefined) return Exit.EXCEPTION;
        const x = st.gpr(0) & MASK(size * 8);
        const r = trunc(x - y, size);
        setLazy(ctx, FlKind.SUB, size, x, y, r);
        setIdx(7, di + delta);
        zfAfter = r === 0n;
        break;
      }
      case Mn.INS: {
        const v = ctx.sys.portIn(Number(st.gpr(2) & 0xffffn), size);
        if (!ctx.mmu.write(lin(0, di), size, BigInt(v >>> 0), ctx.cpl)) return Exit.EXCEPTION;
        setIdx(7, di + delta);
        break;
      }
      default: { // OUTS
        const v = ctx.mmu.read(lin(srcSeg, si), size, ctx.cpl); if (v === undefined) return Exit.EXCEPTION;
        ctx.sys.portOut(Number(st.gpr(2) & 0xffffn), size, Number(v));
        setIdx(6, si + delta);
        break;
      }
    }
    if (!rep) break;
    setIdx(1, (st.gpr(1) & am) - 1n);
    if ((insn.attrs & ATTR_REPCC) !== 0 && (mn === Mn.CMPS || mn === Mn.SCAS)) {
      if (insn.rep === 0xf3 && !zfAfter) break;
      if (insn.rep === 0xf2 && zfAfter) break;
    }
    if (--budget === 0) { st.rip = rip; return Exit.CONTINUE; }
  }
  st.rip = next;
  return Exit.CONTINUE;
}

void FAULT; void VEC_DE; void F_SF;
