/**
 * The vCPU state layout in the JIT's reserved area of the shared wasm memory.
 *
 * Everything translated code touches lives at fixed offsets from the vCPU's
 * base so that wasm reaches it with constant addresses (memarg offsets): GPRs,
 * RIP, the lazy-flags record, the instruction budget, the slow-path scratch,
 * segment bases, XMM registers. System state (CRs, MSRs, descriptor tables)
 * lives here too so that the state of a vCPU is one plain block of memory
 * (snapshots, worker threads later).
 *
 * Reserved-area map (JIT_RESERVED_BYTES, passed to `new GuestMemory(...)`):
 *   0x000000  null page (never used: a stray 0 pointer in wasm reads zeros)
 *   0x001000  SIMD tables (SIMD_TABLES: AES S-boxes and T-tables, CRC-32C; translate/simd-helpers.ts SimdTable)
 *   0x100000  code-page map: one byte per 4 KiB page of the wasm memory
 *             (1 = translated code lives there; writes must take the slow path)
 *   0x200000 + n * VCPU_STRIDE: vCPU n
 *       +0x00000  CPU state (below, < 4 KiB)
 *       +0x10000  jump cache: JC_ENTRIES x 16 bytes {rip i64, key i32, fn i32}
 *       +0x20000  TLB set 0 (CPL 0-2): TLB_ENTRIES x 32 bytes
 *       +0x40000  TLB set 1 (CPL 3)
 *       +0x60000  jump-cache heat: JC_ENTRIES x i32, dispatches left before the entry is hot
 */
import type { SegmentState, VcpuState } from '../accel/types.js';

export const JIT_RESERVED_BYTES = 32 * 1024 * 1024;
export const CODE_MAP_BASE = 0x100000;
/** Read-only lookup tables of the SIMD lowering (translate/simd-helpers.ts SimdTable), written once by the engine. */
export const SIMD_TABLES = 0x1000;
export const VCPU_AREA_BASE = 0x200000;
export const VCPU_STRIDE = 0x80000;
export const MAX_VCPUS = Math.floor((JIT_RESERVED_BYTES - VCPU_AREA_BASE) / VCPU_STRIDE);

export const JC_OFFSET = 0x10000;
export const JC_ENTRIES = 4096;
export const JC_ENTRY_BYTES = 16;
/** Per jump-cache entry: an i32 count of dispatches left until the entry's block is hot (engine.ts HOT_DISPATCHES). */
export const JC_HEAT_OFFSET = 0x60000;
export const TLB_OFFSET = 0x20000;
export const TLB_ENTRIES = 4096;
export const TLB_ENTRY_BYTES = 32;
export const TLB_SET_BYTES = TLB_ENTRIES * TLB_ENTRY_BYTES;
/**
 * TLB entry fields: read tag, write tag (page-aligned gva; -1 = invalid), the
 * addend (u32: wasm address of the page minus the low 32 bits of its gva, so
 * translated code computes the host address as addend + (u32)gva in one add),
 * the wasm address of the page, its guest-physical address (f64).
 */
export const TLBE_TAG_READ = 0;
export const TLBE_TAG_WRITE = 8;
export const TLBE_ADDEND = 16;
export const TLBE_WASM = 20;
export const TLBE_GPA = 24;

export function vcpuBase(cpu: number): number { return VCPU_AREA_BASE + cpu * VCPU_STRIDE; }

