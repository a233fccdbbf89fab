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
 */
import { buildTables, DIM, K, SZ, type Form, type Node, type OpSpec, type TreeNode } from './build.js';
import { ALL_FEATURES } from './features.js';
import { Mn } from './mnemonics.js';
import { LEGACY_LINES } from './table-legacy.js';
import { VEX_LINES } from './table-vex.js';
import {
  ACCESS_READ, ATTR_LOCKABLE, ATTR_LOCKED, BASE_RIP, DECODE_GP, DECODE_MORE, DECODE_UD, Instruction, NO_REG,
  OpKind, OpMap, PFX_ADDRSIZE, PFX_HINT_NOT_TAKEN, PFX_HINT_TAKEN, PFX_LOCK, PFX_OPSIZE, PFX_REP,
  PFX_REP_CONFLICT, PFX_REPNE, PFX_REX, PFX_SEG, PFX_VEX2, PFX_VEX3, RegClass, UdReason, Flow,
  type CpuMode, type DecodeFailure, type FeatureSet, type Operand,
} from './types.js';

const TABLES = buildTables([...LEGACY_LINES, ...VEX_LINES]);
const LEGACY = TABLES.legacy;
const VEX = TABLES.vex;
const LEGACY_MODRM = TABLES.legacyModrm;
const LEGACY_MODREG = TABLES.legacyModreg;

// Prefix classes of the first bytes.
const P_NONE = 0, P_SEG = 1, P_OSZ = 2, P_ASZ = 3, P_LOCK = 4, P_F2 = 5, P_F3 = 6, P_REX = 7;
const PFX_CLASS = new Uint8Array(256);
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
let bytesG: Uint8Array = new Uint8Array(0);
let modrmG = 0;
let modG = 0;
let regG = 0;
let rmG = 0;
let rexR = 0;
let rexX = 0;
let rexB = 0;
let rexW = 0;
let hasRex = false;
let memBase = NO_REG;
let memIndex = NO_REG;
let memScale = 1;
let memDisp = 0;
let memSeg = 3;
let immPos = 0;
let vexV = 0;
let vexL = 0;
let segOverride = -1;
let vsibIndex = 0;
let opcodeG = 0;

function fail(out: Instruction, code: number, len: number, reason: UdReason): number {
  out.length = len;
  out.failure = reason;
  return code;
}

