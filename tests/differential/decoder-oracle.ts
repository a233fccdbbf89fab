/**
 * Shared machinery for the decoder differential tests: seeded byte-string
 * generators and the comparison against iced-x86 (AMD decoder mode, the
 * vendor this project follows; see src/cpu/decoder/decoder.ts).
 */
import {
  CpuidFeature, Decoder, DecoderOptions, Instruction as IcedInstruction, MemorySizeExt, Mnemonic, OpKind as IcedOpKind,
  Register,
} from 'iced-x86';
import { decodeInto } from '../../src/cpu/decoder/decoder.js';
import {
  BASE_RIP, DECODE_GP, DECODE_MORE, Instruction, MN_NAMES, NO_REG, OpKind, RegClass, type CpuMode, type Operand,
} from '../../src/cpu/decoder/types.js';

// ---- seeded generator ----------------------------------------------------------
/** xorshift32: small, fast, reproducible. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = (seed >>> 0) || 0x9e3779b9; }
  next(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  byte(): number { return this.next() & 0xff; }
  below(n: number): number { return this.next() % n; }
  pick<T>(a: readonly T[]): T { return a[this.below(a.length)]!; }
}

const LEGACY_PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65];

/**
 * A structured byte string: a few prefixes, an opcode from a chosen map (or a
 * VEX prefix), then random ModRM/SIB/displacement/immediate bytes.
 */
export function structuredCase(rng: Rng, mode: CpuMode, out: Uint8Array): void {
  let p = 0;
  const np = rng.below(8) < 5 ? 0 : rng.below(4);
  for (let i = 0; i < np; i++) out[p++] = rng.pick(LEGACY_PREFIXES);
  const kind = rng.below(16);
  if (mode === 64 && rng.below(3) === 0 && kind < 12) out[p++] = 0x40 | rng.below(16);
  if (kind < 5) {
    out[p++] = rng.byte();
  } else if (kind < 9) {
    out[p++] = 0x0f; out[p++] = rng.byte();
  } else if (kind < 11) {
    out[p++] = 0x0f; out[p++] = rng.below(2) ? 0x38 : 0x3a; out[p++] = rng.byte();
  } else if (kind < 12) {
    out[p++] = 0xd8 + rng.below(8);
  } else if (kind < 14) {
    // VEX3 with a valid map most of the time.
    out[p++] = 0xc4;
    const mm = rng.below(8) === 0 ? rng.below(32) : 1 + rng.below(3);
    out[p++] = (rng.byte() & 0xe0) | mm | (mode === 64 ? 0 : 0xc0);
    out[p++] = rng.byte() | (mode === 64 ? 0 : 0x40);
    out[p++] = rng.byte();
  } else {
    out[p++] = 0xc5;
    out[p++] = rng.byte() | (mode === 64 ? 0 : 0xc0);
    out[p++] = rng.byte();
  }
  while (p < out.length) out[p++] = rng.byte();
}

export function randomCase(rng: Rng, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) out[i] = rng.byte();
}

// ---- iced helpers ------------------------------------------------------------------------
/** CPUID features this project's decoder implements (iced's CpuidFeature names). */
const SUPPORTED_ICED_FEATURES = new Set([
  'INTEL8086', 'INTEL186', 'INTEL286', 'INTEL386', 'INTEL486', 'X64', 'ADX', 'AES', 'AVX', 'AVX2', 'BMI1', 'BMI2',
  'CET_IBT', 'CLDEMOTE', 'CLFLUSHOPT', 'CLFSH', 'CLWB', 'CLZERO', 'CMOV', 'CMPXCHG16B', 'CPUID', 'CX8', 'F16C', 'FMA',
  'FPU', 'FPU287', 'FPU387', 'FSGSBASE', 'FXSR', 'INVPCID', 'LZCNT', 'MMX', 'MONITOR', 'MONITORX', 'MOVBE',
  'MOVDIR64B', 'MOVDIRI', 'MSR', 'MULTIBYTENOP', 'PAUSE', 'PCLMULQDQ', 'PKU', 'POPCNT', 'PREFETCHW', 'PREFETCHWT1',
  'RDPID', 'RDPMC', 'RDPRU', 'RDRAND', 'RDSEED', 'RDTSCP', 'RTM', 'SEP', 'SHA', 'SMAP', 'SSE', 'SSE2', 'SSE3', 'SSE4_1',
  'SSE4_2', 'SSE4A', 'SSSE3', 'SVM', 'SYSCALL', 'TSC', 'VMX', 'XSAVE', 'XSAVEC', 'XSAVEOPT', 'XSAVES', 'WBNOINVD',
  'SERIALIZE', 'INVEPT', 'INVVPID', 'SMM', 'FXSR', 'SYSENTER', 'LAHF_SAHF', 'INTEL386_ONLY', 'CPUID', 'SKINIT',
  'TSC', 'SVML', 'SKINIT_or_SVM', 'HLE_or_RTM', 'SYSCALL', 'VMX', 'CLZERO', 'RDTSCP', 'AVX_VNNI_INT8_X',
]);

