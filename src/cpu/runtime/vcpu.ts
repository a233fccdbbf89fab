/**
 * One virtual CPU of the JIT: its state block, MMU, MSRs, local APIC, the
 * system-instruction semantics the executor calls (SystemOps), exception and
 * interrupt delivery (SDM Vol. 3 ch. 6), and the run loop around the wasm
 * dispatcher.
 */
import type { AcceleratorHost } from '../../accel/types.js';
import { Instruction, type CpuMode } from '../decoder/types.js';
import { MsrFile, MSR_EFER } from '../msr.js';
import { KvmClock, TscClock, kvmHypercall } from '../pvclock.js';
import { Lapic, type IpiBus } from '../../devices/lapic.js';
import { hasFeature } from '../cpuid.js';
import type { FeatureName } from '../features.js';
import {
  CR0_EM, CR0_ET, CR0_MP, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_OSFXSR, CR4_OSXSAVE, CR4_PAE, CR4_PCIDE, CR4_PGE, CR4_PSE, CpuState, EFER_LMA, EFER_LME,
  S, SEG_BYTES, SEGF_BASE, SegAttr, vcpuBase, type SegmentCache,
} from '../state.js';
import { Exit } from '../translate/core.js';
import { F_CF } from '../translate/flags.js';
import { blockKey, Engine } from './engine.js';
import { decodeInto } from '../decoder/decoder.js';
import { WATCH_VECTOR } from './watch.js';
import { execute, getRflags, setRflagsRaw, statusFlags, type Interp } from './interp.js';
import { Access, Mmu, VEC_DF, VEC_GP, VEC_NP, VEC_PF, VEC_SS, VEC_TS, VEC_UD } from './mmu.js';
import type { SystemOps } from './system-ops.js';
import { M64, pop, push, setGprSized } from './ops.js';
import { fxsaveImage, loadX87, loadXmm, MXCSR_MASK, XSAVE_MXCSR, xsaveCapsFromCpuid, type XsaveCaps } from './xsave.js';

const IF = 1n << 9n, TF = 1n << 8n, NT = 1n << 14n, RF = 1n << 16n, VM = 1n << 17n, AC = 1n << 18n, IOPL = 3n << 12n;
const LAPIC_BASE = 0xfee00000;

export type VcpuRunState = 'running' | 'halted' | 'wait-sipi' | 'stopped';

/** Exceptions that are "contributory" for the double-fault rules (SDM Vol. 3 Table 6-5). */
const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);

export class Vcpu implements SystemOps {
  readonly st: CpuState;
  readonly mmu: Mmu;
  readonly msr: MsrFile;
  readonly lapic: Lapic;
  readonly tsc: TscClock;
  readonly kvmclock: KvmClock;
  readonly ctx: Interp;
  runState: VcpuRunState;
  /** Interrupt shadow (STI / MOV SS) and NMI blocking: public for snapshots (src/cpu/snapshot.ts). */
  shadow = false;
  nmiBlocked = false;
  instructions = 0n;
  /** Returns from the wasm dispatcher to this loop. */
  exits = 0;
  lastError: string | undefined;
  readonly dr = [0n, 0n, 0n, 0n, 0n, 0n, 0xffff0ff0n, 0x400n];
  /** The CPU model's XSAVE support (CPUID.01H:ECX.XSAVE, leaf 0DH). */
  readonly xsaveCaps: XsaveCaps;

  constructor(readonly index: number, readonly engine: Engine<Vcpu>, readonly host: AcceleratorHost, ipiBus: IpiBus, epochNs: bigint) {
    const mem = host.memory;
    this.st = new CpuState(mem.wasmMemory, index);
    this.mmu = new Mmu(this.st, mem, {
      mmioRead: (gpa, size) => this.mmioRead(gpa, size),
      mmioWrite: (gpa, size, v) => this.mmioWrite(gpa, size, v),
    });
    this.mmu.onCodeWrite = (gpa) => {
      const wa = this.mmu.wasmAddr(gpa, 1);
      if (wa >= 0) this.engine.invalidatePage(wa >>> 12);
    };
    this.tsc = new TscClock(host.cpuid.tscKhz, epochNs);
    const has = (n: FeatureName): boolean => hasFeature(host.cpuid, n);
    this.kvmclock = new KvmClock(mem, this.tsc, has('kvmclock-stable-bit'));
    this.lapic = new Lapic({
      cpu: index, bsp: index === 0, clock: { nowNs: () => this.guestNow() }, tsc: this.tsc, ipiBus,
      onEoi: (v) => host.onEoi(v), x2apic: has('x2apic'), tscDeadline: has('tsc-deadline'),
    });
    this.msr = new MsrFile({ has, physAddrBits: 40, vendor: 'GenuineIntel' }, {
      readTsc: () => this.readTsc(),
      writeTsc: (v) => { this.tsc.write(this.guestNow(), v); this.lastTsc = 0n; this.kvmclock.refresh(this.guestNow()); },
      cr0: () => this.st.cr0,
      lapic: this.lapic,
      onKvmSystemTime: (v) => this.kvmclock.setSystemTimeMsr(v, this.guestNow()),
      onKvmWallClock: (gpa) => this.kvmclock.writeWallClock(gpa, this.guestNow(), this.wallNowNs()),
      segmentBase: {
        get: (r) => this.st.segBase(r === 'fs' ? 4 : 5),
        set: (r, v) => this.st.setSegBase(r === 'fs' ? 4 : 5, v),
      },
    });
    this.xsaveCaps = xsaveCapsFromCpuid((leaf, subleaf) => host.cpuid.lookup(index, leaf, subleaf));
    this.ctx = { st: this.st, mmu: this.mmu, mode: 32, cpl: 0, sys: this };
    this.runState = index === 0 ? 'running' : 'wait-sipi';
    this.resetArch();
  }

  get base(): number { return vcpuBase(this.index); }

  /**
   * Guest time: host monotonic time minus the time spent translating. Time
   * stands still while code is compiled, as if the VM were paused, so a
   * compile burst cannot make timers fire "inside" a short guest window.
   * Likewise the time runnable vCPUs wait for the event loop between slices
   * (engine.pausedNs) does not count; time spent halted does.
   */
  liveNow(): bigint { return this.host.nowNs() - this.engine.stats.translateNs - this.engine.pausedNs; }
  /**
   * Guest time for the devices (LAPIC timer, kvmclock updates): sampled once
   * per run-loop iteration (one scheduling turn, 50-200 us of host time), so
   * everything a turn does sees one instant.
   */
  guestNow(): bigint { return this.timeSample ?? this.liveNow(); }
  private timeSample: bigint | undefined;
  private lastTsc = 0n;
  /**
   * RDTSC / IA32_TSC: the invariant TSC at the live guest time (host time less
   * translation and scheduling pauses, not the turn's sample: a turn can run a
   * million instructions and the guest times short phases with RDTSC),
   * strictly increasing between reads.
   */
  readTsc(): bigint {
    let t = this.tsc.tscAt(this.timeSample === undefined ? this.liveNow() : maxBig(this.timeSample, this.liveNow()));
    if (t <= this.lastTsc) t = this.lastTsc + 1n;
    this.lastTsc = t;
    return t;
  }