/** Reading `need` bytes at p would pass `end` or the 15-byte limit: the right failure code. */
function short(out: Instruction, p: number, need: number, offset: number): number {
  const total = p + need - offset;
  if (total > 15) return fail(out, DECODE_GP, 15, UdReason.NONE);
  return fail(out, DECODE_MORE, total, UdReason.NONE);
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
  mode: CpuMode, features: FeatureSet = ALL_FEATURES): number {
  if (end > bytes.length) end = bytes.length;
  const lim = end < offset + 15 ? end : offset + 15;
  bytesG = bytes;
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
  hasRex = rex !== 0;
  rexW = (rex >> 3) & 1;
  rexR = (rex >> 2) & 1;
  rexX = (rex >> 1) & 1;
  rexB = rex & 1;
  segOverride = seg;

  const asz = mode === 64 ? (prefixes & PFX_ADDRSIZE ? 32 : 64) : mode === 32 ? (prefixes & PFX_ADDRSIZE ? 16 : 32)
    : (prefixes & PFX_ADDRSIZE ? 32 : 16);

  // ---- opcode ----
  let b0 = bytes[p]!;
  p++;
  let map: number = OpMap.ONE_BYTE;
  let isVex = false;
  let pfxIdx = rep === 0xf3 ? 2 : rep === 0xf2 ? 3 : prefixes & PFX_OPSIZE ? 1 : 0;
  vexV = 0;
  vexL = 0;
  let vexW = 0;
  let vexMm = 0;
  if (b0 === 0x0f) {
    if (p >= lim) return short(out, p, 1, offset);
    b0 = bytes[p++]!;
    map = OpMap.MAP_0F;
    if (b0 === 0x38 || b0 === 0x3a) {
      map = b0 === 0x38 ? OpMap.MAP_0F38 : OpMap.MAP_0F3A;
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
      return fail(out, DECODE_UD, 0, UdReason.VEX);
    }
    const v1 = bytes[p++]!;
    let v2: number;
    if (b0 === 0xc5) {
      rexR = (~v1 >> 7) & 1; rexX = 0; rexB = 0; vexW = 0;
      map = OpMap.MAP_0F;
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
        return fail(out, DECODE_UD, 0, UdReason.OPCODE);
      }
      map = mm;
      vexMm = mm;
    }
    if (mode !== 64) { rexR = 0; rexX = 0; rexB = 0; }
    vexV = (~v2 >> 3) & 15;
    if (mode !== 64) vexV &= 7;
    vexL = (v2 >> 2) & 1;
    pfxIdx = v2 & 3;
    if (p >= lim) return short(out, p, 1, offset);
    b0 = bytes[p++]!;
    isVex = true;
    rexW = vexW;
    hasRex = false;
  } else if (b0 === 0x62 && (mode === 64 || p >= lim || (bytes[p]! & 0xc0) === 0xc0)) {
    // EVEX (AVX-512): recognised, not supported. 62 P0 P1 P2 opcode ModRM ...
    if (p + 3 > lim) return short(out, p, 3, offset);
    const mm = bytes[p]! & 7;
    p += 3;
    if (p >= lim) return short(out, p, 1, offset);
    const op = bytes[p++]!;
    const imm = mm === 3 || (mm === 1 && EVEX_MAP1_IMM.has(op)) ? 1 : 0;
    return skipModrm(out, p, offset, lim, asz, mode, imm);
  } else if (b0 === 0x8f && (p >= lim || (bytes[p]! & 0x1f) >= 8)) {
    // XOP (AMD): recognised, not supported. 8F RXB.mmmmm W.vvvv.L.pp opcode ModRM ...
    if (p + 2 > lim) return short(out, p, 2, offset);
    const mm = bytes[p]! & 0x1f;
    p += 2;
    if (p >= lim) return short(out, p, 1, offset);
    p++;
    return skipModrm(out, p, offset, lim, asz, mode, mm === 8 ? 1 : mm === 10 ? 4 : 0);
  }

  const opcode = b0;
  opcodeG = b0;
  let node: Node | null = isVex ? (VEX[map]?.[opcode] ?? null) : LEGACY[map]![opcode]!;
  if (node === null) {
    return fail(out, DECODE_UD, 0, UdReason.OPCODE);
  }
  // ---- ModRM, SIB, displacement ----
  const hasModrm = isVex ? true : LEGACY_MODRM[map]![opcode] === 1;
  modG = 3; regG = 0; rmG = 0; modrmG = -1;
  memBase = NO_REG; memIndex = NO_REG; memScale = 1; memDisp = 0; memSeg = 3;
  if (hasModrm) {
    if (p >= lim) return short(out, p, 1, offset);
    const m = bytes[p++]!;
    modrmG = m;
    modG = m >> 6;
    regG = (m >> 3) & 7;
    rmG = m & 7;
    if (modG !== 3 && !(LEGACY_MODREG[map]![opcode] === 1 && !isVex)) {
      if (asz === 16) {
        const base = RM16_BASE[rmG]!;
        const idx = RM16_INDEX[rmG]!;
        let dl = modG === 1 ? 1 : modG === 2 ? 2 : 0;
        if (modG === 0 && rmG === 6) { dl = 2; memBase = NO_REG; } else memBase = base;
        memIndex = idx;
        if (p + dl > lim) return short(out, p, dl, offset);
        if (dl === 1) memDisp = (bytes[p]! << 24) >> 24;
        else if (dl === 2) memDisp = (rd16(bytes, p) << 16) >> 16;
        p += dl;
        memSeg = memBase === 5 ? 2 : 3;
      } else {
        let base = rmG;
        let dl = modG === 1 ? 1 : modG === 2 ? 4 : 0;
        if (rmG === 4) {
          if (p >= lim) return short(out, p, 1, offset);
          const sib = bytes[p++]!;
          memScale = 1 << (sib >> 6);
          const idx = ((sib >> 3) & 7) | (rexX << 3);
          vsibIndex = idx;
          memIndex = idx === 4 ? NO_REG : idx;
          base = sib & 7;
          if (base === 5 && modG === 0) { dl = 4; memBase = NO_REG; } else memBase = base | (rexB << 3);
        } else if (rmG === 5 && modG === 0) {
          dl = 4;
          memBase = mode === 64 ? BASE_RIP : NO_REG;
        } else {
          memBase = rmG | (rexB << 3);
        }
        if (p + dl > lim) return short(out, p, dl, offset);
        if (dl === 1) memDisp = (bytes[p]! << 24) >> 24;
        else if (dl === 4) memDisp = rd32(bytes, p);
        p += dl;
        memSeg = memBase === 4 || memBase === 5 ? 2 : 3;
      }
    }
  }
  // ---- resolve the form ----
  const mode64 = mode === 64 ? 1 : 0;
  const osz = isVex ? (mode === 64 && vexW ? 64 : 32)
    : rexW && mode === 64 ? 64 : mode === 16 ? (prefixes & PFX_OPSIZE ? 32 : 16) : (prefixes & PFX_OPSIZE ? 16 : 32);
  while (node.dim >= 0) {
    const n: TreeNode = node as TreeNode;
    let v = 0;
    switch (n.dim) {
      case DIM.PFX: v = pfxIdx; break;
      case DIM.MOD: v = modG === 3 ? 1 : 0; break;
      case DIM.REG: v = regG; break;
      case DIM.RM: v = rmG; break;
      case DIM.W: v = isVex ? vexW : rexW; break;
      case DIM.L: v = vexL; break;
      case DIM.OSZ: v = osz === 16 ? 0 : osz === 32 ? 1 : 2; break;
      case DIM.OSZD: v = mode === 64 ? (rexW ? 2 : prefixes & PFX_OPSIZE ? 0 : 2) : osz === 16 ? 0 : 1; break;
      case DIM.ASZ: v = asz === 16 ? 0 : asz === 32 ? 1 : 2; break;
      case DIM.MODE64: v = mode64; break;
      default: v = rexB; break;
    }
    const next: Node | null = n.kids[v] ?? null;
    if (next === null) {
      const reason = n.dim === DIM.MODE64 ? UdReason.MODE : UdReason.OPCODE;
      return udWithLength(out, p, offset, lim, reason);
    }
    node = next;
  }
  let form = node as Form;
  // Features (with fallback to the prefix-ignoring form, e.g. TZCNT -> BSF on CPUs without BMI1).
  const fw = features.words;
  for (;;) {
    const f1 = form.feat1;
    const ok = (f1 < 0 || (form.feat64Only && mode !== 64) || ((fw[f1 >>> 5]! >>> (f1 & 31)) & 1) !== 0) &&
      (form.feat2 < 0 || ((fw[form.feat2 >>> 5]! >>> (form.feat2 & 31)) & 1) !== 0);
    if (ok) break;
    if (form.fallback === null) return udWithLength(out, p, offset, lim, UdReason.FEATURE);
    form = form.fallback;
  }
  if (isVex) {
    if (form.vvvvUnused && vexV !== 0) return udWithLength(out, p, offset, lim, UdReason.VEX);
  }
  // LOCK (SDM Vol. 2 "LOCK": #UD unless a lockable instruction with a memory destination).
  let attrs = form.attrs;
  if (prefixes & PFX_LOCK) {
    if (form.movcr) {
      // AMD AltMovCr8: LOCK MOV CR0 = MOV CR8.
    } else if (!(attrs & ATTR_LOCKABLE) || modG === 3) {
      return udWithLength(out, p, offset, lim, UdReason.LOCK);
    } else attrs |= ATTR_LOCKED;
  }
  // ---- operand size ----
  let opSize: 8 | 16 | 32 | 64;
  if (form.byteOp) opSize = 8;
  else if (isVex) opSize = osz as 32 | 64;
  else if (mode === 64 && form.d64) opSize = rexW ? 64 : prefixes & PFX_OPSIZE ? 16 : 64;
  else if (form.c[DIM.PFX] === 1) opSize = rexW && mode === 64 ? 64 : mode === 16 ? 16 : 32;
  else opSize = osz as 16 | 32 | 64;
  if (form.amdfar && opSize === 64) opSize = 32;
  // ---- operands ----
  immPos = p;
  const specs = form.ops;
  const n = specs.length;
  for (let i = 0; i < n; i++) {
    const r = fillOperand(out, out.ops[i]!, specs[i]!, opSize, asz, mode, p, lim, offset, form);
    if (r < 0) return r;
    p = immPos;
  }
  if (p - offset > 15) return fail(out, DECODE_GP, 15, UdReason.NONE);
  // MOV Sreg / MOV CRn / MOV DRn register validity.
  if (form.movcr) {
    const op = out.ops[form.ops[0]!.k === K.C ? 0 : 1]!;
    if (prefixes & PFX_LOCK) op.reg |= 8;
    if (op.reg > 15 || !((CR_VALID >> op.reg) & 1)) return udWithLength(out, p, offset, lim, UdReason.OPCODE);
  } else if (form.movdr) {
    const op = out.ops[form.ops[0]!.k === K.D ? 0 : 1]!;
    if (op.reg > 7) return udWithLength(out, p, offset, lim, UdReason.OPCODE);
  } else if (form.ops[0]?.k === K.S) {
    // MOV Sreg, r/m: reg 6/7 reserved; loading CS is #UD.
    if (regG > 5 || regG === 1) return udWithLength(out, p, offset, lim, UdReason.OPCODE);
  } else if (n > 1 && form.ops[1]!.k === K.S && regG > 5) {
    return udWithLength(out, p, offset, lim, UdReason.OPCODE);
  }
  const ni = form.impl.length;
  for (let i = 0; i < ni; i++) fillImplicit(out.implicit[i]!, form.impl[i]!, opSize, asz);
  // XCHG with a memory operand is locked (SDM "XCHG").
  if (form.mn === XCHG_MN && modG !== 3 && hasModrm) attrs |= ATTR_LOCKED;
  out.length = p - offset;
  out.mode = mode;
  out.mn = form.mn;
  out.form = form.id;
  out.opSize = opSize;
  out.addrSize = asz as 16 | 32 | 64;
  out.prefixes = prefixes;
  out.segPrefix = seg;
  out.rep = rep as 0 | 0xf2 | 0xf3;
  out.rex = isVex ? 0 : rex;
  out.vexL = vexL;
  out.vexV = vexV;
  out.vexW = vexW;
  out.vexPp = isVex ? pfxIdx : 0;
  out.vexMmmmm = vexMm;
  out.map = (form.map) as OpMap;
  out.opcode = opcode;
  out.modrm = modrmG;
  out.cond = form.cond;
  out.opCount = n;
  out.implicitCount = ni;
  out.flagsRead = form.flagsRead;
  out.flagsWritten = form.flagsWritten;
  out.flagsUndefined = form.flagsUndefined;
  out.flow = form.flow as Flow;
  out.attrs = attrs;
  out.failure = UdReason.NONE;
  return out.length;
}

