/**
 * validateConfig: the checks every MachineConfig passes before a machine is
 * built, whether it came from the CLI (src/cli) or a library user. Each
 * failure is a ConfigError with a stable code and a message naming the field
 * and the bad value. Nothing here touches the file system or the network.
 */
import { CPU_MODEL_NAMES } from '../cpu/cpuid.js';
import { canonicalFeatureName } from '../cpu/features.js';
import { isLogItem } from '../cli/log-items.js';
import { COM1_PORT, HIGH_RAM_BASE, LOW_RAM_LIMIT, RTC_PORT } from '../memory/layout.js';
import type { DeviceConfig, MachineConfig, NetdevConfig, SerialConfig } from './config.js';

export type ConfigErrorCode =
  | 'BAD_MEMORY'
  | 'BAD_CPUS'
  | 'BAD_CPU'
  | 'BAD_MACHINE'
  | 'BAD_ACCEL'
  | 'BAD_KERNEL'
  | 'BAD_SERIAL'
  | 'BAD_DEVICE'
  | 'BAD_NETDEV'
  | 'BAD_GLOBAL'
  | 'BAD_GDB'
  | 'BAD_LOG';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly code: ConfigErrorCode, message: string) {
    super(message);
  }
}

/** Most vCPUs: 8-bit xAPIC IDs with 0xff the broadcast destination (src/cpu/cpuid.ts caps at 255 too). */
export const MAX_VCPUS = 255;

/** Physical address width the guest sees unless `cpu.physBits` says otherwise (QEMU TCG's phys-bits). */
const DEFAULT_PHYS_BITS = 40;

/**
 * Largest RAM for a MAXPHYADDR: RAM above 3 GiB is placed from 4 GiB
 * (hw/i386/microvm.c), so the top of RAM is memory + 1 GiB.
 */
export function maxRamBytes(physBits: number): number {
  return 2 ** physBits - (HIGH_RAM_BASE - LOW_RAM_LIMIT);
}

/** Number of virtio-mmio transports microvm creates (hw/i386/microvm.c: 24 with ACPI and ioapic2, else 8). */
export function virtioTransportsFor(m: { acpi: boolean; ioapic2: boolean }): number {
  return m.acpi && m.ioapic2 ? 24 : 8;
}

/** The `-global` properties microvm-ts implements, with their value check. */
const BOOL_VALUES = new Set(['on', 'off', 'yes', 'no', 'true', 'false', 'y', 'n']);
const isPortNumber = (v: string): boolean => /^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(v) && Number(v) <= 0x10000;
export const KNOWN_GLOBALS: Readonly<Record<string, (value: string) => boolean>> = {
  'virtio-mmio.force-legacy': (v) => BOOL_VALUES.has(v),
  'virtio-mmio.ioeventfd': (v) => BOOL_VALUES.has(v),
  'isa-debug-exit.iobase': isPortNumber,
  'isa-debug-exit.iosize': isPortNumber,
  'virtio-net-device.mac': (v) => MAC_RE.test(v),
};

const MAC_RE = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;
const ID_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

function fail(code: ConfigErrorCode, message: string): never {
  throw new ConfigError(code, message);
}

const isUint = (n: unknown, max: number): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;

