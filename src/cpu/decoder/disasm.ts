/**
 * Intel-syntax disassembly of decoded instructions, in the style of
 * `objdump -d -M intel` (GNU binutils): lower-case mnemonics padded to six
 * columns, `DWORD PTR [rax+rbx*4+0x10]`, hexadecimal immediates shown at the
 * operand size, absolute branch targets, `# 0x...` after RIP-relative operands.
 *
 *   formatInstruction(insn, { rip: 0x401000n }) -> "mov    eax,DWORD PTR [rip+0x2f2a]        # 0x403f30"
 */
import { FORMS, K } from './build.js';
import { relTarget } from './decoder.js';
import {
  ATTR_REP, ATTR_REPCC, ATTR_STRING, BASE_RIP, MN_NAMES, Mn, NO_REG, OpKind, PFX_LOCK, RegClass,
  type Instruction, type Operand,
} from './types.js';

export interface FormatOptions {
  /** Address of the instruction (for branch targets and RIP-relative comments); 0 when omitted. */
  rip?: bigint;
}

const GPR8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const GPR8H = ['ah', 'ch', 'dh', 'bh'];
const GPR16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const GPR32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const GPR64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

export function gprName(reg: number, size: number, highByte = false): string {
  if (size === 1) return highByte ? (GPR8H[reg] ?? '?') : (GPR8[reg] ?? '?');
  if (size === 2) return GPR16[reg] ?? '?';
  if (size === 4) return GPR32[reg] ?? '?';
  return GPR64[reg] ?? '?';
}

export function registerName(o: Operand): string {
  switch (o.regClass) {
    case RegClass.GPR: return gprName(o.reg, o.size, o.highByte);
    case RegClass.SEG: return SEGS[o.reg] ?? '?';
    case RegClass.CR: return `cr${o.reg}`;
    case RegClass.DR: return `dr${o.reg}`;
    case RegClass.ST: return o.reg === 0 ? 'st' : `st(${o.reg})`;
    case RegClass.MMX: return `mm${o.reg}`;
    case RegClass.XMM: return `xmm${o.reg}`;
    case RegClass.YMM: return `ymm${o.reg}`;
    default: return '?';
  }
}

const PTR: Record<number, string> = {
  1: 'BYTE PTR ', 2: 'WORD PTR ', 4: 'DWORD PTR ', 6: 'FWORD PTR ', 8: 'QWORD PTR ', 10: 'TBYTE PTR ',
  16: 'XMMWORD PTR ', 32: 'YMMWORD PTR ',
};

/** Mnemonics objdump prints without a size keyword on their memory operand. */
const NO_PTR = new Set<number>([
  Mn.LEA, Mn.FXSAVE, Mn.FXRSTOR, Mn.FXSAVE64, Mn.FXRSTOR64, Mn.XSAVE, Mn.XSAVE64, Mn.XRSTOR, Mn.XRSTOR64,
  Mn.XSAVEOPT, Mn.XSAVEOPT64, Mn.XSAVEC, Mn.XSAVEC64, Mn.XSAVES, Mn.XSAVES64, Mn.XRSTORS, Mn.XRSTORS64,
  Mn.LGDT, Mn.LIDT, Mn.SGDT, Mn.SIDT, Mn.FLDENV, Mn.FNSTENV, Mn.FRSTOR, Mn.FNSAVE, Mn.MOVDIR64B,
]);

const X87_ST0_IMPLIED = new Set<number>([Mn.FCOM, Mn.FCOMP, Mn.FUCOM, Mn.FUCOMP, Mn.FXCH]);
/** Selector/word instructions whose register operand objdump names at 16 bits. */
const WORD_REG = new Set<number>([Mn.ARPL, Mn.VERR, Mn.VERW, Mn.LLDT, Mn.LTR, Mn.LMSW]);
const IMPLICIT_XMM0 = new Set<number>([Mn.PBLENDVB, Mn.BLENDVPS, Mn.BLENDVPD, Mn.SHA256RNDS2]);

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** Immediate as objdump prints it: unsigned at the operand size. */
function immText(o: Operand): string {
  const bits = Math.max(8, o.size * 8);
  const v = BigInt.asUintN(bits, (BigInt(o.immHi >>> 0) << 32n) | BigInt(o.imm >>> 0));
  return hex(v);
}