const XCHG_MN: number = Mn.XCHG;

/** #UD after ModRM/SIB/disp were consumed: the length up to there (immediates unknown). */
function udWithLength(out: Instruction, p: number, offset: number, lim: number, reason: UdReason): number {
  void lim;
  return fail(out, DECODE_UD, p - offset, reason);
}

/** Skip ModRM/SIB/disp and `imm` immediate bytes of an unsupported encoding; report #UD with its length. */
function skipModrm(out: Instruction, p: number, offset: number, lim: number, asz: number, mode: CpuMode,
  imm: number): number {
  void mode;
  if (p >= lim) return short(out, p, 1, offset);
  const m = bytesG[p++]!;
  const mod = m >> 6, rm = m & 7;
  let dl = 0;
  if (mod !== 3) {
    if (asz === 16) {
      dl = mod === 1 ? 1 : mod === 2 ? 2 : rm === 6 ? 2 : 0;
    } else {
      dl = mod === 1 ? 1 : mod === 2 ? 4 : 0;
      if (rm === 4) {
        if (p >= lim) return short(out, p, 1, offset);
        const sib = bytesG[p++]!;
        if ((sib & 7) === 5 && mod === 0) dl = 4;
      } else if (rm === 5 && mod === 0) dl = 4;
    }
  }
  if (p + dl + imm > lim) return short(out, p, dl + imm, offset);
  p += dl + imm;
  return fail(out, DECODE_UD, p - offset, UdReason.UNSUPPORTED);
}

