/**
 * The x86-64 register file as gdb's amd64 target sees it over the remote
 * protocol: a target description (GDB manual, Appendix G "Target
 * Descriptions", G.5 "Standard Target Features": org.gnu.gdb.i386.core,
 * .sse, .linux, .segments, .avx) and the byte layout of the `g` packet that
 * follows from it. With .avx gdb shows ymm0-15 as xmmN + ymmNh.
 *
 * One fixed layout for the whole session, whatever mode the CPU is in (real,
 * protected, long): gdb cannot change register layouts mid-session, and
 * QEMU does the same for x86-64 guests. The order is the one gdb's amd64
 * Linux target uses (regnums 0-57 as in amd64-linux-tdep, then fs_base and
 * gs_base).
 */
import type { FpuState, VcpuState } from '../accel/types.js';

export type RegType = 'int64' | 'data_ptr' | 'code_ptr' | 'i386_eflags' | 'int32' | 'i387_ext' | 'vec128' | 'i386_mxcsr' | 'uint128';

export interface RegDef {
  readonly name: string;
  readonly bits: 32 | 64 | 80 | 128;
  readonly type: RegType;
  readonly feature: 'core' | 'sse' | 'linux' | 'segments' | 'avx';
  readonly group?: 'float' | 'vector';
}

const gprs = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

/** gdb's order -> index into VcpuState.regs.gpr (encoding order rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..). */
const GPR_ENCODING = [0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15] as const;

export const SEGMENT_REGS = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const;
const FPU_CONTROL = ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'] as const;

export const AMD64_REGS: readonly RegDef[] = [
  ...gprs.map((name): RegDef => ({
    name, bits: 64, feature: 'core', type: name === 'rbp' || name === 'rsp' ? 'data_ptr' : 'int64',
  })),
  { name: 'rip', bits: 64, type: 'code_ptr', feature: 'core' },
  { name: 'eflags', bits: 32, type: 'i386_eflags', feature: 'core' },
  ...SEGMENT_REGS.map((name): RegDef => ({ name, bits: 32, type: 'int32', feature: 'core' })),
  ...Array.from({ length: 8 }, (_, i): RegDef => ({ name: `st${i}`, bits: 80, type: 'i387_ext', feature: 'core' })),
  ...FPU_CONTROL.map((name): RegDef => ({ name, bits: 32, type: 'int32', feature: 'core', group: 'float' })),
  ...Array.from({ length: 16 }, (_, i): RegDef => ({ name: `xmm${i}`, bits: 128, type: 'vec128', feature: 'sse' })),
  { name: 'mxcsr', bits: 32, type: 'i386_mxcsr', feature: 'sse', group: 'vector' },
  { name: 'orig_rax', bits: 64, type: 'int64', feature: 'linux' },
  { name: 'fs_base', bits: 64, type: 'int64', feature: 'segments' },
  { name: 'gs_base', bits: 64, type: 'int64', feature: 'segments' },
  // GDB manual G.5.1 "i386 Features": org.gnu.gdb.i386.avx, bits 255:128 of each YMM register.
  ...Array.from({ length: 16 }, (_, i): RegDef => ({ name: `ymm${i}h`, bits: 128, type: 'uint128', feature: 'avx' })),
];

export const REG = {
  rip: 16, eflags: 17, cs: 18, gs: 23, st0: 24, fctrl: 32, fop: 39, xmm0: 40, mxcsr: 56, origRax: 57, fsBase: 58, gsBase: 59,
  ymm0h: 60,
} as const;

/** Byte offset of each register in the `g` packet, and the total. */
export const REG_OFFSETS: readonly number[] = (() => {
  const out: number[] = [];
  let o = 0;
  for (const r of AMD64_REGS) { out.push(o); o += r.bits / 8; }
  out.push(o);
  return out;
})();
export const G_PACKET_BYTES = REG_OFFSETS[AMD64_REGS.length]!;

