/**
 * The KVM accelerator: vCPUs run in the kernel, one native thread per vCPU
 * (kvm-bindings-napi), with the split irqchip (in-kernel LAPIC, our IOAPICs)
 * and every port/MMIO exit handed to the machine's buses on the main thread.
 *
 * Lifecycle per vCPU, as this class tracks it:
 *   parked --resume()--> running --exit needing the device model--> (main
 *   thread handles it, thread resumes) --pause()--> parked
 *   running --triple fault / debug / internal error--> held (onStop called;
 *   the vCPU stays out of KVM_RUN until resume()).
 * vCPU ioctls (state, debug) are only issued while a vCPU is out of KVM_RUN:
 * KVM serialises them with KVM_RUN, so issuing one against a running vCPU
 * would block the event loop.
 */
import {
  AccelError, type Accelerator, type AcceleratorDebug, type AcceleratorHost, type AcceleratorSnapshot, type StopReason, type VcpuState,
} from '../accel/types.js';
import type { CpuidResult } from '../cpu/cpuid.js';
import type { InterruptMessage } from '../devices/irq.js';
import type { AccessSize } from '../memory/bus.js';
import {
  KVM, KVM_CAP, KVM_GUESTDBG, KVM_INTERNAL_ERROR, KVM_MP_STATE, KVM_SYSTEM_EVENT, RUN, SIZEOF,
  decodeCpuid2, decodeExit, decodeFpu, decodeMsrs, encodeFpu, decodeRegs, decodeSregs, decodeTranslation, encodeCpuid2,
  encodeEnableCap, encodeGuestDebug, encodeMpState, encodeMsi, encodeMsiRouting, encodeMsrs, encodeRegs,
  encodeResetFpu, encodeSregs, encodeTranslation, type CpuidEntry2, type KvmExit, type MsiAddressData,
} from './abi.js';
import { checkKvm, DEFAULT_KVM_PATH, openKvm } from './availability.js';
import { loadKvmBindings, type KvmBindings, type VcpuThread } from './bindings.js';
import { buildKvmCpuid, KVM_CPUID_FEATURES, KVM_FEATURE_CLOCKSOURCE, KVM_FEATURE_CLOCKSOURCE2 } from './cpuid.js';
import { encodeDebugRegs, MAX_HW_SLOTS, validHwSlot, type HwSlot } from './debugregs.js';
import { composeMsi, MSI_DATA_LEVEL_ASSERT } from './msi.js';
import {
  powerOnState, regsFromKvm, regsToKvm, resetLapicRegs, RESET_MSRS, SAVED_MSRS, sregsFromKvm, sregsToKvm,
} from './state.js';

export { kvmAvailability, type KvmAvailability } from './availability.js';

export interface KvmAcceleratorOptions {
  /** Default /dev/kvm. */
  devicePath?: string;
  /**
   * Report invariant TSC (QEMU `-cpu ...,invtsc=on`). Default: what the
   * machine's CpuidPolicy (`host.cpuid`) reports in CPUID.80000007H:EDX[8].
   */
  invtsc?: boolean;
  /**
   * Report kvmclock (QEMU `kvmclock=on`). Default: what `host.cpuid` reports
   * in CPUID.40000001H:EAX (CLOCKSOURCE or CLOCKSOURCE2).
   */
  kvmclock?: boolean;
  /**
   * Clear CPUID feature bits this function does not report (a named `-cpu`
   * model). Unset = `-cpu host`: everything KVM supports.
   */
  featureMask?: (leaf: number, subleaf: number) => CpuidResult;
  /** IOAPIC pins reserved in the split irqchip (GSI routes for EOI exits). Default 48 (two IOAPICs). */
  ioapicPins?: number;
  /** Warnings (features KVM cannot provide); default: ignored. */
  onWarning?: (message: string) => void;
}

/**
 * Options from `-cpu MODEL,feat=on|off,...` (MachineConfig.cpu) when no
 * CpuidPolicy is at hand: `invtsc` and `kvmclock` switch the corresponding
 * reports (QEMU defaults: off, on); the other features are KVM's.
 */
export function kvmOptionsFromCpuConfig(cpu: { model: string; features: Record<string, boolean> }): KvmAcceleratorOptions {
  return { invtsc: cpu.features['invtsc'] ?? false, kvmclock: cpu.features['kvmclock'] ?? true };
}

type VcpuRunState = 'parked' | 'running' | 'held';

interface Vcpu {
  index: number;
  fd: number;
  thread: VcpuThread;
  run: DataView;
  runBytes: Uint8Array;
  state: VcpuRunState;
  /** Resolvers of a pending pause(). */
  pauseWaiters: Array<() => void>;
  cpuid: CpuidEntry2[];
}

/** TSS and identity-map pages for VMX real-mode support, in the hole below 4 GiB (as QEMU). */
const IDENTITY_MAP_ADDR = 0xfeffc000;
const TSS_ADDR = 0xfeffd000;


export class KvmAccelerator implements Accelerator {
  readonly name = 'kvm' as const;
  readonly debug: AcceleratorDebug;
  /** Supported CPUID as KVM reported it (for diagnostics). */
  supportedCpuid: CpuidEntry2[] = [];
  tscKhz = 0;
  readonly warnings: string[] = [];