function skipUnsupported(out: Instruction, p: number, offset: number, lim: number, asz: number, mode: CpuMode,
  imm: number): number {
  return skipModrm(out, p, offset, lim, asz, mode, imm);
}

function sizeOf(sz: number, opSize: number, asz: number, mode: CpuMode): number {
  switch (sz) {
    case SZ.NONE: return 0;
    case SZ.B: return 1;
    case SZ.W: return 2;
    case SZ.D: return 4;
    case SZ.Q: return 8;
    case SZ.O: return 16;
    case SZ.QQ: return 32;
    case SZ.T: return 10;
    case SZ.V: return opSize === 8 ? 1 : opSize >> 3;
    case SZ.Z: return opSize === 16 ? 2 : 4;
    case SZ.Y: return mode === 64 && rexW ? 8 : 4;
    case SZ.F: return mode === 64 ? 8 : 4;
    case SZ.A: return opSize === 16 ? 4 : 8;
    case SZ.P: return 2 + (opSize >> 3);
    case SZ.S: return mode === 64 ? 10 : 6;
    case SZ.X: return vexL ? 32 : 16;
    case SZ.H: return vexL ? 16 : 8;
    case SZ.QX: return vexL ? 8 : 4;
    case SZ.EX: return vexL ? 4 : 2;
    case SZ.E: return opSize === 16 ? 14 : 28;
    case SZ.FS: return opSize === 16 ? 94 : 108;
    case SZ.FX: return 512;
    case SZ.XS: return 0;
    case SZ.C: return 64;
    case SZ.B32: return 1;
    case SZ.W32: return 2;
    case SZ.VW: return 2;
    case SZ.ASZ: return asz >> 3;
    default: return 0;
  }
}

