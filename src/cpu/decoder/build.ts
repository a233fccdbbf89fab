/**
 * Builds the decoder's dispatch structures from the instruction table
 * (table-legacy.ts, table-vex.ts): one Form per table line (per expanded
 * opcode), and per (map, opcode) a decision tree over the encoding dimensions
 * (mandatory prefix, ModRM.mod/reg/rm, REX/VEX.W, VEX.L, operand/address size,
 * mode). The decoder walks the tree; disassembly and metadata read the Form.
 */
import { MN_NAMES, Mn } from './mnemonics.js';
import {
  ATTR_ALIGN16, ATTR_AVX, ATTR_INHIBIT_IRQ, ATTR_IO, ATTR_IOPL, ATTR_LOCKABLE, ATTR_MMX, ATTR_PRIVILEGED,
  ATTR_PROTECTED_ONLY, ATTR_REP, ATTR_REPCC, ATTR_SEGLOAD, ATTR_SERIALIZING, ATTR_SSE, ATTR_STACK, ATTR_STRING,
  ATTR_SYSTEM_STATE, ATTR_VARSIZE_MEM, ATTR_X87, ACCESS_COND, ACCESS_READ, ACCESS_WRITE, FLAG_AC, FLAG_AF, FLAG_CF,
  FLAG_DF, FLAG_IF, FLAG_OF, FLAG_PF, FLAG_SF, FLAG_TF, FLAG_ZF, FLAGS_ALL, Feature, Flow, OpMap,
} from './types.js';

// ---- operand specs ---------------------------------------------------------------
/** How an operand is found in the encoding. */
export const K = {
  /** ModRM.rm: GPR (mod 3) or memory. */
  E: 1,
  /** ModRM.reg: GPR. */
  G: 2,
  /** ModRM.rm, memory only. */
  M: 3,
  /** ModRM.rm, GPR only (mod 3; for MOV CRn/DRn the mod bits are ignored). */
  R: 4,
  /** Immediate. */
  I: 5,
  /** Immediate sign-extended from 8 bits to the operand size. */
  IBS: 6,
  /** Relative branch offset. */
  J: 7,
  /** moffs (A0-A3): address-size absolute offset. */
  O: 8,
  /** Register in opcode bits 2:0 (+ REX.B). */
  Z: 9,
  /** Fixed register (cls/reg in spec; size from size code). */
  FIXED: 10,
  /** Constant 1 (D0/D1 shifts). */
  ONE: 11,
  /** Segment register from ModRM.reg. */
  S: 12,
  /** Control register from ModRM.reg (+ REX.R). */
  C: 13,
  /** Debug register from ModRM.reg (+ REX.R). */
  D: 14,
  /** Far pointer ptr16:16/32 (EA/9A). */
  A: 15,
  /** String source DS:rSI (segment overridable). */
  X: 16,
  /** String destination ES:rDI. */
  Y: 17,
  /** XMM/YMM from ModRM.reg. */
  V: 18,
  /** XMM/YMM (mod 3) or memory from ModRM.rm. */
  W: 19,
  /** XMM/YMM from ModRM.rm, register only. */
  U: 20,
  /** XMM/YMM from VEX.vvvv. */
  H: 21,
  /** XMM/YMM from imm8[7:4] (VEX /is4). */
  L: 22,
  /** MMX from ModRM.reg. */
  P: 23,
  /** MMX (mod 3) or memory from ModRM.rm. */
  Q: 24,
  /** MMX from ModRM.rm, register only. */
  N: 25,
  /** GPR from VEX.vvvv. */
  B: 26,
  /** ST(0). */
  ST0: 27,
  /** ST(i) from ModRM.rm. */
  STI: 28,
  /** VSIB memory (gathers). */
  MV: 29,
  /** Implicit memory at ES:rDI / DS:rDI (MASKMOVQ, MOVDIR64B), or the stack. */
  MEM_DI: 30,
} as const;

/** Operand size codes (resolved per instruction by the decoder). */
export const SZ = {
  NONE: 0, B: 1, W: 2, D: 3, Q: 4, O: 5, QQ: 6, T: 7,
  /** Operand size: 2/4/8. */
  V: 8,
  /** 2 if operand size 16, else 4. */
  Z: 9,
  /** 8 if REX.W/VEX.W in 64-bit mode, else 4. */
  Y: 10,
  /** 8 in 64-bit mode, else 4 (MOV CRn, VMREAD, INVPCID, RDPID). */
  F: 11,
  /** BOUND: two operand-size words (4 or 8). */
  A: 12,
  /** Far pointer m16:16/m16:32/m16:64 (2 + operand size). */
  P: 13,
  /** Descriptor-table pointer: 6, or 10 in 64-bit mode. */
  S: 14,
  /** 16 or 32 by VEX.L. */
  X: 15,
  /** Half of X: 8 or 16 by VEX.L. */
  H: 16,
  /** x87 environment: 14 (16-bit operand size) or 28. */
  E: 17,
  /** FNSAVE/FRSTOR image: 94 or 108. */
  FS: 18,
  /** FXSAVE area: 512. */
  FX: 19,
  /** XSAVE area: variable (0). */
  XS: 20,
  /** 64 bytes (MOVDIR64B). */
  C: 21,
  /** Register 32 bits, memory byte (PEXTRB/PINSRB). */
  B32: 22,
  /** Register 32 bits, memory word (PEXTRW/PINSRW). */
  W32: 23,
  /** Address size (2/4/8): MOVDIR64B destination register. */
  ASZ: 24,
  /** Register: operand size; memory: word (MOV Sreg, LAR, LSL). */
  VW: 27,
  /** Register W ? 64 : 32 bits, memory dword (EXTRACTPS). */
  D32: 28,
  /** Quarter of X: 4 or 8 by VEX.L (VPMOVZXBD ...). */
  QX: 25,
  /** Eighth of X: 2 or 4 by VEX.L (VPMOVZXBQ). */
  EX: 26,
} as const;
export type SizeCode = (typeof SZ)[keyof typeof SZ];

