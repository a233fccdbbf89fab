/**
 * The microvm board: guest RAM, the PIO and MMIO buses, the legacy devices,
 * the interrupt controllers, the boot of the kernel, and an accelerator that
 * runs the vCPUs. Both the CLI and library users drive a machine through
 * this class; nothing here knows whether the JIT or KVM runs the guest.
 */
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Accelerator, AcceleratorHost, StopReason, VcpuState } from '../accel/types.js';
import type { MachineConfig } from './config.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { Bus } from '../memory/bus.js';
import {
  COM1_IRQ, COM1_PORT, IOAPIC0_BASE, IOAPIC1_BASE, IOAPIC_SIZE, LOW_RAM_LIMIT, RTC_IRQ, RTC_PORT,
} from '../memory/layout.js';
import type { InterruptMessage, InterruptSink } from '../devices/irq.js';
import { GsiRouter, Ioapic } from '../devices/ioapic.js';
import { Uart16550 } from '../devices/uart16550.js';
import { DebugExit, debugExitStatus } from '../devices/debug-exit.js';
import { GedRegisters, GED_REGS_BASE, GED_REGS_SIZE, GED_REG_RESET, GED_REG_SLEEP_CTL, GED_REG_SLEEP_STS, GED_RESET_VALUE } from '../devices/ged.js';
import { HostTimeSource, type TimeSource } from '../devices/clock.js';
import { Mc146818Rtc, setMicrovmCmosMemory } from '../devices/rtc-mc146818.js';
import { createCpuidPolicy, type MicrovmCpuidPolicy } from '../cpu/cpuid.js';
import { validateConfig } from './validate.js';
import { MachineLog, MACHINE_LOG_ITEMS } from './log.js';
import { GPR_NAMES } from '../accel/types.js';
import { setupBoot, microvmAcpiOptions, microvmKernelCmdline, microvmVirtioGsi } from '../loader/index.js';
import { createAccelerator } from './accel-select.js';
import { attachVirtioDevices, type VirtioAttachment } from '../virtio/index.js';
import { JIT_RESERVED_BYTES as JIT_RESERVED } from '../cpu/state.js';

/** Why a machine stopped for good. */
export type ExitReason =
  /** The guest wrote to isa-debug-exit; `status` is the process exit status QEMU would end with. */
  | { kind: 'debug-exit'; code: number; status: number }
  /** Triple fault (or reset request) under -no-reboot: QEMU exits with status 0. */
  | { kind: 'triple-fault'; status: 0 }
  /** The guest powered off through the ACPI GED sleep register (S5), as Linux's `poweroff` does. */
  | { kind: 'poweroff'; status: 0 }
  /** The user quit (Ctrl-A x) or the host called stop(). */
  | { kind: 'stopped'; status: 0 }
  /** Something went wrong in the emulator or the accelerator; the guest could not go on. */
  | { kind: 'error'; error: Error; status: 1 };

export type MachineState = 'created' | 'running' | 'paused' | 'exited';

export interface MachineOptions {
  /** Time source for devices (deterministic mode passes a ManualTimeSource). */
  time?: TimeSource;
  /** Where guest serial output goes when no backend is attached yet. */
  onSerialOutput?: (byte: number) => void;
  /** Accelerator instance to use instead of one chosen from config.accel (tests). */
  accelerator?: Accelerator;
}

/** Hooks for `Microvm.start` (the library's snapshots and deterministic mode). */
export interface StartOptions {
  /** Instead of booting the kernel: restore RAM, devices and vCPUs (called once the accelerator is initialized). */
  restore?: (accel: Accelerator) => void;
  /** Called once the accelerator is initialized and the vCPUs set, before the first instruction. */
  beforeRun?: (accel: Accelerator) => void;
}

export class MachineError extends Error {
  override readonly name = 'MachineError';
  constructor(readonly code: 'BAD_STATE' | 'BOOT_FAILED' | 'KERNEL_UNREADABLE', msg: string, options?: { cause?: unknown }) {
    super(msg, options);
  }
}

/**
 * A microvm machine. Lifecycle: `start()` boots it; `pause()`/`resume()`;
 * `reset()` reboots it (as a guest reset would); `stop()` ends it.
 * `exited` resolves exactly once with the reason.
 */