  /** Host wall-clock time (kvmclock wall clock, KVM_HC_CLOCK_PAIRING); deterministic mode replaces it. */
  wallNowNs(): bigint { return BigInt(Date.now()) * 1_000_000n; }

  // ---- physical MMIO: the LAPIC page first, then the host bus
  private mmioRead(gpa: number, size: number): number {
    if (gpa >= LAPIC_BASE && gpa < LAPIC_BASE + 0x1000 && this.lapic.hardwareEnabled && !this.lapic.x2apicMode) {
      return this.lapic.read(gpa - LAPIC_BASE, size as 1 | 2 | 4 | 8);
    }
    return this.host.mmio.read(gpa, size as 1 | 2 | 4 | 8);
  }
  private mmioWrite(gpa: number, size: number, v: number): void {
    if (gpa >= LAPIC_BASE && gpa < LAPIC_BASE + 0x1000 && this.lapic.hardwareEnabled && !this.lapic.x2apicMode) {
      this.lapic.write(gpa - LAPIC_BASE, size as 1 | 2 | 4 | 8, v);
      return;
    }
    this.host.mmio.write(gpa, size as 1 | 2 | 4 | 8, v);
  }

  /** Power-on / INIT state (SDM Vol. 3 Table 10-1): real mode at F000:FFF0. */
  resetArch(): void {
    const st = this.st;
    st.u8.fill(0, this.base, this.base + S.END);
    Engine.flushJumpCache(st.u8, this.base);
    this.mmu.flushTlb();
    st.setU64(S.RFLAGS, 2n);
    st.setU32(S.FL_OP, 0);
    st.setU64(S.XCR0, 1n);
    st.cr0 = CR0_ET | (1n << 30n) | (1n << 29n);
    const data: SegmentCache = { selector: 0, base: 0n, limit: 0xffff, attr: 0x93 };
    for (let i = 0; i < 6; i++) st.setSeg(i, data);
    st.setSeg(1, { selector: 0xf000, base: 0xffff0000n, limit: 0xffff, attr: 0x9b });
    st.setSeg(6, { selector: 0, base: 0n, limit: 0xffff, attr: 0x82 });
    st.setSeg(7, { selector: 0, base: 0n, limit: 0xffff, attr: 0x8b });
    st.setU32(S.GDTR_LIMIT, 0xffff); st.setU32(S.IDTR_LIMIT, 0xffff);
    st.rip = 0xfff0n;
    st.setGpr(2, 0x600n);
    st.setU32(S.MXCSR, 0x1f80);
    st.setU16(S.FCW, 0x37f);
    st.setU16(S.FTW, 0xffff);
    st.setU32(S.EXC_VECTOR, 0xffffffff);
    this.msr.reset();
    this.shadow = false;
    this.nmiBlocked = false;
  }

  // ---- mode
  get mode(): CpuMode {
    const st = this.st;
    if ((st.cr0 & CR0_PE) === 0n) return 16;
    const a = st.segAttr(1);
    if ((st.efer & EFER_LMA) !== 0n && (a & SegAttr.L) !== 0) return 64;
    return (a & SegAttr.DB) !== 0 ? 32 : 16;
  }
  get cpl(): number { return this.st.cpl; }

  /** Bits that select a translation: PE PG LMA CS.L CS.D CPL SS.B. */
  modeKey(): number {
    const st = this.st;
    const a = st.segAttr(1), ss = st.segAttr(2);
    return Number(st.cr0 & 1n) | (Number((st.cr0 >> 31n) & 1n) << 1) | (Number((st.efer >> 10n) & 1n) << 2) |
      (((a >> 13) & 1) << 3) | (((a >> 14) & 1) << 4) | (this.cpl << 5) | (((ss >> 14) & 1) << 7);
  }

  syncCtx(): void { this.ctx.mode = this.mode; this.ctx.cpl = this.cpl; }

  rflags(): bigint { return getRflags(this.ctx); }
  setRflags(v: bigint): void { setRflagsRaw(this.ctx, v); }

  // ---- helpers called from wasm
  /** interp(base, id): execute one instruction in TypeScript. */
  runHelper(id: number): number {
    const h = this.engine.helpers[id];
    if (!h) return Exit.HOST;
    const inv = this.engine.stats.invalidations;
    const r = h(this);
    // The instruction wrote translated code (maybe the running block's own, after it): leave the block at the
    // next instruction so that the rest is translated afresh (inline stores reach the executor through Exit.SLOW).
    return r === Exit.CONTINUE && this.engine.stats.invalidations !== inv ? Exit.HOST : r;
  }

  /**
   * The executor call for one instruction. Blocks are shared by every vCPU,
   * so the helper receives the vCPU that runs it (never the one that translated it).
   */
  static makeHelper(insn: Instruction, rip: bigint): (cpu: Vcpu) => number {
    return (cpu) => {
      cpu.syncCtx();
      try {
        return execute(cpu.ctx, insn, rip);
      } catch (e) {
        cpu.lastError = `executor error at 0x${rip.toString(16)}: ${(e as Error).message}`;
        return cpu.raise(VEC_UD);
      }
    };
  }

  /** Inline accesses that missed the TLB (left translated code with Exit.SLOW). */
  tlbMisses = 0;

  raise(vector: number, error = -1): number {
    this.st.setU32(S.EXC_VECTOR, vector);
    this.st.setU32(S.EXC_ERROR, error);
    return Exit.EXCEPTION;
  }

  // ---- descriptors (SDM Vol. 3 §3.4.5, §5)
  private readDescriptor(sel: number): { lo: bigint; hi: bigint; addr: bigint } | undefined {
    const st = this.st;
    const ldt = (sel & 4) !== 0;
    const tblBase = ldt ? st.segBase(6) : st.u64(S.GDTR_BASE);
    const limit = ldt ? st.seg(6).limit : st.u32(S.GDTR_LIMIT);
    const off = sel & ~7;
    if (off + 7 > limit) return undefined;
    const addr = tblBase + BigInt(off);
    const lo = this.mmu.read(addr, 8, 0);
    if (lo === undefined) return undefined;
    let hi = 0n;
    if ((st.efer & EFER_LMA) !== 0n && ((lo >> 44n) & 1n) === 0n) {
      const h = this.mmu.read(addr + 8n, 8, 0);
      hi = h ?? 0n;
    }
    return { lo, hi, addr };
  }

  static cacheFromDescriptor(sel: number, lo: bigint, hi: bigint, system16: boolean): SegmentCache {
    let base = ((lo >> 16n) & 0xffffffn) | (((lo >> 56n) & 0xffn) << 24n);
    if (system16) base |= (hi & 0xffffffffn) << 32n;
    let limit = Number((lo & 0xffffn) | (((lo >> 48n) & 0xfn) << 16n));
    const g = ((lo >> 55n) & 1n) !== 0n;
    if (g) limit = ((limit << 12) | 0xfff) >>> 0;
    const access = Number((lo >> 40n) & 0xffn), flags = Number((lo >> 52n) & 0xfn);
    const attr = access | (flags << 12);
    return { selector: sel, base, limit, attr };
  }