export interface OpSpec {
  readonly k: number;
  readonly sz: SizeCode;
  /** FIXED: register class (RegClass) and number; `hi` for AH. */
  readonly cls: number;
  readonly reg: number;
  readonly hi: boolean;
  access: number;
  readonly text: string;
}

// ---- encoding dimensions ---------------------------------------------------------------
export const DIM = {
  /** Mandatory prefix: 0 none, 1 66, 2 F3, 3 F2 (VEX.pp). */
  PFX: 0,
  /** 0 memory (mod != 3), 1 register. */
  MOD: 1,
  REG: 2,
  RM: 3,
  /** REX.W / VEX.W. */
  W: 4,
  /** VEX.L. */
  L: 5,
  /** Operand size 0:16 1:32 2:64 (66 / REX.W / mode). */
  OSZ: 6,
  /** Operand size with a 64-bit default in 64-bit mode (PUSHF...). */
  OSZD: 7,
  /** Address size 0:16 1:32 2:64. */
  ASZ: 8,
  /** 0 not 64-bit mode, 1 64-bit mode. */
  MODE64: 9,
  /** REX.B (NOP vs XCHG r8, rAX). */
  REXB: 10,
} as const;
export const DIM_COUNT = 11;
const DIM_SIZES = [4, 2, 8, 8, 2, 2, 3, 3, 3, 2, 2];

/** One table line, for one opcode byte. */
export interface Form {
  /** -1: a leaf (shares the field with TreeNode). */
  readonly dim: -1;
  readonly id: number;
  readonly mn: Mn;
  readonly name: string;
  readonly line: string;
  readonly map: OpMap;
  readonly opcode: number;
  readonly vex: boolean;
  readonly hasModrm: boolean;
  readonly ops: readonly OpSpec[];
  readonly impl: readonly OpSpec[];
  /** Match constraints, -1 = any. */
  readonly c: Int8Array;
  readonly specificity: number;
  readonly flagsRead: number;
  readonly flagsWritten: number;
  readonly flagsUndefined: number;
  readonly flow: number;
  readonly attrs: number;
  /** Required features (all), -1 for none. */
  readonly feat1: number;
  readonly feat2: number;
  /** Feature only required in 64-bit mode (LAHF/SAHF). */
  readonly feat64Only: boolean;
  readonly no64: boolean;
  readonly only64: boolean;
  /** Default operand size 64 in 64-bit mode. */
  readonly d64: boolean;
  /** Byte operation: operand size 8. */
  readonly byteOp: boolean;
  readonly cond: number;
  /** ModRM.mod ignored: rm is always a register (MOV CRn/DRn). */
  readonly modreg: boolean;
  readonly movcr: boolean;
  readonly movdr: boolean;
  /** Far pointer memory operand ignores REX.W (AMD). */
  readonly amdfar: boolean;
  /** VEX.vvvv must be 1111b (no H/B operand). */
  readonly vvvvUnused: boolean;
  /** Undocumented alias. */
  readonly undoc: boolean;
  /** Hint NOP (0F 18-1F): decodes as NOP whatever the reg field. */
  readonly hintnop: boolean;
  /** Less specific form to use when this one's feature is disabled. */
  fallback: Form | null;
}

export interface TreeNode {
  readonly dim: number;
  readonly kids: Array<Node | null>;
}
export type Node = TreeNode | Form;

/**
 * Forms and tree nodes are classes with the same leading field (`dim`) so that
 * the decoder's tree walk stays monomorphic-ish for V8.
 */
class FormObj implements Form {
  readonly dim = -1 as const;
  readonly id: number;
  readonly mn: Mn;
  readonly name: string;
  readonly line: string;
  readonly map: OpMap;
  readonly opcode: number;
  readonly vex: boolean;
  readonly hasModrm: boolean;
  readonly ops: readonly OpSpec[];
  readonly impl: readonly OpSpec[];
  readonly c: Int8Array;
  readonly specificity: number;
  readonly flagsRead: number;
  readonly flagsWritten: number;
  readonly flagsUndefined: number;
  readonly flow: number;
  readonly attrs: number;
  readonly feat1: number;
  readonly feat2: number;
  readonly feat64Only: boolean;
  readonly no64: boolean;
  readonly only64: boolean;
  readonly d64: boolean;
  readonly byteOp: boolean;
  readonly cond: number;
  readonly modreg: boolean;
  readonly movcr: boolean;
  readonly movdr: boolean;
  readonly amdfar: boolean;
  readonly vvvvUnused: boolean;
  readonly undoc: boolean;
  readonly hintnop: boolean;
  fallback: Form | null = null;
  constructor(f: Omit<Form, 'fallback'>, id = f.id) {
    this.id = id; this.mn = f.mn; this.name = f.name; this.line = f.line; this.map = f.map; this.opcode = f.opcode;
    this.vex = f.vex; this.hasModrm = f.hasModrm; this.ops = f.ops; this.impl = f.impl; this.c = f.c;
    this.specificity = f.specificity; this.flagsRead = f.flagsRead; this.flagsWritten = f.flagsWritten;
    this.flagsUndefined = f.flagsUndefined; this.flow = f.flow; this.attrs = f.attrs; this.feat1 = f.feat1;
    this.feat2 = f.feat2; this.feat64Only = f.feat64Only; this.no64 = f.no64; this.only64 = f.only64; this.d64 = f.d64;
    this.byteOp = f.byteOp; this.cond = f.cond; this.modreg = f.modreg; this.movcr = f.movcr; this.movdr = f.movdr;
    this.amdfar = f.amdfar; this.vvvvUnused = f.vvvvUnused; this.undoc = f.undoc; this.hintnop = f.hintnop;
  }
}