const FEATURE_NAMES: Record<RegDef['feature'], string> = {
  core: 'org.gnu.gdb.i386.core', sse: 'org.gnu.gdb.i386.sse', linux: 'org.gnu.gdb.i386.linux', segments: 'org.gnu.gdb.i386.segments',
  avx: 'org.gnu.gdb.i386.avx',
};

/** EFLAGS bits (SDM Vol. 1 3.4.3) as gdb's i386_eflags flags type names them. */
const EFLAGS_FIELDS: ReadonlyArray<[string, number]> = [
  ['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11],
  ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21],
];
/** MXCSR bits (SDM Vol. 1 10.2.3). */
const MXCSR_FIELDS: ReadonlyArray<[string, number]> = [
  ['IE', 0], ['DE', 1], ['ZE', 2], ['OE', 3], ['UE', 4], ['PE', 5], ['DAZ', 6], ['IM', 7], ['DM', 8], ['ZM', 9],
  ['OM', 10], ['UM', 11], ['PM', 12], ['FZ', 15],
];

function flagsType(id: string, fields: ReadonlyArray<[string, number]>): string {
  return `  <flags id="${id}" size="4">\n${fields.map(([n, b]) => `    <field name="${n}" start="${b}" end="${b}"/>`).join('\n')}\n  </flags>\n`;
}

/** target.xml: one document with every feature inline (no xi:include round trips). */
export function amd64TargetXml(): string {
  let xml = '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n  <architecture>i386:x86-64</architecture>\n';
  let regnum = 0;
  for (const feature of ['core', 'sse', 'linux', 'segments', 'avx'] as const) {
    xml += `<feature name="${FEATURE_NAMES[feature]}">\n`;
    if (feature === 'core') xml += flagsType('i386_eflags', EFLAGS_FIELDS);
    if (feature === 'sse') {
      xml += '  <vector id="v8bf16" type="bfloat16" count="8"/>\n  <vector id="v8h" type="ieee_half" count="8"/>\n'
        + '  <vector id="v4f" type="ieee_single" count="4"/>\n  <vector id="v2d" type="ieee_double" count="2"/>\n'
        + '  <vector id="v16i8" type="int8" count="16"/>\n  <vector id="v8i16" type="int16" count="8"/>\n'
        + '  <vector id="v4i32" type="int32" count="4"/>\n  <vector id="v2i64" type="int64" count="2"/>\n'
        + '  <union id="vec128">\n    <field name="v8_bfloat16" type="v8bf16"/>\n    <field name="v8_half" type="v8h"/>\n'
        + '    <field name="v4_float" type="v4f"/>\n    <field name="v2_double" type="v2d"/>\n'
        + '    <field name="v16_int8" type="v16i8"/>\n    <field name="v8_int16" type="v8i16"/>\n'
        + '    <field name="v4_int32" type="v4i32"/>\n    <field name="v2_int64" type="v2i64"/>\n'
        + '    <field name="uint128" type="uint128"/>\n  </union>\n'
        + flagsType('i386_mxcsr', MXCSR_FIELDS);
    }
    for (const r of AMD64_REGS) {
      if (r.feature !== feature) { continue; }
      const type = r.type === 'int32' ? 'int' : r.type;
      xml += `  <reg name="${r.name}" bitsize="${r.bits}" type="${type}" regnum="${regnum}"${r.group ? ` group="${r.group}"` : ''}/>\n`;
      regnum++;
    }
    xml += '</feature>\n';
  }
  return xml + '</target>\n';
}

const YMMH_START = REG_OFFSETS[REG.ymm0h]!, YMMH_END = REG_OFFSETS[REG.ymm0h + 16]!;
const NO_FPU_BYTES = (() => {
  // Registers without a source (x87/SSE/AVX when the accelerator cannot read them) are sent as `xx`.
  const m = new Uint8Array(G_PACKET_BYTES);
  m.fill(1, REG_OFFSETS[REG.st0]!, REG_OFFSETS[REG.mxcsr + 1]!);
  m.fill(1, YMMH_START, YMMH_END);
  return m;
})();
/** x87/SSE known, AVX upper halves not (KVM_GET_FPU). */
const NO_YMMH_BYTES = (() => {
  const m = new Uint8Array(G_PACKET_BYTES);
  m.fill(1, YMMH_START, YMMH_END);
  return m;
})();

