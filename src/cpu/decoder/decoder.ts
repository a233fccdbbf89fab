/**
 * The x86 decoder: bytes + mode + features -> Instruction (types.ts has the contract).
 *
 * Sources: Intel SDM Vol. 2 ch. 2 (instruction format, prefixes, REX, VEX,
 * ModRM/SIB, 16-bit addressing Table 2-1) and Appendix A (opcode maps); AMD
 * APM Vol. 3 ch. 1. Where Intel and AMD differ this decoder follows AMD (the
 * design's reference vendor, CPU-JIT.md):
 * - in 64-bit mode a 66 prefix makes near branches (Jcc, JMP, CALL, RET, LOOP)
 *   16-bit (rel16, IP truncated); Intel ignores 66 there;
 * - far JMP/CALL through memory and LSS/LFS/LGS ignore REX.W (m16:32);
 * - UD0 (0F FF) has no ModRM byte;
 * - LOCK MOV CR0 is MOV CR8 (AltMovCr8).
 *
 * Two paths: decodeGeneral handles every encoding, mode and buffer end;
 * decodeFast64 handles the common case (64-bit mode, 15 bytes available, no
 * VEX/EVEX/XOP, no form-specific check) with its state in locals and per-form
 * data in one interleaved table, and hands anything else to decodeGeneral.
 * decodeInto tries the fast path first. Both must agree field for field
 * (tests/unit/cpu/decoder-fast.test.ts); docs/decoder.md "Speed" has the
 * measurements behind the choices.
 */
import * as B from './build.js';
import { buildTables, flatten, K, SZ } from './build.js';
import { ALL_FEATURES } from './features.js';
import { Mn } from './mnemonics.js';
import { LEGACY_LINES } from './table-legacy.js';
import { VEX_LINES } from './table-vex.js';
import * as T from './types.js';
import {
  Instruction, OpKind, OpMap, RegClass, UdReason, Flow,
  type CpuMode, type DecodeFailure, type FeatureSet, type Operand,
} from './types.js';

// Module-local copies of the imported constants the hot path uses. V8 reads an imported binding through its
// module cell on every use (a load, a TDZ hole check and a Smi check), while a const of this module is folded
// into the optimised code: with the imports used directly decodeInto compiled to 20 KB of machine code instead
// of 13 KB and ran ~12% slower (docs/decoder.md, "Speed").
const CHECK_INVALID = B.CHECK_INVALID, CHECK_MOVCR = B.CHECK_MOVCR, CHECK_MOVDR = B.CHECK_MOVDR;
const CHECK_SREG_DST = B.CHECK_SREG_DST, CHECK_SREG_SRC = B.CHECK_SREG_SRC, CHECK_XCHG = B.CHECK_XCHG;
const CHECK_GATHER = B.CHECK_GATHER;
const INFO_AMDFAR = B.INFO_AMDFAR, INFO_BYTEOP = B.INFO_BYTEOP, INFO_CHECK_SHIFT = B.INFO_CHECK_SHIFT;
const INFO_D64 = B.INFO_D64, INFO_FEAT64 = B.INFO_FEAT64, INFO_HAS_IMPL = B.INFO_HAS_IMPL, INFO_M66 = B.INFO_M66;
const INFO_VVVV_UNUSED = B.INFO_VVVV_UNUSED, INFO_SHIFTK_SHIFT = B.INFO_SHIFTK_SHIFT;
const SHIFTK_RCX = B.SHIFTK_RCX, SHIFTK_ROT = B.SHIFTK_ROT, SHIFTK_SHIFT = B.SHIFTK_SHIFT;
const ACCESS_READ = T.ACCESS_READ, ATTR_LOCKABLE = T.ATTR_LOCKABLE, ATTR_LOCKED = T.ATTR_LOCKED;
const FLAG_AF = T.FLAG_AF, FLAG_CF = T.FLAG_CF, FLAG_OF = T.FLAG_OF, FLAG_PF = T.FLAG_PF, FLAG_SF = T.FLAG_SF;
const FLAG_ZF = T.FLAG_ZF;
const BASE_RIP = T.BASE_RIP, NO_REG = T.NO_REG, DECODE_GP = T.DECODE_GP, DECODE_MORE = T.DECODE_MORE;
const DECODE_UD = T.DECODE_UD;
const PFX_ADDRSIZE = T.PFX_ADDRSIZE, PFX_HINT_NOT_TAKEN = T.PFX_HINT_NOT_TAKEN, PFX_HINT_TAKEN = T.PFX_HINT_TAKEN;
const PFX_LOCK = T.PFX_LOCK, PFX_OPSIZE = T.PFX_OPSIZE, PFX_REP = T.PFX_REP, PFX_REP_CONFLICT = T.PFX_REP_CONFLICT;
const PFX_REPNE = T.PFX_REPNE, PFX_REX = T.PFX_REX, PFX_SEG = T.PFX_SEG, PFX_VEX2 = T.PFX_VEX2;
const PFX_VEX3 = T.PFX_VEX3;
const OK_REG = OpKind.REG, OK_MEM = OpKind.MEM, OK_IMM = OpKind.IMM, OK_REL = OpKind.REL;
const OK_FAR = OpKind.FAR;
const RC_GPR = RegClass.GPR, RC_SEG = RegClass.SEG, RC_CR = RegClass.CR, RC_DR = RegClass.DR, RC_ST = RegClass.ST;
const RC_MMX = RegClass.MMX, RC_XMM = RegClass.XMM, RC_YMM = RegClass.YMM;
const UD_NONE = UdReason.NONE, UD_OPCODE = UdReason.OPCODE, UD_MODE = UdReason.MODE, UD_LOCK = UdReason.LOCK;
const UD_FEATURE = UdReason.FEATURE, UD_UNSUPPORTED = UdReason.UNSUPPORTED, UD_VEX = UdReason.VEX;
const MAP_ONE_BYTE = OpMap.ONE_BYTE, MAP_0F = OpMap.MAP_0F, MAP_0F38 = OpMap.MAP_0F38, MAP_0F3A = OpMap.MAP_0F3A;
const K_MEM_DI = K.MEM_DI;
const SZ_X = SZ.X;
const DEFAULT_FEATURES = ALL_FEATURES;

const TABLES = buildTables([...LEGACY_LINES, ...VEX_LINES]);
const FT = flatten(TABLES);
const ROOT = FT.root;
const NODES = FT.nodes;
const HAS_MODRM = FT.legacyModrm;
const MODREG = FT.legacyModreg;
const F_MN = FT.mn;
const F_INFO = FT.info;
const F_FEAT1 = FT.feat1;
const F_FEAT2 = FT.feat2;
const F_OPS = FT.ops;
const F_IMPL = FT.impl;
const F_FR = FT.flagsRead;
const F_FW = FT.flagsWritten;
const F_FU = FT.flagsUndefined;
const F_FLOW = FT.flow;
const F_ATTRS = FT.attrs;
const F_COND = FT.cond;
const F_FALLBACK = FT.fallback;
/** Sizes of the fixed size codes (SZ.NONE..SZ.T). */
const FIXED_SIZE = new Int8Array([0, 1, 2, 4, 8, 16, 32, 10]);

// Prefix classes of the first bytes.
const P_NONE = 0, P_SEG = 1, P_OSZ = 2, P_ASZ = 3, P_LOCK = 4, P_F2 = 5, P_F3 = 6, P_REX = 7;
const PFX_CLASS = new Int8Array(256);
for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]) PFX_CLASS[b] = P_SEG;
PFX_CLASS[0x66] = P_OSZ;
PFX_CLASS[0x67] = P_ASZ;
PFX_CLASS[0xf0] = P_LOCK;
PFX_CLASS[0xf2] = P_F2;
PFX_CLASS[0xf3] = P_F3;
for (let b = 0x40; b < 0x50; b++) PFX_CLASS[b] = P_REX;
/** Segment prefix byte -> Seg number. */
const SEG_OF = new Int8Array(256).fill(-1);
SEG_OF[0x26] = 0; SEG_OF[0x2e] = 1; SEG_OF[0x36] = 2; SEG_OF[0x3e] = 3; SEG_OF[0x64] = 4; SEG_OF[0x65] = 5;

/** 16-bit addressing (SDM Vol. 2 Table 2-1): rm -> base, index. */
const RM16_BASE = [3, 3, 5, 5, 6, 7, 5, 3];
const RM16_INDEX = [6, 7, 6, 7, -1, -1, -1, -1];

/** Valid control registers (CR0, CR2, CR3, CR4, CR8). */
const CR_VALID = 0x11d;

// EVEX map 1 opcodes with an imm8 (for the length of an unsupported EVEX instruction).
const EVEX_MAP1_IMM = new Set([0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]);

/** Decoder state for one instruction (module-level scratch: decoding is synchronous and not re-entrant). */
class DecodeState {
  bytes: Uint8Array = new Uint8Array(0);
  modrm = 0;
  mod = 0;
  rexW = 0;
  hasRex = false;
  /** ModRM.reg | REX.R << 3. */
  regX = 0;
  /** ModRM.rm | REX.B << 3 (or the opcode's +r register when there is no ModRM). */
  rmX = 0;
  memBase = -1;
  memIndex = -1;
  memScale = 1;
  memDisp = 0;
  memSeg = 3;
  immPos = 0;
  vexV = 0;
  vexL = 0;
  segOverride = -1;
  vsibIndex = 0;
  opcode = 0;
}
const S = new DecodeState();

function fail(out: Instruction, code: number, len: number, reason: UdReason): number {
  out.length = len;
  out.failure = reason;
  return code;
}

/** Reading `need` bytes at p would pass `end` or the 15-byte limit: the right failure code. */
function short(out: Instruction, p: number, need: number, offset: number): number {
  const total = p + need - offset;
  if (total > 15) return fail(out, DECODE_GP, 15, UD_NONE);
  return fail(out, DECODE_MORE, total, UD_NONE);
}

function rd16(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8);
}
function rd32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24));
}

/**
 * Decode one instruction into `out`. Returns its length (1..15) or DECODE_UD /
 * DECODE_GP / DECODE_MORE. Reads only bytes[offset, min(end, offset + 15)).
 */
export function decodeInto(out: Instruction, bytes: Uint8Array, offset: number, end: number,
  mode: CpuMode, features: FeatureSet = DEFAULT_FEATURES): number {
  if (mode === 64 && offset >= 0 && offset + 15 <= end && end <= bytes.length) {
    const r = decodeFast64(out, bytes, offset, features);
    if (r !== FAST_BAIL) return r;
  }
  return decodeGeneral(out, bytes, offset, end, mode, features);
}