/** Throws ConfigError for the first problem found; returns normally for a config a machine can be built from. */
export function validateConfig(config: MachineConfig): void {
  validateMemory(config);
  validateCpus(config);
  validateMachine(config);
  if (config.accel !== 'jit' && config.accel !== 'kvm' && config.accel !== 'auto') {
    fail('BAD_ACCEL', `accel must be 'jit', 'kvm' or 'auto', got '${String(config.accel)}'`);
  }
  validateImage(config.kernel, 'kernel');
  if (config.initrd !== undefined) validateImage(config.initrd, 'initrd');
  if (config.append !== undefined && config.append.includes('\0')) {
    fail('BAD_KERNEL', 'append: the kernel command line must not contain NUL characters');
  }
  validateSerial(config.serial);
  validateNetdevs(config.netdevs);
  validateDevices(config);
  for (const g of config.globals) {
    const check = KNOWN_GLOBALS[`${g.driver}.${g.property}`];
    if (!check) fail('BAD_GLOBAL', `global property '${g.driver}.${g.property}' is not supported (known: ${Object.keys(KNOWN_GLOBALS).join(', ')})`);
    if (!check(g.value)) fail('BAD_GLOBAL', `global ${g.driver}.${g.property}: bad value '${g.value}'`);
  }
  for (const d of config.filterDumps ?? []) {
    if (!ID_RE.test(d.id)) fail('BAD_NETDEV', `filter-dump id '${d.id}' is not an identifier`);
    if (!config.netdevs.some((n) => n.id === d.netdev)) fail('BAD_NETDEV', `filter-dump ${d.id}: netdev '${d.netdev}' not found`);
    if (d.file === '') fail('BAD_NETDEV', `filter-dump ${d.id}: file must not be empty`);
    if (d.maxlen !== undefined && !(isUint(d.maxlen, 0xffffffff) && d.maxlen > 0)) fail('BAD_NETDEV', `filter-dump ${d.id}: bad maxlen ${d.maxlen}`);
  }
  if (config.gdb !== undefined && !isUint(config.gdb.port, 65535)) {
    fail('BAD_GDB', `gdb: port ${config.gdb.port} out of range 0..65535`);
  }
  if (config.log !== undefined) {
    for (const item of config.log.items) if (!isLogItem(item)) fail('BAD_LOG', `log: unknown item '${item}'`);
    if (config.log.file === '') fail('BAD_LOG', 'log: file name must not be empty');
  }
}

function validateMemory(config: MachineConfig): void {
  const mem = config.memory;
  const physBits = config.cpu.physBits ?? DEFAULT_PHYS_BITS;
  if (typeof mem !== 'number' || !Number.isSafeInteger(mem) || mem <= 0) {
    fail('BAD_MEMORY', `memory must be a positive number of bytes, got ${String(mem)}`);
  }
  if (mem % 4096 !== 0) fail('BAD_MEMORY', `memory must be a multiple of 4 KiB, got ${mem}`);
  const max = maxRamBytes(physBits);
  if (mem > max) {
    fail('BAD_MEMORY', `ram size too large: ${mem} bytes does not fit a ${physBits}-bit physical address space (max ${max})`);
  }
}