  private b!: KvmBindings;
  private host!: AcceleratorHost;
  private kvmFd = -1;
  private vmFd = -1;
  private vcpus: Vcpu[] = [];
  private readonly opts: Required<Pick<KvmAcceleratorOptions, 'devicePath' | 'ioapicPins'>> & Omit<KvmAcceleratorOptions, 'devicePath' | 'ioapicPins'>;
  private destroyed = false;
  /** Level-triggered MSI routes at GSIs < ioapicPins, so the kernel exits on their EOI. */
  private routes: Array<{ key: string; gsi: number } & MsiAddressData> = [];
  private nextRouteGsi = 0;
  private hasGuestDebug = false;
  private hasKvmclockCtrl = false;
  private debugState = { singleStep: new Set<number>(), swBreakpoints: new Set<bigint>(), hw: [] as HwSlot[], dirty: false };
  /** Counters for the curious (and tests). */
  readonly stats = { exits: 0, ioExits: 0, mmioExits: 0, eoiExits: 0, msis: 0, msiErrors: 0 };

  constructor(options: KvmAcceleratorOptions = {}) {
    this.opts = {
      ...options,
      devicePath: options.devicePath ?? DEFAULT_KVM_PATH,
      ioapicPins: options.ioapicPins ?? 48,
    };
    this.debug = this.makeDebug();
  }

  // ---- Accelerator ----

  async init(host: AcceleratorHost): Promise<void> {
    const loaded = loadKvmBindings();
    if (!loaded.ok) throw new AccelError('KVM_UNAVAILABLE', loaded.reason);
    this.b = loaded.bindings;
    this.host = host;
    const path = this.opts.devicePath;
    this.kvmFd = openKvm(this.b, path);
    try {
      checkKvm(this.b, this.kvmFd, path);
      const maxVcpus = this.b.ioctl(this.kvmFd, KVM.CHECK_EXTENSION, KVM_CAP.MAX_VCPUS) || this.b.ioctl(this.kvmFd, KVM.CHECK_EXTENSION, KVM_CAP.NR_VCPUS) || 4;
      if (host.cpuCount < 1 || host.cpuCount > Math.min(maxVcpus, 255)) {
        throw new AccelError('KVM_CAP_MISSING', `KVM supports at most ${Math.min(maxVcpus, 255)} vCPUs, ${host.cpuCount} requested`);
      }
      this.hasGuestDebug = this.b.ioctl(this.kvmFd, KVM.CHECK_EXTENSION, KVM_CAP.SET_GUEST_DEBUG) > 0;
      this.hasKvmclockCtrl = this.b.ioctl(this.kvmFd, KVM.CHECK_EXTENSION, KVM_CAP.KVMCLOCK_CTRL) > 0;
      const tscDeadline = this.b.ioctl(this.kvmFd, KVM.CHECK_EXTENSION, KVM_CAP.TSC_DEADLINE_TIMER) > 0;
      const hasTscKhz = this.b.ioctl(this.kvmFd, KVM.CHECK_EXTENSION, KVM_CAP.GET_TSC_KHZ) > 0;
      this.supportedCpuid = this.getSupportedCpuid();
      const policy = (leaf: number): CpuidResult | undefined => this.tryIoctl(() => host.cpuid.lookup(0, leaf, 0));
      const invtsc = this.opts.invtsc ?? (((policy(0x80000007)?.edx ?? 0) >>> 8) & 1) === 1;
      const kvmclock = this.opts.kvmclock ?? ((policy(KVM_CPUID_FEATURES)?.eax ?? 0) & (KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2)) !== 0;

      this.vmFd = this.call('KVM_CREATE_VM', () => this.b.ioctl(this.kvmFd, KVM.CREATE_VM, 0));
      this.mapMemory();
      // VMX without unrestricted guest emulates real mode through these pages;
      // harmless elsewhere, and some KVMs (PVM) refuse them: not fatal.
      this.tryIoctl(() => this.b.ioctlBuffer(this.vmFd, KVM.SET_IDENTITY_MAP_ADDR, u64(BigInt(IDENTITY_MAP_ADDR))));
      this.tryIoctl(() => this.b.ioctl(this.vmFd, KVM.SET_TSS_ADDR, TSS_ADDR));
      // Split irqchip: LAPICs in the kernel, IOAPICs ours; args[0] = pins whose
      // GSI routes drive EOI exits (api.rst 7.8 KVM_CAP_SPLIT_IRQCHIP).
      this.call('KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)', () =>
        this.b.ioctlBuffer(this.vmFd, KVM.ENABLE_CAP, encodeEnableCap(KVM_CAP.SPLIT_IRQCHIP, [BigInt(this.opts.ioapicPins)])));

      const mmapSize = this.call('KVM_GET_VCPU_MMAP_SIZE', () => this.b.ioctl(this.kvmFd, KVM.GET_VCPU_MMAP_SIZE));
      for (let i = 0; i < host.cpuCount; i++) {
        const fd = this.call(`KVM_CREATE_VCPU(${i})`, () => this.b.ioctl(this.vmFd, KVM.CREATE_VCPU, i));
        if (i === 0) {
          this.tscKhz = hasTscKhz ? this.tryIoctl(() => this.b.ioctl(fd, KVM.GET_TSC_KHZ)) ?? 0 : 0;
          if (this.tscKhz <= 0) this.tscKhz = host.cpuid.tscKhz;
        }
        const built = buildKvmCpuid(this.supportedCpuid, {
          cpu: i, cpuCount: host.cpuCount, tscKhz: this.tscKhz, kvmclock, invtsc, tscDeadline,
          ...(this.opts.featureMask ? { featureMask: this.opts.featureMask } : {}),
        });
        if (i === 0) for (const w of built.warnings) this.warn(w);
        this.call(`KVM_SET_CPUID2(${i})`, () => this.b.ioctlBuffer(fd, KVM.SET_CPUID2, encodeCpuid2(built.entries)));
        if (i === 0) this.checkCpuidApplied(fd, built.entries);
        const index = i;
        const thread = new this.b.VcpuThread(fd, mmapSize, (kind, errno) => this.onEvent(index, kind, errno));
        const runBytes = new Uint8Array(thread.run);
        this.vcpus.push({
          index: i, fd, thread, run: new DataView(thread.run), runBytes, state: 'parked', pauseWaiters: [], cpuid: built.entries,
        });
        this.call(`KVM_SET_FPU(${i})`, () => this.b.ioctlBuffer(fd, KVM.SET_FPU, encodeResetFpu()));
      }
      this.setRoutes();
    } catch (e) {
      await this.destroy();
      throw e;
    }
  }