function setReg(o: Operand, cls: RegClass, reg: number, size: number, access: number): void {
  o.kind = OpKind.REG;
  o.regClass = cls;
  o.reg = reg;
  o.size = size;
  o.highByte = false;
  o.access = access;
}

function setGpr(o: Operand, reg: number, size: number, access: number): void {
  o.kind = OpKind.REG;
  o.regClass = RegClass.GPR;
  o.size = size;
  o.access = access;
  if (size === 1 && !hasRex && reg >= 4 && reg < 8) { o.reg = reg - 4; o.highByte = true; } else { o.reg = reg; o.highByte = false; }
}

function setMem(o: Operand, size: number, access: number, asz: number, mode: CpuMode): void {
  o.kind = OpKind.MEM;
  o.size = size;
  o.access = access;
  o.base = memBase;
  o.index = memIndex;
  o.scale = memScale;
  o.disp = memDisp;
  o.dispHi = memDisp < 0 ? -1 : 0;
  o.addrSize = asz as 16 | 32 | 64;
  o.vsib = false;
  o.seg = segOverride >= 0 && (mode !== 64 || segOverride >= 4) ? segOverride : memSeg;
}

function vecClass(size: number): RegClass {
  return size === 32 ? RegClass.YMM : RegClass.XMM;
}