function memText(insn: Instruction, o: Operand, rip: bigint, withPtr: boolean): { text: string; comment: string } {
  const ptr = withPtr ? (PTR[o.size] ?? '') : '';
  // objdump shows the segment for an override, for absolute addresses and for string operands; in 64-bit
  // mode ES/CS/SS/DS overrides are null prefixes and are printed as prefix words instead (see below).
  const isString = (insn.attrs & ATTR_STRING) !== 0;
  let seg = o.seg;
  if (insn.mode === 64 && seg < 4) seg = isString && o.base === 7 && o.seg === 0 ? 0 : 3;
  const showSeg = (insn.segPrefix >= 0 && !(insn.mode === 64 && insn.segPrefix < 4)) || isString ||
    (o.base === NO_REG && o.index === NO_REG);
  const segPrefix = showSeg ? `${SEGS[seg] ?? '?'}:` : '';
  const disp64 = (BigInt(o.dispHi >>> 0) << 32n) | BigInt(o.disp >>> 0);
  const addrBits = o.addrSize;
  if (o.base === NO_REG && o.index === NO_REG) {
    return { text: `${ptr}${segPrefix}${hex(BigInt.asUintN(addrBits, disp64))}`, comment: '' };
  }
  const regName = (r: number): string => gprName(r, addrBits >> 3);
  const parts: string[] = [];
  let comment = '';
  if (o.base === BASE_RIP) {
    parts.push(addrBits === 64 ? 'rip' : 'eip');
    const target = BigInt.asUintN(64, rip + BigInt(insn.length) + BigInt(o.disp));
    comment = `        # ${hex(target)}`;
  } else if (o.base !== NO_REG) parts.push(regName(o.base));
  let s = parts.join('');
  // A SIB byte without an index shows as riz/eiz*scale unless it is the plain [rsp]/[r12] form (binutils).
  // An encoded displacement of 0 (ModRM.mod 1 or 2) is still printed: [rbp+0x0].
  const mod = insn.modrm >> 6;
  const explicitDisp = insn.modrm >= 0 && (mod === 1 || mod === 2);
  const hasSib = insn.modrm >= 0 && (insn.modrm & 7) === 4 && (insn.modrm >> 6) !== 3 && addrBits !== 16;
  if (o.index !== NO_REG) {
    const idx = o.vsib ? `${o.vsib === 32 ? 'ymm' : 'xmm'}${o.index}` : regName(o.index);
    s += addrBits === 16 ? `${s ? '+' : ''}${idx}` : `${s ? '+' : ''}${idx}*${o.scale}`;
  } else if (hasSib && !((o.base & 7) === 4 && o.scale === 1) && o.base !== BASE_RIP) {
    s += `${s ? '+' : ''}${addrBits === 64 ? 'riz' : 'eiz'}*${o.scale}`;
  }
  const disp = o.disp;
  if (o.base === BASE_RIP) {
    s += `+${hex(BigInt.asUintN(64, BigInt(disp)))}`;
  } else if (disp !== 0 || o.base === NO_REG || explicitDisp) {
    if (disp < 0) s += `-${hex(BigInt(-disp))}`;
    else s += `+${hex(BigInt.asUintN(addrBits === 16 ? 16 : 32, BigInt(disp)))}`;
  }
  return { text: `${ptr}${segPrefix}[${s}]`, comment };
}