const ICED_FEATURE_NAMES: string[] = [];
for (const [k, v] of Object.entries(CpuidFeature)) if (typeof v === 'number') ICED_FEATURE_NAMES[v] = k;
const ICED_MN_NAMES: string[] = [];
for (const [k, v] of Object.entries(Mnemonic)) if (typeof v === 'number') ICED_MN_NAMES[v] = k.toLowerCase();

/** Map our register to iced's Register value. */
export function icedReg(cls: RegClass, reg: number, size: number, high: boolean): number {
  switch (cls) {
    case RegClass.GPR:
      if (size === 1) return high ? Register.AH + reg : reg < 4 ? Register.AL + reg : Register.AH + reg;
      if (size === 2) return Register.AX + reg;
      if (size === 4) return Register.EAX + reg;
      return Register.RAX + reg;
    case RegClass.SEG: return Register.ES + reg;
    case RegClass.CR: return Register.CR0 + reg;
    case RegClass.DR: return Register.DR0 + reg;
    case RegClass.ST: return Register.ST0 + reg;
    case RegClass.MMX: return Register.MM0 + reg;
    case RegClass.XMM: return Register.XMM0 + reg;
    case RegClass.YMM: return Register.YMM0 + reg;
    default: return -1;
  }
}

function gprOfSize(reg: number, addrSize: number): number {
  if (reg === BASE_RIP) return addrSize === 64 ? Register.RIP : Register.EIP;
  if (reg === NO_REG) return Register.None;
  return icedReg(RegClass.GPR, reg, addrSize >> 3, false);
}

/** Our mnemonic name normalised to iced's spelling. */
function normaliseMnemonic(ours: string, iced: string): boolean {
  if (ours === iced) return true;
  // String instructions: iced spells the element size (movsb/movsw/movsd/movsq).
  if (['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'].includes(ours)) {
    return iced.length === ours.length + 1 && iced.startsWith(ours) && 'bwdq'.includes(iced[ours.length]!);
  }
  const alias: Record<string, string[]> = {
    sal: ['shl', 'sal'], fstpnce: ['fstpnce', 'fstp'], fneni: ['fneni', 'feni'], fndisi: ['fndisi', 'fdisi'],
    fnsetpm: ['fnsetpm', 'fsetpm'], sysretq: ['sysretq', 'sysret'], sysexitq: ['sysexitq', 'sysexit'], nop: ['reservednop'],
  };
  return alias[ours]?.includes(iced) ?? false;
}

export interface Disagreement {
  bytes: string;
  mode: CpuMode;
  what: string;
  ours: string;
  iced: string;
}

export interface CompareStats {
  cases: number;
  bothValid: number;
  bothInvalid: number;
  unsupportedByUs: number;
  disagreements: Disagreement[];
}

export function newStats(): CompareStats {
  return { cases: 0, bothValid: 0, bothInvalid: 0, unsupportedByUs: 0, disagreements: [] };
}

const hex = (b: Uint8Array, n: number): string => Buffer.from(b.subarray(0, n)).toString('hex');

function describeOperand(o: Operand): string {
  switch (o.kind) {
    case OpKind.REG: return `reg(${o.regClass},${o.reg},${o.size}${o.highByte ? ',h' : ''})`;
    case OpKind.MEM: return `mem(seg${o.seg},b${o.base},i${o.index}*${o.scale},d${o.disp},sz${o.size},a${o.addrSize})`;
    case OpKind.IMM: return `imm(${o.imm},${o.immHi},sz${o.size})`;
    case OpKind.REL: return `rel(${o.imm})`;
    case OpKind.FAR: return `far(${o.sel}:${o.imm})`;
    default: return 'none';
  }
}