/** decodeInto for every case (decodeFast64 handles the common ones first). */
function decodeGeneral(out: Instruction, bytes: Uint8Array, offset: number, end: number,
  mode: CpuMode, features: FeatureSet): number {
  if (end > bytes.length) end = bytes.length;
  const lim = end < offset + 15 ? end : offset + 15;
  S.bytes = bytes;
  let p = offset;
  let prefixes = 0;
  let seg = -1;
  let rep = 0;
  let rex = 0;
  let last = 0;
  // ---- legacy prefixes and REX (SDM Vol. 2 §2.1.1, §2.2.1) ----
  for (;;) {
    if (p >= lim) return short(out, p, 1, offset);
    const b = bytes[p]!;
    const cls = PFX_CLASS[b]!;
    if (cls === P_NONE) break;
    if (cls === P_REX) {
      if (mode !== 64) break;
      rex = b;
      p++;
      continue;
    }
    rex = 0; // a legacy prefix after REX makes that REX ignored
    last = b;
    switch (cls) {
      case P_SEG: {
        const s = SEG_OF[b]!;
        // In 64-bit mode ES/CS/SS/DS overrides are null prefixes and do not replace FS/GS.
        if (mode !== 64 || s >= 4 || seg < 4) seg = s;
        if (b === 0x2e) prefixes |= PFX_HINT_NOT_TAKEN; else if (b === 0x3e) prefixes |= PFX_HINT_TAKEN;
        prefixes |= PFX_SEG;
        break;
      }
      case P_OSZ: prefixes |= PFX_OPSIZE; break;
      case P_ASZ: prefixes |= PFX_ADDRSIZE; break;
      case P_LOCK: prefixes |= PFX_LOCK; break;
      case P_F2:
        if (prefixes & PFX_REP) prefixes |= PFX_REP_CONFLICT;
        prefixes |= PFX_REPNE; rep = 0xf2; break;
      default:
        if (prefixes & PFX_REPNE) prefixes |= PFX_REP_CONFLICT;
        prefixes |= PFX_REP; rep = 0xf3; break;
    }
    p++;
  }
  void last;
  if (rex !== 0) prefixes |= PFX_REX;
  S.hasRex = rex !== 0;
  let rexW = (rex >> 3) & 1;
  let rexR = (rex >> 2) & 1;
  let rexX = (rex >> 1) & 1;
  let rexB = rex & 1;
  S.segOverride = seg;

  const asz = mode === 64 ? (prefixes & PFX_ADDRSIZE ? 32 : 64) : mode === 32 ? (prefixes & PFX_ADDRSIZE ? 16 : 32)
    : (prefixes & PFX_ADDRSIZE ? 32 : 16);

  // ---- opcode ----
  let b0 = bytes[p]!;
  p++;
  let map: number = MAP_ONE_BYTE;
  let isVex = false;
  let pfxIdx = rep === 0xf3 ? 2 : rep === 0xf2 ? 3 : prefixes & PFX_OPSIZE ? 1 : 0;
  S.vexV = 0;
  S.vexL = 0;
  let vexW = 0;
  let vexMm = 0;
  if (b0 === 0x0f) {
    if (p >= lim) return short(out, p, 1, offset);
    b0 = bytes[p++]!;
    map = MAP_0F;
    if (b0 === 0x38 || b0 === 0x3a) {
      map = b0 === 0x38 ? MAP_0F38 : MAP_0F3A;
      if (p >= lim) return short(out, p, 1, offset);
      b0 = bytes[p++]!;
    } else if (b0 === 0x0f) {
      // 3DNow! (0F 0F /r ib): recognised, not supported.
      return skipUnsupported(out, p, offset, lim, asz, mode, 1);
    }
  } else if ((b0 === 0xc4 || b0 === 0xc5) && (mode === 64 || (p < lim && (bytes[p]! & 0xc0) === 0xc0) || p >= lim)) {
    // VEX (SDM Vol. 2 §2.3.5). Outside 64-bit mode C4/C5 are LES/LDS unless ModRM.mod would be 3.
    if (p >= lim) return short(out, p, 1, offset);
    if (prefixes & (PFX_OPSIZE | PFX_REP | PFX_REPNE | PFX_LOCK) || rex !== 0) {
      return fail(out, DECODE_UD, 0, UD_VEX);
    }
    const v1 = bytes[p++]!;
    let v2: number;
    if (b0 === 0xc5) {
      rexR = (~v1 >> 7) & 1; rexX = 0; rexB = 0; vexW = 0;
      map = MAP_0F;
      vexMm = 1;
      v2 = v1;
      prefixes |= PFX_VEX2;
    } else {
      if (p >= lim) return short(out, p, 1, offset);
      v2 = bytes[p++]!;
      rexR = (~v1 >> 7) & 1; rexX = (~v1 >> 6) & 1; rexB = (~v1 >> 5) & 1;
      vexW = (v2 >> 7) & 1;
      const mm = v1 & 0x1f;
      prefixes |= PFX_VEX3;
      if (mm < 1 || mm > 3) {
        if (p >= lim) return short(out, p, 1, offset);
        return fail(out, DECODE_UD, 0, UD_OPCODE);
      }
      map = mm;
      vexMm = mm;
    }
    if (mode !== 64) { rexR = 0; rexX = 0; rexB = 0; }
    S.vexV = (~v2 >> 3) & 15;
    if (mode !== 64) S.vexV &= 7;
    S.vexL = (v2 >> 2) & 1;
    pfxIdx = v2 & 3;
    if (p >= lim) return short(out, p, 1, offset);
    b0 = bytes[p++]!;
    isVex = true;
    rexW = vexW;
    S.hasRex = false;
  } else if (b0 === 0x62 && (mode === 64 || p >= lim || (bytes[p]! & 0xc0) === 0xc0)) {
    // EVEX (AVX-512): recognised, not supported. 62 P0 P1 P2 opcode ModRM ...
    if (p >= lim) return short(out, p, 1, offset); // outside 64-bit mode this byte decides BOUND vs EVEX
    if (p + 3 > lim) return short(out, p, 3, offset);
    const mm = bytes[p]! & 7;
    p += 3;
    if (p >= lim) return short(out, p, 1, offset);
    const op = bytes[p++]!;
    const imm = mm === 3 || (mm === 1 && EVEX_MAP1_IMM.has(op)) ? 1 : 0;
    return skipModrm(out, p, offset, lim, asz, mode, imm);
  } else if (b0 === 0x8f && (p >= lim || (bytes[p]! & 0x1f) >= 8)) {
    // XOP (AMD): recognised, not supported. 8F RXB.mmmmm W.vvvv.L.pp opcode ModRM ...
    if (p >= lim) return short(out, p, 1, offset); // this byte decides POP Ev vs XOP
    if (p + 2 > lim) return short(out, p, 2, offset);
    const mm = bytes[p]! & 0x1f;
    p += 2;
    if (p >= lim) return short(out, p, 1, offset);
    p++;
    return skipModrm(out, p, offset, lim, asz, mode, mm === 8 ? 1 : mm === 10 ? 4 : 0);
  }

  const opcode = b0;
  S.opcode = b0;
  let node = ROOT[(isVex ? 1024 : 0) + map * 256 + opcode]!;
  if (node === 0) return fail(out, DECODE_UD, 0, UD_OPCODE);
  // ---- ModRM, SIB, displacement ----
  const hasModrm = HAS_MODRM[(isVex ? 1024 : 0) + map * 256 + opcode] === 1;
  let mod = 3;
  let modrm = -1;
  S.rexW = rexW;
  if (hasModrm) {
    if (p >= lim) return short(out, p, 1, offset);
    const m = bytes[p++]!;
    modrm = m;
    mod = m >> 6;
    S.regX = ((m >> 3) & 7) | (rexR << 3);
    const rm = m & 7;
    S.rmX = rm | (rexB << 3);
    if (mod !== 3 && (isVex || MODREG[map * 256 + opcode] !== 1)) {
      S.memIndex = NO_REG; S.memScale = 1; S.memDisp = 0;
      if (asz === 16) {
        let dl = mod === 1 ? 1 : mod === 2 ? 2 : 0;
        if (mod === 0 && rm === 6) { dl = 2; S.memBase = NO_REG; } else S.memBase = RM16_BASE[rm]!;
        S.memIndex = RM16_INDEX[rm]!;
        if (p + dl > lim) return short(out, p, dl, offset);
        if (dl === 1) S.memDisp = (bytes[p]! << 24) >> 24;
        else if (dl === 2) S.memDisp = ((bytes[p]! | (bytes[p + 1]! << 8)) << 16) >> 16;
        p += dl;
        S.memSeg = S.memBase === 5 ? 2 : 3;
      } else {
        let dl = mod === 1 ? 1 : mod === 2 ? 4 : 0;
        let base: number;
        if (rm === 4) {
          if (p >= lim) return short(out, p, 1, offset);
          const sib = bytes[p++]!;
          S.memScale = 1 << (sib >> 6);
          const idx = ((sib >> 3) & 7) | (rexX << 3);
          S.vsibIndex = idx;
          S.memIndex = idx === 4 ? NO_REG : idx;
          base = sib & 7;
          if (base === 5 && mod === 0) { dl = 4; base = NO_REG; } else base |= rexB << 3;
        } else if (rm === 5 && mod === 0) {
          dl = 4;
          base = mode === 64 ? BASE_RIP : NO_REG;
        } else {
          base = rm | (rexB << 3);
        }
        S.memBase = base;
        if (p + dl > lim) return short(out, p, dl, offset);
        if (dl === 1) S.memDisp = (bytes[p]! << 24) >> 24;
        else if (dl === 4) S.memDisp = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
        p += dl;
        S.memSeg = base === 4 || base === 5 ? 2 : 3;
      }
    }
  } else {
    // No ModRM: the +r register of B8+r, 50+r, ... sits in the opcode's low bits (extended by REX.B).
    S.rmX = (opcode & 7) | (rexB << 3);
  }
  S.mod = mod;
  S.modrm = modrm;
  // ---- resolve the form: walk the decision tree (build.ts DIM order) ----
  const osz = isVex ? (mode === 64 && vexW ? 64 : 32)
    : rexW && mode === 64 ? 64 : mode === 16 ? (prefixes & PFX_OPSIZE ? 32 : 16) : (prefixes & PFX_OPSIZE ? 16 : 32);
  while (node < 0) {
    const at = -node - 1;
    let v: number;
    switch (NODES[at]) {
      case 0: v = pfxIdx; break; // DIM.PFX
      case 1: v = mod === 3 ? 1 : 0; break; // DIM.MOD
      case 2: v = (modrm >> 3) & 7; break; // DIM.REG
      case 3: v = modrm & 7; break; // DIM.RM
      case 4: v = rexW; break; // DIM.W
      case 5: v = S.vexL; break; // DIM.L
      case 6: v = osz === 16 ? 0 : osz === 32 ? 1 : 2; break; // DIM.OSZ
      case 7: v = mode === 64 ? (rexW ? 2 : prefixes & PFX_OPSIZE ? 0 : 2) : osz === 16 ? 0 : 1; break; // DIM.OSZD
      case 8: v = asz === 16 ? 0 : asz === 32 ? 1 : 2; break; // DIM.ASZ
      case 9: v = mode === 64 ? 1 : 0; break; // DIM.MODE64
      default: v = rexB; break; // DIM.REXB
    }
    const next = NODES[at + 1 + v]!;
    if (next === 0) return udWithLength(out, p, offset, NODES[at] === 9 ? UD_MODE : UD_OPCODE);
    node = next;
  }
  let f = node - 1;
  // Features (with fallback to the prefix-ignoring form, e.g. TZCNT -> BSF on CPUs without BMI1).
  const fw = features.words;
  for (;;) {
    const f1 = F_FEAT1[f]!;
    if (f1 < 0) break;
    const f2 = F_FEAT2[f]!;
    const has1 = ((fw[f1 >>> 5]! >>> (f1 & 31)) & 1) !== 0 || (mode !== 64 && (F_INFO[f]! & INFO_FEAT64) !== 0);
    const has2 = f2 < 0 || ((fw[f2 >>> 5]! >>> (f2 & 31)) & 1) !== 0;
    if (has1 && has2) break;
    f = F_FALLBACK[f]!;
    if (f < 0) return udWithLength(out, p, offset, UD_FEATURE);
  }
  const info = F_INFO[f]!;
  const check = (info >> INFO_CHECK_SHIFT) & 15;
  // Table lines spelled 'invalid' carve #UD holes into otherwise valid forms (e.g. F2/F3 + RDRAND).
  if (check === CHECK_INVALID) return udWithLength(out, p, offset, UD_OPCODE);
  if (isVex && (info & INFO_VVVV_UNUSED) !== 0 && S.vexV !== 0) return udWithLength(out, p, offset, UD_VEX);
  // LOCK (SDM Vol. 2 "LOCK": #UD unless a lockable instruction with a memory destination).
  let attrs = F_ATTRS[f]!;
  if (prefixes & PFX_LOCK) {
    if (check === CHECK_MOVCR) {
      // AMD AltMovCr8: LOCK MOV CR0 = MOV CR8 (below).
    } else if (!(attrs & ATTR_LOCKABLE) || mod === 3) {
      return udWithLength(out, p, offset, UD_LOCK);
    } else attrs |= ATTR_LOCKED;
  }
  // ---- operand size ----
  let opSize: 8 | 16 | 32 | 64;
  if (info & INFO_BYTEOP) opSize = 8;
  else if (isVex) opSize = osz as 32 | 64;
  else if (mode === 64 && (info & INFO_D64) !== 0) opSize = rexW ? 64 : prefixes & PFX_OPSIZE ? 16 : 64;
  else if (info & INFO_M66) opSize = rexW && mode === 64 ? 64 : mode === 16 ? 16 : 32;
  else opSize = osz as 16 | 32 | 64;
  if ((info & INFO_AMDFAR) !== 0 && opSize === 64) opSize = 32;
  // ---- operands ----
  S.immPos = p;
  const ob = f * 6;
  const n = F_OPS[ob]!;
  const ops = out.ops;
  for (let i = 0; i < n; i++) {
    const code = F_OPS[ob + 1 + i]!;
    const k = code & 63;
    const sz = (code >> 6) & 63;
    // Fast paths for most integer instructions: a b/v-sized GPR (ModRM.reg, ModRM.rm with mod 3, opcode +r)
    // or a b/v-sized memory operand; everything else goes through fillOperand.
    if ((sz === 8 /* SZ.V */ || sz === 1 /* SZ.B */) && k === 1 /* K.E */ && mod !== 3) {
      const o = ops[i]!;
      o.kind = OK_MEM;
      o.size = sz === 1 || opSize === 8 ? 1 : opSize >> 3;
      o.access = (code >> 12) & 15;
      o.base = S.memBase;
      o.index = S.memIndex;
      o.scale = S.memScale;
      o.disp = S.memDisp;
      o.dispHi = S.memDisp < 0 ? -1 : 0;
      o.addrSize = asz as 16 | 32 | 64;
      o.vsib = 0;
      o.seg = seg >= 0 ? seg : S.memSeg;
      continue;
    }
    if ((k === 2 /* K.G */ || k === 9 /* K.Z */ || (k === 1 /* K.E */ && mod === 3)) && (sz === 8 /* SZ.V */ || sz === 1 /* SZ.B */)) {
      const o = ops[i]!;
      const reg = k === 2 ? S.regX : S.rmX;
      const size = sz === 1 || opSize === 8 ? 1 : opSize >> 3;
      o.kind = OK_REG;
      o.regClass = RC_GPR;
      o.size = size;
      o.access = (code >> 12) & 15;
      if (size === 1 && !S.hasRex && reg >= 4 && reg < 8) { o.reg = reg - 4; o.highByte = true; } else { o.reg = reg; o.highByte = false; }
      continue;
    }
    const r = fillOperand(out, ops[i]!, code, opSize, asz, mode, lim, offset);
    if (r < 0) return r;
  }
  p = S.immPos;
  if (p - offset > 15) return fail(out, DECODE_GP, 15, UD_NONE);
  if (check !== 0) {
    switch (check) {
      case CHECK_MOVCR: {
        const op = ops[(F_OPS[ob + 1]! & 63) === 13 /* K.C */ ? 0 : 1]!;
        if (prefixes & PFX_LOCK) {
          // AMD AltMovCr8 reaches CR8 only from CR0's encoding (REX.R must be clear).
          if (op.reg >= 8) return udWithLength(out, p, offset, UD_LOCK);
          op.reg |= 8;
        }
        if (op.reg > 15 || !((CR_VALID >> op.reg) & 1)) return udWithLength(out, p, offset, UD_OPCODE);
        break;
      }
      case CHECK_MOVDR: {
        const op = ops[(F_OPS[ob + 1]! & 63) === 14 /* K.D */ ? 0 : 1]!;
        if (op.reg > 7) return udWithLength(out, p, offset, UD_OPCODE);
        break;
      }
      case CHECK_SREG_DST:
        // MOV Sreg, r/m: reg 6/7 reserved; loading CS is #UD.
        if ((modrm >> 3 & 7) > 5 || (modrm >> 3 & 7) === 1) return udWithLength(out, p, offset, UD_OPCODE);
        break;
      case CHECK_SREG_SRC:
        if ((modrm >> 3 & 7) > 5) return udWithLength(out, p, offset, UD_OPCODE);
        break;
      case CHECK_GATHER: {
        // SDM "VPGATHERDD": #UD if destination, index and mask registers are not all different.
        const d = ops[0]!.reg, x = ops[1]!.index, k = ops[2]!.reg;
        if (d === x || d === k || x === k) return udWithLength(out, p, offset, UD_OPCODE);
        break;
      }
      case CHECK_XCHG:
        // XCHG with a memory operand is locked (SDM "XCHG").
        if (mod !== 3) attrs |= ATTR_LOCKED;
        break;
      default:
        break;
    }
  }
  let ni = 0;
  if (info & INFO_HAS_IMPL) {
    const ib = f * 5;
    ni = F_IMPL[ib]!;
    const implicit = out.implicit;
    for (let i = 0; i < ni; i++) fillImplicit(implicit[i]!, F_IMPL[ib + 1 + i]!, opSize, asz, mode);
  }
  out.length = p - offset;
  out.mode = mode;
  out.mn = F_MN[f]! as Mn;
  out.form = f;
  out.opSize = opSize;
  out.addrSize = asz as 16 | 32 | 64;
  out.prefixes = prefixes;
  out.segPrefix = seg;
  out.rep = rep as 0 | 0xf2 | 0xf3;
  out.rex = isVex ? 0 : rex;
  if (isVex) {
    out.vexL = S.vexL;
    out.vexV = S.vexV;
    out.vexW = vexW;
    out.vexPp = pfxIdx;
    out.vexMmmmm = vexMm;
  } else if (out.vexMmmmm !== 0) {
    out.vexL = 0; out.vexV = 0; out.vexW = 0; out.vexPp = 0; out.vexMmmmm = 0;
  }
  out.map = map as OpMap;
  out.opcode = opcode;
  out.modrm = S.modrm;
  out.cond = F_COND[f]!;
  out.opCount = n;
  out.implicitCount = ni;
  out.flagsRead = F_FR[f]!;
  out.flagsWritten = F_FW[f]!;
  out.flagsUndefined = F_FU[f]!;
  if (info >> INFO_SHIFTK_SHIFT) shiftFlags(out, info >> INFO_SHIFTK_SHIFT, ops[n - 1]!.imm, opSize);
  out.flow = F_FLOW[f]! as Flow;
  out.attrs = attrs;
  out.failure = UD_NONE;
  return out.length;
}