  setState(cpu: number, state: VcpuState): void {
    const v = this.stoppedVcpu(cpu, 'setState');
    const current = decodeSregs(this.getBuffer(v.fd, KVM.GET_SREGS, SIZEOF.kvm_sregs, 'KVM_GET_SREGS'));
    // A halted vCPU given a new RIP is meant to execute there (a boot state,
    // a debugger's jump): make it runnable, else KVM keeps it asleep until an
    // interrupt. The same RIP (a register write by a debugger) keeps it halted.
    const oldRip = decodeRegs(this.getBuffer(v.fd, KVM.GET_REGS, SIZEOF.kvm_regs, 'KVM_GET_REGS')).rip;
    if (state.regs.rip !== oldRip && this.mpState(cpu) === KVM_MP_STATE.HALTED) {
      this.call('KVM_SET_MP_STATE', () => this.b.ioctlBuffer(v.fd, KVM.SET_MP_STATE, encodeMpState(KVM_MP_STATE.RUNNABLE)));
    }
    this.call('KVM_SET_SREGS', () => this.b.ioctlBuffer(v.fd, KVM.SET_SREGS, encodeSregs(sregsToKvm(state.sregs, current))));
    this.call('KVM_SET_REGS', () => this.b.ioctlBuffer(v.fd, KVM.SET_REGS, encodeRegs(regsToKvm(state.regs))));
    if (state.msrs && state.msrs.size > 0) {
      const entries = [...state.msrs].map(([index, data]) => ({ index, data }));
      const n = this.call('KVM_SET_MSRS', () => this.b.ioctlBuffer(v.fd, KVM.SET_MSRS, encodeMsrs(entries)));
      if (n !== entries.length) {
        throw new AccelError('KVM_IOCTL_FAILED', `KVM_SET_MSRS: KVM refused MSR 0x${entries[n]!.index.toString(16)}`);
      }
    }
  }