function mnemonicText(insn: Instruction): string {
  let name = MN_NAMES[insn.mn] ?? '(bad)';
  const op0 = insn.ops[0];
  const op1 = insn.ops[1];
  // objdump spells the 64-bit immediate and 64-bit absolute forms of MOV "movabs".
  if (insn.mn === Mn.MOV && insn.mode === 64 && insn.opCount === 2 &&
    ((op1?.kind === OpKind.IMM && op1.size === 8 && insn.map === 0 && insn.opcode >= 0xb8 && insn.opcode <= 0xbf) ||
      (insn.map === 0 && insn.opcode >= 0xa0 && insn.opcode <= 0xa3 && insn.addrSize === 64))) name = 'movabs';
  void op0;
  return name;
}

/** Format one decoded instruction in Intel syntax (objdump style). */
export function formatInstruction(insn: Instruction, opts: FormatOptions = {}): string {
  const rip = opts.rip ?? 0n;
  const pre: string[] = [];
  if (insn.prefixes & PFX_LOCK) pre.push('lock');
  if (insn.attrs & ATTR_REPCC) { if (insn.rep === 0xf3) pre.push('repz'); else if (insn.rep === 0xf2) pre.push('repnz'); } else if ((insn.attrs & ATTR_REP) && insn.rep !== 0) pre.push('rep');
  const mn = mnemonicText(insn);
  const ops: string[] = [];
  let comment = '';
  const form = FORMS[insn.form];
  // moffs operands (A0-A3) carry no size keyword in objdump.
  const withPtr = !NO_PTR.has(insn.mn) && !(insn.map === 0 && insn.opcode >= 0xa0 && insn.opcode <= 0xa3);
  if (insn.mn === Mn.XLATB) {
    const seg = insn.segPrefix >= 0 && !(insn.mode === 64 && insn.segPrefix < 4) ? SEGS[insn.segPrefix] : 'ds';
    return `${[...pre, 'xlat'].join(' ').padEnd(6)} BYTE PTR ${seg}:[${gprName(3, insn.addrSize >> 3)}]`;
  }
  // Reserved/hint NOPs (0F 18-1F) name only their memory operand in objdump; so do the x87 compares and
  // exchanges with ST(0) (`fcom st(4)`, `fxch st(1)`).
  const count = insn.mn === Mn.NOP && insn.opCount === 2 ? 1 : insn.opCount;
  const first = X87_ST0_IMPLIED.has(insn.mn) && insn.opCount === 2 && insn.ops[1]!.regClass === RegClass.ST ? 1 : 0;
  const word = WORD_REG.has(insn.mn);
  for (let i = first; i < count; i++) {
    const o = insn.ops[i]!;
    switch (o.kind) {
      case OpKind.REG:
        ops.push(o.regClass === RegClass.ST && form?.ops[i]?.k === K.STI ? `st(${o.reg})`
          : word && o.regClass === RegClass.GPR ? gprName(o.reg, 2) : registerName(o));
        break;
      case OpKind.MEM: {
        const m = memText(insn, o, rip, withPtr && o.size > 0);
        ops.push(m.text);
        if (m.comment) comment = m.comment;
        break;
      }
      case OpKind.IMM: ops.push(o.imm === 1 && o.size === 1 && insn.opcode >= 0xd0 && insn.opcode <= 0xd1 && insn.map === 0 ? '1' : immText(o)); break;
      case OpKind.REL: ops.push(hex(relTarget(insn, rip))); break;
      case OpKind.FAR: ops.push(`${hex(BigInt(o.sel))}:${hex(BigInt(o.imm >>> 0))}`); break;
      default: ops.push('?');
    }
  }
  // The implicit XMM0 of the legacy blend/SHA forms is printed as a last operand.
  if (IMPLICIT_XMM0.has(insn.mn)) ops.push('xmm0');
  const head = [...pre, mn].join(' ');
  if (ops.length === 0) return head;
  return `${head.padEnd(6)} ${ops.join(',')}${comment}`;
}

/** The table line an instruction was decoded from (for debugging and tools). */
export function formDescription(insn: Instruction): string {
  return FORMS[insn.form]?.line ?? '?';
}