/**
 * Flags of a shift/rotate by an immediate count, which the count decides (SDM "SAL/SAR/SHL/SHR",
 * "RCL/RCR/ROL/ROR", "SHLD", "SHRD"): a masked count of 0 affects no flag; OF is defined only for a count
 * of 1; RCL/RCR count modulo 9 (bytes) or 17 (words) for 8/16-bit operands.
 */
function shiftFlags(out: Instruction, kind: number, imm: number, opSize: number): void {
  let count = imm & (opSize === 64 ? 0x3f : 0x1f);
  if (kind === SHIFTK_RCX) count = opSize === 8 ? count % 9 : opSize === 16 ? count % 17 : count;
  if (count === 0) { out.flagsRead = 0; out.flagsWritten = 0; out.flagsUndefined = 0; return; }
  const of = count === 1 ? 0 : FLAG_OF;
  if (kind === SHIFTK_ROT || kind === SHIFTK_RCX) {
    out.flagsRead = kind === SHIFTK_RCX ? FLAG_CF : 0;
    out.flagsWritten = FLAG_OF | FLAG_CF;
    out.flagsUndefined = of;
  } else {
    void SHIFTK_SHIFT;
    out.flagsRead = 0;
    out.flagsWritten = FLAG_OF | FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF | FLAG_CF;
    out.flagsUndefined = FLAG_AF | of;
  }
}