export function describe(insn: Instruction): string {
  const ops: string[] = [];
  for (let i = 0; i < insn.opCount; i++) ops.push(describeOperand(insn.ops[i]!));
  return `${MN_NAMES[insn.mn]} len${insn.length} ${ops.join(' ')}`;
}

/** Features iced says an instruction needs that we do not implement (empty: all supported). */
function unsupportedFeatures(ins: IcedInstruction): string[] {
  const out: string[] = [];
  for (const f of ins.cpuidFeatures()) {
    const n = ICED_FEATURE_NAMES[f] ?? String(f);
    if (!SUPPORTED_ICED_FEATURES.has(n)) out.push(n);
  }
  return out;
}

/** iced RflagsBits -> RFLAGS bit positions (iced tracks OF SF ZF AF CF PF DF IF AC). */
function icedFlags(m: number): number {
  let r = 0;
  if (m & 1) r |= 0x800; if (m & 2) r |= 0x80; if (m & 4) r |= 0x40; if (m & 8) r |= 0x10;
  if (m & 16) r |= 0x1; if (m & 32) r |= 0x4; if (m & 64) r |= 0x400; if (m & 128) r |= 0x200; if (m & 256) r |= 0x40000;
  return r;
}
const TRACKED_FLAGS = 0x40ed5;
/**
 * Instructions that leave flags unchanged for some operand values (count 0, REP with RCX 0, BSF/BSR of 0 on
 * AMD): by our convention (types.ts) they also list those flags as read.
 */
const CONDITIONAL_FLAG_WRITERS = new Set(['rol', 'ror', 'rcl', 'rcr', 'shl', 'sal', 'shr', 'sar', 'shld', 'shrd',
  'bsf', 'bsr', 'cmps', 'scas']);

export function compareFlags(insn: Instruction, ins: IcedInstruction): string | null {
  const mn = MN_NAMES[insn.mn] ?? '';
  const w = insn.flagsWritten & TRACKED_FLAGS, u = insn.flagsUndefined & TRACKED_FLAGS, r = insn.flagsRead & TRACKED_FLAGS;
  const iw = icedFlags(ins.rflagsModified), iu = icedFlags(ins.rflagsUndefined), ir = icedFlags(ins.rflagsRead);
  const msgs: string[] = [];
  if (w !== iw) msgs.push(`written ${w.toString(16)} vs ${iw.toString(16)}`);
  if (u !== iu) msgs.push(`undefined ${u.toString(16)} vs ${iu.toString(16)}`);
  if ((ir & ~r) !== 0) msgs.push(`read ${r.toString(16)} misses ${(ir & ~r).toString(16)}`);
  const extra = r & ~ir;
  if (extra !== 0 && !(CONDITIONAL_FLAG_WRITERS.has(mn) && (extra & ~w) === 0)) msgs.push(`extra read ${extra.toString(16)}`);
  return msgs.length ? `flags: ${msgs.join(', ')}` : null;
}