function validateCpus(config: MachineConfig): void {
  const { cpus, topology, cpu } = config;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_VCPUS) {
    fail('BAD_CPUS', `cpus must be 1..${MAX_VCPUS}, got ${cpus}`);
  }
  if (topology !== undefined) {
    const { sockets, dies, cores, threads, maxCpus } = topology;
    for (const [k, v] of Object.entries({ sockets, dies, cores, threads, maxCpus })) {
      if (!Number.isInteger(v) || v < 1) fail('BAD_CPUS', `topology.${k} must be a positive integer, got ${v}`);
    }
    if (dies !== 1) fail('BAD_CPUS', `dies not supported by this machine's CPU topology`);
    if (sockets * dies * cores * threads !== maxCpus) {
      fail('BAD_CPUS', `Invalid CPU topology: sockets (${sockets}) * cores (${cores}) * threads (${threads}) != maxcpus (${maxCpus})`);
    }
    if (maxCpus !== cpus) fail('BAD_CPUS', `topology.maxCpus (${maxCpus}) must equal cpus (${cpus}): no CPU hotplug`);
    // The CPUID policies (src/cpu/cpuid.ts, src/kvm/cpuid.ts) model one package of N cores with one
    // thread each; a guest counts CPUs from those leaves (MICROVM-CONTRACT.md), so refuse others
    // rather than show the guest a topology it was not asked for.
    if (sockets !== 1 || threads !== 1) {
      fail('BAD_CPUS', `CPU topology sockets=${sockets},cores=${cores},threads=${threads} is not supported yet: ` +
        `only one socket of N cores with one thread each (-smp N)`);
    }
  }
  if (!CPU_MODEL_NAMES.includes(cpu.model)) {
    fail('BAD_CPU', `unknown CPU model '${cpu.model}' (known: ${CPU_MODEL_NAMES.join(', ')})`);
  }
  for (const f of Object.keys(cpu.features)) {
    if (canonicalFeatureName(f) === undefined) fail('BAD_CPU', `unknown CPU feature '${f}'`);
  }
  if (cpu.vendor !== undefined && cpu.vendor !== 'GenuineIntel' && cpu.vendor !== 'AuthenticAMD') {
    fail('BAD_CPU', `cpu.vendor must be GenuineIntel or AuthenticAMD, got '${String(cpu.vendor)}'`);
  }
  if (cpu.tscKhz !== undefined && !(isUint(cpu.tscKhz, 0xffffffff) && cpu.tscKhz >= 1000)) {
    fail('BAD_CPU', `cpu.tscKhz must be an integer in 1000..2^32-1, got ${cpu.tscKhz}`);
  }
  if (cpu.physBits !== undefined && !(isUint(cpu.physBits, 52) && cpu.physBits >= 36)) {
    fail('BAD_CPU', `cpu.physBits must be 36..52, got ${cpu.physBits}`);
  }
}

function validateMachine(config: MachineConfig): void {
  const m = config.machine;
  if (m.pit) fail('BAD_MACHINE', 'machine.pit: microvm-ts has no i8254 PIT (pit must be off)');
  if (m.pic) fail('BAD_MACHINE', 'machine.pic: microvm-ts has no i8259 PIC (pic must be off)');
}

function validateImage(image: string | Uint8Array, what: 'kernel' | 'initrd'): void {
  if (typeof image === 'string') {
    if (image === '') fail('BAD_KERNEL', `${what}: file name must not be empty`);
  } else if (!(image instanceof Uint8Array) || image.length === 0) {
    fail('BAD_KERNEL', `${what}: image must be a file name or a non-empty Uint8Array`);
  }
}

function validateSerial(s: SerialConfig): void {
  switch (s.kind) {
    case 'stdio': case 'none': case 'null': case 'stream': return;
    case 'file':
      if (s.path === '') fail('BAD_SERIAL', 'serial file: path must not be empty');
      return;
    case 'tcp':
      if (!isUint(s.port, 65535)) fail('BAD_SERIAL', `serial tcp: port ${s.port} out of range 0..65535`);
      if (!s.server && s.port === 0) fail('BAD_SERIAL', 'serial tcp: a client needs a port to connect to');
      return;
    default: {
      const never: never = s;
      fail('BAD_SERIAL', `serial: unknown kind '${String((never as { kind: unknown }).kind)}'`);
    }
  }
}

