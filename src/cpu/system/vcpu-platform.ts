/**
 * The per-vCPU platform pieces the JIT needs besides the instruction set,
 * wired together once: CPUID, the TSC, the local APIC, kvmclock and the MSR
 * file. Pure glue over cpuid.ts, pvclock.ts, msr.ts and devices/lapic.ts; the
 * JIT's helpers call the methods here for CPUID, RDTSC/RDTSCP, RDMSR/WRMSR and
 * VMCALL/VMMCALL, and its run loop calls `lapic.tick(now)` /
 * `lapic.nextDeadlineNs()`.
 */
import type { CpuidDynamicState, CpuidResult, MicrovmCpuidPolicy } from '../cpuid.js';
import { Lapic, type IpiBus } from '../../devices/lapic.js';
import { MsrFile, type MsrHooks, type MsrReadResult, type MsrWriteResult } from '../msr.js';
import { KvmClock, TscClock, kvmHypercall, type PvclockMemory } from '../pvclock.js';

export interface VcpuPlatformOptions {
  /** vCPU index (= APIC ID). vCPU 0 is the BSP. */
  cpu: number;
  policy: MicrovmCpuidPolicy;
  memory: PvclockMemory;
  /** Host monotonic ns (`AcceleratorHost.nowNs`) and wall-clock ns since the Unix epoch. */
  clock: { nowNs(): bigint; wallClockNs(): bigint };
  /** Monotonic time at which every TSC read 0 (machine creation); the same for all vCPUs. */
  epochNs: bigint;
  ipiBus: IpiBus;
  /** Level-triggered EOI (AcceleratorHost.onEoi). */
  onEoi?: (vector: number) => void;
  /** Something became pending for this vCPU (wake it from HLT). */
  onWake?: () => void;
  /** The vCPU's CR0 (EFER.LME changes are refused while paging is on). */
  cr0(): bigint;
  onEferWrite?: MsrHooks['onEferWrite'];
  segmentBase?: MsrHooks['segmentBase'];
}

export class VcpuPlatform {
  readonly cpu: number;
  readonly tsc: TscClock;
  readonly lapic: Lapic;
  readonly kvmclock: KvmClock;
  readonly msrs: MsrFile;

  constructor(private readonly o: VcpuPlatformOptions) {
    const p = o.policy;
    this.cpu = o.cpu;
    this.tsc = new TscClock(p.tscKhz, o.epochNs);
    this.lapic = new Lapic({
      cpu: o.cpu, bsp: o.cpu === 0, clock: o.clock, tsc: this.tsc, ipiBus: o.ipiBus,
      ...(o.onEoi ? { onEoi: o.onEoi } : {}), ...(o.onWake ? { onWake: o.onWake } : {}),
      x2apic: p.has('x2apic'), tscDeadline: p.has('tsc-deadline'), busHz: p.apicBusKhz * 1000, physAddrBits: p.physAddrBits,
    });
    this.kvmclock = new KvmClock(o.memory, this.tsc, p.has('kvmclock-stable-bit'));
    this.msrs = new MsrFile(p, {
      readTsc: () => this.tsc.tscAt(o.clock.nowNs()),
      writeTsc: (v) => {
        const now = o.clock.nowNs();
        this.tsc.write(now, v);
        this.kvmclock.refresh(now); // the pvclock's TSC timestamp must follow the new TSC
        this.lapic.retimeTscDeadline();
      },
      cr0: o.cr0,
      lapic: this.lapic,
      onKvmSystemTime: (v) => this.kvmclock.setSystemTimeMsr(v, o.clock.nowNs()),
      onKvmWallClock: (gpa) => this.kvmclock.writeWallClock(gpa, o.clock.nowNs(), o.clock.wallClockNs()),
      ...(o.onEferWrite ? { onEferWrite: o.onEferWrite } : {}),
      ...(o.segmentBase ? { segmentBase: o.segmentBase } : {}),
    });
  }

  /** CPUID with the vCPU's dynamic bits (CR4.OSXSAVE, APIC enable). */
  cpuid(leaf: number, subleaf: number, cr4: bigint, xcr0 = 1n): CpuidResult {
    const state: CpuidDynamicState = { cr4, xcr0, apicGlobalEnable: this.lapic.hardwareEnabled };
    return this.o.policy.lookup(this.cpu, leaf, subleaf, state);
  }

  /** RDTSC (invariant, at policy.tscKhz). */
  rdtsc(): bigint {
    return this.tsc.tscAt(this.o.clock.nowNs());
  }

  /** RDTSCP: the TSC and IA32_TSC_AUX (ECX). */
  rdtscp(): { tsc: bigint; aux: number } {
    return { tsc: this.rdtsc(), aux: Number(this.msrs.tscAux & 0xffffffffn) };
  }

  rdmsr(index: number): MsrReadResult { return this.msrs.read(index); }
  wrmsr(index: number, value: bigint): MsrWriteResult { return this.msrs.write(index, value); }

  /**
   * VMCALL/VMMCALL (KVM hypercall ABI): returns the new RAX. Outside 64-bit
   * mode the caller passes the 32-bit register values (KVM truncates them).
   */
  hypercall(rax: bigint, rbx: bigint, rcx: bigint, cpl: number): bigint {
    return kvmHypercall(rax, rbx, rcx, {
      mem: this.o.memory, cpl,
      tscNow: () => this.rdtsc(),
      wallNowNs: () => this.o.clock.wallClockNs(),
    });
  }

  /** Power-on/system reset of these pieces. For INIT the accelerator calls `lapic.initReset()` and resets the registers it owns. */
  reset(): void {
    this.lapic.reset();
    this.msrs.reset();
    this.kvmclock.gpa = undefined;
  }
}