/** Fill one explicit operand; returns 0 or a failure code. Advances `immPos` over immediates. */
function fillOperand(out: Instruction, o: Operand, s: OpSpec, opSize: number, asz: number, mode: CpuMode, p: number,
  lim: number, offset: number, form: Form): number {
  const b = bytesG;
  const acc = s.access;
  switch (s.k) {
    case K.E: {
      let size = sizeOf(s.sz, opSize, asz, mode);
      if (modG === 3) {
        if (s.sz === SZ.B32 || s.sz === SZ.W32) size = 4;
        else if (s.sz === SZ.VW) size = opSize >> 3;
        setGpr(o, rmG | (rexB << 3), size, acc);
      } else setMem(o, size, acc, asz, mode);
      return 0;
    }
    case K.G:
      setGpr(o, regG | (rexR << 3), sizeOf(s.sz, opSize, asz, mode), acc);
      return 0;
    case K.M:
      setMem(o, sizeOf(s.sz, opSize, asz, mode), acc, asz, mode);
      return 0;
    case K.R:
      setGpr(o, rmG | (rexB << 3), sizeOf(s.sz, opSize, asz, mode), acc);
      return 0;
    case K.Z:
      setGpr(o, (opcodeG & 7) | (rexB << 3), sizeOf(s.sz, opSize, asz, mode), acc);
      return 0;
    case K.I: {
      const size = s.sz === SZ.V ? (opSize === 64 ? 8 : opSize >> 3) : sizeOf(s.sz, opSize, asz, mode);
      const enc = size === 8 ? (s.sz === SZ.V ? 8 : 4) : size;
      const q = immPos;
      if (q + enc > lim) return short(out, q, enc, offset);
      o.kind = OpKind.IMM;
      o.access = ACCESS_READ;
      o.size = s.sz === SZ.Z && opSize === 64 ? 8 : size;
      if (enc === 1) { o.imm = b[q]!; o.immHi = 0; } else if (enc === 2) { o.imm = rd16(b, q); o.immHi = 0; } else if (enc === 4) {
        const v = rd32(b, q);
        if (s.sz === SZ.Z && opSize === 64) { o.imm = v; o.immHi = v < 0 ? -1 : 0; } else { o.imm = v >>> 0; o.immHi = 0; }
      } else { o.imm = rd32(b, q) >>> 0; o.immHi = rd32(b, q + 4); }
      immPos = q + enc;
      return 0;
    }
    case K.IBS: {
      const q = immPos;
      if (q + 1 > lim) return short(out, q, 1, offset);
      o.kind = OpKind.IMM;
      o.access = ACCESS_READ;
      o.size = opSize === 8 ? 1 : opSize >> 3;
      o.imm = (b[q]! << 24) >> 24;
      o.immHi = o.imm < 0 ? -1 : 0;
      immPos = q + 1;
      return 0;
    }
    case K.J: {
      const enc = s.sz === SZ.B ? 1 : opSize === 16 ? 2 : 4;
      const q = immPos;
      if (q + enc > lim) return short(out, q, enc, offset);
      o.kind = OpKind.REL;
      o.access = ACCESS_READ;
      o.size = enc;
      o.imm = enc === 1 ? (b[q]! << 24) >> 24 : enc === 2 ? (rd16(b, q) << 16) >> 16 : rd32(b, q);
      o.immHi = o.imm < 0 ? -1 : 0;
      immPos = q + enc;
      return 0;
    }
    case K.O: {
      const enc = asz >> 3;
      const q = immPos;
      if (q + enc > lim) return short(out, q, enc, offset);
      o.kind = OpKind.MEM;
      o.size = sizeOf(s.sz, opSize, asz, mode);
      o.access = acc;
      o.base = NO_REG;
      o.index = NO_REG;
      o.scale = 1;
      o.vsib = false;
      o.addrSize = asz as 16 | 32 | 64;
      o.seg = segOverride >= 0 && (mode !== 64 || segOverride >= 4) ? segOverride : 3;
      if (enc === 2) { o.disp = rd16(b, q); o.dispHi = 0; } else if (enc === 4) { o.disp = rd32(b, q) >>> 0; o.dispHi = 0; } else {
        o.disp = rd32(b, q) >>> 0; o.dispHi = rd32(b, q + 4);
      }
      immPos = q + enc;
      return 0;
    }
    case K.FIXED: {
      const size = sizeOf(s.sz, opSize, asz, mode);
      if (s.cls === RegClass.GPR) {
        o.kind = OpKind.REG; o.regClass = RegClass.GPR; o.reg = s.reg; o.size = size; o.highByte = s.hi; o.access = acc;
      } else setReg(o, s.cls as RegClass, s.reg, size, acc);
      return 0;
    }
    case K.ONE:
      o.kind = OpKind.IMM; o.size = 1; o.imm = 1; o.immHi = 0; o.access = ACCESS_READ;
      return 0;
    case K.S:
      setReg(o, RegClass.SEG, regG, 2, acc);
      return 0;
    case K.C:
      setReg(o, RegClass.CR, regG | (rexR << 3), mode === 64 ? 8 : 4, acc);
      return 0;
    case K.D:
      setReg(o, RegClass.DR, regG | (rexR << 3), mode === 64 ? 8 : 4, acc);
      return 0;
    case K.A: {
      const enc = opSize === 16 ? 2 : 4;
      const q = immPos;
      if (q + enc + 2 > lim) return short(out, q, enc + 2, offset);
      o.kind = OpKind.FAR;
      o.access = ACCESS_READ;
      o.size = enc + 2;
      o.imm = enc === 2 ? rd16(b, q) : rd32(b, q) >>> 0;
      o.immHi = 0;
      o.sel = rd16(b, q + enc);
      immPos = q + enc + 2;
      return 0;
    }
    case K.X:
    case K.Y:
    case K.MEM_DI: {
      o.kind = OpKind.MEM;
      o.size = s.k === K.MEM_DI ? sizeOf(s.sz, opSize, asz, mode) : sizeOf(s.sz, opSize, asz, mode);
      o.access = acc;
      o.base = s.k === K.X ? 6 : 7;
      o.index = NO_REG;
      o.scale = 1;
      o.disp = 0;
      o.dispHi = 0;
      o.vsib = false;
      o.addrSize = asz as 16 | 32 | 64;
      o.seg = s.k === K.Y ? 0 : segOverride >= 0 && (mode !== 64 || segOverride >= 4) ? segOverride : 3;
      return 0;
    }
    case K.V: {
      const size = sizeOf(s.sz, opSize, asz, mode);
      setReg(o, vecClass(size), regG | (rexR << 3), size, acc);
      return 0;
    }
    case K.W: {
      const size = sizeOf(s.sz, opSize, asz, mode);
      if (modG === 3) setReg(o, vecClass(size === 32 ? 32 : 16), rmG | (rexB << 3), size === 32 ? 32 : 16, acc);
      else setMem(o, size, acc, asz, mode);
      return 0;
    }
    case K.U: {
      const size = sizeOf(s.sz, opSize, asz, mode);
      setReg(o, vecClass(size === 32 ? 32 : 16), rmG | (rexB << 3), size === 32 ? 32 : 16, acc);
      return 0;
    }
    case K.H: {
      const size = sizeOf(s.sz, opSize, asz, mode);
      setReg(o, vecClass(size), vexV, size, acc);
      return 0;
    }
    case K.L: {
      const q = immPos;
      if (q + 1 > lim) return short(out, q, 1, offset);
      const size = sizeOf(s.sz, opSize, asz, mode);
      setReg(o, vecClass(size), (b[q]! >> 4) & (mode === 64 ? 15 : 7), size, acc);
      immPos = q + 1;
      return 0;
    }
    case K.P:
      setReg(o, RegClass.MMX, regG, 8, acc);
      return 0;
    case K.Q:
      if (modG === 3) setReg(o, RegClass.MMX, rmG, 8, acc);
      else setMem(o, sizeOf(s.sz, opSize, asz, mode), acc, asz, mode);
      return 0;
    case K.N:
      setReg(o, RegClass.MMX, rmG, 8, acc);
      return 0;
    case K.B:
      setGpr(o, vexV, sizeOf(s.sz, opSize, asz, mode), acc);
      return 0;
    case K.ST0:
      setReg(o, RegClass.ST, 0, 10, acc);
      return 0;
    case K.STI:
      setReg(o, RegClass.ST, rmG, 10, acc);
      return 0;
    case K.MV: {
      setMem(o, sizeOf(s.sz, opSize, asz, mode), acc, asz, mode);
      // VSIB: SIB.index (+ REX.X) names a vector register, and 100b is not "no index".
      if ((modrmG & 7) !== 4 || asz === 16) return udWithLength(out, immPos, offset, lim, UdReason.OPCODE);
      o.vsib = true;
      o.index = vsibIndex;
      return 0;
    }
    default:
      void form;
      return 0;
  }
}