/**
 * The full x87 tag word from the FXSAVE abridged one (SDM Vol. 1 10.5.1.1):
 * for each physical register, empty (11) when its bit is clear, else the
 * class of the value it holds: zero (01), special (10: NaN, infinity,
 * denormal, unnormal) or valid (00).
 */
export function fullTagWord(fpu: FpuState): number {
  const top = (fpu.fsw >> 11) & 7;
  let tag = 0;
  for (let phys = 0; phys < 8; phys++) {
    let t: number;
    if (((fpu.ftwx >> phys) & 1) === 0) {
      t = 3;
    } else {
      const st = (phys - top + 8) & 7; // ST(i) holds physical register (top + i) mod 8
      const b = fpu.fpr.subarray(st * 10, st * 10 + 10);
      const exp = (b[8]! | (b[9]! << 8)) & 0x7fff;
      const integerBit = (b[7]! & 0x80) !== 0;
      const mantissaZero = b.subarray(0, 8).every((x) => x === 0);
      if (exp === 0x7fff) t = 2;
      else if (exp === 0) t = mantissaZero ? 1 : 2;
      else t = integerBit ? 0 : 2;
    }
    tag |= t << (2 * phys);
  }
  return tag;
}

function putLe(out: DataView, offset: number, bytes: number, value: bigint): void {
  for (let i = 0; i < bytes; i++) out.setUint8(offset + i, Number((value >> BigInt(8 * i)) & 0xffn));
}

function getLe(data: Uint8Array, offset: number, bytes: number): bigint {
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[offset + i] ?? 0);
  return v;
}

/** The `g` packet bytes for one vCPU; x87/SSE bytes unavailable without `fpu`, ymmNh without `fpu.ymmh`. */
export function encodeRegisters(s: VcpuState, fpu: FpuState | undefined): { bytes: Uint8Array; unavailable?: Uint8Array } {
  const bytes = new Uint8Array(G_PACKET_BYTES);
  const dv = new DataView(bytes.buffer);
  const off = (n: number): number => REG_OFFSETS[n]!;
  GPR_ENCODING.forEach((enc, i) => putLe(dv, off(i), 8, s.regs.gpr[enc] ?? 0n));
  putLe(dv, off(REG.rip), 8, s.regs.rip);
  putLe(dv, off(REG.eflags), 4, s.regs.rflags & 0xffffffffn);
  SEGMENT_REGS.forEach((name, i) => putLe(dv, off(REG.cs + i), 4, BigInt(s.sregs[name].selector)));
  if (fpu) {
    for (let i = 0; i < 8; i++) bytes.set(fpu.fpr.subarray(i * 10, i * 10 + 10), off(REG.st0 + i));
    // fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop: gdb's amd64 view of FXSAVE (i387-tdep).
    const ctl = [
      fpu.fcw, fpu.fsw, fullTagWord(fpu),
      Number((fpu.lastIp >> 32n) & 0xffffn), Number(fpu.lastIp & 0xffffffffn),
      Number((fpu.lastDp >> 32n) & 0xffffn), Number(fpu.lastDp & 0xffffffffn),
      fpu.lastOpcode & 0x7ff,
    ];
    ctl.forEach((v, i) => dv.setUint32(off(REG.fctrl + i), v >>> 0, true));
    bytes.set(fpu.xmm.subarray(0, 256), off(REG.xmm0));
    dv.setUint32(off(REG.mxcsr), fpu.mxcsr >>> 0, true);
  }
  // orig_rax: -1 = "not in a system call" (no syscall restart for gdb to undo).
  putLe(dv, off(REG.origRax), 8, (1n << 64n) - 1n);
  putLe(dv, off(REG.fsBase), 8, s.sregs.fs.base);
  putLe(dv, off(REG.gsBase), 8, s.sregs.gs.base);
  if (fpu?.ymmh) bytes.set(fpu.ymmh.subarray(0, YMMH_END - YMMH_START), YMMH_START);
  if (!fpu) return { bytes, unavailable: NO_FPU_BYTES };
  return fpu.ymmh ? { bytes } : { bytes, unavailable: NO_YMMH_BYTES };
}