class TreeNodeObj implements TreeNode {
  constructor(readonly dim: number, readonly kids: Array<Node | null>) {}
}

// ---- parsing ------------------------------------------------------------------------
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

const FLAG_LETTERS: Record<string, number> = {
  O: FLAG_OF, S: FLAG_SF, Z: FLAG_ZF, A: FLAG_AF, P: FLAG_PF, C: FLAG_CF, D: FLAG_DF, I: FLAG_IF, T: FLAG_TF,
  F: FLAGS_ALL,
};
/** Flags read by each condition code (SDM Vol. 1 Table B-1). */
const CC_FLAGS = [
  FLAG_OF, FLAG_OF, FLAG_CF, FLAG_CF, FLAG_ZF, FLAG_ZF, FLAG_CF | FLAG_ZF, FLAG_CF | FLAG_ZF, FLAG_SF, FLAG_SF,
  FLAG_PF, FLAG_PF, FLAG_SF | FLAG_OF, FLAG_SF | FLAG_OF, FLAG_ZF | FLAG_SF | FLAG_OF, FLAG_ZF | FLAG_SF | FLAG_OF,
];

function flagMask(letters: string): number {
  if (letters === 'AC2') return FLAG_AC;
  if (letters === 'TIF') return FLAG_TF | FLAG_IF | 0x4000 | 0x10000 | 0x20000 | 0x40000;
  if (letters === 'IF') return FLAG_IF;
  let m = 0;
  for (const ch of letters) {
    const f = FLAG_LETTERS[ch];
    if (f === undefined) throw new Error(`bad flag letter ${ch} in ${letters}`);
    m |= f;
  }
  return m;
}

const SIZE_LETTERS: Record<string, SizeCode> = {
  '': SZ.NONE, b: SZ.B, w: SZ.W, d: SZ.D, q: SZ.Q, o: SZ.O, dq: SZ.O, qq: SZ.QQ, t: SZ.T, v: SZ.V, z: SZ.Z,
  y: SZ.Y, F: SZ.F, a: SZ.A, p: SZ.P, s: SZ.S, x: SZ.X, h: SZ.H, e: SZ.E, fs: SZ.FS, fx: SZ.FX, xs: SZ.XS,
  c: SZ.C, vw: SZ.VW, asz: SZ.ASZ, b32: SZ.B32, d32: SZ.D32, w32: SZ.W32, qx: SZ.QX, ex: SZ.EX,
  ps: SZ.X, pd: SZ.X, ss: SZ.D, sd: SZ.Q,
};

const KIND_LETTERS: Record<string, number> = {
  E: K.E, G: K.G, M: K.M, R: K.R, I: K.I, J: K.J, O: K.O, Z: K.Z, S: K.S, C: K.C, D: K.D, A: K.A, X: K.X, Y: K.Y,
  V: K.V, W: K.W, U: K.U, H: K.H, L: K.L, P: K.P, Q: K.Q, N: K.N, B: K.B,
};

// RegClass values (types.ts), repeated as plain numbers to keep this table readable.
const GPR = 1, SEGC = 2, XMMC = 7, STC = 5;
const FIXED_REGS: Record<string, { cls: number; reg: number; sz: SizeCode; hi?: boolean }> = {
  AL: { cls: GPR, reg: 0, sz: SZ.B }, CL: { cls: GPR, reg: 1, sz: SZ.B }, AH: { cls: GPR, reg: 0, sz: SZ.B, hi: true },
  AX: { cls: GPR, reg: 0, sz: SZ.W }, DX: { cls: GPR, reg: 2, sz: SZ.W },
  EAX: { cls: GPR, reg: 0, sz: SZ.D }, ECX: { cls: GPR, reg: 1, sz: SZ.D }, EDX: { cls: GPR, reg: 2, sz: SZ.D },
  EBX: { cls: GPR, reg: 3, sz: SZ.D },
  RAX: { cls: GPR, reg: 0, sz: SZ.Q }, RCX: { cls: GPR, reg: 1, sz: SZ.Q }, RDX: { cls: GPR, reg: 2, sz: SZ.Q },
  RBX: { cls: GPR, reg: 3, sz: SZ.Q }, R11: { cls: GPR, reg: 11, sz: SZ.Q },
  rAX: { cls: GPR, reg: 0, sz: SZ.V }, rDX: { cls: GPR, reg: 2, sz: SZ.V }, eAX: { cls: GPR, reg: 0, sz: SZ.Z },
  aAX: { cls: GPR, reg: 0, sz: SZ.ASZ }, rDXy: { cls: GPR, reg: 2, sz: SZ.Y },
  aCX: { cls: GPR, reg: 1, sz: SZ.ASZ }, aSI: { cls: GPR, reg: 6, sz: SZ.ASZ }, aDI: { cls: GPR, reg: 7, sz: SZ.ASZ },
  rSP: { cls: GPR, reg: 4, sz: SZ.F },
  ES: { cls: SEGC, reg: 0, sz: SZ.W }, CS: { cls: SEGC, reg: 1, sz: SZ.W }, SS: { cls: SEGC, reg: 2, sz: SZ.W },
  DS: { cls: SEGC, reg: 3, sz: SZ.W }, FS: { cls: SEGC, reg: 4, sz: SZ.W }, GS: { cls: SEGC, reg: 5, sz: SZ.W },
  XMM0: { cls: XMMC, reg: 0, sz: SZ.O }, ST: { cls: STC, reg: 0, sz: SZ.T },
};