function fillImplicit(o: Operand, s: OpSpec, opSize: number, asz: number): void {
  const size = s.sz === SZ.V ? (opSize === 8 ? 1 : opSize >> 3) : s.sz === SZ.Z ? (opSize === 16 ? 2 : 4)
    : s.sz === SZ.ASZ ? asz >> 3 : s.sz === SZ.B ? 1 : s.sz === SZ.W ? 2 : s.sz === SZ.D ? 4 : s.sz === SZ.Q ? 8
      : s.sz === SZ.O ? 16 : s.sz === SZ.X ? 16 : s.sz === SZ.C ? 64 : 10;
  if (s.k === K.MEM_DI) {
    o.kind = OpKind.MEM; o.size = size; o.access = s.access; o.base = 7; o.index = NO_REG; o.scale = 1; o.disp = 0;
    o.dispHi = 0; o.vsib = false; o.addrSize = asz as 16 | 32 | 64; o.seg = s.reg;
    return;
  }
  o.kind = OpKind.REG;
  o.regClass = s.cls as RegClass;
  o.reg = s.reg;
  o.size = size;
  o.highByte = s.hi;
  o.access = s.access;
}

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
  for (let i = 0; i < insn.opCount; i++) if (insn.ops[i]!.kind === OpKind.REL) disp = insn.ops[i]!.imm;
  const next = rip + BigInt(insn.length) + BigInt(disp);
  return BigInt.asUintN(insn.opSize === 16 ? 16 : insn.opSize === 32 && insn.mode !== 64 ? 32 : 64, next);
}

/** The table form of a decoded instruction (operand specs, metadata, source line). */
export { FORMS } from './build.js';
export type { Form } from './build.js';