/** Offsets inside a vCPU's state block. */
export const S = {
  GPR: 0, // 16 x i64
  RIP: 128,
  /** RFLAGS: the non-status bits are authoritative; the six status flags are derived from the lazy record. */
  RFLAGS: 136,
  /** Lazy flags record: op (kind << 2 | size index), aux (carry in), a, b, res. See translate/flags.ts. */
  FL_OP: 144,
  FL_AUX: 148,
  FL_A: 152,
  FL_B: 160,
  FL_RES: 168,
  /** Instructions left in this slice (i32, signed). */
  BUDGET: 176,
  /** Mode key of the current code (jump-cache tag part). */
  MODE_KEY: 180,
  /** Set by the host when something needs attention at the next block boundary (interrupt, pause). */
  REQUEST: 184,
  /** Pending exception set by a helper: vector (or -1), error code (or -1). */
  EXC_VECTOR: 188,
  EXC_ERROR: 192,
  /** Instructions retired (i64; budget accounting adds here at slice end). */
  ICOUNT: 200,
  /* 208-223: free (was the scratch of the rd/wr slow-path helpers) */
  CR0: 224, CR2: 232, CR3: 240, CR4: 248, CR8: 256, EFER: 264,
  /** 8 segments x 32 bytes, index = Seg number (ES CS SS DS FS GS) then LDTR (6), TR (7). */
  SEG: 272,
  GDTR_BASE: 528, GDTR_LIMIT: 536, IDTR_BASE: 544, IDTR_LIMIT: 552,
  /** 16 x 16 bytes: XMM0..15 (= the low halves of YMM0..15). */
  XMM: 576,
  /** 16 x 16 bytes: the upper halves of YMM0..15 (bits 255:128; XSAVE component 2 layout). */
  YMMH: 832,
  MXCSR: 1088,
  FCW: 1092, FSW: 1094, FTW: 1096,
  /** x87 ST0..7 as 16-byte slots (80-bit values in the FXSAVE layout). */
  ST: 1104,
  /** MSRs translated code or hot helpers need. */
  KERNEL_GS_BASE: 1232, STAR: 1240, LSTAR: 1248, CSTAR: 1256, FMASK: 1264, TSC_AUX: 1272,
  SYSENTER_CS: 1280, SYSENTER_ESP: 1288, SYSENTER_EIP: 1296, PAT: 1304,
  DR: 1312, // DR0..DR7, 8 x i64
  /** Interrupt shadow (STI / MOV SS) active for the next instruction boundary. */
  IRQ_SHADOW: 1376,
  HALTED: 1380,
  /** Instruction-retire counter for the current block (debug). */
  LAST_BLOCK_RIP: 1384,
  /** Inline memory accesses (i64), counted only by blocks translated with `profile` (bench/). */
  MEM_ACCESSES: 1392,
  /** XCR0 (i64; XSETBV/XGETBV ECX=0). Reset value 1 (x87 only), SDM vol. 1 13.3. */
  XCR0: 1400,
  END: 1408,
} as const;

export const SEG_BYTES = 32;
export const SEGF_SELECTOR = 0; // u16
export const SEGF_ATTR = 4; // u32, VMX access-rights layout
export const SEGF_LIMIT = 8; // u32 (bytes - 1, already expanded)
export const SEGF_BASE = 16; // u64
export const SEG_LDTR = 6;
export const SEG_TR = 7;

/** Segment access rights packed like VMX (SDM Vol. 3 §24.4.1 Table 24-2). */
export const SegAttr = {
  TYPE_MASK: 0xf, S: 1 << 4, DPL_SHIFT: 5, P: 1 << 7, AVL: 1 << 12, L: 1 << 13, DB: 1 << 14, G: 1 << 15, UNUSABLE: 1 << 16,
} as const;

export function packSegAttr(s: SegmentState): number {
  return (s.type & 0xf) | (s.s ? SegAttr.S : 0) | ((s.dpl & 3) << SegAttr.DPL_SHIFT) | (s.present ? SegAttr.P : 0) |
    (s.avl ? SegAttr.AVL : 0) | (s.l ? SegAttr.L : 0) | (s.db ? SegAttr.DB : 0) | (s.g ? SegAttr.G : 0) |
    (s.unusable ? SegAttr.UNUSABLE : 0);
}

export interface SegmentCache { selector: number; attr: number; limit: number; base: bigint }