export class Microvm extends EventEmitter {
  readonly memory: GuestMemory;
  readonly pio = new Bus('pio');
  readonly mmio = new Bus('mmio');
  readonly ioapics: Ioapic[] = [];
  readonly gsi: GsiRouter;
  readonly uart: Uart16550 | undefined;
  readonly rtc: Mc146818Rtc | undefined;
  readonly cpuid: MicrovmCpuidPolicy;
  readonly time: TimeSource;
  readonly exited: Promise<ExitReason>;
  /** virtio-mmio transports, NICs and netdevs (`virtio.netdevs.get(id)`). */
  readonly virtio: VirtioAttachment;
  private resolveExit!: (r: ExitReason) => void;
  private accel: Accelerator | undefined;
  private _state: MachineState = 'created';
  /** -d / -D logging, when configured. */
  readonly log: MachineLog | undefined;
  private readonly kernelImage: Uint8Array;
  private readonly initrdImage: Uint8Array | undefined;
  private serialSink: (byte: number) => void;
  /** Indices of virtio-mmio transports with a device (filled by the virtio wiring). */
  private readonly virtioTransports: number[] = [];

  constructor(readonly config: MachineConfig, private readonly opts: MachineOptions = {}) {
    super();
    validateConfig(config);
    this.exited = new Promise((res) => { this.resolveExit = res; });
    this.time = opts.time ?? new HostTimeSource();
    this.kernelImage = readImage(config.kernel, 'kernel');
    this.initrdImage = config.initrd === undefined ? undefined : readImage(config.initrd, 'initrd');
    this.accel = opts.accelerator;
    this.memory = new GuestMemory(config.memory, { reservedBytes: reservedBytesFor(config, opts.accelerator) });
    this.cpuid = createCpuidPolicy({
      model: config.cpu.model, features: config.cpu.features, cpus: config.cpus,
      accel: config.accel === 'kvm' ? 'kvm' : 'jit',
      ...(config.cpu.vendor !== undefined ? { vendor: config.cpu.vendor } : {}),
      ...(config.cpu.tscKhz !== undefined ? { tscKhz: config.cpu.tscKhz } : {}),
      ...(config.cpu.physBits !== undefined ? { physAddrBits: config.cpu.physBits } : {}),
    });
    for (const w of this.cpuid.warnings) queueMicrotask(() => this.emit('warning', w));
    this.serialSink = opts.onSerialOutput ?? (() => {});
    if (config.log) {
      const log = new MachineLog(config.log.items, config.log.file);
      this.log = log;
      if (log.enabled('guest_errors')) {
        // QEMU logs these as "invalid access" under guest_errors.
        for (const bus of [this.pio, this.mmio]) {
          bus.onUnassigned = (addr, size, write, value) => log.write(
            `${bus.kind}: unassigned ${write ? 'write' : 'read'} at 0x${addr.toString(16)} size ${size}${write ? ` value 0x${value.toString(16)}` : ''}`);
        }
      }
    }

    // Interrupt controllers: IOAPIC 0 (GSI 0-23) and, with ioapic2, IOAPIC 1 (GSI 24-47).
    const sink: InterruptSink = { deliver: (msg: InterruptMessage) => this.accel?.deliverInterrupt(msg) };
    this.ioapics.push(new Ioapic(sink, { gsiBase: 0, id: 0 }));
    this.mmio.register(IOAPIC0_BASE, IOAPIC_SIZE, this.ioapics[0]!, 'ioapic0');
    if (config.machine.acpi) {
      // Hardware-reduced ACPI: the FADT points the guest at these for S5 and reset.
      this.mmio.register(GED_REGS_BASE, GED_REGS_SIZE, new GedRegisters({
        poweroff: () => this.finish({ kind: 'poweroff', status: 0 }),
        reset: () => this.onAccelStop({ kind: 'reset-request', cpu: 0 }),
      }), 'ged');
    }
    if (config.machine.ioapic2) {
      this.ioapics.push(new Ioapic(sink, { gsiBase: 24, id: 1 }));
      this.mmio.register(IOAPIC1_BASE, IOAPIC_SIZE, this.ioapics[1]!, 'ioapic1');
    }
    this.gsi = new GsiRouter(this.ioapics);

    // QEMU creates no UART for `-serial none`: port 0x3f8 then reads all ones.
    if (config.machine.isaSerial && config.serial.kind !== 'none') {
      this.uart = new Uart16550(this.gsi.line(COM1_IRQ), (b) => this.serialSink(b), { time: this.time });
      this.pio.register(COM1_PORT, 8, this.uart, 'serial0');
    }
    if (config.machine.rtc) {
      this.rtc = new Mc146818Rtc(this.gsi.line(RTC_IRQ), this.time);
      this.pio.register(RTC_PORT, 2, this.rtc, 'rtc');
      const low = Math.min(config.memory, LOW_RAM_LIMIT);
      setMicrovmCmosMemory(this.rtc, low, config.memory - low);
    }
    for (const dev of config.devices) {
      if (dev.driver === 'isa-debug-exit') {
        const d = new DebugExit((code) => this.finish({ kind: 'debug-exit', code, status: debugExitStatus(code) }),
          { iobase: dev.iobase, iosize: dev.iosize });
        this.pio.register(dev.iobase, dev.iosize, d, 'isa-debug-exit');
      }
    }
    // Last: it opens host resources (sockets, tap), released by `finish`.
    this.virtio = attachVirtioDevices({ memory: this.memory, mmio: this.mmio, gsi: this.gsi, time: this.time }, config);
    this.virtioTransports.push(...this.virtio.transports);
  }

