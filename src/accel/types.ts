/**
 * The accelerator interface: what the machine needs from a CPU provider.
 * Implemented by the JIT (`src/cpu`) and by KVM (`src/kvm`). An accelerator
 * knows nothing about devices: every port and MMIO access goes through the
 * host's buses, interrupts arrive as messages from the interrupt controllers.
 */
import type { Bus } from '../memory/bus.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { InterruptMessage } from '../devices/irq.js';
import type { CpuidPolicy } from '../cpu/cpuid.js';

/** A segment register in the form KVM's `kvm_segment` uses (raw descriptor fields). */
export interface SegmentState {
  selector: number;
  base: bigint;
  limit: number;
  /** Descriptor type field (4 bits). */
  type: number;
  present: boolean;
  dpl: number;
  /** 1 = default operand size 32 (D/B). */
  db: boolean;
  /** S bit: 1 = code/data, 0 = system. */
  s: boolean;
  /** L bit: 64-bit code. */
  l: boolean;
  /** G bit: limit granularity 4 KiB (limit here is already expanded to bytes-1). */
  g: boolean;
  avl: boolean;
  unusable: boolean;
}

export interface DescriptorTable { base: bigint; limit: number }

export const GPR_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;

export interface GeneralRegisters {
  /** rax..r15 in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15). */
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
}

export interface SystemRegisters {
  cs: SegmentState; ds: SegmentState; es: SegmentState; fs: SegmentState;
  gs: SegmentState; ss: SegmentState; tr: SegmentState; ldt: SegmentState;
  gdt: DescriptorTable; idt: DescriptorTable;
  cr0: bigint; cr2: bigint; cr3: bigint; cr4: bigint; cr8: bigint;
  efer: bigint;
  apicBase: bigint;
}

export interface VcpuState {
  regs: GeneralRegisters;
  sregs: SystemRegisters;
  /** MSR index -> value, for the MSRs the accelerator saves (optional on input). */
  msrs?: Map<number, bigint>;
}

/** Why a machine or vCPU stopped running guest code. */
export type StopReason =
  | { kind: 'triple-fault'; cpu: number }
  | { kind: 'reset-request'; cpu: number }
  | { kind: 'internal-error'; cpu: number; message: string }
  /**
   * `address`: the instruction pointer (linear). `dataAddress`: for a
   * watchpoint, the watched address that triggered (the GDB stub reports it
   * in `watch:ADDR`; without it the stub guesses from the values it saw).
   */
  | { kind: 'debug'; cpu: number; reason: 'breakpoint' | 'single-step' | 'watchpoint'; address?: bigint; dataAddress?: bigint }
  | { kind: 'paused' };

/** What the machine gives an accelerator. */
export interface AcceleratorHost {
  readonly memory: GuestMemory;
  readonly pio: Bus;
  readonly mmio: Bus;
  readonly cpuid: CpuidPolicy;
  readonly cpuCount: number;
  /** A vCPU (or the whole VM) stopped for a reason the machine must act on. */
  onStop(reason: StopReason): void;
  /** A level-triggered interrupt was EOI'd at a local APIC (IOAPIC remote-IRR handling). */
  onEoi(vector: number): void;
  /** Host monotonic time in ns (deterministic mode substitutes its own clock). */
  nowNs(): bigint;
}

export interface Accelerator {
  readonly name: 'jit' | 'kvm';
  /** Create vCPUs and bind guest memory. Throws AccelError when unavailable. */
  init(host: AcceleratorHost): Promise<void>;
  /** Set a vCPU's architectural state (boot state for the BSP; APs wait for INIT/SIPI). */
  setState(cpu: number, state: VcpuState): void;
  getState(cpu: number): VcpuState;
  /** Start (or continue) running all runnable vCPUs. Returns immediately. */
  resume(): void;
  /** Stop all vCPUs at an instruction boundary; resolves when they are stopped. */
  pause(): Promise<void>;
  /** Deliver an interrupt message from an IOAPIC or MSI to the local APIC(s). */
  deliverInterrupt(msg: InterruptMessage): void;
  /** Architectural reset of every vCPU (APs back to wait-for-SIPI). */
  reset(): void;
  /** Release threads, handles and memory mappings. */
  destroy(): Promise<void>;
  /** Optional debug capabilities (the GDB stub and the library use them). */
  readonly debug?: AcceleratorDebug;
  /**
   * `-d item,...` logging the accelerator produces itself (QEMU's names:
   * in_asm, out_asm, int, exec, cpu, mmu, ...). Returns the items it does
   * not implement, which the machine reports to the user.
   */
  setLogging?(items: ReadonlySet<string>, write: (line: string) => void): string[];
  /**
   * Snapshots (src/machine/snapshot.ts): the whole state of every vCPU and of
   * what the accelerator models itself (LAPICs, timers, translation-independent
   * CPU state), taken while paused. Guest RAM is not included: the machine
   * saves it. Optional: the library reports "not supported by this
   * accelerator" when absent.
   */
  saveState?(): AcceleratorSnapshot;
  /**
   * Load a snapshot taken by the same kind of accelerator with the same vCPU
   * count, after `init()` and before the first `resume()`; RAM is already
   * restored. Throws on a snapshot it cannot use.
   */
  restoreState?(snapshot: AcceleratorSnapshot): void;
  /**
   * Deterministic mode (src/machine/deterministic.ts), called after `init()`
   * and before the first `resume()`: see `DeterministicConfig`. Optional.
   */
  setDeterministic?(config: DeterministicConfig): void;
  /** Guest instructions retired so far, all vCPUs together (deterministic runs compare it). */
  instructionCount?(): bigint;
}