/** CR0/CR4/EFER bits used by the runtime (SDM Vol. 3 §2.5, AMD APM vol. 2 §3.1.7). */
export const CR0_PE = 1n << 0n, CR0_MP = 1n << 1n, CR0_EM = 1n << 2n, CR0_TS = 1n << 3n, CR0_ET = 1n << 4n,
  CR0_NE = 1n << 5n, CR0_WP = 1n << 16n, CR0_AM = 1n << 18n, CR0_NW = 1n << 29n, CR0_CD = 1n << 30n, CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n, CR4_PAE = 1n << 5n, CR4_PGE = 1n << 7n, CR4_OSFXSR = 1n << 9n,
  CR4_OSXMMEXCPT = 1n << 10n, CR4_FSGSBASE = 1n << 16n, CR4_PCIDE = 1n << 17n, CR4_OSXSAVE = 1n << 18n;
export const EFER_SCE = 1n << 0n, EFER_LME = 1n << 8n, EFER_LMA = 1n << 10n, EFER_NXE = 1n << 11n;

/** Typed access to one vCPU's state block. */
export class CpuState {
  readonly base: number;
  private readonly dv: DataView;
  readonly u8: Uint8Array;

  constructor(readonly memory: WebAssembly.Memory, readonly cpu: number) {
    this.base = vcpuBase(cpu);
    this.dv = new DataView(memory.buffer as ArrayBuffer);
    this.u8 = new Uint8Array(memory.buffer as ArrayBuffer);
  }

  u32(off: number): number { return this.dv.getUint32(this.base + off, true); }
  i32(off: number): number { return this.dv.getInt32(this.base + off, true); }
  setU32(off: number, v: number): void { this.dv.setUint32(this.base + off, v >>> 0, true); }
  u16(off: number): number { return this.dv.getUint16(this.base + off, true); }
  setU16(off: number, v: number): void { this.dv.setUint16(this.base + off, v & 0xffff, true); }
  u64(off: number): bigint { return this.dv.getBigUint64(this.base + off, true); }
  setU64(off: number, v: bigint): void { this.dv.setBigUint64(this.base + off, BigInt.asUintN(64, v), true); }

  gpr(i: number): bigint { return this.u64(S.GPR + i * 8); }
  setGpr(i: number, v: bigint): void { this.setU64(S.GPR + i * 8, v); }
  /** Low 32 bits of a GPR as a number (fast path for helpers). */
  gpr32(i: number): number { return this.u32(S.GPR + i * 8); }
  get rip(): bigint { return this.u64(S.RIP); }
  set rip(v: bigint) { this.setU64(S.RIP, v); }
  get cr0(): bigint { return this.u64(S.CR0); }
  set cr0(v: bigint) { this.setU64(S.CR0, v); }
  get cr2(): bigint { return this.u64(S.CR2); }
  set cr2(v: bigint) { this.setU64(S.CR2, v); }
  get cr3(): bigint { return this.u64(S.CR3); }
  set cr3(v: bigint) { this.setU64(S.CR3, v); }
  get cr4(): bigint { return this.u64(S.CR4); }
  set cr4(v: bigint) { this.setU64(S.CR4, v); }
  get efer(): bigint { return this.u64(S.EFER); }
  set efer(v: bigint) { this.setU64(S.EFER, v); }

  seg(i: number): SegmentCache {
    const o = S.SEG + i * SEG_BYTES;
    return { selector: this.u16(o + SEGF_SELECTOR), attr: this.u32(o + SEGF_ATTR), limit: this.u32(o + SEGF_LIMIT), base: this.u64(o + SEGF_BASE) };
  }
  setSeg(i: number, s: SegmentCache): void {
    const o = S.SEG + i * SEG_BYTES;
    this.setU16(o + SEGF_SELECTOR, s.selector); this.setU32(o + SEGF_ATTR, s.attr);
    this.setU32(o + SEGF_LIMIT, s.limit); this.setU64(o + SEGF_BASE, s.base);
  }
  segBase(i: number): bigint { return this.u64(S.SEG + i * SEG_BYTES + SEGF_BASE); }
  setSegBase(i: number, v: bigint): void { this.setU64(S.SEG + i * SEG_BYTES + SEGF_BASE, v); }
  segAttr(i: number): number { return this.u32(S.SEG + i * SEG_BYTES + SEGF_ATTR); }