  get state(): MachineState { return this._state; }

  /** The accelerator once `start()` created it (the GDB stub uses its state and debug interface). */
  get accelerator(): Accelerator | undefined { return this.accel; }
  /** The accelerator's instruction count when the machine exited (deterministic runs compare it). */
  finalInstructionCount: bigint | undefined;

  /** The kernel image as loaded (snapshots keep it so a restored machine can reset). */
  get kernelBytes(): Uint8Array { return this.kernelImage; }

  /** The initrd image, if any. */
  get initrdBytes(): Uint8Array | undefined { return this.initrdImage; }

  /** Redirect guest serial output (used by chardev backends and the library's console stream). */
  setSerialOutput(sink: (byte: number) => void): void { this.serialSink = sink; }

  /**
   * Load the kernel, create the accelerator and run. Rejects (and exits) if boot fails.
   * `opts.restore` replaces the boot (snapshots: it fills RAM, devices and the
   * accelerator's state); `opts.beforeRun` sees the initialized accelerator
   * before any guest instruction runs (deterministic mode).
   */
  async start(opts: StartOptions = {}): Promise<void> {
    if (this._state !== 'created') throw new MachineError('BAD_STATE', `start() on a machine that is ${this._state}`);
    const entry = opts.restore ? undefined : this.boot();
    await this.virtio.ready;
    this.accel ??= await createAccelerator(this.config, { cpuid: this.cpuid, onWarning: (w) => this.emit('warning', w) });
    await this.accel.init(this.host());
    this.setUpAcceleratorLogging(this.accel);
    if (opts.restore) opts.restore(this.accel);
    else this.accel.setState(0, entry!);
    opts.beforeRun?.(this.accel);
    if (this.config.startPaused) {
      this._state = 'paused';
    } else {
      this._state = 'running';
      this.accel.resume();
    }
  }

  async pause(): Promise<void> {
    if (this._state !== 'running') return;
    await this.accel!.pause();
    this._state = 'paused';
  }

  resume(): void {
    if (this._state !== 'paused') return;
    this._state = 'running';
    this.accel!.resume();
  }

  /** A full machine reset: devices to power-on state, the kernel reloaded, vCPUs reset (QEMU's system_reset). */
  async reset(): Promise<void> {
    if (this._state === 'exited' || this._state === 'created' || !this.accel) return;
    const wasRunning = this._state === 'running';
    await this.accel.pause();
    this.uart?.reset();
    this.rtc?.reset();
    for (const io of this.ioapics) io.reset();
    this.virtio.reset();
    // As QEMU: RAM keeps its contents over a reset; the kernel image is reloaded.
    this.accel.reset();
    if (this.log?.enabled('cpu_reset')) this.logCpuState('CPU Reset', 0, this.accel.getState(0));
    this.accel.setState(0, this.boot());
    this.emit('reset');
    if (wasRunning) this.accel.resume();
  }