  getState(cpu: number): VcpuState {
    const v = this.stoppedVcpu(cpu, 'getState');
    const regs = decodeRegs(this.getBuffer(v.fd, KVM.GET_REGS, SIZEOF.kvm_regs, 'KVM_GET_REGS'));
    const sregs = decodeSregs(this.getBuffer(v.fd, KVM.GET_SREGS, SIZEOF.kvm_sregs, 'KVM_GET_SREGS'));
    const msrs = new Map<number, bigint>();
    // KVM_GET_MSRS stops at the first MSR it does not know: read them one by one.
    for (const index of SAVED_MSRS) {
      const buf = encodeMsrs([{ index, data: 0n }]);
      const n = this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.GET_MSRS, buf));
      if (n === 1) msrs.set(index, decodeMsrs(buf, 1)[0]!.data);
    }
    return { regs: regsFromKvm(regs), sregs: sregsFromKvm(sregs), msrs };
  }

  resume(): void {
    if (this.destroyed) return;
    if (this.debugState.dirty) this.applyDebug();
    for (const v of this.vcpus) {
      if (v.state === 'running') continue;
      v.state = 'running';
      v.thread.ref();
      // A pause requested while this vCPU sat on a stop exit was settled by
      // parking it ('held'): drop it, or the thread would park again at once.
      v.thread.resume(true);
    }
  }

  async pause(): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const v of this.vcpus) {
      if (v.state !== 'running') continue;
      if (v.thread.requestPause()) {
        waits.push(new Promise<void>((resolve) => v.pauseWaiters.push(resolve)));
      } else {
        this.park(v, 'parked');
      }
    }
    await Promise.all(waits);
    // Tell kvmclock guests they were stopped (api.rst KVM_KVMCLOCK_CTRL), so a
    // long pause (a debugger) does not look like a soft lockup. EINVAL when
    // the guest has not enabled kvmclock: ignored.
    if (this.hasKvmclockCtrl && waits.length > 0) {
      for (const v of this.vcpus) {
        // Only vCPUs out of KVM_RUN: a vCPU ioctl waits for KVM_RUN to return.
        if (v.state !== 'running') this.tryIoctl(() => this.b.ioctl(v.fd, KVM.KVMCLOCK_CTRL));
      }
    }
  }

  deliverInterrupt(msg: InterruptMessage): void {
    if (this.vmFd < 0) return;
    // A level-triggered line going low is not a message: the LAPIC has no line state.
    if (msg.triggerLevel && !msg.level) return;
    const m = composeMsi(msg);
    if (msg.triggerLevel) this.ensureEoiRoute(m);
    this.stats.msis++;
    try {
      this.b.ioctlBuffer(this.vmFd, KVM.SIGNAL_MSI, encodeMsi(m));
    } catch {
      // Delivery failures (no such destination) are the guest's business, not ours.
      this.stats.msiErrors++;
    }
  }

  reset(): void {
    for (const v of this.vcpus) {
      this.stoppedVcpu(v.index, 'reset');
      const s = powerOnState(v.index);
      this.call('KVM_SET_VCPU_EVENTS', () => this.b.ioctlBuffer(v.fd, KVM.SET_VCPU_EVENTS, new Uint8Array(SIZEOF.kvm_vcpu_events)));
      const current = decodeSregs(this.getBuffer(v.fd, KVM.GET_SREGS, SIZEOF.kvm_sregs, 'KVM_GET_SREGS'));
      const sregs = sregsToKvm(s.sregs, current);
      sregs.interrupt_bitmap = [0n, 0n, 0n, 0n];
      this.call('KVM_SET_SREGS', () => this.b.ioctlBuffer(v.fd, KVM.SET_SREGS, encodeSregs(sregs)));
      this.call('KVM_SET_REGS', () => this.b.ioctlBuffer(v.fd, KVM.SET_REGS, encodeRegs(regsToKvm(s.regs))));
      this.call('KVM_SET_FPU', () => this.b.ioctlBuffer(v.fd, KVM.SET_FPU, encodeResetFpu()));
      for (const m of RESET_MSRS) this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.SET_MSRS, encodeMsrs([m])));
      const lapic = this.getBuffer(v.fd, KVM.GET_LAPIC, SIZEOF.kvm_lapic_state, 'KVM_GET_LAPIC');
      this.call('KVM_SET_LAPIC', () => this.b.ioctlBuffer(v.fd, KVM.SET_LAPIC, resetLapicRegs(lapic, v.index)));
      const mp = v.index === 0 ? KVM_MP_STATE.RUNNABLE : KVM_MP_STATE.UNINITIALIZED;
      this.call('KVM_SET_MP_STATE', () => this.b.ioctlBuffer(v.fd, KVM.SET_MP_STATE, encodeMpState(mp)));
      v.state = 'parked';
    }
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const v of this.vcpus) {
      v.thread.stop();
      v.thread.unref();
      for (const w of v.pauseWaiters.splice(0)) w();
      this.b.close(v.fd);
    }
    this.vcpus = [];
    if (this.vmFd >= 0) this.b.close(this.vmFd);
    if (this.kvmFd >= 0) this.b.close(this.kvmFd);
    this.vmFd = -1;
    this.kvmFd = -1;
  }

  /**
   * Snapshot of every (stopped) vCPU: registers, MSRs with the TSC, and the
   * raw kvm_fpu, kvm_lapic_state, kvm_vcpu_events and kvm_mp_state blocks
   * (the ioctls' own layouts, api.rst 4.x), as QEMU's migration does for
   * the same ioctls, plus XCR0 and the XSAVE area where KVM offers them
   * (AVX state) and the VM's kvmclock (KVM_GET_CLOCK).
   */
  saveState(): AcceleratorSnapshot {
    const vcpus = this.vcpus.map((v) => {
      const state = this.getState(v.index);
      const tsc = encodeMsrs([{ index: MSR_IA32_TSC, data: 0n }]);
      if (this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.GET_MSRS, tsc)) === 1) state.msrs!.set(MSR_IA32_TSC, decodeMsrs(tsc, 1)[0]!.data);
      // XCR0 and the XSAVE area (AVX upper halves and beyond), where KVM has them.
      const xcrs = new Uint8Array(SIZEOF.kvm_xcrs);
      const xsave = new Uint8Array(SIZEOF.kvm_xsave);
      const haveXsave = this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.GET_XCRS, xcrs)) !== undefined &&
        this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.GET_XSAVE, xsave)) !== undefined;
      return {
        state,
        ...(haveXsave ? { xcrs, xsave } : {}),
        fpu: this.getBuffer(v.fd, KVM.GET_FPU, SIZEOF.kvm_fpu, 'KVM_GET_FPU'),
        lapic: this.getBuffer(v.fd, KVM.GET_LAPIC, SIZEOF.kvm_lapic_state, 'KVM_GET_LAPIC'),
        events: this.getBuffer(v.fd, KVM.GET_VCPU_EVENTS, SIZEOF.kvm_vcpu_events, 'KVM_GET_VCPU_EVENTS'),
        mpState: this.mpState(v.index),
      };
    });
    // The VM's kvmclock, so guest time goes on from here in the restored VM
    // rather than from 0 (as QEMU's kvmclock device migrates it).
    const clock = new Uint8Array(SIZEOF.kvm_clock_data);
    const haveClock = this.tryIoctl(() => this.b.ioctlBuffer(this.vmFd, KVM.GET_CLOCK, clock)) !== undefined;
    return { accel: 'kvm', format: KVM_SNAPSHOT_FORMAT, vcpus, ...(haveClock ? { extra: { clock } } : {}) };
  }

  /** Load a `saveState()` snapshot into these (fresh, stopped) vCPUs. */
  restoreState(snapshot: AcceleratorSnapshot): void {
    if (snapshot.accel !== 'kvm' || snapshot.format !== KVM_SNAPSHOT_FORMAT) {
      throw new AccelError('KVM_IOCTL_FAILED', `not a KVM snapshot (${snapshot.accel}/${snapshot.format})`);
    }
    if (snapshot.vcpus.length !== this.vcpus.length) {
      throw new AccelError('KVM_IOCTL_FAILED', `the snapshot has ${snapshot.vcpus.length} vCPUs, this VM ${this.vcpus.length}`);
    }
    const clock = (snapshot.extra as { clock?: unknown } | undefined)?.clock;
    if (clock instanceof Uint8Array && clock.length === SIZEOF.kvm_clock_data) {
      // Only the clock value: flags 0 (no KVM_CLOCK_REALTIME adjustment for the time spent saved).
      const data = clock.slice();
      new DataView(data.buffer).setUint32(8, 0, true);
      this.tryIoctl(() => this.b.ioctlBuffer(this.vmFd, KVM.SET_CLOCK, data));
    }
    snapshot.vcpus.forEach((raw, i) => {
      const v = this.stoppedVcpu(i, 'restoreState');
      const s = parseKvmVcpuSnapshot(raw, i);
      // Order as QEMU's kvm_arch_put_registers: registers, FPU, LAPIC (timer
      // mode) before the MSRs (TSC first, then the TSC deadline it is relative
      // to), then pending events and the MP state.
      this.setState(i, { regs: s.state.regs, sregs: s.state.sregs });
      this.call('KVM_SET_FPU', () => this.b.ioctlBuffer(v.fd, KVM.SET_FPU, s.fpu));
      if (s.xcrs && s.xsave) {
        // XCR0 first: it says which XSAVE components are valid.
        this.call('KVM_SET_XCRS', () => this.b.ioctlBuffer(v.fd, KVM.SET_XCRS, s.xcrs!));
        this.call('KVM_SET_XSAVE', () => this.b.ioctlBuffer(v.fd, KVM.SET_XSAVE, s.xsave!));
      }
      this.call('KVM_SET_LAPIC', () => this.b.ioctlBuffer(v.fd, KVM.SET_LAPIC, s.lapic));
      const msrs = [...(s.state.msrs ?? new Map<number, bigint>())].sort(([a], [b]) => (a === MSR_IA32_TSC ? -1 : b === MSR_IA32_TSC ? 1 : 0));
      for (const [index, data] of msrs) this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.SET_MSRS, encodeMsrs([{ index, data }])));
      this.call('KVM_SET_VCPU_EVENTS', () => this.b.ioctlBuffer(v.fd, KVM.SET_VCPU_EVENTS, s.events));
      this.call('KVM_SET_MP_STATE', () => this.b.ioctlBuffer(v.fd, KVM.SET_MP_STATE, encodeMpState(s.mpState)));
    });
  }

  /** The CPUID table vCPU `cpu` was given (diagnostics and tests). */
  cpuidOf(cpu: number): readonly CpuidEntry2[] {
    return this.vcpus[cpu]?.cpuid ?? [];
  }

  /** 'parked' | 'running' | 'held' for each vCPU. */
  vcpuStates(): VcpuRunState[] {
    return this.vcpus.map((v) => v.state);
  }

  /** KVM_GET_MP_STATE of a stopped vCPU (0 runnable, 1 uninitialized, 3 halted, ...). */
  mpState(cpu: number): number {
    const v = this.stoppedVcpu(cpu, 'mpState');
    return new DataView(this.getBuffer(v.fd, KVM.GET_MP_STATE, SIZEOF.kvm_mp_state, 'KVM_GET_MP_STATE').buffer).getUint32(0, true);
  }

  // ---- exits ----

  private onEvent(cpu: number, kind: number, errno: number): void {
    const v = this.vcpus[cpu];
    if (!v || this.destroyed) return;
    if (kind === this.b.EVENT_PAUSED) {
      this.park(v, 'parked');
      return;
    }
    if (kind === this.b.EVENT_ERROR) {
      this.park(v, 'held');
      this.host.onStop({ kind: 'internal-error', cpu, message: `KVM_RUN failed: errno ${errno}` });
      return;
    }
    this.stats.exits++;
    const exit = decodeExit(v.run);
    let stop: StopReason | undefined;
    try {
      stop = this.handleExit(v, exit);
    } catch (e) {
      stop = { kind: 'internal-error', cpu, message: `exit handler failed: ${(e as Error).message}` };
    }
    if (stop) {
      this.park(v, 'held');
      this.host.onStop(stop);
      return;
    }
    v.thread.resume();
  }

  /** Handle one exit; a StopReason means the vCPU must stay stopped. */
  private handleExit(v: Vcpu, exit: KvmExit): StopReason | undefined {
    const cpu = v.index;
    switch (exit.kind) {
      case 'io': {
        this.stats.ioExits++;
        // String I/O (INS/OUTS with REP) arrives as `count` items back to back.
        for (let i = 0; i < exit.count; i++) {
          const o = exit.dataOffset + i * exit.size;
          if (exit.write) this.host.pio.write(exit.port, exit.size, readLe(v.run, o, exit.size));
          else writeLe(v.run, o, exit.size, this.host.pio.read(exit.port, exit.size));
        }
        return undefined;
      }
      case 'mmio': {
        this.stats.mmioExits++;
        if (exit.gpa > BigInt(Number.MAX_SAFE_INTEGER)) {
          if (!exit.write) v.runBytes.fill(0xff, RUN.mmio_data, RUN.mmio_data + exit.len);
          return undefined;
        }
        this.mmio(v, Number(exit.gpa), exit.len, exit.write);
        return undefined;
      }
      case 'ioapic-eoi':
        this.stats.eoiExits++;
        this.host.onEoi(exit.vector);
        return undefined;
      case 'hlt':
      case 'intr':
        // With the in-kernel LAPIC the kernel handles HLT; INTR is a signal.
        return undefined;
      case 'shutdown':
        return { kind: 'triple-fault', cpu };
      case 'debug':
        return debugStop(cpu, exit);
      case 'system-event':
        if (exit.type === KVM_SYSTEM_EVENT.RESET) return { kind: 'reset-request', cpu };
        return { kind: 'internal-error', cpu, message: `KVM system event ${exit.type} (${exit.type === KVM_SYSTEM_EVENT.SHUTDOWN ? 'shutdown' : 'crash'})` };
      case 'fail-entry':
        return { kind: 'internal-error', cpu, message: `KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x${exit.reason.toString(16)}` };
      case 'internal-error': {
        const what = exit.suberror === KVM_INTERNAL_ERROR.EMULATION ? 'emulation failure (an instruction KVM cannot emulate)'
          : exit.suberror === KVM_INTERNAL_ERROR.SIMUL_EX ? 'exception while delivering an exception'
            : exit.suberror === KVM_INTERNAL_ERROR.DELIVERY_EV ? 'event delivery failed' : `suberror ${exit.suberror}`;
        return { kind: 'internal-error', cpu, message: `KVM internal error: ${what}${exit.data.length ? ` [${exit.data.map((d) => '0x' + d.toString(16)).join(' ')}]` : ''}` };
      }
      case 'unknown':
        return { kind: 'internal-error', cpu, message: `unhandled KVM exit reason ${exit.reason}` };
      default: {
        const never: never = exit;
        return never;
      }
    }
  }

  /** One MMIO exit: 1/2/4-byte accesses go to the bus as they are; 8 as two 4s; odd sizes bytewise. */
  private mmio(v: Vcpu, gpa: number, len: number, write: boolean): void {
    const bus = this.host.mmio;
    const parts: Array<[number, AccessSize]> = len === 1 || len === 2 || len === 4 ? [[0, len]]
      : len === 8 ? [[0, 4], [4, 4]] : Array.from({ length: len }, (_, i): [number, AccessSize] => [i, 1]);
    for (const [off, size] of parts) {
      const o = RUN.mmio_data + off;
      if (write) bus.write(gpa + off, size, readLe(v.run, o, size));
      else writeLe(v.run, o, size, bus.read(gpa + off, size));
    }
  }

  private park(v: Vcpu, state: 'parked' | 'held'): void {
    v.state = state;
    v.thread.unref();
    for (const w of v.pauseWaiters.splice(0)) w();
  }

  // ---- interrupts ----

  private ensureEoiRoute(m: MsiAddressData): void {
    const key = `${m.addressLo}:${m.addressHi}:${(m.data & ~MSI_DATA_LEVEL_ASSERT) >>> 0}`;
    if (this.routes.some((r) => r.key === key)) return;
    // Reuse GSIs round-robin once all reserved pins are taken.
    const gsi = this.nextRouteGsi;
    this.nextRouteGsi = (this.nextRouteGsi + 1) % this.opts.ioapicPins;
    this.routes = this.routes.filter((r) => r.gsi !== gsi);
    this.routes.push({ key, gsi, addressLo: m.addressLo, addressHi: m.addressHi, data: (m.data & ~MSI_DATA_LEVEL_ASSERT) >>> 0 });
    this.setRoutes();
  }

  private setRoutes(): void {
    this.call('KVM_SET_GSI_ROUTING', () => this.b.ioctlBuffer(this.vmFd, KVM.SET_GSI_ROUTING, encodeMsiRouting(this.routes)));
  }

  // ---- debug ----

  private makeDebug(): AcceleratorDebug {
    return {
      setSingleStep: (cpu, on) => {
        if (on) this.debugState.singleStep.add(cpu); else this.debugState.singleStep.delete(cpu);
        this.markDebugDirty();
      },
      addBreakpoint: (kind, gva) => {
        if (!this.hasGuestDebug) return false;
        if (kind === 'hw') return this.addHwSlot({ kind: 'exec', gva, len: 1 });
        // KVM_GUESTDBG_USE_SW_BP makes #BP exit to us; the stub writes the int3 byte.
        this.debugState.swBreakpoints.add(gva);
        this.markDebugDirty();
        return true;
      },
      removeBreakpoint: (kind, gva) => {
        if (kind === 'hw') return this.removeHwSlot({ kind: 'exec', gva, len: 1 });
        const had = this.debugState.swBreakpoints.delete(gva);
        if (had) this.markDebugDirty();
        return had;
      },
      // x86 has no read-only watchpoint: 'read' watches reads and writes.
      addWatchpoint: (kind, gva, len) =>
        this.hasGuestDebug && this.addHwSlot({ kind: kind === 'write' ? 'write' : 'access', gva, len: len as HwSlot['len'] }),
      removeWatchpoint: (kind, gva, len) =>
        this.removeHwSlot({ kind: kind === 'write' ? 'write' : 'access', gva, len: len as HwSlot['len'] }),
      // KVM_GUESTDBG_USE_SW_BP: #BP exits to us; the caller writes the INT3 byte.
      swBreakpointsInMemory: true,
      getFpu: (cpu) => decodeFpu(this.getBuffer(this.stoppedVcpu(cpu, 'getFpu').fd, KVM.GET_FPU, SIZEOF.kvm_fpu, 'KVM_GET_FPU')),
      setFpu: (cpu, state) => {
        const v = this.stoppedVcpu(cpu, 'setFpu');
        this.call('KVM_SET_FPU', () => this.b.ioctlBuffer(v.fd, KVM.SET_FPU, encodeFpu(state)));
      },
      translate: (cpu, gva) => {
        const v = this.stoppedVcpu(cpu, 'translate');
        const buf = encodeTranslation(gva);
        if (this.tryIoctl(() => this.b.ioctlBuffer(v.fd, KVM.TRANSLATE, buf)) === undefined) return undefined;
        const t = decodeTranslation(buf);
        return t.valid ? t.gpa : undefined;
      },
    };
  }

  private addHwSlot(slot: HwSlot): boolean {
    const hw = this.debugState.hw;
    if (!validHwSlot(slot) || hw.length >= MAX_HW_SLOTS) return false;
    if (hw.some((h) => h.kind === slot.kind && h.gva === slot.gva && h.len === slot.len)) return false;
    hw.push(slot);
    this.markDebugDirty();
    return true;
  }

  private removeHwSlot(slot: HwSlot): boolean {
    const hw = this.debugState.hw;
    const i = hw.findIndex((h) => h.kind === slot.kind && h.gva === slot.gva && h.len === slot.len);
    if (i < 0) return false;
    hw.splice(i, 1);
    this.markDebugDirty();
    return true;
  }

  private markDebugDirty(): void {
    this.debugState.dirty = true;
    // Applied now if every vCPU is out of KVM_RUN, else at the next resume().
    if (this.vcpus.every((v) => v.state !== 'running')) this.applyDebug();
  }

  private applyDebug(): void {
    const d = this.debugState;
    d.dirty = false;
    if (!this.hasGuestDebug) return;
    const dr = encodeDebugRegs(d.hw);
    for (const v of this.vcpus) {
      let control = 0;
      if (d.singleStep.has(v.index)) control |= KVM_GUESTDBG.SINGLESTEP;
      if (d.swBreakpoints.size > 0) control |= KVM_GUESTDBG.USE_SW_BP;
      if (d.hw.length > 0) control |= KVM_GUESTDBG.USE_HW_BP;
      if (control !== 0) control |= KVM_GUESTDBG.ENABLE;
      this.call('KVM_SET_GUEST_DEBUG', () => this.b.ioctlBuffer(v.fd, KVM.SET_GUEST_DEBUG, encodeGuestDebug(control, dr)));
    }
  }

  // ---- helpers ----

  private getSupportedCpuid(): CpuidEntry2[] {
    // api.rst 4.46: E2BIG means "more entries than nent": grow and retry.
    for (let n = 64; n <= 4096; n *= 2) {
      const buf = encodeCpuid2([], n);
      try {
        this.b.ioctlBuffer(this.kvmFd, KVM.GET_SUPPORTED_CPUID, buf);
        return decodeCpuid2(buf);
      } catch (e) {
        if ((e as { code?: string }).code !== 'E2BIG') throw ioctlError('KVM_GET_SUPPORTED_CPUID', e);
      }
    }
    throw new AccelError('KVM_IOCTL_FAILED', 'KVM_GET_SUPPORTED_CPUID: more than 4096 entries');
  }

  /**
   * Read the table back (KVM_GET_CPUID2): some KVMs change it. PVM, for one,
   * puts the host's feature bits into leaves 1 and 7 whatever we set, so the
   * guest sees features KVM_GET_SUPPORTED_CPUID did not report.
   */
  private checkCpuidApplied(fd: number, wanted: readonly CpuidEntry2[]): void {
    const buf = encodeCpuid2([], Math.max(wanted.length, 64));
    if (this.tryIoctl(() => this.b.ioctlBuffer(fd, KVM.GET_CPUID2, buf)) === undefined) return;
    const got = decodeCpuid2(buf);
    const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
    const diffs: string[] = [];
    for (const w of wanted) {
      const g = got.find((e) => e.function === w.function && e.index === w.index);
      if (!g) continue;
      for (const r of ['eax', 'ebx', 'ecx', 'edx'] as const) {
        // Leaf 0xD EBX is the XSAVE area size for the current XCR0: KVM keeps it current.
        if (w.function === 0xd && r === 'ebx') continue;
        if (g[r] !== w[r]) diffs.push(`${hex(w.function)}.${w.index} ${r} ${hex(w[r])} -> ${hex(g[r])}`);
      }
    }
    if (diffs.length > 0) this.warn(`KVM changed the CPUID table the guest sees: ${diffs.join(', ')}`);
  }

  private mapMemory(): void {
    let slot = 0;
    for (const r of this.host.memory.regions) {
      const view = new Uint8Array(r.buffer, r.offset, r.size);
      this.call(`KVM_SET_USER_MEMORY_REGION(slot ${slot}, gpa 0x${r.gpa.toString(16)}, ${r.size} bytes)`, () =>
        this.b.setUserMemoryRegion(this.vmFd, slot, 0, BigInt(r.gpa), view));
      slot++;
    }
  }

  private stoppedVcpu(cpu: number, what: string): Vcpu {
    const v = this.vcpus[cpu];
    if (!v) throw new RangeError(`${what}: no vCPU ${cpu}`);
    if (v.state === 'running') {
      throw new AccelError('KVM_IOCTL_FAILED', `${what}: vCPU ${cpu} is running; pause() first`);
    }
    return v;
  }

  private getBuffer(fd: number, req: number, size: number, what: string): Uint8Array {
    const buf = new Uint8Array(size);
    this.call(what, () => this.b.ioctlBuffer(fd, req, buf));
    return buf;
  }

  private call<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw ioctlError(what, e);
    }
  }

  /** Run `f`, mapping any exception to undefined (optional ioctls, optional policy lookups). */
  private tryIoctl<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch {
      return undefined;
    }
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.opts.onWarning?.(message);
  }
}