  /** Current privilege level: CS.DPL in protected mode (SS.DPL equals it), 0 in real mode. */
  get cpl(): number {
    if ((this.cr0 & CR0_PE) === 0n) return 0;
    return (this.segAttr(1) >> SegAttr.DPL_SHIFT) & 3;
  }

  xmm(i: number): Uint8Array { const o = this.base + S.XMM + i * 16; return this.u8.subarray(o, o + 16); }
  xmmQ(i: number, half: 0 | 1): bigint { return this.u64(S.XMM + i * 16 + half * 8); }
  setXmmQ(i: number, half: 0 | 1, v: bigint): void { this.setU64(S.XMM + i * 16 + half * 8, v); }
}

function segFromState(s: SegmentState): SegmentCache {
  return { selector: s.selector & 0xffff, attr: packSegAttr(s), limit: s.limit >>> 0, base: BigInt.asUintN(64, s.base) };
}

function segToState(c: SegmentCache): SegmentState {
  const a = c.attr;
  return {
    selector: c.selector, base: c.base, limit: c.limit, type: a & 0xf, present: (a & SegAttr.P) !== 0,
    dpl: (a >> SegAttr.DPL_SHIFT) & 3, db: (a & SegAttr.DB) !== 0, s: (a & SegAttr.S) !== 0, l: (a & SegAttr.L) !== 0,
    g: (a & SegAttr.G) !== 0, avl: (a & SegAttr.AVL) !== 0, unusable: (a & SegAttr.UNUSABLE) !== 0,
  };
}

const SEG_ORDER = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldt', 'tr'] as const;

/**
 * VcpuState <-> memory. `rflagsOf`/`setRflags` are passed in because the
 * status flags live in the lazy record (translate/flags.ts owns that format).
 */
export function writeVcpuState(st: CpuState, v: VcpuState, setRflags: (st: CpuState, value: bigint) => void): void {
  for (let i = 0; i < 16; i++) st.setGpr(i, v.regs.gpr[i] ?? 0n);
  st.rip = v.regs.rip;
  setRflags(st, v.regs.rflags);
  const sr = v.sregs;
  SEG_ORDER.forEach((name, i) => st.setSeg(i, segFromState(sr[name])));
  st.setU64(S.GDTR_BASE, sr.gdt.base); st.setU32(S.GDTR_LIMIT, sr.gdt.limit);
  st.setU64(S.IDTR_BASE, sr.idt.base); st.setU32(S.IDTR_LIMIT, sr.idt.limit);
  st.cr0 = sr.cr0; st.cr2 = sr.cr2; st.cr3 = sr.cr3; st.cr4 = sr.cr4; st.setU64(S.CR8, sr.cr8);
  st.efer = sr.efer;
}

export function readVcpuState(st: CpuState, rflags: bigint, apicBase: bigint): VcpuState {
  const gpr: bigint[] = [];
  for (let i = 0; i < 16; i++) gpr.push(st.gpr(i));
  const segs = SEG_ORDER.map((_, i) => segToState(st.seg(i)));
  return {
    regs: { gpr, rip: st.rip, rflags },
    sregs: {
      es: segs[0]!, cs: segs[1]!, ss: segs[2]!, ds: segs[3]!, fs: segs[4]!, gs: segs[5]!, ldt: segs[6]!, tr: segs[7]!,
      gdt: { base: st.u64(S.GDTR_BASE), limit: st.u32(S.GDTR_LIMIT) },
      idt: { base: st.u64(S.IDTR_BASE), limit: st.u32(S.IDTR_LIMIT) },
      cr0: st.cr0, cr2: st.cr2, cr3: st.cr3, cr4: st.cr4, cr8: st.u64(S.CR8), efer: st.efer, apicBase,
    },
  };
}