/** #UD after ModRM/SIB/disp were consumed: the length up to there (immediates unknown). */
function udWithLength(out: Instruction, p: number, offset: number, reason: UdReason): number {
  return fail(out, DECODE_UD, p - offset, reason);
}

/** Skip ModRM/SIB/disp and `imm` immediate bytes of an unsupported encoding; report #UD with its length. */
function skipModrm(out: Instruction, p: number, offset: number, lim: number, asz: number, mode: CpuMode,
  imm: number): number {
  void mode;
  if (p >= lim) return short(out, p, 1, offset);
  const m = S.bytes[p++]!;
  const mod = m >> 6, rm = m & 7;
  let dl = 0;
  if (mod !== 3) {
    if (asz === 16) {
      dl = mod === 1 ? 1 : mod === 2 ? 2 : rm === 6 ? 2 : 0;
    } else {
      dl = mod === 1 ? 1 : mod === 2 ? 4 : 0;
      if (rm === 4) {
        if (p >= lim) return short(out, p, 1, offset);
        const sib = S.bytes[p++]!;
        if ((sib & 7) === 5 && mod === 0) dl = 4;
      } else if (rm === 5 && mod === 0) dl = 4;
    }
  }
  if (p + dl + imm > lim) return short(out, p, dl + imm, offset);
  p += dl + imm;
  return fail(out, DECODE_UD, p - offset, UD_UNSUPPORTED);
}

function skipUnsupported(out: Instruction, p: number, offset: number, lim: number, asz: number, mode: CpuMode,
  imm: number): number {
  return skipModrm(out, p, offset, lim, asz, mode, imm);
}

/** Size in bytes of a size code (SZ.*) for the current instruction. */
function sizeOf(sz: number, opSize: number, asz: number, mode: CpuMode): number {
  if (sz < 8) return FIXED_SIZE[sz]!;
  switch (sz) {
    case 8 /* SZ.V */: return opSize === 8 ? 1 : opSize >> 3;
    case 9 /* SZ.Z */: return opSize === 16 ? 2 : 4;
    case 10 /* SZ.Y */: return mode === 64 && S.rexW ? 8 : 4;
    case 11 /* SZ.F */: return mode === 64 ? 8 : 4;
    case 12 /* SZ.A */: return opSize === 16 ? 4 : 8;
    case 13 /* SZ.P */: return 2 + (opSize >> 3);
    case 14 /* SZ.S */: return mode === 64 ? 10 : 6;
    case 15 /* SZ.X */: return S.vexL ? 32 : 16;
    case 16 /* SZ.H */: return S.vexL ? 16 : 8;
    case 25 /* SZ.QX */: return S.vexL ? 8 : 4;
    case 26 /* SZ.EX */: return S.vexL ? 4 : 2;
    case 17 /* SZ.E */: return opSize === 16 ? 14 : 28;
    case 18 /* SZ.FS */: return opSize === 16 ? 94 : 108;
    case 19 /* SZ.FX */: return 512;
    case 20 /* SZ.XS */: return 0;
    case 21 /* SZ.C */: return 64;
    case 22 /* SZ.B32 */: return 1;
    case 23 /* SZ.W32 */: return 2;
    case 27 /* SZ.VW */: return 2;
    case 28 /* SZ.D32 */: return 4;
    case 24 /* SZ.ASZ */: return asz >> 3;
    default: return 0;
  }
}

function setReg(o: Operand, cls: RegClass, reg: number, size: number, access: number): void {
  o.kind = OK_REG;
  o.regClass = cls;
  o.reg = reg;
  o.size = size;
  o.highByte = false;
  o.access = access;
}

function setGpr(o: Operand, reg: number, size: number, access: number): void {
  o.kind = OK_REG;
  o.regClass = RC_GPR;
  o.size = size;
  o.access = access;
  if (size === 1 && !S.hasRex && reg >= 4 && reg < 8) { o.reg = reg - 4; o.highByte = true; } else { o.reg = reg; o.highByte = false; }
}

function setMem(o: Operand, size: number, access: number, asz: number): void {
  o.kind = OK_MEM;
  o.size = size;
  o.access = access;
  o.base = S.memBase;
  o.index = S.memIndex;
  o.scale = S.memScale;
  o.disp = S.memDisp;
  o.dispHi = S.memDisp < 0 ? -1 : 0;
  o.addrSize = asz as 16 | 32 | 64;
  o.vsib = 0;
  o.seg = S.segOverride >= 0 ? S.segOverride : S.memSeg;
}

function vecClass(size: number): RegClass {
  return size === 32 ? RC_YMM : RC_XMM;
}

/**
 * Fill one explicit operand from its code (build.ts opCode: kind | size << 6 | access << 12 | reg << 16 |
 * class << 21 | high << 25). Returns 0, or a failure code (immediate past the buffer / 15 bytes, bad VSIB).
 * Advances S.immPos over immediates.
 */
function fillOperand(out: Instruction, o: Operand, code: number, opSize: number, asz: number, mode: CpuMode,
  lim: number, offset: number): number {
  const b = S.bytes;
  const sz = (code >> 6) & 63;
  const acc = (code >> 12) & 15;
  switch (code & 63) {
    case 1 /* K.E */: {
      if (S.mod === 3) {
        const size = sz === 22 /* SZ.B32 */ || sz === 23 /* SZ.W32 */ || sz === 28 /* SZ.D32 */ ? (mode === 64 && S.rexW ? 8 : 4)
          : sz === 27 /* SZ.VW */ ? opSize >> 3 : sizeOf(sz, opSize, asz, mode);
        setGpr(o, S.rmX, size, acc);
      } else setMem(o, sizeOf(sz, opSize, asz, mode), acc, asz);
      return 0;
    }
    case 2 /* K.G */:
      setGpr(o, S.regX, sizeOf(sz, opSize, asz, mode), acc);
      return 0;
    case 3 /* K.M */:
      setMem(o, sizeOf(sz, opSize, asz, mode), acc, asz);
      return 0;
    case 4 /* K.R */:
      setGpr(o, S.rmX, sizeOf(sz, opSize, asz, mode), acc);
      return 0;
    case 9 /* K.Z */:
      setGpr(o, S.rmX, sizeOf(sz, opSize, asz, mode), acc);
      return 0;
    case 5 /* K.I */: {
      // Iv (MOV r64, imm64) is the only 8-byte immediate; Iz is 4 bytes sign-extended at operand size 64.
      const size = sz === 8 /* SZ.V */ ? (opSize === 64 ? 8 : opSize >> 3) : sizeOf(sz, opSize, asz, mode);
      const q = S.immPos;
      if (q + size > lim) return short(out, q, size, offset);
      o.kind = OK_IMM;
      o.access = ACCESS_READ;
      if (size === 1) { o.size = 1; o.imm = b[q]!; o.immHi = 0; } else if (size === 2) {
        o.size = 2; o.imm = b[q]! | (b[q + 1]! << 8); o.immHi = 0;
      } else if (size === 4) {
        const v = b[q]! | (b[q + 1]! << 8) | (b[q + 2]! << 16) | (b[q + 3]! << 24);
        if (sz === 9 /* SZ.Z */ && opSize === 64) { o.size = 8; o.imm = v; o.immHi = v < 0 ? -1 : 0; } else { o.size = 4; o.imm = v >>> 0; o.immHi = 0; }
      } else {
        o.size = 8;
        o.imm = (b[q]! | (b[q + 1]! << 8) | (b[q + 2]! << 16) | (b[q + 3]! << 24)) >>> 0;
        o.immHi = b[q + 4]! | (b[q + 5]! << 8) | (b[q + 6]! << 16) | (b[q + 7]! << 24);
      }
      S.immPos = q + size;
      return 0;
    }
    case 6 /* K.IBS */: {
      const q = S.immPos;
      if (q + 1 > lim) return short(out, q, 1, offset);
      o.kind = OK_IMM;
      o.access = ACCESS_READ;
      o.size = opSize === 8 ? 1 : opSize >> 3;
      const v = (b[q]! << 24) >> 24;
      o.imm = v;
      o.immHi = v < 0 ? -1 : 0;
      S.immPos = q + 1;
      return 0;
    }
    case 7 /* K.J */: {
      const enc = sz === 1 /* SZ.B */ ? 1 : opSize === 16 ? 2 : 4;
      const q = S.immPos;
      if (q + enc > lim) return short(out, q, enc, offset);
      o.kind = OK_REL;
      o.access = ACCESS_READ;
      o.size = enc;
      const v = enc === 1 ? (b[q]! << 24) >> 24 : enc === 2 ? ((b[q]! | (b[q + 1]! << 8)) << 16) >> 16
        : b[q]! | (b[q + 1]! << 8) | (b[q + 2]! << 16) | (b[q + 3]! << 24);
      o.imm = v;
      o.immHi = v < 0 ? -1 : 0;
      S.immPos = q + enc;
      return 0;
    }
    case 8 /* K.O */: {
      const enc = asz >> 3;
      const q = S.immPos;
      if (q + enc > lim) return short(out, q, enc, offset);
      o.kind = OK_MEM;
      o.size = sizeOf(sz, opSize, asz, mode);
      o.access = acc;
      o.base = NO_REG;
      o.index = NO_REG;
      o.scale = 1;
      o.vsib = 0;
      o.addrSize = asz as 16 | 32 | 64;
      o.seg = S.segOverride >= 0 ? S.segOverride : 3;
      if (enc === 2) { o.disp = rd16(b, q); o.dispHi = 0; } else if (enc === 4) { o.disp = rd32(b, q) >>> 0; o.dispHi = 0; } else {
        o.disp = rd32(b, q) >>> 0; o.dispHi = rd32(b, q + 4);
      }
      S.immPos = q + enc;
      return 0;
    }
    case 10 /* K.FIXED */: {
      o.kind = OK_REG;
      o.regClass = ((code >> 21) & 15) as RegClass;
      o.reg = (code >> 16) & 31;
      o.size = sizeOf(sz, opSize, asz, mode);
      o.highByte = ((code >> 25) & 1) !== 0;
      o.access = acc;
      return 0;
    }
    case 11 /* K.ONE */:
      o.kind = OK_IMM; o.size = 1; o.imm = 1; o.immHi = 0; o.access = ACCESS_READ;
      return 0;
    case 12 /* K.S */:
      setReg(o, RC_SEG, S.regX & 7, 2, acc);
      return 0;
    case 13 /* K.C */:
      setReg(o, RC_CR, S.regX, mode === 64 ? 8 : 4, acc);
      return 0;
    case 14 /* K.D */:
      setReg(o, RC_DR, S.regX, mode === 64 ? 8 : 4, acc);
      return 0;
    case 15 /* K.A */: {
      const enc = opSize === 16 ? 2 : 4;
      const q = S.immPos;
      if (q + enc + 2 > lim) return short(out, q, enc + 2, offset);
      o.kind = OK_FAR;
      o.access = ACCESS_READ;
      o.size = enc + 2;
      o.imm = enc === 2 ? rd16(b, q) : rd32(b, q) >>> 0;
      o.immHi = 0;
      o.sel = rd16(b, q + enc);
      S.immPos = q + enc + 2;
      return 0;
    }
    case 16 /* K.X */:
    case 17 /* K.Y */:
    case 30 /* K.MEM_DI */: {
      const k = code & 63;
      o.kind = OK_MEM;
      o.size = sizeOf(sz, opSize, asz, mode);
      o.access = acc;
      o.base = k === 16 /* K.X */ ? 6 : 7;
      o.index = NO_REG;
      o.scale = 1;
      o.disp = 0;
      o.dispHi = 0;
      o.vsib = 0;
      o.addrSize = asz as 16 | 32 | 64;
      o.seg = k === 17 /* K.Y */ ? 0 : S.segOverride >= 0 ? S.segOverride : 3;
      return 0;
    }
    case 18 /* K.V */: {
      const size = sizeOf(sz, opSize, asz, mode);
      setReg(o, vecClass(size), S.regX, size, acc);
      return 0;
    }
    case 19 /* K.W */: {
      const size = sizeOf(sz, opSize, asz, mode);
      if (S.mod === 3) setReg(o, vecClass(size), S.rmX, size === 32 ? 32 : 16, acc);
      else setMem(o, size, acc, asz);
      return 0;
    }
    case 20 /* K.U */: {
      const size = sizeOf(sz, opSize, asz, mode);
      setReg(o, vecClass(size), S.rmX, size === 32 ? 32 : 16, acc);
      return 0;
    }
    case 21 /* K.H */: {
      const size = sizeOf(sz, opSize, asz, mode);
      setReg(o, vecClass(size), S.vexV, size, acc);
      return 0;
    }
    case 22 /* K.L */: {
      const q = S.immPos;
      if (q + 1 > lim) return short(out, q, 1, offset);
      const size = sizeOf(sz, opSize, asz, mode);
      setReg(o, vecClass(size), (b[q]! >> 4) & (mode === 64 ? 15 : 7), size, acc);
      S.immPos = q + 1;
      return 0;
    }
    case 23 /* K.P */:
      setReg(o, RC_MMX, S.regX & 7, 8, acc);
      return 0;
    case 24 /* K.Q */:
      if (S.mod === 3) setReg(o, RC_MMX, S.rmX & 7, 8, acc);
      else setMem(o, sizeOf(sz, opSize, asz, mode), acc, asz);
      return 0;
    case 25 /* K.N */:
      setReg(o, RC_MMX, S.rmX & 7, 8, acc);
      return 0;
    case 26 /* K.B */:
      setGpr(o, S.vexV, sizeOf(sz, opSize, asz, mode), acc);
      return 0;
    case 27 /* K.ST0 */:
      setReg(o, RC_ST, 0, 10, acc);
      return 0;
    case 28 /* K.STI */:
      setReg(o, RC_ST, S.rmX & 7, 10, acc);
      return 0;
    case 29 /* K.MV */: {
      // VSIB (SDM Vol. 2 §2.3.12): needs a SIB byte; SIB.index (+ REX.X) names a vector register.
      if ((S.modrm & 7) !== 4 || asz === 16) return udWithLength(out, S.immPos, offset, UD_OPCODE);
      setMem(o, S.rexW ? 8 : 4, acc, asz);
      // Index vector: qword indices use YMM at L1; dword indices only when 8 of them fit (L1, W0).
      o.vsib = (((code >> 16) & 31) === 1 ? S.vexL : S.vexL && !S.rexW) ? 32 : 16;
      o.index = S.vsibIndex;
      return 0;
    }
    default:
      return 0;
  }
}