  /** Stop the machine for good; `exited` resolves with `stopped` unless it already exited. */
  async stop(): Promise<ExitReason> {
    this.finish({ kind: 'stopped', status: 0 });
    return this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Write the kernel, boot data and ACPI tables into RAM; returns the BSP's entry state. */
  private boot(): VcpuState {
    try {
      const m = this.config.machine;
      const cpus = this.config.cpus;
      const transports = this.virtioTransports.map((index) => ({ index, gsi: microvmVirtioGsi(index, m.acpi, m.ioapic2) }));
      const leaf1 = this.cpuid.lookup(0, 1, 0);
      const setup = setupBoot(this.kernelImage, this.memory, {
        // With acpi=off, Linux finds the virtio-mmio transports on its command line (as QEMU does).
        cmdline: microvmKernelCmdline(this.config.append ?? '', m.acpi, transports),
        ...(this.initrdImage ? { initrd: this.initrdImage } : {}),
        ...(typeof this.config.kernel === 'string' ? { kernelName: this.config.kernel } : {}),
        ...(typeof this.config.initrd === 'string' ? { initrdName: this.config.initrd } : {}),
        ...(m.acpi ? {
          acpi: {
            ...microvmAcpiOptions({ cpus, ioapic2: m.ioapic2, rtc: m.rtc, isaSerial: m.isaSerial, pic: m.pic, virtioTransports: this.virtioTransports }),
            ged: {
              sleepCtlGpa: GED_REGS_BASE + GED_REG_SLEEP_CTL, sleepStsGpa: GED_REGS_BASE + GED_REG_SLEEP_STS,
              resetGpa: GED_REGS_BASE + GED_REG_RESET, resetValue: GED_RESET_VALUE,
            },
          },
        } : {}),
        // QEMU's firmware (qboot) always writes an MP table; it cannot describe more than 254 CPUs.
        ...(cpus <= 254 ? { mptable: { cpus, cpuSignature: leaf1.eax, cpuFeatures: leaf1.edx } } : {}),
      });
      for (const w of setup.kernel.warnings) this.emit('warning', w);
      return setup.state;
    } catch (e) {
      throw new MachineError('BOOT_FAILED', (e as Error).message, { cause: e });
    }
  }

  private setUpAcceleratorLogging(accel: Accelerator): void {
    const log = this.log;
    if (!log) return;
    const wanted = new Set([...log.items].filter((i) => !MACHINE_LOG_ITEMS.has(i)));
    if (wanted.size === 0) return;
    const unsupported = accel.setLogging ? accel.setLogging(wanted, log.write) : [...wanted];
    for (const item of unsupported) this.emit('warning', `-d ${item}: not implemented by the ${accel.name} accelerator; nothing will be logged for it`);
  }

  private logCpuState(title: string, cpu: number, st: VcpuState): void {
    const hex = (v: bigint): string => v.toString(16).padStart(16, '0');
    const lines = [`${title} (CPU ${cpu})`];
    for (let i = 0; i < 16; i += 4) {
      lines.push(GPR_NAMES.slice(i, i + 4).map((n, j) => `${n.toUpperCase().padEnd(3)}=${hex(st.regs.gpr[i + j] ?? 0n)}`).join(' '));
    }
    lines.push(`RIP=${hex(st.regs.rip)} RFL=${st.regs.rflags.toString(16).padStart(8, '0')}`);
    lines.push(`CR0=${st.sregs.cr0.toString(16)} CR3=${hex(st.sregs.cr3)} CR4=${st.sregs.cr4.toString(16)} EFER=${st.sregs.efer.toString(16)}`);
    this.log?.write(lines.join('\n'));
  }

  private host(): AcceleratorHost {
    return {
      memory: this.memory,
      pio: this.pio,
      mmio: this.mmio,
      cpuid: this.cpuid,
      cpuCount: this.config.cpus,
      onStop: (r) => this.onAccelStop(r),
      onEoi: (vector) => this.gsi.eoi(vector),
      nowNs: () => this.time.nowNs(),
    };
  }

  private onAccelStop(r: StopReason): void {
    switch (r.kind) {
      case 'triple-fault':
      case 'reset-request':
        // QEMU: a triple fault is a reset request; -no-reboot turns it into exit(0).
        if (this.config.noReboot) this.finish({ kind: 'triple-fault', status: 0 });
        else void this.reset().catch((e: unknown) => this.finish({ kind: 'error', error: asError(e), status: 1 }));
        return;
      case 'internal-error':
        this.finish({ kind: 'error', error: new Error(`vCPU ${r.cpu}: ${r.message}`), status: 1 });
        return;
      case 'debug':
      case 'paused':
        this._state = 'paused';
        this.emit('debug-stop', r);
        return;
      default: {
        const never: never = r;
        throw new Error(`unhandled stop ${JSON.stringify(never)}`);
      }
    }
  }

  private finish(reason: ExitReason): void {
    if (this._state === 'exited') return;
    this._state = 'exited';
    const accel = this.accel;
    this.accel = undefined;
    this.finalInstructionCount = accel?.instructionCount?.();
    void (async () => {
      try {
        if (accel) {
          await accel.pause().catch(() => {});
          await accel.destroy();
        }
      } finally {
        await this.virtio.close().catch(() => {});
        this.log?.close();
        this.emit('exit', reason);
        this.resolveExit(reason);
      }
    })();
  }
}

function readImage(src: string | Uint8Array, what: string): Uint8Array {
  if (typeof src !== 'string') return src;
  try {
    return new Uint8Array(readFileSync(src));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new MachineError('KERNEL_UNREADABLE', `could not read ${what} '${src}': ${err.code === 'ENOENT' ? 'No such file or directory' : err.message}`);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function reservedBytesFor(config: MachineConfig, accel: Accelerator | undefined): number {
  const name = accel?.name ?? (config.accel === 'kvm' ? 'kvm' : 'jit');
  // 'auto' may still pick KVM; the JIT's reserved area is harmless under KVM
  // (it is not mapped into the guest), so reserve it whenever the JIT may run.
  return name === 'kvm' ? 0 : JIT_RESERVED;
}