function parseOperand(tok: string): OpSpec {
  const mk = (k: number, sz: SizeCode, cls = 0, reg = 0, hi = false): OpSpec =>
    ({ k, sz, cls, reg, hi, access: ACCESS_READ, text: tok });
  if (tok === '1') return mk(K.ONE, SZ.B);
  if (tok === 'ST') return mk(K.ST0, SZ.T, STC, 0);
  if (tok === 'STi') return mk(K.STI, SZ.T, STC, 0);
  if (tok === 'DSDI' || tok === 'ESDI') return mk(K.MEM_DI, tok === 'ESDI' ? SZ.C : SZ.X, 0, tok === 'ESDI' ? 0 : 3);
  if (tok === 'Ibs') return mk(K.IBS, SZ.V);
  if (tok === 'Mv') return mk(K.M, SZ.V);
  if (tok === 'Mvsib') return mk(K.MV, SZ.NONE);
  const fixed = FIXED_REGS[tok];
  if (fixed) return mk(K.FIXED, fixed.sz, fixed.cls, fixed.reg, fixed.hi ?? false);
  const m = /^([A-Z])([a-zA-Z0-9]*)$/.exec(tok);
  if (!m) throw new Error(`bad operand ${tok}`);
  const k = KIND_LETTERS[m[1] ?? ''];
  let szText = m[2] ?? '';
  if (k === undefined) throw new Error(`bad operand kind ${tok}`);
  // VSIB memory: Mvsibd = dword indices, Mvsibq = qword indices (kept in `reg`).
  if (k === K.M && szText.startsWith('vsib')) return mk(K.MV, SZ.NONE, 0, szText === 'vsibq' ? 1 : 0);
  if ((k === K.R || k === K.C || k === K.D) && szText === 'c') szText = 'F';
  const sz = SIZE_LETTERS[szText];
  if (sz === undefined) throw new Error(`bad operand size ${tok}`);
  return mk(k, sz);
}

const MNEMONIC_IDS = new Map<string, Mn>();
MN_NAMES.forEach((n, i) => MNEMONIC_IDS.set(n, i as Mn));

const FEATURE_SHORT: Record<string, number> = {
  sse: Feature.SSE, sse2: Feature.SSE2, sse3: Feature.SSE3, ssse3: Feature.SSSE3, sse41: Feature.SSE4_1,
  sse42: Feature.SSE4_2, mmx: Feature.MMX, x87: Feature.X87,
};

const FLOWS: Record<string, number> = {
  jmp: Flow.JMP, jmpind: Flow.JMP_IND, jcc: Flow.JCC, call: Flow.CALL, callind: Flow.CALL_IND, ret: Flow.RET,
  jmpfar: Flow.JMP_FAR, callfar: Flow.CALL_FAR, retfar: Flow.RET_FAR, iret: Flow.IRET, int: Flow.INT,
  syscall: Flow.SYSCALL, sysret: Flow.SYSRET, hlt: Flow.HLT, ud: Flow.UD, mode: Flow.MODE_CHANGE,
};

interface Draft {
  line: string;
  map: OpMap;
  opcodes: number[];
  conds: number[];
  vex: boolean;
  hasModrm: boolean;
  c: Int8Array;
  mnText: string;
  opsText: string[];
  attrs: string[];
}

function hexByte(t: string, line: string): number {
  if (!/^[0-9A-F]{2}$/.test(t)) throw new Error(`bad opcode byte '${t}' in: ${line}`);
  return parseInt(t, 16);
}

function parseLine(line: string): Draft {
  const parts = line.split(';').map((s) => s.trim());
  if (parts.length !== 3) throw new Error(`bad table line: ${line}`);
  const [opText = '', insText = '', attrText = ''] = parts;
  const c = new Int8Array(DIM_COUNT).fill(-1);
  const toks = opText.split(/\s+/);
  let i = 0;
  let map: OpMap = OpMap.ONE_BYTE;
  let vex = false;
  const t0 = toks[0] ?? '';
  if (t0.startsWith('VEX.')) {
    vex = true;
    i = 1;
    for (const f of t0.split('.').slice(1)) {
      if (f === 'L0' || f === '128' || f === 'LZ') c[DIM.L] = 0;
      else if (f === 'L1' || f === '256') c[DIM.L] = 1;
      else if (f === 'LIG') { /* any */ } else if (f === 'NP') c[DIM.PFX] = 0;
      else if (f === '66') c[DIM.PFX] = 1;
      else if (f === 'F3') c[DIM.PFX] = 2;
      else if (f === 'F2') c[DIM.PFX] = 3;
      else if (f === '0F') map = OpMap.MAP_0F;
      else if (f === '0F38') map = OpMap.MAP_0F38;
      else if (f === '0F3A') map = OpMap.MAP_0F3A;
      else if (f === 'W0') c[DIM.W] = 0;
      else if (f === 'W1') c[DIM.W] = 1;
      else if (f === 'WIG') { /* any */ } else throw new Error(`bad VEX field ${f} in ${line}`);
    }
    if (c[DIM.PFX] === -1) c[DIM.PFX] = 0;
  } else {
    const pfx = { NP: 0, '66': 1, F3: 2, F2: 3 }[t0];
    if (pfx !== undefined && toks.length > 1 && (toks[1] === '0F' || t0 === 'NP' || toks[1] === '90')) {
      c[DIM.PFX] = pfx;
      i = 1;
    }
    if (toks[i] === '0F') {
      map = OpMap.MAP_0F;
      i++;
      if (toks[i] === '38' && toks.length > i + 1 && toks[i + 1] !== undefined && !toks[i + 1]!.startsWith('/')) { map = OpMap.MAP_0F38; i++; } else if (toks[i] === '3A' && toks.length > i + 1 && !toks[i + 1]!.startsWith('/')) { map = OpMap.MAP_0F3A; i++; }
    }
  }
  const opTok = toks[i++] ?? '';
  const opcodes: number[] = [];
  const conds: number[] = [];
  if (opTok.endsWith('+r')) {
    const b = hexByte(opTok.slice(0, 2), line);
    for (let r = 0; r < 8; r++) { opcodes.push(b + r); conds.push(-1); }
  } else if (opTok.endsWith('+cc')) {
    const b = hexByte(opTok.slice(0, 2), line);
    for (let r = 0; r < 16; r++) { opcodes.push(b + r); conds.push(r); }
  } else {
    opcodes.push(hexByte(opTok, line));
    conds.push(-1);
  }
  let hasModrm = false;
  const mtok = toks[i];
  if (mtok !== undefined) {
    hasModrm = true;
    const mm = /^\/(r|[0-7]|[0-9A-F]{2})(?::(m|r))?$/.exec(mtok);
    if (!mm) throw new Error(`bad modrm spec ${mtok} in ${line}`);
    const what = mm[1] ?? 'r';
    if (what.length === 2) {
      const v = parseInt(what, 16);
      if (v < 0xc0) throw new Error(`exact modrm must be mod 3: ${line}`);
      c[DIM.MOD] = 1; c[DIM.REG] = (v >> 3) & 7; c[DIM.RM] = v & 7;
    } else if (what !== 'r') {
      c[DIM.REG] = Number(what);
    }
    if (mm[2] === 'm') c[DIM.MOD] = 0;
    else if (mm[2] === 'r') c[DIM.MOD] = 1;
    i++;
  }
  if (i !== toks.length) throw new Error(`trailing opcode tokens in ${line}`);
  const sp = insText.indexOf(' ');
  const mnText = sp < 0 ? insText : insText.slice(0, sp);
  const opsText = sp < 0 ? [] : insText.slice(sp + 1).split(',').map((s) => s.trim()).filter((s) => s.length);
  const attrs = attrText.split(/\s+/).filter((s) => s.length);
  return { line, map, opcodes, conds, vex, hasModrm, c, mnText, opsText, attrs };
}