/** Fill an implicit operand from its code (build.ts opCode; K.MEM_DI carries its segment in the reg field). */
function fillImplicit(o: Operand, code: number, opSize: number, asz: number, mode: CpuMode): void {
  const sz = (code >> 6) & 63;
  const reg = (code >> 16) & 31;
  if ((code & 63) === K_MEM_DI) {
    o.kind = OK_MEM; o.size = sizeOf(sz, opSize, asz, mode); o.access = (code >> 12) & 15; o.base = 7; o.index = NO_REG;
    o.scale = 1; o.disp = 0; o.dispHi = 0; o.vsib = 0; o.addrSize = asz as 16 | 32 | 64; o.seg = reg;
    return;
  }
  o.kind = OK_REG;
  o.regClass = ((code >> 21) & 15) as RegClass;
  o.reg = reg;
  o.size = sz === SZ_X ? 16 : sizeOf(sz, opSize, asz, mode);
  o.highByte = ((code >> 25) & 1) !== 0;
  o.access = (code >> 12) & 15;
}

// ---- 64-bit fast path ------------------------------------------------------------------------------------------
// decodeFast64 decodes the common case (64-bit mode, the whole 15-byte window in the buffer, legacy encodings of
// the one-byte/0F/0F38/0F3A maps, forms whose operands it fills itself and that need no extra check) with all
// state in locals, and gives up (returns FAST_BAIL) for anything else, which decodeGeneral then decodes from
// scratch. A bail after some fields were written is harmless: decodeGeneral rewrites every field it reports valid.
// So the fast path may be incomplete but must never disagree with decodeGeneral: tests compare both
// (tests/unit/cpu/decoder-fast.test.ts).

const FAST_BAIL = 0;
/** Operand kinds decodeFast64 fills (bit K). */
const FAST_KINDS = (1 << K.E) | (1 << K.G) | (1 << K.M) | (1 << K.R) | (1 << K.I) | (1 << K.IBS) | (1 << K.J) |
  (1 << K.Z) | (1 << K.FIXED) | (1 << K.ONE) | (1 << K.X) | (1 << K.Y) | (1 << K.MEM_DI) | (1 << K.V) | (1 << K.W) |
  (1 << K.U);
/**
 * Per form: 0 = decodeFast64 bails; else 1 + the operand-size rule (index into FAST_OSZ): 0 operand size,
 * 1 byte operation, 2 64-bit default (D64), 3 mandatory 66 (the operand size ignores it).
 */
const FAST_FORM = new Uint8Array(F_MN.length);
for (let f = 0; f < F_MN.length; f++) {
  const info = F_INFO[f]!;
  if (((info >> INFO_CHECK_SHIFT) & 15) !== 0 || (info & INFO_AMDFAR) !== 0) continue;
  let ok = true;
  for (let i = 0; i < F_OPS[f * 6]!; i++) if (!((FAST_KINDS >> (F_OPS[f * 6 + 1 + i]! & 63)) & 1)) ok = false;
  if (!ok) continue;
  FAST_FORM[f] = 1 + (info & INFO_BYTEOP ? 1 : info & INFO_D64 ? 2 : info & INFO_M66 ? 3 : 0);
}
/**
 * Per legacy map * 256 + opcode: the tree root * 2 + (has ModRM), or 0 where decodeFast64 bails: undefined
 * opcodes, MOV CRn/DRn (ModRM.mod ignored), the VEX/EVEX/XOP leads C4, C5, 62 and 8F (8F is POP Ev unless the
 * next byte's map field is >= 8, but POP Ev is rare enough to leave it all to decodeGeneral) and 0F 0F (3DNow!).
 */
const FAST_ROOT = new Int32Array(4 * 256);
for (let at = 0; at < 4 * 256; at++) {
  if (ROOT[at] === 0 || MODREG[at] === 1) continue;
  FAST_ROOT[at] = ROOT[at]! * 2 + (HAS_MODRM[at] === 1 ? 1 : 0);
}
for (const op of [0xc4, 0xc5, 0x62, 0x8f]) FAST_ROOT[op] = 0;
FAST_ROOT[256 + 0x0f] = 0;
/**
 * decodeFast64's operand lists with straight-line code (bits 4-7 of FR_FAST); PAT_LOOP: the general loop.
 * PAT_MODRM: E, or E or M with G before or after it, or W with V before or after it; PAT_Z: Z; both optionally
 * followed by an I or IBS immediate. The other bits of FR_FAST say which.
 */
const PAT_LOOP = 0, PAT_NONE = 1, PAT_MODRM = 2, PAT_Z = 3, PAT_J = 4;
/** FR_FAST bits of PAT_MODRM: the index of the ModRM.rm operand, a ModRM.reg operand, a memory-only rm. */
const FAST_E_INDEX = 8, FAST_G = 1 << 9, FAST_M = 1 << 10;
/** FR_FAST bits: the last operand of a PAT_MODRM or PAT_Z list is an IBS / an I immediate. */
const FAST_IBS = 1 << 11, FAST_IMM = 1 << 12;
/** FR_FAST bit of PAT_MODRM: the operands are XMM/YMM registers (W, V) instead of GPRs (E, G). */
const FAST_VEC = 1 << 13;

/**
 * The pattern bits of form f's explicit operands (FR_FAST without its low 4 bits); every operand is sized by its
 * size code through SIZE64.
 */
