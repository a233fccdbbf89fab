// parseArgs: every option, every error, and the TamaGo README command line.
// Where a case says "QEMU:", the behaviour was checked against Debian's
// qemu-system-x86_64 7.2 with the same arguments.
import { describe, expect, test } from 'vitest';
import { parseArgs, type ParseResult } from '../../../src/cli/parse-args.js';
import { CliError, type CliErrorCode } from '../../../src/cli/errors.js';
import type { MachineConfig } from '../../../src/machine/config.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Split like a shell would for our simple cases; use arrays where an argument has spaces. */
function argv(cmd: string | string[]): string[] {
  return Array.isArray(cmd) ? cmd : cmd.split(/\s+/).filter((s) => s !== '');
}

function config(cmd: string | string[]): MachineConfig {
  const r = parseArgs(argv(cmd));
  if (!('config' in r)) throw new Error(`expected a config, got ${JSON.stringify(r)}`);
  return r.config;
}

function failure(cmd: string | string[]): CliError {
  try {
    parseArgs(argv(cmd));
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(cmd)} to fail`);
}

const TAMAGO_README = [
  '-machine', 'microvm,x-option-roms=on,pit=off,pic=off,rtc=on',
  '-global', 'virtio-mmio.force-legacy=false',
  '-enable-kvm', '-cpu', 'host,invtsc=on,kvmclock=on', '-no-reboot',
  '-m', '4G', '-nographic', '-monitor', 'none', '-serial', 'stdio',
  '-device', 'virtio-net-device,netdev=net0', '-netdev', 'tap,id=net0,ifname=tap0,script=no,downscript=no',
  '-kernel', 'example',
];

describe('the TamaGo README command line (MICROVM-CONTRACT.md), verbatim', () => {
  test('with -enable-kvm: KVM, everything as the README asks', () => {
    const c = config(TAMAGO_README);
    expect(c).toEqual({
      machine: { xOptionRoms: true, pit: false, pic: false, rtc: true, acpi: true, ioapic2: true, isaSerial: true },
      memory: 4 * GiB,
      cpus: 1,
      cpu: { model: 'host', features: { invtsc: true, kvmclock: true } },
      accel: 'kvm',
      kernel: 'example',
      serial: { kind: 'stdio' },
      noReboot: true,
      devices: [{ driver: 'virtio-net-device', netdev: 'net0' }],
      netdevs: [{ kind: 'tap', id: 'net0', ifname: 'tap0', script: 'no', downscript: 'no' }],
      globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'off' }],
      startPaused: false,
    } satisfies MachineConfig);
  });
  test('without -enable-kvm: the same machine on the JIT', () => {
    const c = config(TAMAGO_README.filter((a) => a !== '-enable-kvm'));
    const k = config(TAMAGO_README);
    expect(c.accel).toBe('jit');
    expect({ ...c, accel: 'kvm' }).toEqual(k);
  });
  test('with -smp $(nproc) and -S -s for GDB', () => {
    const c = config([...TAMAGO_README, '-smp', '4', '-S', '-s']);
    expect(c.cpus).toBe(4);
    expect(c.topology).toEqual({ sockets: 1, dies: 1, cores: 4, threads: 1, maxCpus: 4 });
    expect(c.startPaused).toBe(true);
    expect(c.gdb).toEqual({ host: '', port: 1234 });
  });
  test('--double-dash spelling of every option gives the same config', () => {
    const dd = TAMAGO_README.map((a) => (a.startsWith('-') ? `-${a}` : a));
    expect(config(dd)).toEqual(config(TAMAGO_README));
  });
});

describe('issue 9: the short command boots TamaGo with our defaults', () => {
  test('-kernel example', () => {
    const c = config('-kernel example');
    expect(c).toEqual({
      machine: { xOptionRoms: true, pit: false, pic: false, rtc: true, acpi: true, ioapic2: true, isaSerial: true },
      memory: 4 * GiB,
      cpus: 1,
      cpu: { model: 'microvm-default', features: {} },
      accel: 'jit',
      kernel: 'example',
      serial: { kind: 'stdio' },
      noReboot: true,
      devices: [],
      netdevs: [],
      globals: [],
      startPaused: false,
    } satisfies MachineConfig);
    // TamaGo's board needs RAM up to at least 0x60000000 (DMA at 0x50000000 + 256 MiB).
    expect(c.memory).toBeGreaterThanOrEqual(0x60000000);
  });
});

describe('option syntax (vl.c lookup_opt)', () => {
  const errors: Array<[string | string[], CliErrorCode, string]> = [
    ['-kernel k -foo', 'INVALID_OPTION', '-foo: invalid option'],
    ['-kernel k --foo', 'INVALID_OPTION', '--foo: invalid option'],
    // QEMU has no -opt=value form.
    ['-kernel k --m=4G', 'INVALID_OPTION', '--m=4G: invalid option'],
    ['-kernel k -m=4G', 'INVALID_OPTION', '-m=4G: invalid option'],
    ['-kernel k ---m 4G', 'INVALID_OPTION', '---m: invalid option'],
    ['-kernel k -', 'INVALID_OPTION', '-: invalid option'],
    ['-kernel k -m', 'MISSING_ARGUMENT', '-m: requires an argument'],
    ['-kernel', 'MISSING_ARGUMENT', '-kernel: requires an argument'],
    ['-kernel k --serial', 'MISSING_ARGUMENT', '--serial: requires an argument'],
    ['disk.img -kernel k', 'UNSUPPORTED', 'disk.img: disk images are not supported (did you mean -kernel disk.img?)'],
    ['-kernel k -hda disk.img', 'UNSUPPORTED', '-hda: option not supported by microvm-ts (no block devices)'],
    ['-kernel k -drive file=x', 'UNSUPPORTED', '-drive: option not supported by microvm-ts (no block devices)'],
    ['-kernel k -vnc :0', 'UNSUPPORTED', '-vnc: option not supported by microvm-ts (no graphics)'],
    ['-kernel k -qmp stdio', 'UNSUPPORTED', '-qmp: option not supported by microvm-ts (no monitor)'],
    ['-kernel k -no-shutdown', 'UNSUPPORTED', '-no-shutdown: option not supported by microvm-ts (no monitor to resume a stopped guest)'],
    ['-kernel k -net nic', 'UNSUPPORTED', '-net: option not supported by microvm-ts (use -netdev with -device virtio-net-device)'],
    ['-kernel k -bios x', 'UNSUPPORTED', '-bios: option not supported by microvm-ts (no firmware: boot with -kernel)'],
  ];
  for (const [cmd, code, msg] of errors) {
    test(`${JSON.stringify(cmd)} -> ${msg}`, () => {
      const e = failure(cmd);
      expect(e.code).toBe(code);
      expect(e.message).toBe(msg);
    });
  }
  test('the argument is the next element even when it starts with "-"', () => {
    expect(config(['-kernel', 'k', '-append', '-v --debug']).append).toBe('-v --debug');
    expect(config(['-kernel', '-weird-name']).kernel).toBe('-weird-name');
  });
  test('later options of the same kind win (-m, -cpu, -kernel, -append)', () => {
    const c = config('-m 1G -m 2G -cpu max -cpu qemu64 -kernel a -kernel b -append x -append y');
    expect(c.memory).toBe(2 * GiB);
    expect(c.cpu.model).toBe('qemu64');
    expect(c.kernel).toBe('b');
    expect(c.append).toBe('y');
  });
});

describe('actions', () => {
  const cases: Array<[string[], ParseResult]> = [
    [[], { action: 'demo' }],
    [['-h'], { action: 'help' }],
    [['-help'], { action: 'help' }],
    [['--help'], { action: 'help' }],
    [['-version'], { action: 'version' }],
    [['--version'], { action: 'version' }],
    // QEMU acts on -h as soon as it is seen: later bad options do not matter, earlier ones do.
    [['-kernel', 'k', '-h', '-foo'], { action: 'help' }],
    [['-m', '1G', '--version', '-bogus'], { action: 'version' }],
  ];
  for (const [args, want] of cases) {
    test(`${JSON.stringify(args)}`, () => expect(parseArgs(args)).toEqual(want));
  }
  test('an error before -h still fails', () => {
    expect(failure('-foo -h').message).toBe('-foo: invalid option');
  });
  const prints: Array<[string, string]> = [
    ['-d help', 'Log items (comma separated):'],
    ['-cpu help', 'Available CPU models:'],
    ['-cpu ?', 'Available CPU models:'],
    ['-M help', 'Supported machines are:'],
    ['-machine ?', 'Supported machines are:'],
    ['-machine microvm,help', 'microvm-machine options:'],
    ['-device help', 'Devices (-device DRIVER[,prop=value...]):'],
    ['-accel help', 'Accelerators supported in microvm-ts:'],
    ['-netdev help', 'Available netdev backend types:'],
    ['-display help', 'Available display backend types:'],
  ];
  for (const [cmd, start] of prints) {
    test(`${cmd} prints a list`, () => {
      const r = parseArgs(argv(cmd));
      expect('action' in r && r.action === 'print' && r.text.startsWith(start)).toBe(true);
    });
  }
  test('-d help lists every log item', () => {
    const r = parseArgs(['-d', 'help']);
    if (!('action' in r) || r.action !== 'print') throw new Error('no print');
    for (const item of ['in_asm', 'int', 'cpu', 'exec', 'guest_errors', 'unimp', 'out_asm', 'mmu', 'cpu_reset']) {
      expect(r.text).toMatch(new RegExp(`^${item}\\s`, 'm'));
    }
  });
  test('-cpu help lists models and the contract features', () => {
    const r = parseArgs(['-cpu', 'help']);
    if (!('action' in r) || r.action !== 'print') throw new Error('no print');
    for (const w of ['microvm-default', 'max', 'host', 'qemu64', 'invtsc', 'kvmclock', 'rdrand', 'pdpe1gb', 'tsc-deadline']) {
      expect(r.text).toContain(w);
    }
  });
});

describe('-kernel / -append / -initrd', () => {
  test('all three', () => {
    const c = config(['-kernel', 'vmlinux', '-append', 'console=ttyS0 quiet', '-initrd', 'initrd.img']);
    expect(c.kernel).toBe('vmlinux');
    expect(c.append).toBe('console=ttyS0 quiet');
    expect(c.initrd).toBe('initrd.img');
  });
  test('-machine kernel=/initrd=/append= are the same properties', () => {
    const c = config(['-machine', 'microvm,kernel=k2,initrd=i2,append=a,,b']);
    expect([c.kernel, c.initrd, c.append]).toEqual(['k2', 'i2', 'a,b']);
  });
  const errors: Array<[string, CliErrorCode, string]> = [
    ['-m 1G', 'MISSING_OPTION', 'no -kernel given: microvm-ts boots a kernel image directly (it has no firmware to boot a disk); see --help'],
    ['-append x', 'MISSING_OPTION', '-append only allowed with -kernel option'],
    ['-initrd x', 'MISSING_OPTION', '-initrd only allowed with -kernel option'],
  ];
  for (const [cmd, code, msg] of errors) {
    test(`${cmd} -> ${msg}`, () => {
      const e = failure(cmd);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
});

describe('-machine / -M', () => {
  const cases: Array<[string, Partial<MachineConfig['machine']>]> = [
    ['microvm', { xOptionRoms: true, pit: false, pic: false, rtc: true, acpi: true, ioapic2: true, isaSerial: true }],
    ['microvm,x-option-roms=off', { xOptionRoms: false }],
    ['microvm,x-option-roms=yes', { xOptionRoms: true }],
    ['microvm,isa-serial=false', { isaSerial: false }],
    ['microvm,isa-serial=n', { isaSerial: false }],
    ['microvm,isa-serial=y', { isaSerial: true }],
    ['microvm,rtc=off', { rtc: false }],
    ['microvm,rtc=auto', { rtc: true }],
    ['microvm,acpi=off', { acpi: false, ioapic2: false }], // ioapic2=auto follows ACPI (hw/i386/microvm.c)
    ['microvm,acpi=off,ioapic2=on', { acpi: false, ioapic2: true }],
    ['microvm,ioapic2=off', { ioapic2: false }],
    ['microvm,pit=off,pic=off', { pit: false, pic: false }],
    ['microvm,pit=auto,pic=auto', { pit: false, pic: false }],
    ['type=microvm,rtc=off', { rtc: false }],
    ['microvm,pit=off,pit=off,rtc=off,rtc=on', { rtc: true }], // last wins
    ['microvm,graphics=off,usb=off,pcie=off,smm=off,auto-kernel-cmdline=on', {}],
  ];
  for (const [text, want] of cases) {
    test(`-machine ${text}`, () => {
      expect(config(['-machine', text, '-kernel', 'k']).machine).toMatchObject(want);
      expect(config(['-M', text, '-kernel', 'k']).machine).toMatchObject(want);
    });
  }
  test('-no-acpi is -machine acpi=off (ioapic2=auto follows)', () => {
    expect(config('-no-acpi -kernel k').machine).toMatchObject({ acpi: false, ioapic2: false });
    expect(config('-no-acpi -M microvm,acpi=on -kernel k').machine).toMatchObject({ acpi: true });
  });
  test('several -machine options merge (QEMU merges machine options)', () => {
    expect(config('-M microvm -M rtc=off -M isa-serial=off -kernel k').machine).toMatchObject({ rtc: false, isaSerial: false });
  });
  test('-machine accel= (legacy) selects the accelerator', () => {
    expect(config('-M microvm,accel=kvm -kernel k').accel).toBe('kvm');
    expect(config('-M microvm,accel=kvm:tcg -kernel k').accel).toBe('auto');
    expect(config('-M microvm,accel=tcg -kernel k').accel).toBe('jit');
  });
  const errors: Array<[string, CliErrorCode, string]> = [
    ['pc', 'UNSUPPORTED', "-machine pc: machine type 'pc' is not supported: microvm-ts emulates only 'microvm'"],
    ['q35', 'UNSUPPORTED', "-machine q35: machine type 'q35' is not supported: microvm-ts emulates only 'microvm'"],
    ['pc-q35-7.2', 'UNSUPPORTED', "-machine pc-q35-7.2: machine type 'pc-q35-7.2' is not supported: microvm-ts emulates only 'microvm'"],
    ['foo', 'BAD_VALUE', 'unsupported machine type\nUse -machine help to list supported machines'],
    ['microvm,pit=on', 'UNSUPPORTED', '-machine microvm,pit=on: pit=on is not supported: microvm-ts has no i8254 PIT (use pit=off)'],
    ['microvm,pic=on', 'UNSUPPORTED', '-machine microvm,pic=on: pic=on is not supported: microvm-ts has no i8259 PIC (use pic=off)'],
    // QEMU: OnOffAuto refuses yes/true and capitals; bool wants on/off/yes/no/true/false/y/n.
    ['microvm,pit=yes', 'BAD_VALUE', "-machine microvm,pit=yes: Parameter 'pit' does not accept value 'yes'"],
    ['microvm,rtc=ON', 'BAD_VALUE', "-machine microvm,rtc=ON: Parameter 'rtc' does not accept value 'ON'"],
    ['microvm,acpi=yes', 'BAD_VALUE', "-machine microvm,acpi=yes: Parameter 'acpi' does not accept value 'yes'"],
    ['microvm,ioapic2=no', 'BAD_VALUE', "-machine microvm,ioapic2=no: Parameter 'ioapic2' does not accept value 'no'"],
    ['microvm,isa-serial=On', 'BAD_VALUE', "-machine microvm,isa-serial=On: Parameter 'isa-serial' expects 'on' or 'off'"],
    ['microvm,x-option-roms=1', 'BAD_VALUE', "-machine microvm,x-option-roms=1: Parameter 'x-option-roms' expects 'on' or 'off'"],
    ['microvm,pit', 'BAD_VALUE', "-machine microvm,pit: Expected '=' after parameter 'pit'"],
    ['microvm,pic=off,,x', 'BAD_VALUE', "-machine microvm,pic=off,,x: Parameter 'pic' does not accept value 'off,x'"],
    ['microvm,foo=on', 'BAD_VALUE', "-machine microvm,foo=on: Property 'microvm-machine.foo' not found"],
    ['microvm,memory-backend=x', 'UNSUPPORTED', "-machine microvm,memory-backend=x: machine property 'memory-backend' is not supported by microvm-ts"],
    ['microvm,smm=on', 'UNSUPPORTED', '-machine microvm,smm=on: smm=on is not supported by microvm-ts'],
    ['microvm,pcie=on', 'UNSUPPORTED', '-machine microvm,pcie=on: pcie=on is not supported by microvm-ts'],
    ['microvm,usb=on', 'UNSUPPORTED', '-machine microvm,usb=on: usb=on is not supported (no USB)'],
    ['microvm,auto-kernel-cmdline=off', 'UNSUPPORTED', '-machine microvm,auto-kernel-cmdline=off: auto-kernel-cmdline=off is not supported'],
    ['microvm,accel=hvf', 'UNSUPPORTED', '-machine microvm,accel=hvf: accelerator hvf is not supported (kvm, or tcg for the JIT)'],
  ];
  for (const [text, code, msg] of errors) {
    test(`-machine ${text} -> ${code}`, () => {
      const e = failure(['-machine', text, '-kernel', 'k']);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
});

describe('-m', () => {
  const cases: Array<[string, number]> = [
    ['512', 512 * MiB], ['512M', 512 * MiB], ['4G', 4 * GiB], ['size=4G', 4 * GiB], ['1.5G', 1536 * MiB],
    ['0', 4 * GiB], ['2048k', 2 * MiB], ['512G', 512 * GiB], ['1023G', 1023 * GiB],
  ];
  for (const [text, bytes] of cases) {
    test(`-m ${text}`, () => expect(config(['-m', text, '-kernel', 'k']).memory).toBe(bytes));
  }
  test("-m '' means the default, as in QEMU 7.2", () => expect(config(['-m', '', '-kernel', 'k']).memory).toBe(4 * GiB));
  test('-m larger than the 40-bit physical address space', () => {
    const e = failure('-m 1023G -m 1T -kernel k');
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toMatch(/^ram size too large/);
  });
  test('-m within 46 physical address bits with -cpu phys-bits=46', () => {
    expect(config('-m 2T -cpu max,phys-bits=46 -kernel k').memory).toBe(2048 * GiB);
  });
});

describe('-smp', () => {
  test('-smp 2', () => expect(config('-smp 2 -kernel k').cpus).toBe(2));
  test('-smp cores=4 computes cpus = 4', () => {
    const c = config('-smp cores=4 -kernel k');
    expect(c.cpus).toBe(4);
    expect(c.topology).toEqual({ sockets: 1, dies: 1, cores: 4, threads: 1, maxCpus: 4 });
  });
  test('-smp sockets=2,cores=2 parses (smp.test.ts) but more than one socket is not modelled yet', () => {
    const e = failure('-smp sockets=2,cores=2 -kernel k');
    expect([e.code, e.message]).toEqual(['INVALID_CONFIG', 'CPU topology sockets=2,cores=2,threads=1 is not supported yet: only one socket of N cores with one thread each (-smp N)']);
  });
  test('-smp is in smp.test.ts in detail; an error surfaces as CliError', () => {
    expect(failure('-smp 300 -kernel k').message).toBe("Invalid SMP CPUs 300. The max CPUs supported by machine 'microvm' is 255");
  });
});

describe('-accel / -enable-kvm', () => {
  const cases: Array<[string, MachineConfig['accel']]> = [
    ['', 'jit'],
    ['-enable-kvm', 'kvm'],
    ['--enable-kvm', 'kvm'],
    ['-enable-kvm -enable-kvm', 'kvm'],
    ['-accel kvm', 'kvm'],
    ['-accel tcg', 'jit'],
    ['-accel accel=kvm', 'kvm'],
    ['-accel kvm,kernel-irqchip=split', 'kvm'],
    // QEMU tries accelerators in order; tcg always initialises.
    ['-accel kvm -accel tcg', 'auto'],
    ['-accel tcg -accel kvm', 'jit'],
  ];
  for (const [opts, want] of cases) {
    test(`'${opts}' -> ${want}`, () => expect(config(`${opts} -kernel k`).accel).toBe(want));
  }
  const errors: Array<[string, CliErrorCode, string]> = [
    ['-accel foo', 'BAD_VALUE', '-accel foo: invalid accelerator foo'],
    ['-accel hvf', 'UNSUPPORTED', '-accel hvf: accelerator hvf is not supported (kvm, or tcg for the JIT)'],
    ['-accel tcg,thread=single', 'UNSUPPORTED', "-accel tcg,thread=single: parameter 'thread' is not supported by microvm-ts"],
    ['-accel kvm,foo=1', 'BAD_VALUE', "-accel kvm,foo=1: Invalid parameter 'foo'"],
    ['-accel kvm,kernel-irqchip=on', 'UNSUPPORTED', '-accel kvm,kernel-irqchip=on: kernel-irqchip=on is not supported (microvm-ts uses kernel-irqchip=split)'],
    ['-accel tcg,kernel-irqchip=split', 'BAD_VALUE', "-accel tcg,kernel-irqchip=split: Property 'tcg-accel.kernel-irqchip' not found"],
    // QEMU 7.2: "-enable-kvm -accel tcg" -> this exact message.
    ['-enable-kvm -accel tcg', 'CONFLICT', 'The -accel and "-machine accel=" options are incompatible'],
    ['-M microvm,accel=kvm -accel kvm', 'CONFLICT', 'The -accel and "-machine accel=" options are incompatible'],
  ];
  for (const [opts, code, msg] of errors) {
    test(`${opts} -> ${code}`, () => {
      const e = failure(`${opts} -kernel k`);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
});

describe('-cpu (details in cpu-option.test.ts)', () => {
  test('-cpu host,invtsc=on,kvmclock=on', () => {
    expect(config('-cpu host,invtsc=on,kvmclock=on -kernel k').cpu).toEqual({ model: 'host', features: { invtsc: true, kvmclock: true } });
  });
  test('-cpu foo', () => expect(failure('-cpu foo -kernel k').message).toBe("unable to find CPU model 'foo'"));
});

describe('serial, display, monitor, -nographic, -nodefaults', () => {
  const cases: Array<[string, MachineConfig['serial']]> = [
    ['', { kind: 'stdio' }],
    ['-nographic', { kind: 'stdio' }],
    ['-display none', { kind: 'stdio' }],
    ['-serial stdio', { kind: 'stdio' }],
    ['-serial none', { kind: 'none' }],
    ['-serial null', { kind: 'null' }],
    ['-serial file:/tmp/out.txt', { kind: 'file', path: '/tmp/out.txt' }],
    ['-serial file:a,b', { kind: 'file', path: 'a,b' }],
    ['-serial tcp::4444,server,nowait', { kind: 'tcp', host: '', port: 4444, server: true, wait: false }],
    ['-serial tcp::4444,server=on,wait=off', { kind: 'tcp', host: '', port: 4444, server: true, wait: false }],
    ['-serial tcp::4444,server', { kind: 'tcp', host: '', port: 4444, server: true, wait: true }],
    ['-serial tcp:127.0.0.1:4444,server,wait=off', { kind: 'tcp', host: '127.0.0.1', port: 4444, server: true, wait: false }],
    ['-serial tcp:localhost:4444', { kind: 'tcp', host: 'localhost', port: 4444, server: false, wait: false }],
    ['-serial tcp:[::1]:4444,server=on,wait=off,nodelay=on', { kind: 'tcp', host: '::1', port: 4444, server: true, wait: false }],
    // QEMU's serial_parse: "none" adds no port, so the next -serial is COM1.
    ['-serial none -serial stdio', { kind: 'stdio' }],
    ['-serial stdio -serial none', { kind: 'stdio' }],
    // -nodefaults drops the default serial (vl.c default_serial), even with -nographic.
    ['-nodefaults', { kind: 'none' }],
    ['-nodefaults -nographic', { kind: 'none' }],
    ['-nodefaults -serial stdio', { kind: 'stdio' }],
    ['-nographic -monitor none -serial stdio', { kind: 'stdio' }],
  ];
  for (const [opts, want] of cases) {
    test(`'${opts}' -> ${want.kind}`, () => expect(config(`${opts} -kernel k`).serial).toEqual(want));
  }
  const errors: Array<[string, CliErrorCode, string]> = [
    ['-serial foo', 'BAD_VALUE', "-serial foo: 'foo' is not a valid char driver"],
    ['-serial pty', 'UNSUPPORTED', "-serial pty: character backend 'pty' is not supported by microvm-ts (supported: stdio, none, null, file:PATH, tcp:HOST:PORT[,server=on][,wait=off])"],
    ['-serial mon:stdio', 'UNSUPPORTED', "-serial mon:stdio: character backend 'mon' is not supported by microvm-ts (supported: stdio, none, null, file:PATH, tcp:HOST:PORT[,server=on][,wait=off])"],
    ['-serial file:', 'BAD_VALUE', "-serial file:: Could not open '': No such file or directory"],
    ['-serial tcp:localhost', 'BAD_VALUE', "-serial tcp:localhost: address must be HOST:PORT, got 'localhost'"],
    ['-serial tcp::99999,server', 'BAD_VALUE', '-serial tcp::99999,server: port 99999 out of range 0..65535'],
    ['-serial tcp::x,server', 'BAD_VALUE', "-serial tcp::x,server: port must be a number, got 'x'"],
    ['-serial tcp::4448,server,nowait,foo=1', 'BAD_VALUE', "-serial tcp::4448,server,nowait,foo=1: Invalid parameter 'foo'"],
    ['-serial tcp::4448,server,telnet=on', 'UNSUPPORTED', "-serial tcp::4448,server,telnet=on: parameter 'telnet' is not supported by microvm-ts"],
    ['-serial tcp::4448,server=maybe', 'BAD_VALUE', "-serial tcp::4448,server=maybe: Parameter 'server' expects 'on' or 'off'"],
    ['-serial tcp:h:1,wait=off', 'BAD_VALUE', "-serial tcp:h:1,wait=off: 'wait' option is incompatible with socket in client connect mode"],
    ['-serial stdio -serial file:x', 'UNSUPPORTED', '-serial file:x: microvm has one serial port (COM1); it is already connected'],
    ['-monitor stdio', 'UNSUPPORTED', '-monitor stdio: monitor not supported (only -monitor none)'],
    ['-monitor tcp::4444,server', 'UNSUPPORTED', '-monitor tcp::4444,server: monitor not supported (only -monitor none)'],
    ['-display gtk', 'UNSUPPORTED', "-display gtk: display 'gtk' is not supported: microvm-ts has no graphics (use -nographic or -display none)"],
    ['-display none,foo=1', 'BAD_VALUE', "-display none,foo=1: Parameter 'foo' is unexpected"],
  ];
  for (const [opts, code, msg] of errors) {
    test(`${opts} -> ${code}`, () => {
      const e = failure(`${opts} -kernel k`);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
});

describe('-no-reboot, -S, -s, -gdb', () => {
  test('-no-reboot (our default) and -action reboot=', () => {
    expect(config('-kernel k').noReboot).toBe(true);
    expect(config('-no-reboot -kernel k').noReboot).toBe(true);
    expect(config('-action reboot=reset -kernel k').noReboot).toBe(false);
    expect(config('-action reboot=shutdown -kernel k').noReboot).toBe(true);
    expect(config('-action reboot=reset,shutdown=poweroff -kernel k').noReboot).toBe(false);
    // The last word wins, as QEMU's -no-reboot is itself reboot=shutdown.
    expect(config('-action reboot=reset -no-reboot -kernel k').noReboot).toBe(true);
    expect(config('-no-reboot -action reboot=reset -kernel k').noReboot).toBe(false);
  });
  const actionErrors: Array<[string, CliErrorCode, string]> = [
    ['-action reboot=foo', 'BAD_VALUE', "-action reboot=foo: Parameter 'reboot' does not accept value 'foo'"],
    ['-action shutdown=pause', 'UNSUPPORTED', '-action shutdown=pause: shutdown=pause is not supported (no monitor to resume a stopped guest)'],
    ['-action panic=none', 'UNSUPPORTED', "-action panic=none: parameter 'panic' is not supported by microvm-ts"],
    ['-action foo=1', 'BAD_VALUE', "-action foo=1: Invalid parameter 'foo'"],
  ];
  for (const [opts, code, msg] of actionErrors) {
    test(`${opts} -> ${code}`, () => {
      const e = failure(`${opts} -kernel k`);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
  const gdb: Array<[string, MachineConfig['gdb']]> = [
    ['-s', { host: '', port: 1234 }],
    ['-gdb tcp::1235', { host: '', port: 1235 }],
    ['-gdb tcp:127.0.0.1:1236', { host: '127.0.0.1', port: 1236 }],
    ['-gdb tcp::1237,server=on,wait=off', { host: '', port: 1237 }],
    ['-gdb none', undefined],
  ];
  for (const [opts, want] of gdb) {
    test(`${opts}`, () => expect(config(`${opts} -kernel k`).gdb).toEqual(want));
  }
  test('-S -s starts paused', () => expect(config('-S -s -kernel k').startPaused).toBe(true));
  const errors: Array<[string, CliErrorCode, string]> = [
    ['-S', 'CONFLICT', '-S: the machine would never start: there is no monitor to continue it; use -S with -s or -gdb'],
    ['-s -gdb tcp::1237', 'CONFLICT', '-gdb/-s: only one GDB server can be configured'],
    ['-gdb foo', 'BAD_VALUE', "-gdb foo: 'foo' is not a valid char driver"],
    ['-gdb stdio', 'UNSUPPORTED', '-gdb stdio: the GDB stub listens on TCP only (-gdb tcp::PORT)'],
    ['-gdb tcp::70000', 'BAD_VALUE', '-gdb tcp::70000: port 70000 out of range 0..65535'],
  ];
  for (const [opts, code, msg] of errors) {
    test(`${opts} -> ${code}`, () => {
      const e = failure(`${opts} -kernel k`);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
});

describe('-d / -D', () => {
  test('-d int,cpu', () => expect(config('-d int,cpu -kernel k').log).toEqual({ items: ['int', 'cpu'] }));
  test('-d in_asm,in_asm,guest_errors -D /tmp/log', () => {
    expect(config('-d in_asm,in_asm,guest_errors -D /tmp/log -kernel k').log).toEqual({ items: ['in_asm', 'guest_errors'], file: '/tmp/log' });
  });
  test('-D alone', () => expect(config('-D /tmp/log -kernel k').log).toEqual({ items: [], file: '/tmp/log' }));
  test('-d all', () => expect(config('-d all -kernel k').log?.items).toContain('unimp'));
  test('-d foo lists the items', () => {
    const e = failure('-d in_asm,foo -kernel k');
    expect(e.code).toBe('BAD_VALUE');
    expect(e.message.split('\n')[0]).toBe("-d in_asm,foo: unknown log item 'foo'");
    expect(e.message).toContain('guest_errors');
  });
  test("-d ''", () => expect(failure(['-d', '', '-kernel', 'k']).message.split('\n')[0]).toBe("-d : unknown log item ''"));
  test('-d trace:foo', () => expect(failure('-d trace:foo -kernel k').message).toBe('-d trace:foo: trace events are not supported'));
  test("-D ''", () => expect(failure(['-D', '', '-kernel', 'k']).message).toBe('-D: log file name must not be empty'));
});

describe('-name, -rtc', () => {
  test('-name foo', () => expect(config('-name foo -kernel k').name).toBe('foo'));
  test('-name guest=foo,process=bar', () => {
    const c = config('-name guest=foo,process=bar -kernel k');
    expect([c.name, c.processName]).toEqual(['foo', 'bar']);
  });
  test('-name a,,b', () => expect(config('-name a,,b -kernel k').name).toBe('a,b'));
  test('-name foo,debug-threads=on', () => {
    expect(failure('-name foo,debug-threads=on -kernel k').message).toBe("-name foo,debug-threads=on: parameter 'debug-threads' is not supported by microvm-ts");
  });
  test('-rtc base=utc and the defaults are accepted', () => {
    expect(() => config('-rtc base=utc -kernel k')).not.toThrow();
    expect(() => config('-rtc base=utc,clock=host,driftfix=none -kernel k')).not.toThrow();
  });
  const errors: Array<[string, string]> = [
    ['-rtc base=localtime', '-rtc base=localtime: base=localtime is not supported (the RTC runs on host UTC: base=utc)'],
    ['-rtc clock=vm', '-rtc clock=vm: clock=vm is not supported (clock=host)'],
    ['-rtc driftfix=slew', '-rtc driftfix=slew: driftfix=slew is not supported (driftfix=none)'],
    ['-rtc foo=1', "-rtc foo=1: Invalid parameter 'foo'"],
  ];
  for (const [opts, msg] of errors) test(opts, () => expect(failure(`${opts} -kernel k`).message).toBe(msg));
});

describe('-device', () => {
  test('isa-debug-exit: QEMU defaults iobase=0x501,iosize=2 (hw/misc/debugexit.c)', () => {
    expect(config('-device isa-debug-exit -kernel k').devices).toEqual([{ driver: 'isa-debug-exit', iobase: 0x501, iosize: 2 }]);
  });
  test('isa-debug-exit,iobase=0xf4,iosize=4', () => {
    expect(config('-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel k').devices).toEqual([{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }]);
  });
  test('driver=isa-debug-exit,id=x,iobase=244,iosize=04 (decimal and octal as strtoull base 0)', () => {
    expect(config('-device driver=isa-debug-exit,id=x,iobase=244,iosize=04 -kernel k').devices).toEqual([{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 4 }]);
  });
  test('-global isa-debug-exit.iobase applies whatever the order; -device props win', () => {
    expect(config('-device isa-debug-exit -global isa-debug-exit.iobase=0xf4 -kernel k').devices)
      .toEqual([{ driver: 'isa-debug-exit', iobase: 0xf4, iosize: 2 }]);
    expect(config('-global isa-debug-exit.iobase=0xf4 -device isa-debug-exit,iobase=0x600 -kernel k').devices)
      .toEqual([{ driver: 'isa-debug-exit', iobase: 0x600, iosize: 2 }]);
  });
  test('virtio-net-device with a netdev given later on the line, and a MAC', () => {
    const c = config('-device virtio-net-device,netdev=n0,mac=52-54-00-AB-cd-01 -netdev user,id=n0 -kernel k');
    expect(c.devices).toEqual([{ driver: 'virtio-net-device', netdev: 'n0', mac: '52:54:00:ab:cd:01' }]);
  });
  test('two NICs on two netdevs keep their order', () => {
    const c = config('-netdev user,id=a -netdev user,id=b -device virtio-net-device,netdev=b -device virtio-net-device,netdev=a -kernel k');
    expect(c.devices.map((d) => (d.driver === 'virtio-net-device' ? d.netdev : ''))).toEqual(['b', 'a']);
  });
  const errors: Array<[string, CliErrorCode, string]> = [
    ['-device foo', 'BAD_VALUE', "-device foo: 'foo' is not a valid device model name"],
    ['-device virtio-blk-device', 'UNSUPPORTED', "-device virtio-blk-device: device 'virtio-blk-device' is not supported by microvm-ts (devices: isa-debug-exit, virtio-net-device)"],
    ['-device virtio-net-pci,netdev=n0', 'UNSUPPORTED', "-device virtio-net-pci,netdev=n0: device 'virtio-net-pci' is not supported by microvm-ts (devices: isa-debug-exit, virtio-net-device)"],
    ['-device isa-debug-exit,foo=1', 'BAD_VALUE', "-device isa-debug-exit,foo=1: Property 'isa-debug-exit.foo' not found"],
    ['-device isa-debug-exit,iobase=foo', 'BAD_VALUE', "-device isa-debug-exit,iobase=foo: Parameter 'iobase' expects integer"],
    ['-device isa-debug-exit,iobase=1k', 'BAD_VALUE', "-device isa-debug-exit,iobase=1k: Parameter 'iobase' expects integer"],
    ['-device isa-debug-exit,iobase=0x10000', 'BAD_VALUE', "-device isa-debug-exit,iobase=0x10000: Parameter 'iobase' expects a value in 0..65535, got '0x10000'"],
    ['-device isa-debug-exit,iosize=0', 'BAD_VALUE', "-device isa-debug-exit,iosize=0: Parameter 'iosize' expects a value in 1..65536, got '0'"],
    ['-device isa-debug-exit,iobase=0xfffe,iosize=4', 'BAD_VALUE', '-device isa-debug-exit,iobase=0xfffe,iosize=4: ports 0xfffe+4 run past 0xffff'],
    ['-device isa-debug-exit,id=0x', 'BAD_VALUE', "-device isa-debug-exit,id=0x: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."],
    ['-device isa-debug-exit,id=a -device isa-debug-exit,id=a,iobase=0xf4', 'BAD_VALUE', "-device isa-debug-exit,id=a,iobase=0xf4: Duplicate device ID 'a'"],
    ['-device isa-debug-exit,iobase=0x3fc', 'INVALID_CONFIG', 'isa-debug-exit at 0x3fc (size 2) overlaps the COM1 UART'],
    ['-device isa-debug-exit -device isa-debug-exit', 'INVALID_CONFIG', 'isa-debug-exit at 0x501 (size 2) overlaps isa-debug-exit at 0x501'],
    ['-device virtio-net-device', 'BAD_VALUE', "-device virtio-net-device: Parameter 'netdev' is missing (a NIC with no backend has no peer)"],
    ['-device virtio-net-device,netdev=n1 -netdev user,id=n0', 'BAD_VALUE', "-device virtio-net-device,netdev=n1: Property 'virtio-net-device.netdev' can't find value 'n1'"],
    ['-netdev user,id=n0 -device virtio-net-device,netdev=n0 -device virtio-net-device,netdev=n0', 'BAD_VALUE', "-device virtio-net-device,netdev=n0: Property 'virtio-net-device.netdev' can't take value 'n0', it's in use"],
    ['-netdev user,id=n0 -device virtio-net-device,netdev=n0,mac=52:54:00:12:34', 'BAD_VALUE', "-device virtio-net-device,netdev=n0,mac=52:54:00:12:34: Property 'virtio-net-device.mac' doesn't take value '52:54:00:12:34'"],
    ['-netdev user,id=n0 -device virtio-net-device,netdev=n0,mac=5:54:00:12:34:56', 'BAD_VALUE', "-device virtio-net-device,netdev=n0,mac=5:54:00:12:34:56: Property 'virtio-net-device.mac' doesn't take value '5:54:00:12:34:56'"],
  ];
  for (const [opts, code, msg] of errors) {
    test(`${opts} -> ${code}`, () => {
      const e = failure(`${opts} -kernel k`);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
  test('isa-debug-exit may use COM1 ports when there is no UART (-serial none)', () => {
    expect(config('-serial none -device isa-debug-exit,iobase=0x3f8 -kernel k').devices).toHaveLength(1);
  });
  test('more NICs than transports (8 with acpi=off)', () => {
    const nd = Array.from({ length: 9 }, (_, i) => `-netdev user,id=n${i} -device virtio-net-device,netdev=n${i}`).join(' ');
    expect(config(`${nd} -M microvm -kernel k`).devices).toHaveLength(9);
    const e = failure(`${nd} -M microvm,acpi=off -kernel k`);
    expect(e.message).toBe('9 virtio devices but microvm has 8 virtio-mmio transports with this configuration');
  });
});

describe('-netdev', () => {
  const cases: Array<[string, MachineConfig['netdevs'][number]]> = [
    ['tap,id=net0,ifname=tap0,script=no,downscript=no', { kind: 'tap', id: 'net0', ifname: 'tap0', script: 'no', downscript: 'no' }],
    ['tap,id=net0,script=no,downscript=no', { kind: 'tap', id: 'net0', script: 'no', downscript: 'no' }],
    ['user,id=n0', { kind: 'user', id: 'n0', hostfwd: [] }],
    ['user,id=n0,net=10.0.3.0/24,hostfwd=tcp::5555-:22', {
      kind: 'user', id: 'n0', net: '10.0.3.0/24', hostfwd: [{ proto: 'tcp', hostPort: 5555, guestPort: 22 }],
    }],
    ['user,id=n0,net=10.0.3.0', { kind: 'user', id: 'n0', net: '10.0.3.0', hostfwd: [] }],
    ['user,id=n0,net=10.0.0.0/255.255.0.0', { kind: 'user', id: 'n0', net: '10.0.0.0/16', hostfwd: [] }],
    ['user,id=n0,hostfwd=tcp::5555-:22,hostfwd=udp:127.0.0.1:5556-10.0.2.15:53', {
      kind: 'user', id: 'n0', hostfwd: [
        { proto: 'tcp', hostPort: 5555, guestPort: 22 },
        { proto: 'udp', hostAddr: '127.0.0.1', hostPort: 5556, guestAddr: '10.0.2.15', guestPort: 53 },
      ],
    }],
    ['user,id=n0,hostfwd=:127.0.0.1:-:22', { kind: 'user', id: 'n0', hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestPort: 22 }] }],
    ['socket,id=n0,listen=:7777', { kind: 'socket', id: 'n0', listen: ':7777' }],
    ['socket,id=n0,connect=127.0.0.1:7780', { kind: 'socket', id: 'n0', connect: '127.0.0.1:7780' }],
    ['socket,id=n0,udp=127.0.0.1:7778,localaddr=127.0.0.1:7779', { kind: 'socket', id: 'n0', udp: '127.0.0.1:7778', localaddr: '127.0.0.1:7779' }],
    ['type=user,id=n.0-_x', { kind: 'user', id: 'n.0-_x', hostfwd: [] }],
  ];
  for (const [text, want] of cases) {
    test(text, () => expect(config(['-netdev', text, '-kernel', 'k']).netdevs).toEqual([want]));
  }
  const errors: Array<[string, CliErrorCode, string]> = [
    ['user', 'BAD_VALUE', "-netdev user: Parameter 'id' is missing"],
    ['user,id=0abc', 'BAD_VALUE', "-netdev user,id=0abc: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."],
    ['user,id=a,,b', 'BAD_VALUE', "-netdev user,id=a,,b: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."],
    ['foo,id=n0', 'BAD_VALUE', "-netdev foo,id=n0: Parameter 'type' does not accept value 'foo'"],
    ['bridge,id=n0', 'UNSUPPORTED', "-netdev bridge,id=n0: netdev type 'bridge' is not supported by microvm-ts (supported: tap, user, socket)"],
    ['user,id=n0,foo=bar', 'BAD_VALUE', "-netdev user,id=n0,foo=bar: Invalid parameter 'foo'"],
    ['user,id=n0,dns=10.0.2.3', 'UNSUPPORTED', "-netdev user,id=n0,dns=10.0.2.3: parameter 'dns' is not supported by microvm-ts"],
    ['user,id=n0,hostfwd=foo', 'BAD_VALUE', "-netdev user,id=n0,hostfwd=foo: Invalid host forwarding rule 'foo' (No : separators)"],
    ['user,id=n0,hostfwd=sctp::1-:2', 'BAD_VALUE', "-netdev user,id=n0,hostfwd=sctp::1-:2: Invalid host forwarding rule 'sctp::1-:2' (Bad protocol name)"],
    ['user,id=n0,hostfwd=tcp::5555-:99999', 'BAD_VALUE', "-netdev user,id=n0,hostfwd=tcp::5555-:99999: Invalid host forwarding rule 'tcp::5555-:99999' (Bad guest port)"],
    ['user,id=n0,hostfwd=tcp::5555-:0', 'BAD_VALUE', "-netdev user,id=n0,hostfwd=tcp::5555-:0: Invalid host forwarding rule 'tcp::5555-:0' (Bad guest port)"],
    ['user,id=n0,hostfwd=tcp::x-:22', 'BAD_VALUE', "-netdev user,id=n0,hostfwd=tcp::x-:22: Invalid host forwarding rule 'tcp::x-:22' (Bad host port)"],
    ['user,id=n0,hostfwd=tcp:1.2.3:1-:22', 'BAD_VALUE', "-netdev user,id=n0,hostfwd=tcp:1.2.3:1-:22: Invalid host forwarding rule 'tcp:1.2.3:1-:22' (Bad host address)"],
    ['user,id=n0,net=300.0.0.0/8', 'BAD_VALUE', '-netdev user,id=n0,net=300.0.0.0/8: Failed to parse netmask'],
    ['user,id=n0,net=10.0.0.0/33', 'BAD_VALUE', '-netdev user,id=n0,net=10.0.0.0/33: Invalid netmask provided (must be in range 0-32)'],
    ['user,id=n0,net=10.0.0.0/255.0.255.0', 'BAD_VALUE', '-netdev user,id=n0,net=10.0.0.0/255.0.255.0: Failed to parse netmask'],
    ['socket,id=n0', 'BAD_VALUE', '-netdev socket,id=n0: exactly one of listen=, connect=, mcast= or udp= is required'],
    ['socket,id=n0,listen=:7781,connect=127.0.0.1:7782', 'BAD_VALUE', '-netdev socket,id=n0,listen=:7781,connect=127.0.0.1:7782: exactly one of listen=, connect=, mcast= or udp= is required'],
    ['socket,id=n0,udp=127.0.0.1:1', 'BAD_VALUE', '-netdev socket,id=n0,udp=127.0.0.1:1: localaddr= is mandatory with udp='],
    ['socket,id=n0,listen=:1,localaddr=:2', 'BAD_VALUE', '-netdev socket,id=n0,listen=:1,localaddr=:2: localaddr= is only valid with mcast= or udp='],
    ['socket,id=n0,connect=nohost', 'BAD_VALUE', "-netdev socket,id=n0,connect=nohost: connect=: address must be HOST:PORT, got 'nohost'"],
    ['socket,id=n0,mcast=230.0.0.1:1234', 'UNSUPPORTED', "-netdev socket,id=n0,mcast=230.0.0.1:1234: parameter 'mcast' is not supported by microvm-ts"],
    ['tap,id=n0,ifname=tap0', 'UNSUPPORTED', "-netdev tap,id=n0,ifname=tap0: script=/etc/qemu-ifup (QEMU's default when it is not given) is not supported: microvm-ts runs no network scripts; set the tap device up beforehand and pass script=no,downscript=no"],
    ['tap,id=n0,script=no,downscript=/bin/down', 'UNSUPPORTED', '-netdev tap,id=n0,script=no,downscript=/bin/down: downscript=/bin/down is not supported: microvm-ts runs no network scripts; set the tap device up beforehand and pass script=no,downscript=no'],
    ['tap,id=n0,ifname=a-very-long-name0,script=no,downscript=no', 'BAD_VALUE', "-netdev tap,id=n0,ifname=a-very-long-name0,script=no,downscript=no: ifname 'a-very-long-name0' is not a valid interface name (1..15 characters, no '/' or spaces)"],
    ['tap,id=n0,fd=3', 'UNSUPPORTED', "-netdev tap,id=n0,fd=3: parameter 'fd' is not supported by microvm-ts"],
  ];
  for (const [text, code, msg] of errors) {
    test(`${text} -> ${code}`, () => {
      const e = failure(['-netdev', text, '-kernel', 'k']);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
  test('duplicate netdev id', () => {
    expect(failure('-netdev user,id=n0 -netdev user,id=n0 -kernel k').message).toBe("-netdev user,id=n0: Duplicate ID 'n0' for netdev");
  });
});

describe('-object filter-dump', () => {
  test('a pcap capture of a netdev', () => {
    const c = config('-netdev user,id=n0 -object filter-dump,id=f0,netdev=n0,file=/tmp/n0.pcap,maxlen=1k -kernel k');
    expect(c.filterDumps).toEqual([{ id: 'f0', netdev: 'n0', file: '/tmp/n0.pcap', maxlen: 1024 }]);
  });
  const errors: Array<[string, string]> = [
    ['-object memory-backend-ram,id=m,size=1G', "-object memory-backend-ram,id=m,size=1G: object type 'memory-backend-ram' is not supported (only filter-dump)"],
    ['-object filter-dump,id=f0,netdev=n0', "-object filter-dump,id=f0,netdev=n0: dump requires 'file' property"],
    ['-object filter-dump,netdev=n0,file=x', "-object filter-dump,netdev=n0,file=x: Parameter 'id' is missing"],
    ['-object filter-dump,id=f0,netdev=zz,file=x', "filter-dump f0: netdev 'zz' not found"],
  ];
  for (const [opts, msg] of errors) test(opts, () => expect(failure(`-netdev user,id=n0 ${opts} -kernel k`).message).toBe(msg));
});

describe('-global', () => {
  const cases: Array<[string, { driver: string; property: string; value: string }]> = [
    ['virtio-mmio.force-legacy=false', { driver: 'virtio-mmio', property: 'force-legacy', value: 'off' }],
    ['virtio-mmio.force-legacy=off', { driver: 'virtio-mmio', property: 'force-legacy', value: 'off' }],
    ['virtio-mmio.force-legacy=true', { driver: 'virtio-mmio', property: 'force-legacy', value: 'on' }],
    ['driver=virtio-mmio,property=force-legacy,value=false', { driver: 'virtio-mmio', property: 'force-legacy', value: 'off' }],
    ['virtio-mmio.ioeventfd=off', { driver: 'virtio-mmio', property: 'ioeventfd', value: 'off' }],
    ['isa-debug-exit.iosize=4', { driver: 'isa-debug-exit', property: 'iosize', value: '4' }],
    ['virtio-net-device.mac=52:54:00:00:00:01', { driver: 'virtio-net-device', property: 'mac', value: '52:54:00:00:00:01' }],
  ];
  for (const [text, want] of cases) {
    test(text, () => expect(config(['-global', text, '-kernel', 'k']).globals).toEqual([want]));
  }
  const errors: Array<[string, CliErrorCode, string]> = [
    ['virtio-mmio.force-legacy=maybe', 'BAD_VALUE', "-global virtio-mmio.force-legacy=maybe: Parameter 'force-legacy' expects 'on' or 'off'"],
    ['virtio-mmio.foo=1', 'UNSUPPORTED', "-global virtio-mmio.foo=1: global property 'virtio-mmio.foo' is not supported by microvm-ts (known: virtio-mmio.force-legacy, virtio-mmio.ioeventfd, isa-debug-exit.iobase, isa-debug-exit.iosize, virtio-net-device.mac)"],
    ['foo.bar=1', 'UNSUPPORTED', "-global foo.bar=1: global property 'foo.bar' is not supported by microvm-ts (known: virtio-mmio.force-legacy, virtio-mmio.ioeventfd, isa-debug-exit.iobase, isa-debug-exit.iosize, virtio-net-device.mac)"],
    ['virtio-mmio.force-legacy', 'BAD_VALUE', "-global virtio-mmio.force-legacy: Invalid parameter 'virtio-mmio.force-legacy' (expected DRIVER.PROPERTY=VALUE)"],
    ['driver=virtio-mmio,property=force-legacy', 'BAD_VALUE', '-global driver=virtio-mmio,property=force-legacy: driver, property and value are all required'],
  ];
  for (const [text, code, msg] of errors) {
    test(`${text} -> ${code}`, () => {
      const e = failure(['-global', text, '-kernel', 'k']);
      expect([e.code, e.message]).toEqual([code, msg]);
    });
  }
});