/** What a register write changes. */
export type RegisterWrite = { state: boolean; fpu: boolean };

/**
 * Apply register `n` from `data` (its bytes, little-endian) to `s` and `fpu`
 * (mutated). Returns what changed, or undefined for a bad number or size.
 * Segment selector writes change the selector only (no descriptor load);
 * orig_rax writes are ignored.
 */
export function writeRegister(s: VcpuState, fpu: FpuState | undefined, n: number, data: Uint8Array): RegisterWrite | undefined {
  const def = AMD64_REGS[n];
  if (!def || data.length !== def.bits / 8) return undefined;
  const v = getLe(data, 0, data.length);
  if (n < 16) { s.regs.gpr[GPR_ENCODING[n]!] = v; return { state: true, fpu: false }; }
  if (n === REG.rip) { s.regs.rip = v; return { state: true, fpu: false }; }
  if (n === REG.eflags) { s.regs.rflags = (s.regs.rflags & ~0xffffffffn) | v; return { state: true, fpu: false }; }
  if (n >= REG.cs && n <= REG.gs) {
    s.sregs[SEGMENT_REGS[n - REG.cs]!].selector = Number(v & 0xffffn);
    return { state: true, fpu: false };
  }
  if (n === REG.origRax) return { state: false, fpu: false };
  if (n === REG.fsBase) { s.sregs.fs.base = v; return { state: true, fpu: false }; }
  if (n === REG.gsBase) { s.sregs.gs.base = v; return { state: true, fpu: false }; }
  if (!fpu) return undefined;
  if (n >= REG.st0 && n < REG.st0 + 8) { fpu.fpr.set(data, (n - REG.st0) * 10); return { state: false, fpu: true }; }
  if (n >= REG.xmm0 && n < REG.xmm0 + 16) { fpu.xmm.set(data, (n - REG.xmm0) * 16); return { state: false, fpu: true }; }
  if (n >= REG.ymm0h && n < REG.ymm0h + 16) {
    if (!fpu.ymmh) return undefined;
    fpu.ymmh.set(data, (n - REG.ymm0h) * 16);
    return { state: false, fpu: true };
  }
  if (n === REG.mxcsr) { fpu.mxcsr = Number(v); return { state: false, fpu: true }; }
  const x = Number(v & 0xffffffffn);
  switch (n - REG.fctrl) {
    case 0: fpu.fcw = x & 0xffff; break;
    case 1: fpu.fsw = x & 0xffff; break;
    case 2: {
      // Back to the abridged form: a register is "not empty" unless its tag is 11.
      let ftwx = 0;
      for (let i = 0; i < 8; i++) if (((x >> (2 * i)) & 3) !== 3) ftwx |= 1 << i;
      fpu.ftwx = ftwx;
      break;
    }
    case 3: fpu.lastIp = (fpu.lastIp & 0xffffffffn) | (BigInt(x & 0xffff) << 32n); break;
    case 4: fpu.lastIp = (fpu.lastIp & ~0xffffffffn) | BigInt(x); break;
    case 5: fpu.lastDp = (fpu.lastDp & 0xffffffffn) | (BigInt(x & 0xffff) << 32n); break;
    case 6: fpu.lastDp = (fpu.lastDp & ~0xffffffffn) | BigInt(x); break;
    case 7: fpu.lastOpcode = x & 0x7ff; break;
    default: return undefined;
  }
  return { state: false, fpu: true };
}

/** Bytes of register `n` from a `g` block. */
export function registerSlice(n: number): [number, number] | undefined {
  if (n < 0 || n >= AMD64_REGS.length) return undefined;
  return [REG_OFFSETS[n]!, REG_OFFSETS[n + 1]!];
}