function operandPattern(f: number): number {
  const n = F_OPS[f * 6]!;
  const kinds: number[] = [];
  for (let i = 0; i < n; i++) {
    const code = F_OPS[f * 6 + 1 + i]!;
    const k = code & 63, sz = (code >> 6) & 63;
    // These size codes give a ModRM.rm register another size than the memory operand (fillOperand K.E).
    if (k === K.E && (sz === SZ.B32 || sz === SZ.W32 || sz === SZ.D32 || sz === SZ.VW)) return PAT_LOOP << 4;
    kinds.push(k);
  }
  const key = kinds.join(',');
  const modrm = PAT_MODRM << 4;
  const imm = kinds[n - 1] === K.I ? FAST_IMM : kinds[n - 1] === K.IBS ? FAST_IBS : 0;
  const head = imm ? kinds.slice(0, n - 1).join(',') : key;
  switch (head) {
    case `${K.E}`: return modrm | imm;
    case `${K.E},${K.G}`: return modrm | FAST_G | imm;
    case `${K.G},${K.E}`: return modrm | (1 << FAST_E_INDEX) | FAST_G | imm;
    case `${K.G},${K.M}`: return modrm | (1 << FAST_E_INDEX) | FAST_G | FAST_M | imm;
    case `${K.V},${K.W}`: return modrm | (1 << FAST_E_INDEX) | FAST_G | FAST_VEC | imm;
    case `${K.W},${K.V}`: return modrm | FAST_G | FAST_VEC | imm;
    case `${K.Z}`: return (PAT_Z << 4) | imm;
    default: break;
  }
  if (key === '') return PAT_NONE << 4;
  if (key === `${K.J}`) return PAT_J << 4;
  return PAT_LOOP << 4;
}

/**
 * decodeFast64's per-form data, interleaved (FR_STRIDE Int32 per form) so that one form's fields share one or two
 * cache lines instead of one line in each of a dozen F_* arrays (real code touches hundreds of forms).
 */
const FR_STRIDE = 16;
const FR_MN = 0, FR_INFO = 1, FR_FEAT1 = 2, FR_FEAT2 = 3, FR_FALLBACK = 4, FR_FLAGS_READ = 5, FR_FLAGS_WRITTEN = 6;
const FR_FLAGS_UNDEFINED = 7, FR_ATTRS = 8, FR_COND = 9, FR_FLOW = 10, FR_FAST = 11, FR_OPS = 12;
/**
 * FORM_REC holds FORM_CAP (a power of two) records, and decodeFast64 indexes it with `(f & FORM_MASK) *
 * FR_STRIDE`: V8 then knows every index is in bounds and that the additions cannot overflow, and drops the bounds
 * and overflow checks of each field read (the same for SIZE64 and FAST_OSZ below).
 */
const FORM_CAP = 1 << Math.ceil(Math.log2(F_MN.length));
const FORM_MASK = FORM_CAP - 1;
const FORM_REC = new Int32Array(FORM_CAP * FR_STRIDE);
for (let f = 0; f < F_MN.length; f++) {
  const r = f * FR_STRIDE;
  FORM_REC[r + FR_MN] = F_MN[f]!;
  FORM_REC[r + FR_INFO] = F_INFO[f]!;
  FORM_REC[r + FR_FEAT1] = F_FEAT1[f]!;
  FORM_REC[r + FR_FEAT2] = F_FEAT2[f]!;
  FORM_REC[r + FR_FALLBACK] = F_FALLBACK[f]!;
  FORM_REC[r + FR_FLAGS_READ] = F_FR[f]!;
  FORM_REC[r + FR_FLAGS_WRITTEN] = F_FW[f]!;
  FORM_REC[r + FR_FLAGS_UNDEFINED] = F_FU[f]!;
  FORM_REC[r + FR_ATTRS] = F_ATTRS[f]!;
  FORM_REC[r + FR_COND] = F_COND[f]!;
  FORM_REC[r + FR_FLOW] = F_FLOW[f]!;
  FORM_REC[r + FR_FAST] = FAST_FORM[f]!;
  // Operand count and codes: fast forms have at most 3 explicit operands (else FR_FAST is 0).
  const n = F_OPS[f * 6]!;
  if (n > 3) FORM_REC[r + FR_FAST] = 0;
  else for (let i = 0; i <= n; i++) FORM_REC[r + FR_OPS + i] = F_OPS[f * 6 + i]!;
  if (FORM_REC[r + FR_FAST] !== 0) FORM_REC[r + FR_FAST] = FORM_REC[r + FR_FAST]! | operandPattern(f);
}
/** Operand size in 64-bit mode by [rule * 4 + REX.W * 2 + (66 present)] (SDM Vol. 1 §3.6.1, Table 3-4). */
/**
 * The small lookup tables of the fast path are padded to OFF_HEAP entries (>= 128 bytes): V8 keeps a typed array of
 * at most 64 bytes inside the JS heap, where the GC may move it, so optimised code re-reads its map and data pointer
 * on every access; a larger one lives off-heap at a fixed address that TurboFan embeds as a constant.
 */
const OFF_HEAP = 128;
const FAST_OSZ = new Int8Array(OFF_HEAP);
FAST_OSZ.set([32, 16, 64, 64, 8, 8, 8, 8, 64, 16, 64, 64, 32, 32, 64, 64]);
/** 32/64-bit addressing: displacement length by ModRM (SDM Vol. 2 Table 2-2; the SIB base-5 case is added later). */
const DISP_LEN = new Int8Array(256);
for (let m = 0; m < 256; m++) DISP_LEN[m] = m >> 6 === 1 ? 1 : m >> 6 === 2 ? 4 : m >> 6 === 0 && (m & 7) === 5 ? 4 : 0;
/** Sign-extend the low `dl` bytes of a 32-bit read without branching: (raw & mask) << shift >> shift. */
const DISP_MASK = new Int32Array(OFF_HEAP);
DISP_MASK.set([0, 0xff, 0, 0, -1]);
const DISP_SHIFT = new Int8Array(OFF_HEAP);
DISP_SHIFT.set([0, 24, 0, 0, 0]);
/** Default segment by base register + 1 (SS for RSP/RBP, SDM Vol. 1 §3.7.4), DS otherwise (also NO_REG, RIP). */
const SEG_OF_BASE = new Int8Array(OFF_HEAP).fill(3);
SEG_OF_BASE[4 + 1] = 2; SEG_OF_BASE[5 + 1] = 2;

/** sizeOf for legacy encodings in 64-bit mode (VEX.L = 0). */
function sizeOf64(sz: number, opSize: number, asz: number, rexW: number): number {
  if (sz < 8) return FIXED_SIZE[sz]!;
  switch (sz) {
    case 8 /* SZ.V */: return opSize === 8 ? 1 : opSize >> 3;
    case 9 /* SZ.Z */: return opSize === 16 ? 2 : 4;
    case 10 /* SZ.Y */: return rexW ? 8 : 4;
    case 11 /* SZ.F */: return 8;
    case 12 /* SZ.A */: return opSize === 16 ? 4 : 8;
    case 13 /* SZ.P */: return 2 + (opSize >> 3);
    case 14 /* SZ.S */: return 10;
    case 15 /* SZ.X */: return 16;
    case 16 /* SZ.H */: return 8;
    case 25 /* SZ.QX */: return 4;
    case 26 /* SZ.EX */: return 2;
    case 17 /* SZ.E */: return opSize === 16 ? 14 : 28;
    case 18 /* SZ.FS */: return opSize === 16 ? 94 : 108;
    case 19 /* SZ.FX */: return 512;
    case 20 /* SZ.XS */: return 0;
    case 21 /* SZ.C */: return 64;
    case 22 /* SZ.B32 */: return 1;
    case 23 /* SZ.W32 */: return 2;
    case 27 /* SZ.VW */: return 2;
    case 28 /* SZ.D32 */: return 4;
    case 24 /* SZ.ASZ */: return asz >> 3;
    default: return 0;
  }
}

/** FAST_OSZ's operand size as 0..3 (8, 16, 32, 64 bits). */
const FAST_OSZ_INDEX = FAST_OSZ.map((v) => (v === 8 ? 0 : v === 16 ? 1 : v === 32 ? 2 : 3));
/**
 * sizeOf64 as a table (a call per operand is measurable): SIZE64[size code * 16 + operand size index * 4 +
 * REX.W * 2 + (address size 64 ? 1 : 0)].
 */
const SIZE64 = new Uint16Array(64 * 16);
for (let sz = 0; sz < 32; sz++) {
  for (let oi = 0; oi < 4; oi++) {
    for (let w = 0; w < 2; w++) {
      for (let a = 0; a < 2; a++) SIZE64[sz * 16 + oi * 4 + w * 2 + a] = sizeOf64(sz, 8 << oi, a ? 64 : 32, w);
    }
  }
}

/**
 * The common case of decodeInto in 64-bit mode; requires bytes[offset, offset + 15) to exist. Returns the
 * length, or FAST_BAIL when decodeGeneral must decode the instruction. A `const` rather than a function
 * declaration (a mutable binding in a module): the optimised caller then embeds the function instead of loading
 * it from the module context and checking it on every call.
 */
