// validateConfig (src/machine/validate.ts): configs built by library users.
import { describe, expect, test } from 'vitest';
import { ConfigError, maxRamBytes, validateConfig, type ConfigErrorCode } from '../../../src/machine/validate.js';
import type { MachineConfig } from '../../../src/machine/config.js';

function base(): MachineConfig {
  return {
    machine: { xOptionRoms: true, pit: false, pic: false, rtc: true, acpi: true, ioapic2: true, isaSerial: true },
    memory: 256 * 1024 * 1024,
    cpus: 1,
    cpu: { model: 'microvm-default', features: {} },
    accel: 'jit',
    kernel: 'k',
    serial: { kind: 'stdio' },
    noReboot: false,
    devices: [],
    netdevs: [],
    globals: [],
    startPaused: false,
  };
}

describe('validateConfig', () => {
  test('the base config is valid', () => expect(() => validateConfig(base())).not.toThrow());
  test('a full valid config', () => {
    const c: MachineConfig = {
      ...base(),
      cpus: 4,
      topology: { sockets: 1, dies: 1, cores: 4, threads: 1, maxCpus: 4 },
      cpu: { model: 'host', features: { invtsc: true, sse4_1: true }, vendor: 'GenuineIntel', tscKhz: 2_000_000, physBits: 46 },
      accel: 'auto',
      kernel: new Uint8Array([1]),
      initrd: 'initrd',
      serial: { kind: 'tcp', host: '', port: 0, server: true, wait: false },
      devices: [{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }, { driver: 'virtio-net-device', netdev: 'n0', mac: '52:54:00:12:34:56' }],
      netdevs: [{ kind: 'user', id: 'n0', hostfwd: [{ proto: 'tcp', hostPort: 0, guestPort: 22 }] }],
      filterDumps: [{ id: 'f', netdev: 'n0', file: 'x.pcap' }],
      globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'false' }],
      gdb: { host: '127.0.0.1', port: 1234 },
      log: { items: ['int', 'guest_errors'], file: 'log' },
    };
    expect(() => validateConfig(c)).not.toThrow();
  });
  test('max RAM: the top of RAM (memory + 1 GiB hole) fits MAXPHYADDR', () => {
    expect(maxRamBytes(40)).toBe(2 ** 40 - 2 ** 30);
    expect(() => validateConfig({ ...base(), memory: maxRamBytes(40) })).not.toThrow();
  });

  const bad: Array<[string, (c: MachineConfig) => MachineConfig, ConfigErrorCode, string]> = [
    ['memory 0', (c) => ({ ...c, memory: 0 }), 'BAD_MEMORY', 'memory must be a positive number of bytes, got 0'],
    ['memory NaN', (c) => ({ ...c, memory: Number.NaN }), 'BAD_MEMORY', 'memory must be a positive number of bytes, got NaN'],
    ['memory not 4 KiB aligned', (c) => ({ ...c, memory: 4097 }), 'BAD_MEMORY', 'memory must be a multiple of 4 KiB, got 4097'],
    ['memory past 40 bits', (c) => ({ ...c, memory: 2 ** 40 }), 'BAD_MEMORY', 'ram size too large: 1099511627776 bytes does not fit a 40-bit physical address space (max 1098437885952)'],
    ['cpus 0', (c) => ({ ...c, cpus: 0 }), 'BAD_CPUS', 'cpus must be 1..255, got 0'],
    ['cpus 256', (c) => ({ ...c, cpus: 256 }), 'BAD_CPUS', 'cpus must be 1..255, got 256'],
    ['topology product', (c) => ({ ...c, cpus: 4, topology: { sockets: 2, dies: 1, cores: 1, threads: 1, maxCpus: 4 } }), 'BAD_CPUS', 'Invalid CPU topology: sockets (2) * cores (1) * threads (1) != maxcpus (4)'],
    ['topology vs cpus', (c) => ({ ...c, cpus: 2, topology: { sockets: 1, dies: 1, cores: 4, threads: 1, maxCpus: 4 } }), 'BAD_CPUS', 'topology.maxCpus (4) must equal cpus (2): no CPU hotplug'],
    ['topology dies', (c) => ({ ...c, cpus: 2, topology: { sockets: 1, dies: 2, cores: 1, threads: 1, maxCpus: 2 } }), 'BAD_CPUS', "dies not supported by this machine's CPU topology"],
    ['topology with 2 sockets', (c) => ({ ...c, cpus: 4, topology: { sockets: 2, dies: 1, cores: 2, threads: 1, maxCpus: 4 } }), 'BAD_CPUS', 'CPU topology sockets=2,cores=2,threads=1 is not supported yet: only one socket of N cores with one thread each (-smp N)'],
    ['topology with 2 threads', (c) => ({ ...c, cpus: 2, topology: { sockets: 1, dies: 1, cores: 1, threads: 2, maxCpus: 2 } }), 'BAD_CPUS', 'CPU topology sockets=1,cores=1,threads=2 is not supported yet: only one socket of N cores with one thread each (-smp N)'],
    ['cpu model', (c) => ({ ...c, cpu: { model: 'Haswell', features: {} } }), 'BAD_CPU', "unknown CPU model 'Haswell' (known: microvm-default, max, qemu64, kvm64, host)"],
    ['cpu feature', (c) => ({ ...c, cpu: { model: 'max', features: { nope: true } } }), 'BAD_CPU', "unknown CPU feature 'nope'"],
    ['cpu tscKhz', (c) => ({ ...c, cpu: { model: 'max', features: {}, tscKhz: 999 } }), 'BAD_CPU', 'cpu.tscKhz must be an integer in 1000..2^32-1, got 999'],
    ['cpu physBits', (c) => ({ ...c, cpu: { model: 'max', features: {}, physBits: 35 } }), 'BAD_CPU', 'cpu.physBits must be 36..52, got 35'],
    ['pit', (c) => ({ ...c, machine: { ...c.machine, pit: true } }), 'BAD_MACHINE', 'machine.pit: microvm-ts has no i8254 PIT (pit must be off)'],
    ['pic', (c) => ({ ...c, machine: { ...c.machine, pic: true } }), 'BAD_MACHINE', 'machine.pic: microvm-ts has no i8259 PIC (pic must be off)'],
    ['kernel empty', (c) => ({ ...c, kernel: '' }), 'BAD_KERNEL', 'kernel: file name must not be empty'],
    ['kernel empty bytes', (c) => ({ ...c, kernel: new Uint8Array(0) }), 'BAD_KERNEL', 'kernel: image must be a file name or a non-empty Uint8Array'],
    ['initrd empty', (c) => ({ ...c, initrd: '' }), 'BAD_KERNEL', 'initrd: file name must not be empty'],
    ['append NUL', (c) => ({ ...c, append: 'a\0b' }), 'BAD_KERNEL', 'append: the kernel command line must not contain NUL characters'],
    ['serial file', (c) => ({ ...c, serial: { kind: 'file', path: '' } }), 'BAD_SERIAL', 'serial file: path must not be empty'],
    ['serial tcp port', (c) => ({ ...c, serial: { kind: 'tcp', host: '', port: 70000, server: true, wait: false } }), 'BAD_SERIAL', 'serial tcp: port 70000 out of range 0..65535'],
    ['serial tcp client port 0', (c) => ({ ...c, serial: { kind: 'tcp', host: 'h', port: 0, server: false, wait: false } }), 'BAD_SERIAL', 'serial tcp: a client needs a port to connect to'],
    ['netdev id', (c) => ({ ...c, netdevs: [{ kind: 'user', id: '1x', hostfwd: [] }] }), 'BAD_NETDEV', "netdev id '1x' is not an identifier (a letter, then letters, digits, '-', '.', '_')"],
    ['netdev duplicate', (c) => ({ ...c, netdevs: [{ kind: 'user', id: 'a', hostfwd: [] }, { kind: 'tap', id: 'a' }] }), 'BAD_NETDEV', "Duplicate ID 'a' for netdev"],
    ['hostfwd guest port 0', (c) => ({ ...c, netdevs: [{ kind: 'user', id: 'a', hostfwd: [{ proto: 'tcp', hostPort: 1, guestPort: 0 }] }] }), 'BAD_NETDEV', 'netdev a: hostfwd guest port 0 out of range 1..65535'],
    ['socket modes', (c) => ({ ...c, netdevs: [{ kind: 'socket', id: 'a', listen: ':1', connect: 'h:2' }] }), 'BAD_NETDEV', 'netdev a: exactly one of listen=, connect= or udp= is required'],
    ['debug-exit past 0xffff', (c) => ({ ...c, devices: [{ driver: 'isa-debug-exit', iobase: 0xffff, iosize: 2 }] }), 'BAD_DEVICE', 'isa-debug-exit: ports 0xffff+2 run past 0xffff'],
    ['debug-exit iosize 0', (c) => ({ ...c, devices: [{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 0 }] }), 'BAD_DEVICE', 'isa-debug-exit: iosize 0 out of range 1..0x10000'],
    ['debug-exit on the RTC', (c) => ({ ...c, devices: [{ driver: 'isa-debug-exit', iobase: 0x71, iosize: 1 }] }), 'BAD_DEVICE', 'isa-debug-exit at 0x71 (size 1) overlaps the RTC'],
    ['nic without netdev', (c) => ({ ...c, devices: [{ driver: 'virtio-net-device', netdev: 'x' }] }), 'BAD_DEVICE', "virtio-net-device: netdev 'x' not found"],
    ['nic bad mac', (c) => ({ ...c, netdevs: [{ kind: 'tap', id: 'x' }], devices: [{ driver: 'virtio-net-device', netdev: 'x', mac: 'zz' }] }), 'BAD_DEVICE', "virtio-net-device: bad MAC address 'zz'"],
    ['unknown global', (c) => ({ ...c, globals: [{ driver: 'virtio-mmio', property: 'x', value: '1' }] }), 'BAD_GLOBAL', "global property 'virtio-mmio.x' is not supported (known: virtio-mmio.force-legacy, virtio-mmio.ioeventfd, isa-debug-exit.iobase, isa-debug-exit.iosize, virtio-net-device.mac)"],
    ['bad global value', (c) => ({ ...c, globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'maybe' }] }), 'BAD_GLOBAL', "global virtio-mmio.force-legacy: bad value 'maybe'"],
    ['filter-dump netdev', (c) => ({ ...c, filterDumps: [{ id: 'f', netdev: 'n', file: 'x' }] }), 'BAD_NETDEV', "filter-dump f: netdev 'n' not found"],
    ['gdb port', (c) => ({ ...c, gdb: { host: '', port: -1 } }), 'BAD_GDB', 'gdb: port -1 out of range 0..65535'],
    ['log item', (c) => ({ ...c, log: { items: ['bogus'] } }), 'BAD_LOG', "log: unknown item 'bogus'"],
    ['accel', (c) => ({ ...c, accel: 'tcg' as MachineConfig['accel'] }), 'BAD_ACCEL', "accel must be 'jit', 'kvm' or 'auto', got 'tcg'"],
  ];
  for (const [name, mutate, code, msg] of bad) {
    test(name, () => {
      let caught: unknown;
      try { validateConfig(mutate(base())); } catch (e) { caught = e; }
      expect(caught).toBeInstanceOf(ConfigError);
      expect([(caught as ConfigError).code, (caught as ConfigError).message]).toEqual([code, msg]);
    });
  }
});