let nextFormId = 0;
export const FORMS: Form[] = [];

function makeForms(d: Draft): Form[] {
  const out: Form[] = [];
  d.opcodes.forEach((opcode, idx) => {
    const cond = d.conds[idx] ?? -1;
    const name = cond >= 0 ? d.mnText.replace(/cc$/, CC[cond] ?? '') : d.mnText;
    const mn = MNEMONIC_IDS.get(name);
    if (mn === undefined) throw new Error(`unknown mnemonic ${name} (${d.line})`);
    const ops = d.opsText.map(parseOperand);
    const impl: OpSpec[] = [];
    const c = d.c.slice();
    let flagsRead = 0, flagsWritten = 0, flagsUndefined = 0, flow: number = Flow.NONE, attrs = 0;
    let feat1 = -1, feat2 = -1, feat64Only = false, no64 = false, only64 = false, d64 = false;
    let undoc = false, hintnop = false, modreg = false, movcr = false, movdr = false, amdfar = false;
    let dst = ops.length === 0 ? '' : d.vex && ops.length >= 3 ? 'w' : 'rw';
    let srw = false, dwc = false, dwm = false, gather = false;
    const addFeat = (f: number): void => {
      if (feat1 < 0 || feat1 === f) feat1 = f;
      else if (feat2 < 0) feat2 = f;
      else throw new Error(`too many features: ${d.line}`);
    };
    for (const a of d.attrs) {
      const eq = a.indexOf('=');
      const colon = a.indexOf(':');
      if (colon === 1 && (a[0] === 'w' || a[0] === 'r' || a[0] === 'u')) {
        const rest = a.slice(2);
        const m = rest === 'cc' ? (CC_FLAGS[cond] ?? 0) : flagMask(rest);
        if (a[0] === 'w') flagsWritten |= m; else if (a[0] === 'r') flagsRead |= m; else flagsUndefined |= m;
        continue;
      }
      if (eq > 0) {
        const key = a.slice(0, eq), val = a.slice(eq + 1);
        if (key === 'f') {
          if (val === 'LAHF_LM64') { addFeat(Feature.LAHF_LM); feat64Only = true; continue; }
          const f = (Feature as Record<string, number>)[val];
          if (f === undefined) throw new Error(`unknown feature ${val}`);
          addFeat(f);
        } else if (key === 'flow') {
          const f = FLOWS[val];
          if (f === undefined) throw new Error(`unknown flow ${val}`);
          flow = f;
        } else if (key === 'impl') {
          for (const it of val.split(',')) {
            const [r = '', acc = 'r'] = it.split(':');
            const spec = parseOperand(r);
            spec.access = (acc.includes('r') ? ACCESS_READ : 0) | (acc.includes('w') ? ACCESS_WRITE : 0);
            impl.push(spec);
          }
        } else throw new Error(`unknown attr ${a} in ${d.line}`);
        continue;
      }
      const sf = FEATURE_SHORT[a];
      if (sf !== undefined) {
        addFeat(sf);
        if (a === 'mmx') attrs |= ATTR_MMX; else if (a === 'x87') attrs |= ATTR_X87; else attrs |= ATTR_SSE;
        continue;
      }
      switch (a) {
        case 'lock': attrs |= ATTR_LOCKABLE; break;
        case 'dr': dst = 'r'; break;
        case 'dw': dst = 'w'; break;
        case 'dn': dst = ''; break;
        case 'dwc': dwc = true; dst = 'w'; break;
        case 'dwm': dwm = true; dst = 'w'; break;
        case 'srw': srw = true; break;
        case 'gather': gather = true; break;
        case 'no64': no64 = true; c[DIM.MODE64] = 0; break;
        case 'only64': only64 = true; c[DIM.MODE64] = 1; break;
        case 'd64': d64 = true; break;
        case 'o16': c[DIM.OSZ] = 0; break;
        case 'o32': c[DIM.OSZ] = 1; break;
        case 'o64': c[DIM.OSZ] = 2; break;
        case 'a16': c[DIM.ASZ] = 0; break;
        case 'a32': c[DIM.ASZ] = 1; break;
        case 'a64': c[DIM.ASZ] = 2; break;
        case 'W1': c[DIM.W] = 1; break;
        case 'notw': c[DIM.W] = 0; break;
        case 'rexb': c[DIM.REXB] = 1; break;
        case 'norexb': c[DIM.REXB] = 0; break;
        case 'pm': attrs |= ATTR_PROTECTED_ONLY; break;
        case 'priv': attrs |= ATTR_PRIVILEGED; break;
        case 'ser': attrs |= ATTR_SERIALIZING; break;
        case 'sys': attrs |= ATTR_SYSTEM_STATE; break;
        case 'io': attrs |= ATTR_IO; break;
        case 'iopl': attrs |= ATTR_IOPL; break;
        case 'inhibit': attrs |= ATTR_INHIBIT_IRQ; break;
        case 'string': attrs |= ATTR_STRING; break;
        case 'rep': attrs |= ATTR_REP; break;
        case 'repcc': attrs |= ATTR_REPCC; break;
        case 'stack': attrs |= ATTR_STACK; break;
        case 'segload': attrs |= ATTR_SEGLOAD; break;
        case 'align': attrs |= ATTR_ALIGN16; break;
        case 'varsize': attrs |= ATTR_VARSIZE_MEM; break;
        case 'mmxr': attrs |= ATTR_MMX; break;
        case 'avx': attrs |= ATTR_AVX; break;
        case 'undoc': undoc = true; break;
        case 'hintnop': hintnop = true; break;
        case 'modreg': modreg = true; break;
        case 'movcr': movcr = true; break;
        case 'movdr': movdr = true; break;
        case 'amdfar': amdfar = true; break;
        default: throw new Error(`unknown attr ${a} in ${d.line}`);
      }
    }
    if (d.vex) attrs |= ATTR_AVX;
    if (ops.length > 5 || impl.length > 4) throw new Error(`too many operands (Instruction holds 5 + 4): ${d.line}`);
    // Entries that constrain operand size and default to 64 bits use the d64 operand-size dimension.
    if (d64 && c[DIM.OSZ] !== -1) { c[DIM.OSZD] = c[DIM.OSZ]!; c[DIM.OSZ] = -1; }
    // Operand kinds that need a memory or register ModRM constrain MOD.
    for (const o of ops) {
      if ((o.k === K.M || o.k === K.MV) && c[DIM.MOD] === -1) c[DIM.MOD] = 0;
      if ((o.k === K.R || o.k === K.U || o.k === K.N) && c[DIM.MOD] === -1 && !modreg) c[DIM.MOD] = 1;
    }
    // Access of explicit operands.
    ops.forEach((o, n) => {
      if (n === 0) {
        o.access = dst === 'w' ? ACCESS_WRITE : dst === 'r' ? ACCESS_READ : dst === 'rw' ? ACCESS_READ | ACCESS_WRITE : 0;
        if (dwc) o.access |= ACCESS_COND;
        if (dwm) o.access |= 0;
      } else {
        o.access = ACCESS_READ;
        if (n === 1 && srw) o.access = ACCESS_READ | ACCESS_WRITE;
      }
      if (o.k === K.M && dst === '' && n === 0) o.access = 0;
      // Gathers write the destination and clear the mask (SDM "VPGATHERDD": the mask is updated).
      if (gather && (n === 0 || n === 2)) o.access = ACCESS_READ | ACCESS_WRITE;
    });
    // RCX is the count of REP-prefixed forms; the string pointers are implicit.
    const byteOp = ops.some((o) => o.sz === SZ.B && (o.k === K.E || o.k === K.G || o.k === K.Z || o.k === K.O ||
      o.k === K.X || o.k === K.Y || (o.k === K.FIXED && o.cls === GPR))) &&
      !ops.some((o) => o.sz === SZ.V || o.sz === SZ.Z);
    let vvvvUnused = d.vex;
    for (const o of ops) if (o.k === K.H || o.k === K.B) vvvvUnused = false;
    // A mandatory-prefix column outranks one ModRM constraint: F2 0F 38 F0 (CRC32) beats 0F 38 F0 /r:m (MOVBE).
    const specificity = Array.from(c).filter((v) => v !== -1).length + (c[DIM.PFX] !== -1 ? 1 : 0);
    const f: Form = new FormObj({
      dim: -1, id: nextFormId++, mn, name, line: d.line, map: d.map, opcode, vex: d.vex, hasModrm: d.hasModrm, ops,
      impl, c, specificity, flagsRead, flagsWritten, flagsUndefined, flow, attrs, feat1, feat2, feat64Only, no64,
      only64, d64, byteOp, cond, modreg, movcr, movdr, amdfar, vvvvUnused, undoc, hintnop,
    });
    FORMS.push(f);
    out.push(f);
  });
  return out;
}