/**
 * An accelerator's saved state. `vcpus` and `extra` hold plain data only:
 * objects, arrays, strings, numbers, booleans, bigint, Uint8Array and Map
 * (the snapshot file encodes these). `format` names the layout (e.g.
 * 'kvm-1') so a restore can refuse a snapshot it does not understand.
 */
export interface AcceleratorSnapshot {
  accel: 'jit' | 'kvm';
  format: string;
  vcpus: unknown[];
  extra?: unknown;
}

/**
 * What deterministic mode asks of an accelerator: two runs of the same guest
 * with the same inputs must give the same console output and the same
 * instruction count.
 * - Single-thread execution: all vCPUs run on the Node thread in a fixed
 *   interleaving (e.g. round-robin per fixed instruction quantum).
 * - Instruction-count time: `time` is virtual; the accelerator advances it
 *   with `time.advanceTo(BigInt(instructions) * nsPerInstruction)` as it
 *   retires instructions (device timers fire from there), and when every
 *   vCPU is halted it jumps to the next deadline (`time.nextDeadlineNs()` or
 *   its own LAPIC timers), never waiting on host time. TSC, kvmclock and
 *   LAPIC timers derive from `time.nowNs()` (`host.nowNs()` returns it).
 * - Seeded RDRAND/RDSEED: values from a PRNG seeded with `seed`.
 * - Scheduling that does not depend on host timing: yielding to the event
 *   loop (setImmediate) is fine, but the amount of guest work between yields
 *   and the points where interrupts are injected must depend only on the
 *   instruction count, never on host time.
 */
export interface DeterministicConfig {
  seed: bigint;
  time: import('../devices/clock.js').ManualTimeSource;
  /** Virtual nanoseconds per retired instruction (default 1: a 1 GHz, 1 IPC machine). */
  nsPerInstruction: bigint;
}

/**
 * What the GDB stub (src/gdbstub) expects, on any accelerator. Every stop is
 * reported through `host.onStop({ kind: 'debug', ... })` by the vCPU that
 * stopped; the stub then calls `pause()` (all-stop: every vCPU stops) and
 * reads state; `resume()` runs them all again. Called only while paused.
 */
export interface AcceleratorDebug {
  /**
   * On the next resume this vCPU executes exactly one instruction (an
   * interrupt or exception delivered instead counts as that step) and stops
   * with reason 'single-step', `address` = the new RIP.
   */
  setSingleStep(cpu: number, on: boolean): void;
  /**
   * Stop before executing the instruction at linear address `gva`: reason
   * 'breakpoint', `address` = gva = RIP, the instruction not executed. The
   * stub removes a breakpoint before stepping over it. Returns false when it
   * cannot be set (no free debug register for 'hw'). See swBreakpointsInMemory.
   */
  addBreakpoint(kind: 'sw' | 'hw', gva: bigint): boolean;
  removeBreakpoint(kind: 'sw' | 'hw', gva: bigint): boolean;
  /**
   * Stop after an instruction accessed [gva, gva+len) (len 1, 2, 4 or 8,
   * aligned; the stub splits other ranges): reason 'watchpoint', `address` =
   * RIP after the access, `dataAddress` = the watched address. 'read' may
   * also fire on writes (x86 debug registers have no read-only mode).
   */
  addWatchpoint?(kind: 'write' | 'read' | 'access', gva: bigint, len: number): boolean;
  removeWatchpoint?(kind: 'write' | 'read' | 'access', gva: bigint, len: number): boolean;
  /** Translate a guest virtual address with the vCPU's current page tables. */
  translate(cpu: number, gva: bigint): bigint | undefined;
  /**
   * How software breakpoints work here. true: `addBreakpoint('sw')` only
   * arms the trap and the caller writes INT3 (0xCC) at the address and
   * restores the byte on removal (KVM_GUESTDBG_USE_SW_BP). false: the
   * accelerator stops at the address by its own means and guest memory is
   * left alone (the JIT). Unset: true for KVM, false otherwise.
   */
  readonly swBreakpointsInMemory?: boolean;
  /** x87/SSE state of a stopped vCPU (the GDB stub's st0-7, xmm0-15, mxcsr). */
  getFpu?(cpu: number): FpuState;
  setFpu?(cpu: number, state: FpuState): void;
  /** The host (a debugger) wrote guest RAM at [gpa, gpa+len): drop code translated from it. */
  memoryWritten?(gpa: number, len: number): void;
}

/** x87 and SSE registers in the FXSAVE layout's terms (KVM's `kvm_fpu`; SDM Vol. 1 10.5.1). */
export interface FpuState {
  /** ST(0)..ST(7) in stack order, 10 bytes each (80-bit extended precision, little-endian). */
  fpr: Uint8Array;
  fcw: number;
  fsw: number;
  /** Abridged tag word (FXSAVE byte 4): bit i set = physical register i is not empty. */
  ftwx: number;
  /** Last x87 opcode (11 bits), instruction pointer and data pointer. */
  lastOpcode: number;
  lastIp: bigint;
  lastDp: bigint;
  /** xmm0..xmm15, 16 bytes each, little-endian. */
  xmm: Uint8Array;
  mxcsr: number;
  /**
   * Bits 255:128 of ymm0..ymm15, 16 bytes each (the XSAVE AVX component), when
   * the accelerator has them (the JIT); absent = unknown (KVM_GET_FPU has no AVX state).
   */
  ymmh?: Uint8Array;
}

export class AccelError extends Error {
  override readonly name = 'AccelError';
  constructor(readonly code: 'KVM_UNAVAILABLE' | 'KVM_NO_PERMISSION' | 'KVM_CAP_MISSING' | 'KVM_IOCTL_FAILED' | 'JIT_UNSUPPORTED', msg: string) {
    super(msg);
  }
}
