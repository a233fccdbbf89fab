// Test harness: run a few bytes of 64-bit ring-0 code on a JIT whose CPU is a
// given model, with an IDT whose handlers record the exception vector in R15
// (`mov r15d, vector; hlt`), so tests can expect "#UD" rather than "some fault".
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy, type CpuidPolicy } from '../../../src/cpu/cpuid.js';
import { S } from '../../../src/cpu/state.js';
import type { Vcpu } from '../../../src/cpu/runtime/vcpu.js';
import type { SegmentState, VcpuState } from '../../../src/accel/types.js';

export const CODE = 0x100000;
/** A data area the tests may use (64-byte aligned, identity-mapped RAM). */
export const DATA = 0x200000;
const IDT = 0x3000;
const HANDLERS = 0x4000;
const GDT = 0x5000;
const NO_VECTOR = 0xdeadn;

function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

export interface ModelRun {
  stop: string; vector: number | undefined; gpr: bigint[]; rflags: bigint;
  jit: JitAccelerator; mem: GuestMemory; vcpu: Vcpu;
}

export interface ModelRunOptions {
  /** Initial CR0 (default 0x80000033: PE MP ET NE PG) and CR4 (default 0x620: PAE OSFXSR OSXMMEXCPT). */
  cr0?: bigint;
  cr4?: bigint;
  /** XCR0 before the run (default: the reset value 1). */
  xcr0?: bigint;
  /** A CPUID policy instead of createCpuidPolicy({ model, features }). */
  cpuid?: CpuidPolicy;
  /** Called after the state is set, before the run (write memory, vector registers...). */
  setup?: (v: Vcpu, mem: GuestMemory) => void;
}

/**
 * Run `code` (then HLT) in 64-bit ring 0 on a JIT whose CPU is `model` with
 * `features` overrides; registers start from `gpr` (RSP is set to a stack).
 * Exceptions 0..31 go to handlers `mov r15d, vector; hlt`.
 */
export async function runOnModel(model: string, features: Record<string, boolean>, code: number[], gpr: bigint[] = [], opts: ModelRunOptions = {}): Promise<ModelRun> {
  const mem = new GuestMemory(64 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const jit = new JitAccelerator();
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: opts.cpuid ?? createCpuidPolicy({ accel: 'jit', model, features }), cpuCount: 1,
    onStop: () => {}, onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n);
  // GDT: null, 64-bit code (selector 8), data (selector 16).
  mem.writeU64(GDT, 0n); mem.writeU64(GDT + 8, 0x00209a0000000000n); mem.writeU64(GDT + 16, 0x00cf92000000ffffn);
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + v * 16;
    mem.writeBytes(h, new Uint8Array([0x41, 0xbf, v, 0, 0, 0, 0xf4])); // mov r15d, v; hlt
    // 64-bit interrupt gate (SDM Vol. 3 Figure 6-8): offset, selector 8, type 0xE, present.
    mem.writeU64(IDT + v * 16, BigInt(h & 0xffff) | (8n << 16n) | (0x8en << 40n) | (BigInt(h >>> 16) << 48n));
    mem.writeU64(IDT + v * 16 + 8, 0n);
  }
  mem.writeBytes(CODE, new Uint8Array([...code, 0xf4]));
  const regs = Array.from({ length: 16 }, (_, i) => gpr[i] ?? 0n);
  regs[4] = 0x80000n;
  regs[15] = NO_VECTOR;
  const nul: SegmentState = { ...flat(0, false), unusable: true, present: false };
  const s: VcpuState = {
    regs: { gpr: regs, rip: BigInt(CODE), rflags: 2n },
    sregs: {
      cs: flat(8, true), ds: flat(16, false), es: flat(16, false), ss: flat(16, false), fs: flat(16, false), gs: flat(16, false),
      tr: { ...flat(0x18, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul, gdt: { base: BigInt(GDT), limit: 0x17 }, idt: { base: BigInt(IDT), limit: 32 * 16 - 1 },
      cr0: opts.cr0 ?? 0x80000033n, cr2: 0n, cr3: 0x1000n, cr4: opts.cr4 ?? 0x620n, cr8: 0n, efer: 0xd00n, apicBase: 0xfee00900n,
    },
  };
  jit.setState(0, s);
  const v = jit.vcpus[0]!;
  if (opts.xcr0 !== undefined) v.st.setU64(S.XCR0, opts.xcr0);
  opts.setup?.(v, mem);
  v.runState = 'running';
  const stop = v.run(10000);
  const out = jit.getState(0);
  const r15 = out.regs.gpr[15]!;
  return { stop, vector: r15 === NO_VECTOR ? undefined : Number(r15), gpr: out.regs.gpr, rflags: out.regs.rflags, jit, mem, vcpu: v };
}