// ---- trees -----------------------------------------------------------------------------
/** Roots per table: [legacy 0..3 maps | vex 1..3 maps] x 256 opcodes. */
export interface Tables {
  legacy: Array<Array<Node | null>>;
  vex: Array<Array<Node | null>>;
  /** hasModrm per legacy map/opcode (1 yes, 0 no, 2 undefined opcode). */
  legacyModrm: Uint8Array[];
  legacyModreg: Uint8Array[];
  vexModrm: Uint8Array[];
}

function matches(f: Form, dim: number, v: number): boolean {
  const want = f.c[dim] ?? -1;
  return want === -1 || want === v;
}

function pickLeaf(forms: Form[]): Form {
  const sorted = forms.slice().sort((a, b) => b.specificity - a.specificity);
  const first = sorted[0];
  if (!first) throw new Error('empty leaf');
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!, b = sorted[i]!;
    if (a.specificity === b.specificity && a.feat1 === b.feat1) {
      throw new Error(`ambiguous table entries:\n  ${a.line}\n  ${b.line}`);
    }
  }
  // Chain fallbacks: used when the preferred form's feature is disabled (e.g. TZCNT -> BSF).
  // Forms are shared between leaves, so chain through wrapper copies only when needed.
  if (sorted.length === 1) return first;
  const chain: Form[] = sorted.map((f) => {
    const copy = new FormObj(f, nextFormId++);
    FORMS.push(copy);
    return copy;
  });
  for (let i = 0; i + 1 < chain.length; i++) chain[i]!.fallback = chain[i + 1]!;
  return chain[0]!;
}