function validateNetdevs(netdevs: readonly NetdevConfig[]): void {
  const ids = new Set<string>();
  for (const n of netdevs) {
    if (!ID_RE.test(n.id)) fail('BAD_NETDEV', `netdev id '${n.id}' is not an identifier (a letter, then letters, digits, '-', '.', '_')`);
    if (ids.has(n.id)) fail('BAD_NETDEV', `Duplicate ID '${n.id}' for netdev`);
    ids.add(n.id);
    switch (n.kind) {
      case 'tap':
        if (n.ifname !== undefined && (n.ifname === '' || n.ifname.length > 15)) {
          fail('BAD_NETDEV', `netdev ${n.id}: ifname '${n.ifname}' must be 1..15 characters`);
        }
        break;
      case 'user':
        for (const f of n.hostfwd) {
          if (!isUint(f.hostPort, 65535)) fail('BAD_NETDEV', `netdev ${n.id}: hostfwd host port ${f.hostPort} out of range`);
          if (!isUint(f.guestPort, 65535) || f.guestPort === 0) fail('BAD_NETDEV', `netdev ${n.id}: hostfwd guest port ${f.guestPort} out of range 1..65535`);
        }
        break;
      case 'socket': {
        const modes = [n.listen, n.connect, n.udp].filter((x) => x !== undefined).length;
        if (modes !== 1) fail('BAD_NETDEV', `netdev ${n.id}: exactly one of listen=, connect= or udp= is required`);
        if ((n.udp !== undefined) !== (n.localaddr !== undefined)) {
          fail('BAD_NETDEV', `netdev ${n.id}: localaddr= goes with udp= (and udp= needs it)`);
        }
        break;
      }
      case 'stream':
        break;
      default: {
        const never: never = n;
        fail('BAD_NETDEV', `netdev: unknown kind '${String((never as { kind: unknown }).kind)}'`);
      }
    }
  }
}

interface PortRange { base: number; size: number; what: string }

function validateDevices(config: MachineConfig): void {
  const ports: PortRange[] = [];
  // Fixed devices of the board (MICROVM-CONTRACT.md memory map).
  if (config.machine.isaSerial && config.serial.kind !== 'none') ports.push({ base: COM1_PORT, size: 8, what: 'the COM1 UART' });
  if (config.machine.rtc) ports.push({ base: RTC_PORT, size: 2, what: 'the RTC' });
  const netdevIds = new Set(config.netdevs.map((n) => n.id));
  const used = new Set<string>();
  let nics = 0;
  for (const d of config.devices) {
    checkDevice(d, ports, netdevIds, used);
    if (d.driver === 'virtio-net-device') nics++;
  }
  const transports = virtioTransportsFor(config.machine);
  if (nics > transports) {
    fail('BAD_DEVICE', `${nics} virtio devices but microvm has ${transports} virtio-mmio transports with this configuration`);
  }
}

function checkDevice(d: DeviceConfig, ports: PortRange[], netdevIds: ReadonlySet<string>, used: Set<string>): void {
  switch (d.driver) {
    case 'isa-debug-exit': {
      if (!isUint(d.iobase, 0xffff)) fail('BAD_DEVICE', `isa-debug-exit: iobase ${String(d.iobase)} out of range 0..0xffff`);
      if (!isUint(d.iosize, 0x10000) || d.iosize === 0) fail('BAD_DEVICE', `isa-debug-exit: iosize ${d.iosize} out of range 1..0x10000`);
      if (d.iobase + d.iosize > 0x10000) fail('BAD_DEVICE', `isa-debug-exit: ports 0x${d.iobase.toString(16)}+${d.iosize} run past 0xffff`);
      const mine: PortRange = { base: d.iobase, size: d.iosize, what: `isa-debug-exit at 0x${d.iobase.toString(16)}` };
      for (const p of ports) {
        if (mine.base < p.base + p.size && p.base < mine.base + mine.size) {
          fail('BAD_DEVICE', `${mine.what} (size ${mine.size}) overlaps ${p.what}`);
        }
      }
      ports.push(mine);
      return;
    }
    case 'virtio-net-device':
      if (!netdevIds.has(d.netdev)) fail('BAD_DEVICE', `virtio-net-device: netdev '${d.netdev}' not found`);
      if (used.has(d.netdev)) fail('BAD_DEVICE', `virtio-net-device: netdev '${d.netdev}' is already in use`);
      used.add(d.netdev);
      if (d.mac !== undefined && !MAC_RE.test(d.mac)) fail('BAD_DEVICE', `virtio-net-device: bad MAC address '${d.mac}'`);
      return;
    default: {
      const never: never = d;
      fail('BAD_DEVICE', `unknown device driver '${String((never as { driver: unknown }).driver)}'`);
    }
  }
}
