/**
 * x87/SSE registers of a JIT vCPU as the debugger's FpuState (src/accel/types.ts,
 * the FXSAVE layout's terms: SDM Vol. 1 §10.5.1, Vol. 2 FXSAVE Table 3-53).
 *
 * The state block (src/cpu/state.ts, src/cpu/runtime/x87.ts) keeps ST(i) in
 * slot i (stack order, 80 bits in a 16-byte slot), the full tag word indexed
 * by physical register (11b = empty), FSW with TOP, XMM0-15, MXCSR and the
 * upper halves of YMM0-15 (S.YMMH). The
 * JIT does not track the last x87 opcode / instruction / data pointers: they
 * read as 0 (as after FNINIT) and writes to them are ignored.
 */
import type { FpuState } from '../../accel/types.js';
import { S, type CpuState } from '../state.js';

/** MXCSR bits the JIT implements (FXSAVE's MXCSR_MASK, see Vcpu.fxsave): the rest are reserved. */
const MXCSR_MASK = 0xffff;

export function readFpuState(st: CpuState): FpuState {
  const fpr = new Uint8Array(80);
  for (let i = 0; i < 8; i++) {
    const o = st.base + S.ST + i * 16;
    fpr.set(st.u8.subarray(o, o + 10), i * 10);
  }
  const ftw = st.u16(S.FTW);
  let ftwx = 0;
  for (let i = 0; i < 8; i++) if (((ftw >> (2 * i)) & 3) !== 3) ftwx |= 1 << i;
  const xmm = new Uint8Array(256);
  for (let i = 0; i < 16; i++) xmm.set(st.xmm(i), i * 16);
  const ymmh = st.u8.slice(st.base + S.YMMH, st.base + S.YMMH + 256);
  return { fpr, fcw: st.u16(S.FCW), fsw: st.u16(S.FSW), ftwx, lastOpcode: 0, lastIp: 0n, lastDp: 0n, xmm, mxcsr: st.u32(S.MXCSR), ymmh };
}

/**
 * Write `f` into the state block. Like FXRSTOR, a register marked non-empty in
 * the abridged tag becomes "valid" (tag 00b) and an empty one 11b. Short
 * arrays leave the registers they do not cover unchanged.
 */
export function writeFpuState(st: CpuState, f: FpuState): void {
  for (let i = 0; i < 8 && (i + 1) * 10 <= f.fpr.length; i++) {
    const o = st.base + S.ST + i * 16;
    st.u8.set(f.fpr.subarray(i * 10, i * 10 + 10), o);
    st.u8.fill(0, o + 10, o + 16);
  }
  st.setU16(S.FCW, f.fcw);
  st.setU16(S.FSW, f.fsw);
  let ftw = 0;
  for (let i = 0; i < 8; i++) ftw |= ((f.ftwx >> i) & 1 ? 0 : 3) << (2 * i);
  st.setU16(S.FTW, ftw);
  for (let i = 0; i < 16 && (i + 1) * 16 <= f.xmm.length; i++) st.xmm(i).set(f.xmm.subarray(i * 16, i * 16 + 16));
  st.setU32(S.MXCSR, f.mxcsr & MXCSR_MASK);
  if (f.ymmh) st.u8.set(f.ymmh.subarray(0, Math.min(256, f.ymmh.length & ~15)), st.base + S.YMMH);
}