const decodeFast64 = function decodeFast64(out: Instruction, bytes: Uint8Array, offset: number, features: FeatureSet): number {
  const lim = offset + 15;
  let p = offset;
  let prefixes = 0;
  let seg = -1;
  let rep = 0;
  let rex = 0;
  // ---- legacy prefixes and REX (as in decodeGeneral) ----
  let b0 = bytes[p]!;
  if ((b0 & 0xf0) === 0x40) { rex = b0; b0 = bytes[++p]!; } // REX alone: the common case
  let cls = PFX_CLASS[b0]!;
  while (cls !== P_NONE) {
    if (cls === P_REX) {
      rex = b0;
    } else {
      rex = 0;
      switch (cls) {
        case P_SEG: {
          const s = SEG_OF[b0]!;
          if (s >= 4 || seg < 4) seg = s;
          if (b0 === 0x2e) prefixes |= PFX_HINT_NOT_TAKEN; else if (b0 === 0x3e) prefixes |= PFX_HINT_TAKEN;
          prefixes |= PFX_SEG;
          break;
        }
        case P_OSZ: prefixes |= PFX_OPSIZE; break;
        case P_ASZ: prefixes |= PFX_ADDRSIZE; break;
        case P_LOCK: prefixes |= PFX_LOCK; break;
        case P_F2:
          if (prefixes & PFX_REP) prefixes |= PFX_REP_CONFLICT;
          prefixes |= PFX_REPNE; rep = 0xf2; break;
        default:
          if (prefixes & PFX_REPNE) prefixes |= PFX_REP_CONFLICT;
          prefixes |= PFX_REP; rep = 0xf3; break;
      }
    }
    if (++p >= offset + 11) return FAST_BAIL; // long prefix runs: decodeGeneral applies the 15-byte limit
    b0 = bytes[p]!;
    cls = PFX_CLASS[b0]!;
  }
  p++;
  prefixes |= rex & PFX_REX; // rex is 0 or 0x40..0x4f, PFX_REX is 0x40
  const rexW = (rex >> 3) & 1, rexR = (rex >> 2) & 1, rexX = (rex >> 1) & 1, rexB = rex & 1;
  const asz = prefixes & PFX_ADDRSIZE ? 32 : 64;
  const has66 = (prefixes >> 3) & 1; // PFX_OPSIZE
  // ---- opcode: VEX/EVEX/XOP (C4, C5, 62, 8F with XOP's map field) and 3DNow! go to decodeGeneral ----
  let map: number = MAP_ONE_BYTE;
  if (b0 === 0x0f) {
    b0 = bytes[p++]!;
    map = MAP_0F;
    if (b0 === 0x38 || b0 === 0x3a) {
      map = b0 === 0x38 ? MAP_0F38 : MAP_0F3A;
      b0 = bytes[p++]!;
    }
  }
  const opcode = b0;
  const root = FAST_ROOT[map * 256 + opcode]!;
  if (root === 0) return FAST_BAIL;
  let node = root >> 1;
  // ---- ModRM, SIB, displacement ----
  let mod = 3;
  let modrm = -1;
  let regX = 0;
  let rmX = (opcode & 7) | (rexB << 3);
  let memBase = NO_REG, memIndex = NO_REG, memScale = 1, memDisp = 0;
  if (root & 1) {
    const m = bytes[p++]!;
    modrm = m;
    mod = m >> 6;
    regX = ((m >> 3) & 7) | (rexR << 3);
    const rm = m & 7;
    rmX = rm | (rexB << 3);
    if (mod !== 3) {
      let dl = DISP_LEN[m]!;
      if (rm === 4) {
        const sib = bytes[p++]!;
        memScale = 1 << (sib >> 6);
        const idx = ((sib >> 3) & 7) | (rexX << 3);
        memIndex = idx === 4 ? NO_REG : idx;
        const base = sib & 7;
        if (base === 5 && mod === 0) dl = 4; else memBase = base | (rexB << 3);
      } else memBase = rm === 5 && mod === 0 ? BASE_RIP : rmX;
      if (p + 4 > lim) return FAST_BAIL;
      const raw = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
      const sh = DISP_SHIFT[dl]!;
      memDisp = ((raw & DISP_MASK[dl]!) << sh) >> sh;
      p += dl;
    }
  }
  // ---- the form: the decision tree (as in decodeGeneral) ----
  while (node < 0) {
    const n = -node - 1;
    let v: number;
    switch (NODES[n]) {
      case 0: v = rep === 0xf3 ? 2 : rep === 0xf2 ? 3 : has66; break; // DIM.PFX
      case 1: v = mod === 3 ? 1 : 0; break; // DIM.MOD
      case 2: v = (modrm >> 3) & 7; break; // DIM.REG
      case 3: v = modrm & 7; break; // DIM.RM
      case 4: v = rexW; break; // DIM.W
      case 5: v = 0; break; // DIM.L
      case 6: v = rexW ? 2 : has66 ? 0 : 1; break; // DIM.OSZ
      case 7: v = rexW ? 2 : has66 ? 0 : 2; break; // DIM.OSZD
      case 8: v = asz === 32 ? 1 : 2; break; // DIM.ASZ
      case 9: v = 1; break; // DIM.MODE64
      default: v = rexB; break; // DIM.REXB
    }
    node = NODES[n + 1 + v]!;
    if (node === 0) return FAST_BAIL;
  }
  let f = node - 1;
  let rec = (f & FORM_MASK) * FR_STRIDE;
  if (FORM_REC[rec + FR_FEAT1]! >= 0) {
    // Features, with fallback forms (as in decodeGeneral); the feature words are read only for forms that need them.
    const fw = features.words;
    for (;;) {
      const f1 = FORM_REC[rec + FR_FEAT1]!;
      if (f1 < 0) break;
      const f2 = FORM_REC[rec + FR_FEAT2]!;
      if (((fw[f1 >>> 5]! >>> (f1 & 31)) & 1) !== 0 && (f2 < 0 || ((fw[f2 >>> 5]! >>> (f2 & 31)) & 1) !== 0)) break;
      f = FORM_REC[rec + FR_FALLBACK]!;
      if (f < 0) return FAST_BAIL;
      rec = (f & FORM_MASK) * FR_STRIDE;
    }
    rec = (f & FORM_MASK) * FR_STRIDE; // again after the loop: a loop variable's range is unknown to V8
  }
  const fast = FORM_REC[rec + FR_FAST]!;
  if (fast === 0) return FAST_BAIL;
  let attrs = FORM_REC[rec + FR_ATTRS]!;
  if (prefixes & PFX_LOCK) {
    if (!(attrs & ATTR_LOCKABLE) || mod === 3) return FAST_BAIL;
    attrs |= ATTR_LOCKED;
  }
  const oszAt = ((fast - 1) & 15) * 4 + rexW * 2 + has66; // fast & 15 is 1..4 here
  const opSize = FAST_OSZ[oszAt]! as 8 | 16 | 32 | 64;
  /** Index of this instruction's column in SIZE64 (add size code * 16). */
  const szAt = (FAST_OSZ_INDEX[oszAt]! & 3) * 4 + rexW * 2 + (asz === 32 ? 0 : 1);
  // ---- operands (as fillOperand) ----
  // The frequent operand lists have straight-line code (one switch instead of a loop with a switch per operand:
  // fewer mispredicted branches on a real instruction mix); the rest take the loop.
  const hasRex = rex !== 0;
  const ob = rec + FR_OPS;
  const n = FORM_REC[ob]! & 3; // at most 3 explicit operands on this path
  const ops = out.ops;
  switch ((fast >> 4) & 15) {
    case PAT_NONE:
      break;
    case PAT_MODRM: {
      // The ModRM.rm operand (register or memory) at index FAST_E_INDEX, optionally the ModRM.reg operand as the
      // other one; GPRs (E, M, G), or XMM registers with FAST_VEC (W, V). An immediate may follow (below).
      const ei = (fast >> FAST_E_INDEX) & 1;
      const ce = FORM_REC[ob + 1 + ei]!;
      const size = SIZE64[szAt + ((ce >> 6) & 63) * 16]!;
      const o = ops[ei]!;
      if (mod !== 3) {
        o.kind = OK_MEM;
        o.size = size;
        o.access = (ce >> 12) & 15;
        o.base = memBase;
        o.index = memIndex;
        o.scale = memScale;
        o.disp = memDisp;
        o.dispHi = memDisp >> 31;
        o.addrSize = asz;
        o.vsib = 0;
        o.seg = seg >= 0 ? seg : SEG_OF_BASE[memBase + 1]!;
      } else if (fast & FAST_M) {
        return FAST_BAIL; // a memory-only operand with ModRM.mod = 3
      } else if (fast & FAST_VEC) {
        // K.W register (fillOperand): XMM, or YMM for a 32-byte operand.
        o.kind = OK_REG;
        o.regClass = size === 32 ? RC_YMM : RC_XMM;
        o.reg = rmX;
        o.size = size === 32 ? 32 : 16;
        o.highByte = false;
        o.access = (ce >> 12) & 15;
      } else {
        o.kind = OK_REG;
        o.regClass = RC_GPR;
        o.size = size;
        o.access = (ce >> 12) & 15;
        if (size === 1 && !hasRex && rmX >= 4 && rmX < 8) { o.reg = rmX - 4; o.highByte = true; } else { o.reg = rmX; o.highByte = false; }
      }
      if (fast & FAST_G) {
        const cg = FORM_REC[ob + 2 - ei]!;
        const gsize = SIZE64[szAt + ((cg >> 6) & 63) * 16]!;
        const g = ops[ei ^ 1]!;
        g.kind = OK_REG;
        g.size = gsize;
        g.access = (cg >> 12) & 15;
        if (fast & FAST_VEC) { // K.V
          g.regClass = gsize === 32 ? RC_YMM : RC_XMM;
          g.reg = regX;
          g.highByte = false;
        } else {
          g.regClass = RC_GPR;
          if (gsize === 1 && !hasRex && regX >= 4 && regX < 8) { g.reg = regX - 4; g.highByte = true; } else { g.reg = regX; g.highByte = false; }
        }
      }
      break;
    }
    case PAT_Z: {
      // The register in the opcode's low bits (+ REX.B): PUSH/POP r, INC/DEC... (rmX holds it).
      const c = FORM_REC[ob + 1]!;
      const o = ops[0]!, size = SIZE64[szAt + ((c >> 6) & 63) * 16]!;
      o.kind = OK_REG;
      o.regClass = RC_GPR;
      o.size = size;
      o.access = (c >> 12) & 15;
      if (size === 1 && !hasRex && rmX >= 4 && rmX < 8) { o.reg = rmX - 4; o.highByte = true; } else { o.reg = rmX; o.highByte = false; }
      break;
    }
    case PAT_J: {
      // Jb / Jz (SDM "Jcc": rel8, or rel16/rel32 by operand size).
      const o = ops[0]!;
      const enc = ((FORM_REC[ob + 1]! >> 6) & 63) === 1 /* SZ.B */ ? 1 : opSize === 16 ? 2 : 4;
      if (p + enc > lim) return FAST_BAIL;
      o.kind = OK_REL;
      o.access = ACCESS_READ;
      o.size = enc;
      const v = enc === 1 ? (bytes[p]! << 24) >> 24 : enc === 2 ? ((bytes[p]! | (bytes[p + 1]! << 8)) << 16) >> 16
        : bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
      o.imm = v;
      o.immHi = v >> 31;
      p += enc;
      break;
    }
    default:
    for (let i = 0; i < n; i++) {
      const code = FORM_REC[ob + 1 + i]!;
      const k = code & 63;
      const sz = (code >> 6) & 63;
      const acc = (code >> 12) & 15;
      const o = ops[i]!;
      if (mod !== 3 && (k === 1 /* K.E */ || k === 19 /* K.W */ || k === 3 /* K.M */)) {
        o.kind = OK_MEM;
        o.size = sz === 8 /* SZ.V */ ? (opSize === 8 ? 1 : opSize >> 3) : SIZE64[szAt + sz * 16]!;
        o.access = acc;
        o.base = memBase;
        o.index = memIndex;
        o.scale = memScale;
        o.disp = memDisp;
        o.dispHi = memDisp >> 31;
        o.addrSize = asz;
        o.vsib = 0;
        o.seg = seg >= 0 ? seg : SEG_OF_BASE[memBase + 1]!;
        continue;
      }
      switch (k) {
        case 3 /* K.M */:
          return FAST_BAIL; // a memory-only operand with ModRM.mod = 3
        case 1 /* K.E */:
        case 2 /* K.G */:
        case 4 /* K.R */:
        case 9 /* K.Z */: {
          const reg = k === 2 ? regX : rmX;
          const size = sz === 8 /* SZ.V */ ? (opSize === 8 ? 1 : opSize >> 3)
            : k === 1 && (sz === 22 /* SZ.B32 */ || sz === 23 /* SZ.W32 */ || sz === 28 /* SZ.D32 */) ? (rexW ? 8 : 4)
              : k === 1 && sz === 27 /* SZ.VW */ ? opSize >> 3 : SIZE64[szAt + sz * 16]!;
          o.kind = OK_REG;
          o.regClass = RC_GPR;
          o.size = size;
          o.access = acc;
          if (size === 1 && !hasRex && reg >= 4 && reg < 8) { o.reg = reg - 4; o.highByte = true; } else { o.reg = reg; o.highByte = false; }
          break;
        }
        case 5 /* K.I */: {
          const size = sz === 8 /* SZ.V */ ? (opSize === 64 ? 8 : opSize >> 3) : SIZE64[szAt + sz * 16]!;
          if (p + size > lim) return FAST_BAIL;
          o.kind = OK_IMM;
          o.access = ACCESS_READ;
          if (size === 1) { o.size = 1; o.imm = bytes[p]!; o.immHi = 0; } else if (size === 2) {
            o.size = 2; o.imm = bytes[p]! | (bytes[p + 1]! << 8); o.immHi = 0;
          } else if (size === 4) {
            const v = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
            if (sz === 9 /* SZ.Z */ && opSize === 64) { o.size = 8; o.imm = v; o.immHi = v >> 31; } else { o.size = 4; o.imm = v >>> 0; o.immHi = 0; }
          } else {
            o.size = 8;
            o.imm = (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) >>> 0;
            o.immHi = bytes[p + 4]! | (bytes[p + 5]! << 8) | (bytes[p + 6]! << 16) | (bytes[p + 7]! << 24);
          }
          p += size;
          break;
        }
        case 6 /* K.IBS */: {
          if (p + 1 > lim) return FAST_BAIL;
          o.kind = OK_IMM;
          o.access = ACCESS_READ;
          o.size = opSize === 8 ? 1 : opSize >> 3;
          const v = (bytes[p]! << 24) >> 24;
          o.imm = v;
          o.immHi = v >> 31;
          p++;
          break;
        }
        case 7 /* K.J */: {
          const enc = sz === 1 /* SZ.B */ ? 1 : opSize === 16 ? 2 : 4;
          if (p + enc > lim) return FAST_BAIL;
          o.kind = OK_REL;
          o.access = ACCESS_READ;
          o.size = enc;
          const v = enc === 1 ? (bytes[p]! << 24) >> 24 : enc === 2 ? ((bytes[p]! | (bytes[p + 1]! << 8)) << 16) >> 16
            : bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
          o.imm = v;
          o.immHi = v >> 31;
          p += enc;
          break;
        }
        case 10 /* K.FIXED */:
          o.kind = OK_REG;
          o.regClass = ((code >> 21) & 15) as RegClass;
          o.reg = (code >> 16) & 31;
          o.size = SIZE64[szAt + sz * 16]!;
          o.highByte = ((code >> 25) & 1) !== 0;
          o.access = acc;
          break;
        case 11 /* K.ONE */:
          o.kind = OK_IMM; o.size = 1; o.imm = 1; o.immHi = 0; o.access = ACCESS_READ;
          break;
        case 16 /* K.X */:
        case 17 /* K.Y */:
        case 30 /* K.MEM_DI */:
          o.kind = OK_MEM;
          o.size = SIZE64[szAt + sz * 16]!;
          o.access = acc;
          o.base = k === 16 /* K.X */ ? 6 : 7;
          o.index = NO_REG;
          o.scale = 1;
          o.disp = 0;
          o.dispHi = 0;
          o.vsib = 0;
          o.addrSize = asz;
          o.seg = k === 17 /* K.Y */ ? 0 : seg >= 0 ? seg : 3;
          break;
        default: { // K.V, K.W (register), K.U: XMM (YMM for a 32-byte size)
          const size = SIZE64[szAt + sz * 16]!;
          o.kind = OK_REG;
          o.regClass = size === 32 ? RC_YMM : RC_XMM;
          o.reg = k === 18 /* K.V */ ? regX : rmX;
          o.size = k === 18 /* K.V */ ? size : size === 32 ? 32 : 16;
          o.highByte = false;
          o.access = acc;
          break;
        }
      }
    }
  }
  if (fast & (FAST_IBS | FAST_IMM)) {
    // The immediate that ends PAT_MODRM and PAT_Z lists (as fillOperand's K.IBS and K.I).
    const o = ops[n - 1]!;
    const sz = (FORM_REC[ob + n]! >> 6) & 63;
    o.kind = OK_IMM;
    o.access = ACCESS_READ;
    if (fast & FAST_IBS) {
      if (p + 1 > lim) return FAST_BAIL;
      o.size = opSize >> 3;
      const v = (bytes[p]! << 24) >> 24;
      o.imm = v;
      o.immHi = v >> 31;
      p++;
    } else {
      const size = sz === 8 /* SZ.V */ ? (opSize === 64 ? 8 : opSize >> 3) : SIZE64[szAt + sz * 16]!;
      if (p + size > lim) return FAST_BAIL;
      if (size === 1) { o.size = 1; o.imm = bytes[p]!; o.immHi = 0; } else if (size === 2) {
        o.size = 2; o.imm = bytes[p]! | (bytes[p + 1]! << 8); o.immHi = 0;
      } else if (size === 4) {
        const v = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
        if (sz === 9 /* SZ.Z */ && opSize === 64) { o.size = 8; o.imm = v; o.immHi = v >> 31; } else { o.size = 4; o.imm = v >>> 0; o.immHi = 0; }
      } else {
        o.size = 8;
        o.imm = (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) >>> 0;
        o.immHi = bytes[p + 4]! | (bytes[p + 5]! << 8) | (bytes[p + 6]! << 16) | (bytes[p + 7]! << 24);
      }
      p += size;
    }
  }
  const info = FORM_REC[rec + FR_INFO]!;
  let ni = 0;
  if (info & INFO_HAS_IMPL) {
    // As fillImplicit.
    const ib = f * 5;
    ni = F_IMPL[ib]!;
    const implicit = out.implicit;
    for (let i = 0; i < ni; i++) {
      const code = F_IMPL[ib + 1 + i]!;
      const o = implicit[i]!;
      const sz = (code >> 6) & 63;
      const reg = (code >> 16) & 31;
      if ((code & 63) === K_MEM_DI) {
        o.kind = OK_MEM; o.size = SIZE64[szAt + sz * 16]!; o.access = (code >> 12) & 15; o.base = 7; o.index = NO_REG;
        o.scale = 1; o.disp = 0; o.dispHi = 0; o.vsib = 0; o.addrSize = asz; o.seg = reg;
      } else {
        o.kind = OK_REG;
        o.regClass = ((code >> 21) & 15) as RegClass;
        o.reg = reg;
        o.size = sz === SZ_X ? 16 : SIZE64[szAt + sz * 16]!;
        o.highByte = ((code >> 25) & 1) !== 0;
        o.access = (code >> 12) & 15;
      }
    }
  }
  out.length = p - offset;
  out.mode = 64;
  out.mn = FORM_REC[rec + FR_MN]! as Mn;
  out.form = f;
  out.opSize = opSize;
  out.addrSize = asz;
  out.prefixes = prefixes;
  out.segPrefix = seg;
  out.rep = rep as 0 | 0xf2 | 0xf3;
  out.rex = rex;
  if (out.vexMmmmm !== 0) {
    out.vexL = 0; out.vexV = 0; out.vexW = 0; out.vexPp = 0; out.vexMmmmm = 0;
  }
  out.map = map as OpMap;
  out.opcode = opcode;
  out.modrm = modrm;
  out.cond = FORM_REC[rec + FR_COND]!;
  out.opCount = n;
  out.implicitCount = ni;
  out.flagsRead = FORM_REC[rec + FR_FLAGS_READ]!;
  out.flagsWritten = FORM_REC[rec + FR_FLAGS_WRITTEN]!;
  out.flagsUndefined = FORM_REC[rec + FR_FLAGS_UNDEFINED]!;
  out.flow = FORM_REC[rec + FR_FLOW]! as Flow;
  out.attrs = attrs;
  out.failure = UD_NONE;
  // Last, so that no store follows the call (V8 would check `out`'s map again after it).
  if (info >> INFO_SHIFTK_SHIFT) shiftFlags(out, info >> INFO_SHIFTK_SHIFT, ops[n - 1]!.imm, opSize);
  return p - offset;
};