function ioctlError(what: string, e: unknown): AccelError {
  if (e instanceof AccelError) return e;
  return new AccelError('KVM_IOCTL_FAILED', `${what} failed: ${(e as Error).message}`);
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

function readLe(dv: DataView, o: number, size: AccessSize): number {
  switch (size) {
    case 1: return dv.getUint8(o);
    case 2: return dv.getUint16(o, true);
    case 4: return dv.getUint32(o, true);
    case 8: return Number(dv.getBigUint64(o, true) & 0xffffffffn);
  }
}

function writeLe(dv: DataView, o: number, size: AccessSize, value: number): void {
  switch (size) {
    case 1: dv.setUint8(o, value & 0xff); break;
    case 2: dv.setUint16(o, value & 0xffff, true); break;
    case 4: dv.setUint32(o, value >>> 0, true); break;
    case 8: dv.setBigUint64(o, BigInt(value >>> 0), true); break;
  }
}

/** DR6 bits (SDM Vol. 3B 19.2.3): B0-B3 = 0..3, BS = 14. */
const DR6_BS = 1n << 14n;

const KVM_SNAPSHOT_FORMAT = 'kvm-1';
const MSR_IA32_TSC = 0x10;

interface KvmVcpuSnapshot {
  state: VcpuState; fpu: Uint8Array; lapic: Uint8Array; events: Uint8Array; mpState: number;
  xcrs?: Uint8Array; xsave?: Uint8Array;
}

/** Check one vCPU of an untrusted snapshot (shapes and block sizes). */
function parseKvmVcpuSnapshot(raw: unknown, i: number): KvmVcpuSnapshot {
  const s = raw as Partial<KvmVcpuSnapshot> | null;
  const bytes = (b: unknown, n: number): b is Uint8Array => b instanceof Uint8Array && b.length === n;
  if (typeof s !== 'object' || s === null || typeof s.state !== 'object' || s.state === null ||
      !Array.isArray(s.state.regs?.gpr) || typeof s.state.sregs !== 'object' ||
      !bytes(s.fpu, SIZEOF.kvm_fpu) || !bytes(s.lapic, SIZEOF.kvm_lapic_state) ||
      !bytes(s.events, SIZEOF.kvm_vcpu_events) || !Number.isInteger(s.mpState) ||
      (s.xcrs !== undefined && !bytes(s.xcrs, SIZEOF.kvm_xcrs)) || (s.xsave !== undefined && !bytes(s.xsave, SIZEOF.kvm_xsave))) {
    throw new AccelError('KVM_IOCTL_FAILED', `snapshot vCPU ${i}: malformed`);
  }
  return s as KvmVcpuSnapshot;
}

export function debugStop(cpu: number, exit: Extract<KvmExit, { kind: 'debug' }>): StopReason {
  if (exit.exception === 3) return { kind: 'debug', cpu, reason: 'breakpoint', address: exit.pc };
  if ((exit.dr6 & DR6_BS) !== 0n) return { kind: 'debug', cpu, reason: 'single-step', address: exit.pc };
  for (let i = 0n; i < 4n; i++) {
    if ((exit.dr6 & (1n << i)) !== 0n) {
      // DR7 R/W field of breakpoint i: 00 = instruction execution.
      const rw = (exit.dr7 >> (16n + 4n * i)) & 3n;
      return { kind: 'debug', cpu, reason: rw === 0n ? 'breakpoint' : 'watchpoint', address: exit.pc };
    }
  }
  return { kind: 'debug', cpu, reason: 'single-step', address: exit.pc };
}