function buildNode(forms: Form[], usedDims: number): Node | null {
  if (forms.length === 0) return null;
  if (forms.length === 1) {
    // A single form may still constrain dimensions not yet checked.
    const f = forms[0]!;
    let dim = -1;
    for (let d = 0; d < DIM_COUNT; d++) if (!(usedDims & (1 << d)) && f.c[d] !== -1) { dim = d; break; }
    if (dim < 0) return f;
    const kids: Array<Node | null> = [];
    for (let v = 0; v < (DIM_SIZES[dim] ?? 0); v++) kids.push(matches(f, dim, v) ? buildNode(forms, usedDims | (1 << dim)) : null);
    return new TreeNodeObj(dim, kids);
  }
  let dim = -1;
  for (let d = 0; d < DIM_COUNT; d++) {
    if (usedDims & (1 << d)) continue;
    if (forms.some((f) => f.c[d] !== -1)) { dim = d; break; }
  }
  if (dim < 0) return pickLeaf(forms);
  const kids: Array<Node | null> = [];
  for (let v = 0; v < (DIM_SIZES[dim] ?? 0); v++) {
    kids.push(buildNode(forms.filter((f) => matches(f, dim, v)), usedDims | (1 << dim)));
  }
  return new TreeNodeObj(dim, kids);
}

export function buildTables(lines: readonly string[]): Tables {
  const legacyForms: Form[][][] = [0, 1, 2, 3].map(() => Array.from({ length: 256 }, () => [] as Form[]));
  const vexForms: Form[][][] = [0, 1, 2, 3].map(() => Array.from({ length: 256 }, () => [] as Form[]));
  for (const line of lines) {
    const d = parseLine(line);
    for (const f of makeForms(d)) (f.vex ? vexForms : legacyForms)[f.map]![f.opcode]!.push(f);
  }
  const legacyModrm = [0, 1, 2, 3].map(() => new Uint8Array(256).fill(2));
  const vexModrm = [0, 1, 2, 3].map(() => new Uint8Array(256).fill(1));
  for (let m = 0; m < 4; m++) {
    for (let op = 0; op < 256; op++) {
      const fs = vexForms[m]![op]!;
      if (fs.length === 0) continue;
      const hm = fs[0]!.hasModrm;
      for (const f of fs) if (f.hasModrm !== hm) throw new Error(`modrm mismatch at VEX map ${m} op ${op.toString(16)}: ${f.line}`);
      vexModrm[m]![op] = hm ? 1 : 0;
    }
  }
  const legacyModreg = [0, 1, 2, 3].map(() => new Uint8Array(256));
  for (let m = 0; m < 4; m++) {
    for (let op = 0; op < 256; op++) {
      const fs = legacyForms[m]![op]!;
      if (fs.length === 0) continue;
      const hm = fs[0]!.hasModrm;
      for (const f of fs) if (f.hasModrm !== hm) throw new Error(`modrm mismatch at map ${m} op ${op.toString(16)}: ${f.line}`);
      legacyModrm[m]![op] = hm ? 1 : 0;
      legacyModreg[m]![op] = fs.some((f) => f.modreg) ? 1 : 0;
    }
  }
  return {
    legacy: legacyForms.map((ops) => ops.map((fs) => buildNode(fs, 0))),
    vex: vexForms.map((ops) => ops.map((fs) => buildNode(fs, 0))),
    legacyModrm,
    legacyModreg,
    vexModrm,
  };
}

// ---- flat tables for the decoder's hot path -------------------------------------------
/** Form.info bits. */
export const INFO_BYTEOP = 1 << 0;
export const INFO_D64 = 1 << 1;
/** 66 is this form's mandatory prefix (so it does not change the operand size). */
export const INFO_M66 = 1 << 2;
export const INFO_AMDFAR = 1 << 3;
export const INFO_VVVV_UNUSED = 1 << 4;
export const INFO_FEAT64 = 1 << 5;
export const INFO_HAS_IMPL = 1 << 6;
export const INFO_CHECK_SHIFT = 7;
/** Bits 11-13: flags of a shift/rotate by an immediate count depend on the count (decoder.ts shiftFlags). */
export const INFO_SHIFTK_SHIFT = 11;
export const SHIFTK_ROT = 1, SHIFTK_RCX = 2, SHIFTK_SHIFT = 3, SHIFTK_SHXD = 4;
export const CHECK_NONE = 0, CHECK_MOVCR = 1, CHECK_MOVDR = 2, CHECK_SREG_DST = 3, CHECK_SREG_SRC = 4,
  CHECK_INVALID = 5, CHECK_XCHG = 6, CHECK_GATHER = 7;

/** Operand code: kind | size << 6 | access << 12 | reg << 16 | class << 21 | high-byte << 25. */
export function opCode(o: OpSpec): number {
  return o.k | (o.sz << 6) | (o.access << 12) | ((o.reg & 31) << 16) | ((o.cls & 15) << 21) | ((o.hi ? 1 : 0) << 25);
}