/** Decode one instruction; allocates a fresh Instruction. */
export function decode(bytes: Uint8Array, offset: number, mode: CpuMode,
  features: FeatureSet = ALL_FEATURES): Instruction | DecodeFailure {
  const out = new Instruction();
  const r = decodeInto(out, bytes, offset, bytes.length, mode, features);
  if (r > 0) return out;
  if (r === DECODE_MORE) return { kind: 'more', needed: out.length };
  if (r === DECODE_GP) return { kind: 'gp', length: 15 };
  return out.length > 0 ? { kind: 'ud', length: out.length, reason: out.failure } : { kind: 'ud', reason: out.failure };
}

/** Branch target of the REL operand: next-instruction address + displacement, wrapped to the operand size. */
export function relTarget(insn: Instruction, rip: bigint): bigint {
  let disp = 0;
  for (let i = 0; i < insn.opCount; i++) if (insn.ops[i]!.kind === OK_REL) disp = insn.ops[i]!.imm;
  const next = rip + BigInt(insn.length) + BigInt(disp);
  return BigInt.asUintN(insn.opSize === 16 ? 16 : insn.opSize === 32 && insn.mode !== 64 ? 32 : 64, next);
}

/** The table form of a decoded instruction (operand specs, metadata, source line). */
export { FORMS } from './build.js';
export type { Form } from './build.js';