/** Compare one operand with iced's operand i; returns a message or null. */
function compareOperand(o: Operand, ins: IcedInstruction, i: number, insn: Instruction): string | null {
  const k = ins.opKind(i);
  switch (k) {
    case IcedOpKind.Register: {
      if (o.kind !== OpKind.REG) return `op${i} kind`;
      const r = icedReg(o.regClass, o.reg, o.size, o.highByte);
      return r === ins.opRegister(i) ? null : `op${i} reg ${Register[r] ?? r} vs ${Register[ins.opRegister(i)]}`;
    }
    case IcedOpKind.NearBranch16: case IcedOpKind.NearBranch32: case IcedOpKind.NearBranch64: {
      if (o.kind !== OpKind.REL) return `op${i} kind`;
      const bits = k === IcedOpKind.NearBranch16 ? 16 : k === IcedOpKind.NearBranch32 ? 32 : 64;
      const ours = BigInt.asUintN(bits, BigInt(insn.length) + BigInt(o.imm));
      return ours === ins.nearBranchTarget ? null : `op${i} target ${ours} vs ${ins.nearBranchTarget}`;
    }
    case IcedOpKind.FarBranch16: case IcedOpKind.FarBranch32: {
      if (o.kind !== OpKind.FAR) return `op${i} kind`;
      const off = k === IcedOpKind.FarBranch16 ? ins.farBranch16 : ins.farBranch32;
      return o.sel === ins.farBranchSelector && o.imm === off ? null : `op${i} far`;
    }
    case IcedOpKind.Immediate8: case IcedOpKind.Immediate8_2nd: case IcedOpKind.Immediate16:
    case IcedOpKind.Immediate32: case IcedOpKind.Immediate64: case IcedOpKind.Immediate8to16:
    case IcedOpKind.Immediate8to32: case IcedOpKind.Immediate8to64: case IcedOpKind.Immediate32to64: {
      if (o.kind !== OpKind.IMM) return `op${i} kind ${o.kind} vs imm`;
      const bits = o.size * 8;
      const ours = BigInt.asUintN(bits, (BigInt(o.immHi >>> 0) << 32n) | BigInt(o.imm >>> 0));
      const theirs = BigInt.asUintN(bits, ins.immediate(i));
      return ours === theirs ? null : `op${i} imm ${ours} vs ${theirs}`;
    }
    case IcedOpKind.MemorySegSI: case IcedOpKind.MemorySegESI: case IcedOpKind.MemorySegRSI:
    case IcedOpKind.MemorySegDI: case IcedOpKind.MemorySegEDI: case IcedOpKind.MemorySegRDI:
    case IcedOpKind.MemoryESDI: case IcedOpKind.MemoryESEDI: case IcedOpKind.MemoryESRDI: {
      if (o.kind !== OpKind.MEM) return `op${i} kind`;
      const di = k >= IcedOpKind.MemorySegDI;
      if (o.base !== (di ? 7 : 6)) return `op${i} string base`;
      const seg = k >= IcedOpKind.MemoryESDI ? 0 : ins.memorySegment - Register.ES;
      return seg === o.seg ? null : `op${i} seg ${o.seg} vs ${seg}`;
    }
    case IcedOpKind.Memory: {
      if (o.kind !== OpKind.MEM) return `op${i} kind ${o.kind} vs mem`;
      const msgs: string[] = [];
      if (gprOfSize(o.base, o.addrSize) !== ins.memoryBase) msgs.push(`base ${Register[ins.memoryBase]}`);
      const idx = o.index === NO_REG ? Register.None : o.vsib ? icedReg(o.vsib === 32 ? RegClass.YMM : RegClass.XMM, o.index, 16, false)
        : gprOfSize(o.index, o.addrSize);
      if (idx !== ins.memoryIndex) msgs.push(`index ${Register[ins.memoryIndex]}`);
      if (o.index !== NO_REG && o.scale !== ins.memoryIndexScale) msgs.push('scale');
      const bits = o.base === BASE_RIP ? 64 : o.addrSize;
      let ours = BigInt.asUintN(bits, (BigInt(o.dispHi >>> 0) << 32n) | BigInt(o.disp >>> 0));
      if (o.base === BASE_RIP) ours = BigInt.asUintN(o.addrSize, ours + BigInt(insn.length));
      const theirs = BigInt.asUintN(bits, ins.memoryDisplacementU64);
      if (ours !== theirs) msgs.push(`disp ${ours} vs ${theirs}`);
      const seg = ins.memorySegment - Register.ES;
      if (seg !== o.seg) msgs.push(`seg ${o.seg} vs ${seg}`);
      const size = MemorySizeExt.size(ins.memorySize);
      if (size !== o.size && !o.vsib && !(size === 0 && o.access === 0)) msgs.push(`size ${o.size} vs ${size}`);
      return msgs.length ? `op${i} ${msgs.join(',')}` : null;
    }
    default:
      return `op${i} iced kind ${k}`;
  }
}

const scratch = new Instruction();

/**
 * Compare our decoder with iced on one 16-byte string (the first 15 bytes are
 * the instruction window). Records disagreements in `stats`.
 */
export function compareWithIced(bytes: Uint8Array, mode: CpuMode, stats: CompareStats,
  allow: (d: Disagreement, ins: IcedInstruction | null) => boolean = () => false): void {
  // iced copies the data into wasm memory when the decoder is made, so a decoder per string.
  const dec = new Decoder(mode, bytes.subarray(0, 15), DecoderOptions.AMD);
  const ins = dec.decode();
  dec.free();
  compareDecoded(bytes, 0, mode, ins, stats, allow);
  ins.free();
}