export interface FlatTables {
  /** [legacy maps 0..3, VEX maps 0..3] x 256: 0 undefined, > 0 form id + 1, < 0 -(node index + 1). */
  root: Int32Array;
  /** Tree nodes: [dim, kid...] with kids encoded like `root`. */
  nodes: Int32Array;
  legacyModrm: Uint8Array;
  legacyModreg: Uint8Array;
  mn: Uint16Array;
  info: Int32Array;
  feat1: Int16Array;
  feat2: Int16Array;
  /** 6 per form: count, then up to 5 operand codes. */
  ops: Int32Array;
  /** 5 per form: count, then up to 4 implicit-operand codes (opCode; K.MEM_DI keeps its segment in `reg`). */
  impl: Int32Array;
  flagsRead: Int32Array;
  flagsWritten: Int32Array;
  flagsUndefined: Int32Array;
  flow: Uint8Array;
  attrs: Int32Array;
  cond: Int8Array;
  fallback: Int32Array;
}

/** Which immediate-count shift family a form is (0: none). */
function shiftKind(f: Form): number {
  const last = f.ops[f.ops.length - 1];
  if (!last || last.k !== K.I || f.map > OpMap.MAP_0F) return 0;
  if (f.name === 'rol' || f.name === 'ror') return SHIFTK_ROT;
  if (f.name === 'rcl' || f.name === 'rcr') return SHIFTK_RCX;
  if (f.name === 'shl' || f.name === 'shr' || f.name === 'sal' || f.name === 'sar') return SHIFTK_SHIFT;
  if (f.name === 'shld' || f.name === 'shrd') return SHIFTK_SHXD;
  return 0;
}

export function flatten(t: Tables): FlatTables {
  const nodes: number[] = [];
  const enc = (n: Node | null): number => {
    if (n === null) return 0;
    if (n.dim < 0) return (n as Form).id + 1;
    const tn = n as TreeNode;
    const at = nodes.length;
    nodes.push(tn.dim);
    for (let i = 0; i < tn.kids.length; i++) nodes.push(0);
    tn.kids.forEach((k, i) => { nodes[at + 1 + i] = enc(k); });
    return -(at + 1);
  };
  const root = new Int32Array(8 * 256);
  for (let m = 0; m < 4; m++) {
    for (let op = 0; op < 256; op++) {
      root[m * 256 + op] = enc(t.legacy[m]![op] ?? null);
      root[(4 + m) * 256 + op] = enc(t.vex[m]?.[op] ?? null);
    }
  }
  const n = FORMS.length;
  const ft: FlatTables = {
    root, nodes: Int32Array.from(nodes),
    legacyModrm: new Uint8Array(8 * 256), legacyModreg: new Uint8Array(4 * 256),
    mn: new Uint16Array(n), info: new Int32Array(n), feat1: new Int16Array(n), feat2: new Int16Array(n),
    ops: new Int32Array(n * 6), impl: new Int32Array(n * 5), flagsRead: new Int32Array(n), flagsWritten: new Int32Array(n),
    flagsUndefined: new Int32Array(n), flow: new Uint8Array(n), attrs: new Int32Array(n), cond: new Int8Array(n),
    fallback: new Int32Array(n),
  };
  for (let m = 0; m < 4; m++) {
    ft.legacyModrm.set(t.legacyModrm[m]!, m * 256);
    ft.legacyModrm.set(t.vexModrm[m]!, (4 + m) * 256);
    ft.legacyModreg.set(t.legacyModreg[m]!, m * 256);
  }
  for (const f of FORMS) {
    const i = f.id;
    ft.mn[i] = f.mn;
    let check = CHECK_NONE;
    if (f.movcr) check = CHECK_MOVCR;
    else if (f.movdr) check = CHECK_MOVDR;
    else if (f.ops[0]?.k === K.S) check = CHECK_SREG_DST;
    else if (f.ops[1]?.k === K.S) check = CHECK_SREG_SRC;
    else if (f.mn === 0) check = CHECK_INVALID;
    else if (f.name === 'xchg') check = CHECK_XCHG;
    else if (f.ops.some((o) => o.k === K.MV)) check = CHECK_GATHER;
    ft.info[i] = (f.byteOp ? INFO_BYTEOP : 0) | (f.d64 ? INFO_D64 : 0) | (!f.vex && f.c[DIM.PFX] === 1 ? INFO_M66 : 0) |
      (f.amdfar ? INFO_AMDFAR : 0) | (f.vvvvUnused ? INFO_VVVV_UNUSED : 0) | (f.feat64Only ? INFO_FEAT64 : 0) |
      (f.impl.length > 0 ? INFO_HAS_IMPL : 0) | (check << 7 /* INFO_CHECK_SHIFT */) | (shiftKind(f) << INFO_SHIFTK_SHIFT);
    ft.feat1[i] = f.feat1;
    ft.feat2[i] = f.feat2;
    ft.ops[i * 6] = f.ops.length;
    f.ops.forEach((o, k) => { ft.ops[i * 6 + 1 + k] = opCode(o); });
    ft.impl[i * 5] = f.impl.length;
    f.impl.forEach((o, k) => { ft.impl[i * 5 + 1 + k] = opCode(o); });
    ft.flagsRead[i] = f.flagsRead;
    ft.flagsWritten[i] = f.flagsWritten;
    ft.flagsUndefined[i] = f.flagsUndefined;
    ft.flow[i] = f.flow;
    ft.attrs[i] = f.attrs;
    ft.cond[i] = f.cond;
    ft.fallback[i] = f.fallback ? f.fallback.id : -1;
  }
  return ft;
}