  loadSeg(seg: number, sel: number): number {
    const st = this.st;
    if ((st.cr0 & CR0_PE) === 0n || (st.u64(S.RFLAGS) & VM) !== 0n) {
      const old = st.seg(seg);
      st.setSeg(seg, { selector: sel, base: BigInt(sel << 4), limit: old.limit, attr: old.attr | SegAttr.P | (seg === 1 ? 0x1b : 0x13) });
      return Exit.CONTINUE;
    }
    if ((sel & ~3) === 0) {
      if (seg === 2 && (this.mode !== 64 || this.cpl === 3)) return this.raise(VEC_GP, 0);
      st.setSeg(seg, { selector: sel, base: seg >= 4 ? st.segBase(seg) : 0n, limit: 0, attr: SegAttr.UNUSABLE | (seg === 2 ? ((sel & 3) << 5) : 0) });
      return Exit.CONTINUE;
    }
    const d = this.readDescriptor(sel);
    if (!d) return this.raise(VEC_GP, sel & 0xfffc);
    const c = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, false);
    if ((c.attr & SegAttr.S) === 0) return this.raise(VEC_GP, sel & 0xfffc);
    if ((c.attr & SegAttr.P) === 0) return this.raise(seg === 2 ? VEC_SS : VEC_NP, sel & 0xfffc);
    // Set the accessed bit in the descriptor (SDM §3.4.5.1).
    if ((c.attr & 1) === 0) { c.attr |= 1; this.mmu.write(d.addr + 5n, 1, BigInt(c.attr & 0xff), 0); }
    if (this.mode === 64 && seg >= 4) c.base &= 0xffffffffn;
    st.setSeg(seg, c);
    return Exit.CONTINUE;
  }

  private loadCs(sel: number, c: SegmentCache, cpl: number): void {
    const oldBase = this.st.segBase(1);
    c.selector = (sel & ~3) | cpl;
    c.attr = (c.attr & ~(3 << SegAttr.DPL_SHIFT)) | (cpl << SegAttr.DPL_SHIFT);
    this.st.setSeg(1, c);
    if (c.base !== oldBase) Engine.flushJumpCache(this.st.u8, this.base);
  }

  farJump(sel: number, off: bigint, pushReturn: bigint | undefined, opSize: number): number {
    const st = this.st;
    const os = opSize / 8;
    if ((st.cr0 & CR0_PE) === 0n || (st.u64(S.RFLAGS) & VM) !== 0n) {
      if (pushReturn !== undefined) {
        if (!push(this.ctx, BigInt(st.seg(1).selector), os)) return Exit.EXCEPTION;
        if (!push(this.ctx, pushReturn, os)) return Exit.EXCEPTION;
      }
      const old = st.seg(1);
      this.loadCs(sel, { selector: sel, base: BigInt(sel << 4), limit: old.limit, attr: old.attr }, 0);
      st.setSeg(1, { ...st.seg(1), selector: sel });
      st.rip = opSize === 16 ? off & 0xffffn : off & 0xffffffffn;
      return Exit.HOST;
    }
    const d = this.readDescriptor(sel);
    if (!d || (sel & ~3) === 0) return this.raise(VEC_GP, sel & 0xfffc);
    const c = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, false);
    if ((c.attr & SegAttr.S) === 0 || (c.attr & 8) === 0) return this.raise(VEC_GP, sel & 0xfffc); // call gates/TSS: not supported
    if ((c.attr & SegAttr.P) === 0) return this.raise(VEC_NP, sel & 0xfffc);
    if (pushReturn !== undefined) {
      if (!push(this.ctx, BigInt(st.seg(1).selector), os)) return Exit.EXCEPTION;
      if (!push(this.ctx, pushReturn, os)) return Exit.EXCEPTION;
    }
    this.loadCs(sel, c, this.cpl);
    st.rip = (c.attr & SegAttr.L) && (st.efer & EFER_LMA) ? off : off & 0xffffffffn;
    return Exit.HOST;
  }

  farReturn(insn: Instruction, popBytes: number): number {
    const st = this.st;
    const os = insn.opSize / 8;
    const ip = pop(this.ctx, os); if (ip === undefined) return Exit.EXCEPTION;
    const cs = pop(this.ctx, os); if (cs === undefined) return Exit.EXCEPTION;
    const sel = Number(cs & 0xffffn);
    setGprSized(st, 4, this.mode === 64 ? 8 : 4, st.gpr(4) + BigInt(popBytes));
    if ((st.cr0 & CR0_PE) === 0n) {
      const old = st.seg(1);
      this.loadCs(sel, { selector: sel, base: BigInt(sel << 4), limit: old.limit, attr: old.attr }, 0);
      st.rip = ip; return Exit.HOST;
    }
    const d = this.readDescriptor(sel);
    if (!d || (sel & ~3) === 0) return this.raise(VEC_GP, sel & 0xfffc);
    const c = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, false);
    const rpl = sel & 3;
    if (rpl > this.cpl) {
      const sp = pop(this.ctx, os); if (sp === undefined) return Exit.EXCEPTION;
      const ss = pop(this.ctx, os); if (ss === undefined) return Exit.EXCEPTION;
      this.loadCs(sel, c, rpl);
      const s = this.loadSeg(2, Number(ss & 0xffffn)); if (s !== Exit.CONTINUE) return s;
      st.setGpr(4, sp);
    } else this.loadCs(sel, c, this.cpl);
    st.rip = ip;
    return Exit.HOST;
  }

  iret(opSize: number): number {
    const st = this.st;
    const os = opSize / 8;
    const ctx = this.ctx;
    if ((st.cr0 & CR0_PE) === 0n) {
      const ip = pop(ctx, os), cs = pop(ctx, os), fl = pop(ctx, os);
      if (ip === undefined || cs === undefined || fl === undefined) return Exit.EXCEPTION;
      const sel = Number(cs & 0xffffn);
      const old = st.seg(1);
      this.loadCs(sel, { selector: sel, base: BigInt(sel << 4), limit: old.limit, attr: old.attr }, 0);
      st.rip = ip;
      this.writeFlagsFromPop(fl, opSize);
      this.nmiBlocked = false;
      return Exit.HOST;
    }
    const long = (st.efer & EFER_LMA) !== 0n;
    const ip = pop(ctx, os), cs = pop(ctx, os), fl = pop(ctx, os);
    if (ip === undefined || cs === undefined || fl === undefined) return Exit.EXCEPTION;
    const sel = Number(cs & 0xffffn);
    const rpl = sel & 3;
    const d = this.readDescriptor(sel);
    if (!d || (sel & ~3) === 0) return this.raise(VEC_GP, sel & 0xfffc);
    const c = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, false);
    const oldCpl = this.cpl;
    let sp: bigint | undefined, ss: bigint | undefined;
    if (this.mode === 64 || rpl > oldCpl) {
      sp = pop(ctx, os); ss = pop(ctx, os);
      if (sp === undefined || ss === undefined) return Exit.EXCEPTION;
    }
    this.loadCs(sel, c, rpl);
    this.writeFlagsFromPopAt(fl, opSize, oldCpl);
    if (sp !== undefined && ss !== undefined) {
      const s = this.loadSeg(2, Number(ss & 0xffffn));
      if (s !== Exit.CONTINUE) return s;
      st.setGpr(4, long ? sp : sp & 0xffffffffn);
    }
    st.rip = (c.attr & SegAttr.L) && long ? ip : ip & 0xffffffffn;
    this.nmiBlocked = false;
    return Exit.HOST;
  }

  writeFlagsFromPop(v: bigint, opSize: number): void { this.writeFlagsFromPopAt(v, opSize, this.cpl); }
  private writeFlagsFromPopAt(v: bigint, opSize: number, cpl: number): void {
    const old = this.rflags();
    const iopl = Number((old & IOPL) >> 12n);
    let mask = 0x3f7fd5n & ~(VM | RF | (1n << 19n) | (1n << 20n));
    if (cpl !== 0) mask &= ~IOPL;
    if (cpl > iopl && (this.st.cr0 & CR0_PE) !== 0n) mask &= ~IF;
    if (opSize === 16) mask &= 0xffffn;
    const nv = (old & ~mask) | (v & mask);
    this.setRflags(nv);
  }

  softInt(vector: number, next: bigint, isException = false): number {
    // INT n from CPL > gate DPL is #GP(vector*8+2) (SDM §6.12.1.1); checked in deliver().
    this.st.rip = next;
    return this.deliver(vector, -1, isException ? 'soft-exception' : 'soft', next) ? Exit.HOST : Exit.EXCEPTION;
  }

  private shadowGen = 0;
  inhibitIrq(): void { this.shadow = true; this.shadowGen++; }

  checkIopl(): number {
    const st = this.st;
    if ((st.cr0 & CR0_PE) === 0n) return Exit.CONTINUE;
    const iopl = Number((st.u64(S.RFLAGS) >> 12n) & 3n);
    return this.cpl > iopl ? this.raise(VEC_GP, 0) : Exit.CONTINUE;
  }
  checkIo(_port: number, _size: number): number {
    // No I/O permission bitmap: IOPL decides (the TSS bitmap is not consulted).
    return this.checkIopl();
  }
  portIn(port: number, size: number): number { return this.host.pio.read(port & 0xffff, size as 1 | 2 | 4); }
  portOut(port: number, size: number, value: number): void { this.host.pio.write(port & 0xffff, size as 1 | 2 | 4, value); }

  hlt(): number {
    // A HLT in an interrupt shadow (STI; HLT) is woken by the next interrupt: the shadow ends here.
    this.shadow = false;
    this.runState = 'halted';
    return Exit.HOST;
  }

  cpuid(): void {
    const st = this.st;
    const r = this.host.cpuid.lookup(this.index, st.gpr32(0), st.gpr32(1), { cr4: st.cr4, xcr0: st.u64(S.XCR0), apicGlobalEnable: this.lapic.hardwareEnabled });
    st.setGpr(0, BigInt(r.eax >>> 0)); st.setGpr(3, BigInt(r.ebx >>> 0));
    st.setGpr(1, BigInt(r.ecx >>> 0)); st.setGpr(2, BigInt(r.edx >>> 0));
  }

  rdtsc(withAux: boolean): number {
    const st = this.st;
    if ((st.cr4 & 4n) !== 0n && this.cpl !== 0) return this.raise(VEC_GP, 0); // CR4.TSD
    const t = this.readTsc();
    st.setGpr(0, t & 0xffffffffn); st.setGpr(2, t >> 32n);
    if (withAux) st.setGpr(1, this.msr.tscAux & 0xffffffffn);
    return Exit.CONTINUE;
  }

  readTscAux(): bigint { return this.msr.tscAux & 0xffffffffn; }

  rdmsr(): number {
    const st = this.st;
    const idx = st.gpr32(1);
    const r = this.msr.read(idx);
    if (!r.ok) return this.raise(VEC_GP, 0);
    st.setGpr(0, r.value & 0xffffffffn); st.setGpr(2, r.value >> 32n);
    return Exit.CONTINUE;
  }

  wrmsr(next: bigint): number {
    const st = this.st;
    const idx = st.gpr32(1);
    const v = (BigInt(st.gpr32(2)) << 32n) | BigInt(st.gpr32(0));
    if (idx === MSR_EFER) {
      // LMA is owned by the CPU (set when paging turns on with LME), keep it.
      const lma = st.efer & EFER_LMA;
      const r = this.msr.write(idx, (v & ~EFER_LMA) | lma);
      if (!r.ok) return this.raise(VEC_GP, 0);
      st.efer = this.msr.efer;
    } else {
      const r = this.msr.write(idx, v);
      if (!r.ok) return this.raise(VEC_GP, 0);
    }
    st.setU64(S.KERNEL_GS_BASE, this.msr.kernelGsBase);
    st.rip = next;
    return Exit.HOST;
  }

  random(size: number): bigint {
    const b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return new DataView(b.buffer).getBigUint64(0, true) & ((1n << BigInt(size * 8)) - 1n);
  }

  ltr(sel: number): number {
    if ((this.st.cr0 & CR0_PE) === 0n) return this.raise(VEC_UD);
    const d = this.readDescriptor(sel);
    if (!d || (sel & ~3) === 0 || (sel & 4)) return this.raise(VEC_GP, sel & 0xfffc);
    const c = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, (this.st.efer & EFER_LMA) !== 0n);
    const type = c.attr & 0xf;
    if ((c.attr & SegAttr.S) || (type !== 9 && type !== 1)) return this.raise(VEC_GP, sel & 0xfffc);
    if ((c.attr & SegAttr.P) === 0) return this.raise(VEC_NP, sel & 0xfffc);
    c.attr |= 2; // busy
    this.mmu.write(d.addr + 5n, 1, BigInt(c.attr & 0xff), 0);
    this.st.setSeg(7, c);
    return Exit.CONTINUE;
  }
  lldt(sel: number): number {
    if ((this.st.cr0 & CR0_PE) === 0n) return this.raise(VEC_UD);
    if ((sel & ~3) === 0) { this.st.setSeg(6, { selector: sel, base: 0n, limit: 0, attr: SegAttr.UNUSABLE }); return Exit.CONTINUE; }
    const d = this.readDescriptor(sel);
    if (!d || (sel & 4)) return this.raise(VEC_GP, sel & 0xfffc);
    const c = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, (this.st.efer & EFER_LMA) !== 0n);
    if ((c.attr & SegAttr.S) || (c.attr & 0xf) !== 2) return this.raise(VEC_GP, sel & 0xfffc);
    if ((c.attr & SegAttr.P) === 0) return this.raise(VEC_NP, sel & 0xfffc);
    this.st.setSeg(6, c);
    return Exit.CONTINUE;
  }

  invlpg(lin: bigint): void {
    this.mmu.flushPage(lin);
    Engine.flushJumpCache(this.st.u8, this.base);
  }

  readCr(n: number): bigint | undefined {
    const st = this.st;
    switch (n) {
      case 0: return st.cr0;
      case 2: return st.cr2;
      case 3: return st.cr3;
      case 4: return st.cr4;
      case 8: return BigInt(this.lapic.getCr8());
      default: return undefined;
    }
  }
  writeDr(n: number, v: bigint): void { this.dr[n & 7] = v; }
  readDr(n: number): bigint { return this.dr[n & 7] ?? 0n; }

  /** MOV CRn (SDM Vol. 3 §2.5, §9.8.5 for IA-32e activation). */
  movToCr(n: number, v: bigint, next: bigint): number {
    const st = this.st;
    switch (n) {
      case 0: {
        if (this.mode === 64 && (v >> 32n) !== 0n) return this.raise(VEC_GP, 0);
        v &= 0xffffffffn;
        v |= CR0_ET;
        if ((v & CR0_PG) && !(v & CR0_PE)) return this.raise(VEC_GP, 0);
        const old = st.cr0;
        if ((v & CR0_PG) && !(old & CR0_PG) && (st.efer & EFER_LME)) {
          if (!(st.cr4 & CR4_PAE)) return this.raise(VEC_GP, 0);
          st.efer |= EFER_LMA; this.msr.setLongModeActive(true);
        }
        if (!(v & CR0_PG) && (old & CR0_PG) && (st.efer & EFER_LMA)) {
          if (this.mode === 64) return this.raise(VEC_GP, 0);
          st.efer &= ~EFER_LMA; this.msr.setLongModeActive(false);
        }
        st.cr0 = v;
        if ((old ^ v) & (CR0_PG | CR0_PE | CR0_WP)) this.flushTranslations();
        break;
      }
      case 2: st.cr2 = v; break;
      case 3: {
        if ((st.efer & EFER_LMA) === 0n) v &= 0xffffffffn;
        st.cr3 = (st.cr4 & CR4_PCIDE) ? v & ~(1n << 63n) : v;
        this.flushTranslations();
        break;
      }
      case 4: {
        const old = st.cr4;
        if ((st.efer & EFER_LMA) && !(v & CR4_PAE)) return this.raise(VEC_GP, 0);
        // Bits of features not reported (VME PVI DE TSD MCE PCE UMIP LA57 VMXE SMXE SMEP SMAP PKE...) are reserved;
        // OSXSAVE only with CPUID.01H:ECX.XSAVE (SDM Vol. 3 §2.5).
        const allowed = CR4_PSE | CR4_PAE | CR4_PGE | CR4_OSFXSR | (1n << 10n) | (1n << 3n) | (1n << 2n) | (1n << 6n) | (1n << 8n) | CR4_PCIDE |
          (this.xsaveCaps.xsave ? CR4_OSXSAVE : 0n);
        if (v & ~allowed) return this.raise(VEC_GP, 0);
        st.cr4 = v;
        if ((old ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_PCIDE)) this.flushTranslations();
        break;
      }
      case 8: this.lapic.setCr8(Number(v & 0xfn)); break;
      default: return this.raise(VEC_UD);
    }
    st.rip = next;
    return Exit.HOST;
  }

  flushTranslations(): void {
    this.mmu.flushTlb();
    Engine.flushJumpCache(this.st.u8, this.base);
  }

  /** SYSCALL (AMD APM vol. 3; SDM SYSCALL): long mode only here. */
  syscall(next: bigint): number {
    const st = this.st;
    if ((st.efer & 1n) === 0n || this.mode !== 64) return this.raise(VEC_UD);
    st.setGpr(1, next);
    const fl = this.rflags();
    st.setGpr(11, fl & ~RF);
    this.setRflags(fl & ~(this.msr.fmask & 0xffffffffn) & ~RF);
    const sel = Number((this.msr.star >> 32n) & 0xfffcn);
    this.loadCs(sel, { selector: sel, base: 0n, limit: 0xffffffff, attr: 0x9b | SegAttr.L | SegAttr.G }, 0);
    st.setSeg(2, { selector: (sel + 8) & 0xfffc, base: 0n, limit: 0xffffffff, attr: 0x93 | SegAttr.DB | SegAttr.G });
    st.rip = this.msr.lstar;
    return Exit.HOST;
  }
  sysret(opSize: number): number {
    const st = this.st;
    if ((st.efer & 1n) === 0n || this.mode !== 64) return this.raise(VEC_UD);
    if (this.cpl !== 0) return this.raise(VEC_GP, 0);
    const base = Number((this.msr.star >> 48n) & 0xffffn);
    const r11 = st.gpr(11);
    if (opSize === 64) {
      const sel = ((base + 16) & 0xfffc) | 3;
      this.loadCs(sel, { selector: sel, base: 0n, limit: 0xffffffff, attr: 0xfb | SegAttr.L | SegAttr.G }, 3);
      st.rip = st.gpr(1);
    } else {
      const sel = (base & 0xfffc) | 3;
      this.loadCs(sel, { selector: sel, base: 0n, limit: 0xffffffff, attr: 0xfb | SegAttr.DB | SegAttr.G }, 3);
      st.rip = st.gpr(1) & 0xffffffffn;
    }
    st.setSeg(2, { selector: ((base + 8) & 0xfffc) | 3, base: 0n, limit: 0xffffffff, attr: 0xf3 | SegAttr.DB | SegAttr.G });
    this.setRflags((r11 & 0x3c7fd7n) | 2n);
    return Exit.HOST;
  }

  hypercall(): void {
    const st = this.st;
    const r = kvmHypercall(st.gpr(0), st.gpr(3), st.gpr(1), {
      mem: this.host.memory, cpl: this.cpl,
      tscNow: () => this.readTsc(),
      wallNowNs: () => this.wallNowNs(),
    });
    st.setGpr(0, r);
  }

  fninit(): void {
    const st = this.st;
    st.setU16(S.FCW, 0x37f); st.setU16(S.FSW, 0); st.setU16(S.FTW, 0xffff);
  }

  /** FXSAVE image (SDM Vol. 2 FXSAVE Table 3-53, 64-bit layout; xsave.ts fxsaveImage). */
  fxsave(lin: bigint): number {
    const img = fxsaveImage(this.st);
    const dv = new DataView(img.buffer);
    if (this.mmu.translate(lin, Access.WRITE, this.cpl) < 0 || this.mmu.translate(lin + 511n, Access.WRITE, this.cpl) < 0) return Exit.EXCEPTION;
    for (let i = 0; i < 512; i += 8) {
      if (!this.mmu.write(lin + BigInt(i), 8, dv.getBigUint64(i, true), this.cpl)) return Exit.EXCEPTION;
    }
    return Exit.CONTINUE;
  }
  fxrstor(lin: bigint): number {
    const st = this.st;
    const img = new Uint8Array(512);
    const dv = new DataView(img.buffer);
    for (let i = 0; i < 512; i += 8) {
      const v = this.mmu.read(lin + BigInt(i), 8, this.cpl);
      if (v === undefined) return Exit.EXCEPTION;
      dv.setBigUint64(i, v, true);
    }
    const mx = dv.getUint32(XSAVE_MXCSR, true);
    if (mx & ~MXCSR_MASK) return this.raise(VEC_GP, 0);
    loadX87(st, img);
    st.setU32(S.MXCSR, mx);
    loadXmm(st, img);
    return Exit.CONTINUE;
  }

  // ---- interrupt and exception delivery (SDM Vol. 3 §6.12, §6.14)

  /**
   * Deliver `vector`. kind: 'exception' (fault/trap raised by the CPU, RIP already
   * points where the handler returns), 'soft' (INT n: gate DPL checked),
   * 'hw' (external interrupt / NMI). Returns false if delivery itself faulted
   * and a new exception is pending in EXC_VECTOR.
   */
  deliver(vector: number, error: number, kind: 'exception' | 'soft' | 'soft-exception' | 'hw', _next?: bigint): boolean {
    const st = this.st;
    const ctx = this.ctx;
    this.syncCtx();
    const fl = this.rflags();
    if ((st.cr0 & CR0_PE) === 0n) {
      // Real mode: IVT entry at IDTR.base + 4 * vector (SDM §20.1.4); beyond the IDTR limit: #GP.
      if (vector * 4 + 3 > st.u32(S.IDTR_LIMIT)) { this.raise(VEC_GP, 0); return false; }
      const ent = this.mmu.read(st.u64(S.IDTR_BASE) + BigInt(vector * 4), 4, 0);
      if (ent === undefined) return false;
      if (!push(ctx, fl & 0xffffn, 2) || !push(ctx, BigInt(st.seg(1).selector), 2) || !push(ctx, st.rip & 0xffffn, 2)) return false;
      const sel = Number((ent >> 16n) & 0xffffn);
      const old = st.seg(1);
      this.loadCs(sel, { selector: sel, base: BigInt(sel << 4), limit: old.limit, attr: old.attr }, 0);
      st.rip = ent & 0xffffn;
      this.setRflags(fl & ~(IF | TF | AC | RF));
      return true;
    }
    const long = (st.efer & EFER_LMA) !== 0n;
    const gateSize = long ? 16 : 8;
    const idtLimit = st.u32(S.IDTR_LIMIT);
    const extBit = kind === 'hw' || kind === 'exception' ? 1 : 0;
    if (vector * gateSize + gateSize - 1 > idtLimit) { this.raise(VEC_GP, vector * 8 + 2 + extBit); return false; }
    const gAddr = st.u64(S.IDTR_BASE) + BigInt(vector * gateSize);
    const lo = this.mmu.read(gAddr, 8, 0); if (lo === undefined) return false;
    const hi = long ? this.mmu.read(gAddr + 8n, 8, 0) : 0n; if (hi === undefined) return false;
    const type = Number((lo >> 40n) & 0xfn), dpl = Number((lo >> 45n) & 3n), present = (lo >> 47n) & 1n;
    const okType = long ? type === 0xe || type === 0xf : type === 0xe || type === 0xf || type === 0x6 || type === 0x7;
    if (!okType) { this.raise(VEC_GP, vector * 8 + 2 + extBit); return false; }
    if ((kind === 'soft' || kind === 'soft-exception') && dpl < this.cpl) { this.raise(VEC_GP, vector * 8 + 2); return false; }
    if (!present) { this.raise(VEC_NP, vector * 8 + 2 + extBit); return false; }
    const sel = Number((lo >> 16n) & 0xffffn);
    let off = (lo & 0xffffn) | (((lo >> 48n) & 0xffffn) << 16n);
    if (long) off |= (hi & 0xffffffffn) << 32n;
    const ist = long ? Number((lo >> 32n) & 7n) : 0;
    if ((sel & ~3) === 0) { this.raise(VEC_GP, extBit); return false; }
    const d = this.readDescriptor(sel);
    if (!d) { this.raise(VEC_GP, (sel & 0xfffc) + extBit); return false; }
    const cs = Vcpu.cacheFromDescriptor(sel, d.lo, d.hi, false);
    if ((cs.attr & SegAttr.P) === 0) { this.raise(VEC_NP, (sel & 0xfffc) + extBit); return false; }
    const newDpl = (cs.attr >> SegAttr.DPL_SHIFT) & 3;
    const oldCpl = this.cpl;
    const conforming = (cs.attr & 4) !== 0;
    const targetCpl = conforming ? oldCpl : newDpl;
    const oldSs = st.seg(2).selector, oldRsp = st.gpr(4);
    const oldCs = st.seg(1).selector;
    const retRip = st.rip;
    const hasErr = error >= 0;
    if (long) {
      let rsp = oldRsp;
      const tr = st.seg(7);
      if (ist > 0 || targetCpl < oldCpl) {
        const off64 = ist > 0 ? 0x24 + (ist - 1) * 8 : 4 + targetCpl * 8;
        const v = this.mmu.read(tr.base + BigInt(off64), 8, 0);
        if (v === undefined) return false;
        rsp = v;
      }
      rsp &= ~0xfn;
      const frame = [BigInt(oldSs), oldRsp, fl, BigInt(oldCs), retRip];
      if (hasErr) frame.push(BigInt(error));
      for (const w of frame) {
        rsp = BigInt.asUintN(64, rsp - 8n);
        if (!this.mmu.write(rsp, 8, w & M64, 0)) return false;
      }
      if (targetCpl < oldCpl) st.setSeg(2, { selector: targetCpl, base: 0n, limit: 0, attr: SegAttr.UNUSABLE | (targetCpl << SegAttr.DPL_SHIFT) });
      this.loadCs(sel, cs, targetCpl);
      st.setGpr(4, rsp);
      st.rip = off;
    } else {
      // 32-bit (and 16-bit) gates; privilege change loads SS:ESP from the 32-bit TSS (SDM §7.2.1).
      const g32 = type >= 0xe;
      const w = g32 ? 4 : 2;
      let ssSel = oldSs, esp = oldRsp & 0xffffffffn;
      const tr = st.seg(7);
      const frame: bigint[] = [];
      if (targetCpl < oldCpl) {
        const e = this.mmu.read(tr.base + BigInt(4 + targetCpl * 8), 4, 0);
        const s = this.mmu.read(tr.base + BigInt(8 + targetCpl * 8), 2, 0);
        if (e === undefined || s === undefined) return false;
        const r = this.loadSeg(2, Number(s)); if (r !== Exit.CONTINUE) return false;
        ssSel = Number(s); esp = e;
        frame.push(BigInt(oldSs), oldRsp & 0xffffffffn);
      }
      frame.push(fl, BigInt(oldCs), retRip);
      if (hasErr) frame.push(BigInt(error));
      const ssBase = st.segBase(2);
      for (const x of frame) {
        esp = (esp - BigInt(w)) & 0xffffffffn;
        if (!this.mmu.write((ssBase + esp) & 0xffffffffn, w, x & ((1n << BigInt(8 * w)) - 1n), 0)) return false;
      }
      void ssSel;
      this.loadCs(sel, cs, targetCpl);
      setGprSized(st, 4, (st.segAttr(2) & SegAttr.DB) ? 4 : 2, esp);
      st.rip = off & 0xffffffffn;
    }
    let nf = fl & ~(TF | NT | RF | VM);
    if (type === 0xe || type === 0x6) nf &= ~IF;
    this.setRflags(nf);
    return true;
  }

  /** Deliver the exception left in EXC_VECTOR by a helper, with double/triple-fault escalation. */
  deliverPending(): 'ok' | 'triple' {
    const st = this.st;
    let vector = st.i32(S.EXC_VECTOR);
    let error = st.i32(S.EXC_ERROR);
    st.setU32(S.EXC_VECTOR, 0xffffffff);
    let first = -1;
    for (let depth = 0; depth < 3; depth++) {
      if (vector < 0) return 'ok';
      const saveRip = st.rip, saveRsp = st.gpr(4);
      if (this.deliver(vector, error, 'exception')) return 'ok';
      // Delivery faulted: classify (SDM Table 6-5).
      const second = st.i32(S.EXC_VECTOR);
      st.setU32(S.EXC_VECTOR, 0xffffffff);
      st.rip = saveRip; st.setGpr(4, saveRsp);
      if (vector === VEC_DF) return 'triple';
      const firstC = CONTRIBUTORY.has(vector), secondC = CONTRIBUTORY.has(second);
      if ((firstC && secondC) || (vector === VEC_PF && (secondC || second === VEC_PF))) {
        first = vector; vector = VEC_DF; error = 0;
      } else {
        vector = second; error = st.i32(S.EXC_ERROR);
      }
    }
    void first;
    return 'triple';
  }

  /** Check for and deliver an external interrupt / NMI / INIT / SIPI. */
  checkEvents(): void {
    const l = this.lapic;
    if (l.initPending && this.index !== 0) {
      l.takeInit();
      this.resetArch();
      this.runState = 'wait-sipi';
    }
    if (l.sipiVector !== undefined) {
      const v = l.takeSipi()!;
      if (this.runState === 'wait-sipi') {
        const st = this.st;
        st.setSeg(1, { selector: v << 8, base: BigInt(v << 12), limit: 0xffff, attr: 0x9b });
        st.rip = 0n;
        Engine.flushJumpCache(st.u8, this.base);
        this.runState = 'running';
      }
    }
    if (this.runState === 'wait-sipi' || this.runState === 'stopped') return;
    if (this.shadow) return;
    if (l.nmiPending && !this.nmiBlocked) {
      l.takeNmi();
      this.nmiBlocked = true;
      this.runState = 'running';
      if (!this.deliver(2, -1, 'hw')) this.deliverPending();
      return;
    }
    if ((this.st.u64(S.RFLAGS) & IF) !== 0n && l.getPendingVector() >= 0) {
      const v = l.acknowledge();
      this.runState = 'running';
      if (!this.deliver(v, -1, 'hw')) this.deliverPending();
    }
  }

  /**
   * Run up to `budget` instructions (approximately: blocks are charged whole).
   * Returns why it stopped.
   */
  /** The next dispatcher run executes only the block at a breakpoint being resumed over. */
  private bpStep = false;
  /** Set when the vCPU stopped at a breakpoint: the next arrival at that RIP executes it. */
  private resumeOverBp: bigint | undefined;
  /** Why the last run() returned 'debug'. */
  debugStop: { reason: 'breakpoint' | 'single-step' | 'watchpoint'; address: bigint; dataAddress?: bigint } | undefined;

  run(budget: number): 'budget' | 'halted' | 'triple' | 'error' | 'wait' | 'debug' {
    const st = this.st;
    const core = this.engine.core;
    let left = budget;
    const stepping = this.engine.stepping;
    let lastCode: number = Exit.CONTINUE;
    while (left > 0) {
      // Resample guest time, except right after a translation miss: translating is invisible to the
      // guest, so the instructions around the miss see one instant (no jump between two RDTSCs).
      if (lastCode !== Exit.MISS) { this.timeSample = undefined; this.timeSample = this.liveNow(); }
      this.lapic.tick(this.guestNow());
      this.checkEvents();
      if (this.runState === 'halted') return 'halted';
      if (this.runState !== 'running') return 'wait';
      // In an interrupt shadow exactly one block (the next instruction's) runs before events are checked
      // again; the shadow ends only once that block has really run (not on a translation miss).
      const inShadow = this.shadow;
      const shadowGen = this.shadowGen;
      const chunk = inShadow || stepping || this.bpStep ? 1 : left;
      st.setU32(S.BUDGET, chunk);
      st.setU32(S.MODE_KEY, this.modeKey());
      const watching = this.mmu.watch !== undefined;
      if (watching) this.mmu.watchArmed = true;
      const code = core.run(this.base);
      if (watching) this.mmu.watchArmed = false;
      lastCode = code;
      this.exits++;
      if (inShadow && code !== Exit.MISS && this.shadowGen === shadowGen) this.shadow = false;
      if (this.bpStep && code !== Exit.MISS) { this.bpStep = false; Engine.flushJumpCache(st.u8, this.base); }
      const used = chunk - st.i32(S.BUDGET);
      left -= Math.max(used, 1);
      this.instructions += BigInt(Math.max(used, 0));
      switch (code) {
        case Exit.BUDGET: case Exit.CONTINUE: break;
        case Exit.HOT: this.translate(true); break;
        case Exit.MISS: {
          this.interpretedInsns = 0;
          const t = this.translate();
          if (t === 'debug') return 'debug';
          if (!t) return 'triple';
          left -= this.interpretedInsns;
          break;
        }
        case Exit.EXCEPTION:
          if (watching && st.i32(S.EXC_VECTOR) === WATCH_VECTOR) {
            const w = this.completeWatchedInsn();
            if (w !== 'ok') return w;
            break;
          }
          if (this.deliverPending() === 'triple') return 'triple';
          break;
        case Exit.HOST: if ((this.runState as VcpuRunState) === 'halted') return 'halted'; break;
        case Exit.SLOW: {
          this.tlbMisses++;
          if (watching) this.mmu.watchArmed = true;
          const c = this.executeOne();
          if (watching) this.mmu.watchArmed = false;
          if (c === Exit.EXCEPTION) {
            if (watching && st.i32(S.EXC_VECTOR) === WATCH_VECTOR) {
              const w = this.completeWatchedInsn();
              if (w !== 'ok') return w;
            } else if (this.deliverPending() === 'triple') return 'triple';
          } else if (c === Exit.HOST && (this.runState as VcpuRunState) === 'halted') return 'halted';
          break;
        }
        default: this.lastError = `unknown exit ${code}`; return 'error';
      }
      // (A slow memory access or a fault leaves the block before its instruction, budget given back: the
      // instruction ran in executeOne, or the exception was delivered.)
      if (stepping && code !== Exit.MISS && (used > 0 || code === Exit.SLOW || code === Exit.EXCEPTION)) {
        this.debugStop = { reason: 'single-step', address: st.rip };
        return 'debug';
      }
    }
    return 'budget';
  }

  /**
   * A watchpoint hit aborted the instruction at RIP (WATCH_VECTOR, like a
   * fault: nothing of it is committed). Execute that one instruction with
   * watchpoint checks off, then stop: data breakpoints are traps, reported
   * with RIP after the access (SDM Vol. 3 §18.2.4.1). If the instruction
   * faults elsewhere it never completed: the fault is delivered, no stop.
   */
  private completeWatchedInsn(): 'ok' | 'debug' | 'triple' {
    const st = this.st;
    st.setU32(S.EXC_VECTOR, 0xffffffff);
    const dataAddress = this.mmu.watchHit ?? 0n;
    this.mmu.watchHit = undefined;
    if (this.executeOne() === Exit.EXCEPTION) return this.deliverPending() === 'triple' ? 'triple' : 'ok';
    const rip = st.rip;
    this.debugStop = { reason: 'watchpoint', address: this.mode === 64 ? rip : (rip + st.segBase(1)) & 0xffffffffn, dataAddress };
    return 'debug';
  }

  /**
   * Execute the instruction at RIP in the executor, which takes the full
   * MMU path (page walk, TLB fill, MMIO, self-modifying stores, watchpoints
   * when armed): translated code left before it (Exit.SLOW: its memory access
   * missed the inline TLB, crosses a page or is not RAM), or a watchpoint
   * aborted it. Returns the executor's exit code.
   */
  private executeOne(): number {
    const st = this.st;
    this.syncCtx();
    const mode = this.mode;
    const rip = st.rip;
    const lin = mode === 64 ? rip : (rip + st.segBase(1)) & 0xffffffffn;
    const fetched = this.mmu.fetch(lin, 15, this.cpl);
    let code: number;
    if (!fetched) code = Exit.EXCEPTION;
    else {
      const insn = this.slowInsn;
      const n = decodeInto(insn, fetched.bytes, 0, fetched.bytes.length, mode, this.engine.features);
      code = n < 0 ? this.raise(VEC_UD) : Vcpu.makeHelper(insn, rip)(this);
    }
    if (code !== Exit.EXCEPTION) this.instructions++;
    return code;
  }
  private readonly slowInsn = new Instruction();

  /** Instructions the last MISS ran in the interpreter (run() charges them to the slice). */
  private interpretedInsns = 0;

  /**
   * Run a decoded block (starting at RIP) in the executor, one instruction at
   * a time, as translated code would: stop at a fault (delivered here), at an
   * exit to the run loop, or when RIP leaves the straight line. Returns false
   * on triple fault.
   */
  private interpretBlock(insns: readonly Instruction[], rip: bigint, code: Uint8Array, startOff: number, gpas: readonly number[]): boolean {
    const st = this.st;
    const mem = this.host.memory;
    // The block was decoded before it ran: an instruction of it may rewrite a later one (self-modifying
    // code; the page need not hold translations, so no invalidation tells us). Before each later
    // instruction, check its bytes are still those decoded, else leave and decode afresh.
    const views = gpas.map((g, i) => mem.view(g, i === 0 ? Math.min(4096, code.length) : code.length - 4096));
    const unchanged = (off: number, len: number): boolean => {
      for (let i = 0; i < len; i++) {
        const o = off + i;
        if (views[o >> 12]?.[o & 0xfff] !== code[o]) return false;
      }
      return true;
    };
    let r = rip;
    let off = startOff;
    for (const insn of insns) {
      if (off !== startOff && !unchanged(off, insn.length)) break;
      off += insn.length;
      const next = BigInt.asUintN(this.mode === 64 ? 64 : 32, r + BigInt(insn.length));
      st.rip = r;
      const code = Vcpu.makeHelper(insn, r)(this);
      if (code === Exit.EXCEPTION) return this.deliverPending() !== 'triple';
      this.instructions++;
      this.interpretedInsns++;
      if (code !== Exit.CONTINUE || st.rip !== next) break;
      r = next;
    }
    return true;
  }

  /** Translate the block at CS:RIP (or raise the fetch fault). Returns false on triple fault. */
  translate(hot = false): boolean | 'debug' {
    const st = this.st;
    this.syncCtx();
    const mode = this.mode, cpl = this.cpl;
    const rip = st.rip;
    const lin = mode === 64 ? rip : (rip + st.segBase(1)) & 0xffffffffn;
    const bps = this.engine.breakpoints;
    if (hot && (bps.size > 0 || this.engine.stepping)) hot = false; // debugging: blocks stay single (just reinstall)
    const atBp = bps.size > 0 && bps.has(lin);
    if (atBp) {
      if (this.resumeOverBp !== lin) {
        this.resumeOverBp = lin;
        this.debugStop = { reason: 'breakpoint', address: lin };
        return 'debug';
      }
      this.resumeOverBp = undefined;
    }
    // Fetch the whole page (and up to 15 bytes of the next) so that a batch can include other blocks of the page.
    const pageLin = lin & ~0xfffn;
    const startOff = Number(lin & 0xfffn);
    const fetched = this.mmu.fetch(pageLin, 4096 + 15, cpl);
    if (!fetched || fetched.bytes.length <= startOff) {
      if (fetched) this.raise(VEC_UD); // executing from MMIO / non-RAM: not supported
      else {
        // The fetch fault of the page itself: report it for the faulting address (CR2 = RIP's linear address).
        this.st.setU32(S.EXC_VECTOR, 0xffffffff);
        if (this.mmu.translate(lin, Access.FETCH, cpl) >= 0) this.raise(VEC_UD);
      }
      return this.deliverPending() !== 'triple';
    }
    const wasmPages = fetched.gpas.map((g) => this.mmu.wasmAddr(g, 1) >>> 12);
    const modeKey = this.modeKey();
    const csBase = st.segBase(1);
    const key = blockKey(fetched.gpas[0]!, rip, modeKey, csBase);
    let blk = this.engine.cache.get(key);
    const eng = this.engine;
    // (-d in_asm/exec log translated blocks: with logging on, every block is translated as before.)
    const mayInterpret = eng.interpretFirst && eng.onTranslate === undefined && !atBp && bps.size === 0 && !eng.stepping &&
      !this.shadow && !this.bpStep && this.mmu.watch === undefined;
    if (!blk && !hot && mayInterpret) {
      const interpret = (): boolean | undefined => {
        const insns = eng.decodeBlock(fetched.bytes, startOff, mode, key);
        return insns.length > 0 ? this.interpretBlock(insns, rip, fetched.bytes, startOff, fetched.gpas) : undefined;
      };
      const seen = eng.interpreted.get(key) ?? 0;
      if (seen < eng.interpretLimit) {
        eng.interpreted.set(key, seen + 1);
        const done = interpret();
        if (done !== undefined) return done;
      } else if (!eng.isWaiting(key)) {
        // Reached again: queue its translation with others (one module for several), run it once more here.
        const full = eng.translateLater(key, {
          key, rip, startOff, gpas: fetched.gpas, codeLength: fetched.bytes.length, wasmPages, mode, cpl, modeKey, csBase,
        });
        if (!full) {
          const done = interpret();
          if (done !== undefined) return done;
        }
      }
      // Queue full, or reached a third time while waiting: translate everything waiting now.
      eng.translateWaiting((insn, irip) => Vcpu.makeHelper(insn, irip));
      blk = eng.cache.get(key);
    }
    // Exit.HOT: the block (translated, in the jump cache) was dispatched to often; form a region around it.
    if (hot && (!blk || blk.hot || atBp)) hot = false;
    if (!blk || hot) {
      const r = this.engine.compile(rip, startOff, fetched.bytes, fetched.gpas[0]!, wasmPages, mode, cpl, modeKey, csBase, (insn, irip) => Vcpu.makeHelper(insn, irip), hot);
      if ('fail' in r && blk) { this.engine.installJump(this.base, rip, modeKey, blk); return true; }
      if ('fail' in r) {
        if (r.fail === 'more') {
          // The instruction continues on a page that did not translate: the fetch fault (#PF with CR2 = next page).
          const nextPage = pageLin + 4096n;
          if (this.mmu.translate(nextPage, Access.FETCH, cpl) >= 0) this.raise(VEC_UD);
        } else this.raise(r.fail === 'gp' ? VEC_GP : VEC_UD, r.fail === 'gp' ? 0 : -1);
        return this.deliverPending() !== 'triple';
      }
      blk = r;
    }
    // A block at a breakpoint stays out of the jump cache: every arrival comes back here.
    // At a breakpoint being resumed over: run exactly this block, then drop it from the jump cache again.
    this.engine.installJump(this.base, rip, this.modeKey(), blk);
    if (atBp) this.bpStep = true;
    return true;
  }
}

void CR0_EM; void CR0_MP; void CR0_TS; void CR4_OSFXSR; void VEC_TS; void VEC_PF; void SEG_BYTES; void SEGF_BASE; void statusFlags; void F_CF;

function maxBig(a: bigint, b: bigint): bigint { return a > b ? a : b; }