/**
 * Compare n strings laid out every 16 bytes in `buf` with one iced decoder
 * (much faster). iced never reads more than 15 bytes for one instruction, so
 * the following string does not change its answer.
 */
export function compareChunkWithIced(buf: Uint8Array, n: number, mode: CpuMode, stats: CompareStats,
  allow: (d: Disagreement, ins: IcedInstruction | null) => boolean = () => false): void {
  const dec = new Decoder(mode, buf, DecoderOptions.AMD);
  const ins = new IcedInstruction();
  try {
    for (let i = 0; i < n; i++) {
      dec.position = i * 16;
      dec.ip = 0n;
      dec.decodeOut(ins);
      compareDecoded(buf, i * 16, mode, ins, stats, allow);
    }
  } finally {
    dec.free();
    ins.free();
  }
}

function compareDecoded(buf: Uint8Array, at: number, mode: CpuMode, ins: IcedInstruction, stats: CompareStats,
  allow: (d: Disagreement, ins: IcedInstruction | null) => boolean): void {
  stats.cases++;
  const bytes = buf.subarray(at, at + 16);
  const r = decodeInto(scratch, bytes, 0, 15, mode);
  const icedValid = !ins.isInvalid;
  const add = (what: string, ours: string, iced: string): void => {
    const d: Disagreement = { bytes: hex(bytes, 15), mode, what, ours, iced };
    if (!allow(d, ins)) stats.disagreements.push(d);
  };
  {
    if (r === DECODE_MORE) { add('more', `needs ${scratch.length}`, icedValid ? ins.toString() : 'invalid'); return; }
    if (r < 0) {
      if (!icedValid) { stats.bothInvalid++; return; }
      const unsup = unsupportedFeatures(ins);
      if (unsup.length > 0) { stats.unsupportedByUs++; return; }
      add(r === DECODE_GP ? 'gp' : 'ud', `reason ${scratch.failure}`, `${ins.toString()} (${ins.length})`);
      return;
    }
    if (!icedValid) { add('valid-vs-invalid', describe(scratch), 'invalid'); return; }
    const unsup = unsupportedFeatures(ins);
    if (unsup.length > 0) { add('decoded-unsupported', describe(scratch), `${ins.toString()} needs ${unsup.join(',')}`); return; }
    stats.bothValid++;
    if (scratch.length !== ins.length) { add('length', describe(scratch), `${ins.toString()} (${ins.length})`); return; }
    const ourMn = MN_NAMES[scratch.mn] ?? '?';
    const icedMn = ICED_MN_NAMES[ins.mnemonic] ?? '?';
    if (!normaliseMnemonic(ourMn, icedMn)) { add('mnemonic', describe(scratch), `${ins.toString()} [${icedMn}]`); return; }
    // iced lists the implicit memory operand of XLAT and MASKMOVQ/MASKMOVDQU explicitly; we keep them implicit.
    if (icedMn === 'xlatb') return;
    const skip = icedMn === 'maskmovq' || icedMn === 'maskmovdqu' || icedMn === 'vmaskmovdqu' ? 1 : 0;
    if (scratch.opCount !== ins.opCount - skip) { add('opcount', describe(scratch), ins.toString()); return; }
    for (let i = 0; i < scratch.opCount; i++) {
      const m = compareOperand(scratch.ops[i]!, ins, i + skip, scratch);
      if (m) { add(`operand: ${m}`, describe(scratch), ins.toString()); return; }
    }
    const fm = compareFlags(scratch, ins);
    if (fm) add(fm, describe(scratch), ins.toString());
  }
}

/** Group disagreements by kind + mnemonic for a readable summary. */
export function summarise(ds: readonly Disagreement[], max = 40): string {
  const groups = new Map<string, Disagreement[]>();
  for (const d of ds) {
    const key = `${d.mode} ${d.what.replace(/-?\d+/g, '#')} | ${d.iced.split(' ')[0]}`;
    const g = groups.get(key) ?? [];
    g.push(d);
    groups.set(key, g);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  return sorted.slice(0, max).map(([k, g]) => {
    const e = g[0]!;
    return `${g.length.toString().padStart(6)}  ${k}\n        e.g. ${e.bytes} (${e.mode}): ours ${e.ours} | iced ${e.iced}`;
  }).join('\n');
}
