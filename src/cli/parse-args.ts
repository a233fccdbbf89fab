/**
 * argv -> MachineConfig with QEMU's command-line syntax and semantics
 * (softmmu/vl.c qemu_init, QEMU 7.2):
 * - `-opt` and `--opt` are the same; an option's argument is the NEXT argv
 *   element (`-m=4G` is an invalid option, as in QEMU);
 * - option strings use QemuOpts syntax (src/cli/qemu-opts.ts);
 * - `-h`/`-help`/`-version` act as soon as they are seen;
 * - nothing is ignored: an option or value we do not implement is an error
 *   naming it.
 * Where our defaults differ from QEMU's (issue 9) see DEFAULTS_THAT_DIFFER.
 */
import type { CpuConfig, FilterDumpConfig, MachineConfig, MicrovmOptions, NetdevConfig, SerialConfig, SmpTopology } from '../machine/config.js';
import { DEFAULT_CPU_MODEL, DEFAULT_MEMORY_BYTES, MICROVM_OPTIONS_DEFAULT } from '../machine/defaults.js';
import { ConfigError, validateConfig } from '../machine/validate.js';
import { cpuHelpText, parseCpuOption } from './cpu-option.js';
import { deviceHelpText, parseDeviceOption, parseGlobalOption, resolveDevices, type DeviceRequest, type GlobalProp } from './device-option.js';
import { DEFAULT_GDBSTUB_PORT } from './constants.js';
import { CliError } from './errors.js';
import { isLogItem, LOG_ITEMS, logHelpText, type LogItem } from './log-items.js';
import { parseNetdevOption } from './netdev-option.js';
import { optsToMap, parseBool, parseId, parseOnOffAuto, parseSizeParam, splitOpts, type OnOffAuto } from './qemu-opts.js';
import { parseGdbOption, parseSerialOption, type TcpEndpoint } from './serial-option.js';
import { parseQemuSize, SIZE_SYNTAX_HINT } from './size.js';
import { parseSmp, type SmpResult } from './smp.js';

export type ParseResult =
  | { config: MachineConfig }
  | { action: 'help' | 'version' | 'demo' }
  /** `-d help`, `-cpu help`, `-M help`, ...: print `text` and exit 0, as QEMU does. */
  | { action: 'print'; text: string };

export { DEFAULT_GDBSTUB_PORT };

/**
 * A guest reset request (triple fault) ends the process with status 0, as
 * with QEMU's -no-reboot. QEMU's default is to reset and run the guest again:
 * TamaGo programs end with a triple fault, so `-kernel example` would loop
 * for ever. `-action reboot=reset` asks for QEMU's behaviour.
 */
export const DEFAULT_NO_REBOOT = true;

/** QEMU's RAM alignment for -m (hw/core/machine.c machine_set_mem: QEMU_ALIGN_UP(size, 8192)). */
export const RAM_SIZE_ALIGN = 8192;

interface State {
  machineType: string | undefined;
  /** -machine properties merged over all -machine options (later wins), plus -kernel/-initrd/-append. */
  machineProps: Map<string, { value: string; where: string }>;
  memoryText: string | undefined;
  smp: SmpResult | undefined;
  cpu: CpuConfig | undefined;
  accels: Array<{ name: string; where: string }>;
  enableKvm: boolean;
  /**
   * -nographic: QEMU puts serial and monitor on stdio. Our serial default is
   * already stdio and there is no monitor, so it changes nothing here; it is
   * recorded so the intent is visible when debugging a config.
   */
  nographic: boolean;
  serialGiven: boolean;
  serials: SerialConfig[];
  /** undefined: our default (DEFAULT_NO_REBOOT). */
  noReboot: boolean | undefined;
  deviceRequests: DeviceRequest[];
  netdevs: NetdevConfig[];
  filterDumps: FilterDumpConfig[];
  globals: GlobalProp[];
  startPaused: boolean;
  gdbs: Array<TcpEndpoint | undefined>;
  logItems: LogItem[] | undefined;
  logFile: string | undefined;
  name: string | undefined;
  processName: string | undefined;
  nodefaults: boolean;
}

type Handler = (st: State, arg: string) => ParseResult | void;

interface OptionDef {
  /** Metavariable of the argument, or undefined for a flag. */
  readonly arg?: string;
  readonly handle: Handler;
}

/** Machine types QEMU has that we do not emulate. */
const OTHER_MACHINES = /^(pc|q35|isapc|none|x-remote|pc-i440fx-.*|pc-q35-.*|pc-.*)$/;

const OPTIONS: Readonly<Record<string, OptionDef>> = {
  'h': { handle: () => ({ action: 'help' }) },
  'help': { handle: () => ({ action: 'help' }) },
  'version': { handle: () => ({ action: 'version' }) },
  'machine': { arg: 'machine', handle: (st, a) => machineOption(st, a) },
  'M': { arg: 'machine', handle: (st, a) => machineOption(st, a) },
  'm': { arg: 'size', handle: (st, a) => { st.memoryText = a; } },
  'smp': { arg: 'n', handle: (st, a) => { st.smp = parseSmp(a); } },
  'cpu': {
    arg: 'cpu',
    handle: (st, a) => {
      if (a === 'help' || a === '?') return { action: 'print', text: cpuHelpText() };
      st.cpu = parseCpuOption(a);
    },
  },
  'enable-kvm': { handle: (st) => { st.enableKvm = true; } },
  'accel': { arg: 'accel', handle: (st, a) => accelOption(st, a) },
  'kernel': { arg: 'file', handle: (st, a) => { st.machineProps.set('kernel', { value: a, where: `-kernel ${a}` }); } },
  'append': { arg: 'cmdline', handle: (st, a) => { st.machineProps.set('append', { value: a, where: `-append ${a}` }); } },
  'initrd': { arg: 'file', handle: (st, a) => { st.machineProps.set('initrd', { value: a, where: `-initrd ${a}` }); } },
  'nographic': { handle: (st) => { st.nographic = true; } },
  'display': { arg: 'type', handle: (_st, a) => displayOption(a) },
  'serial': {
    arg: 'dev',
    handle: (st, a) => {
      st.serialGiven = true;
      const s = parseSerialOption(a);
      // QEMU's serial_parse: "none" adds no serial port at all.
      if (s.kind === 'none') return;
      if (st.serials.length >= 1) {
        throw new CliError('UNSUPPORTED', `-serial ${a}: microvm has one serial port (COM1); it is already connected`);
      }
      st.serials.push(s);
    },
  },
  'monitor': {
    arg: 'dev',
    handle: (_st, a) => {
      if (a !== 'none') {
        throw new CliError('UNSUPPORTED', `-monitor ${a}: monitor not supported (only -monitor none)`);
      }
    },
  },
  'no-reboot': { handle: (st) => { st.noReboot = true; } },
  'action': { arg: 'event=action', handle: (st, a) => actionOption(st, a) },
  'device': {
    arg: 'driver',
    handle: (st, a) => {
      if (a === 'help' || a === '?') return { action: 'print', text: deviceHelpText() };
      st.deviceRequests.push(parseDeviceOption(a));
    },
  },
  'netdev': {
    arg: 'type',
    handle: (st, a) => {
      if (a === 'help' || a === '?') return { action: 'print', text: 'Available netdev backend types:\nsocket\nuser\ntap' };
      const nd = parseNetdevOption(a);
      if (st.netdevs.some((n) => n.id === nd.id)) {
        throw new CliError('BAD_VALUE', `-netdev ${a}: Duplicate ID '${nd.id}' for netdev`);
      }
      st.netdevs.push(nd);
    },
  },
  'global': { arg: 'driver.prop=value', handle: (st, a) => { st.globals.push(parseGlobalOption(a)); } },
  'S': { handle: (st) => { st.startPaused = true; } },
  's': { handle: (st) => { st.gdbs.push({ host: '', port: DEFAULT_GDBSTUB_PORT }); } },
  'gdb': { arg: 'dev', handle: (st, a) => { st.gdbs.push(parseGdbOption(a)); } },
  'd': { arg: 'item1,...', handle: (st, a) => logOption(st, a) },
  'D': {
    arg: 'logfile',
    handle: (st, a) => {
      if (a === '') throw new CliError('BAD_VALUE', `-D: log file name must not be empty`);
      st.logFile = a;
    },
  },
  'name': { arg: 'string', handle: (st, a) => nameOption(st, a) },
  'nodefaults': { handle: (st) => { st.nodefaults = true; } },
  'rtc': { arg: 'base=utc', handle: (_st, a) => rtcOption(a) },
  'object': { arg: 'typename', handle: (st, a) => objectOption(st, a) },
  // QEMU 7.2 (deprecated there): the same as -machine acpi=off.
  'no-acpi': { handle: (st) => { st.machineProps.set('acpi', { value: 'off', where: '-no-acpi' }); } },
};

/** Every option parseArgs accepts (without the leading '-'). */
export const SUPPORTED_OPTIONS: readonly string[] = Object.keys(OPTIONS);

/**
 * QEMU options microvm-ts does not implement, each with the reason. They are
 * recognised so the message can say "not supported" rather than "invalid".
 */
const UNSUPPORTED_OPTIONS: Readonly<Record<string, string>> = {
  'hda': 'no block devices', 'hdb': 'no block devices', 'hdc': 'no block devices', 'hdd': 'no block devices',
  'drive': 'no block devices', 'cdrom': 'no block devices', 'fda': 'no block devices', 'fdb': 'no block devices',
  'blockdev': 'no block devices', 'snapshot': 'no block devices', 'boot': 'no firmware: boot with -kernel',
  'bios': 'no firmware: boot with -kernel', 'pflash': 'no firmware: boot with -kernel',
  'vga': 'no graphics', 'vnc': 'no graphics', 'spice': 'no graphics', 'sdl': 'no graphics', 'full-screen': 'no graphics',
  'usb': 'no USB', 'usbdevice': 'no USB', 'audiodev': 'no audio', 'soundhw': 'no audio',
  'net': 'use -netdev with -device virtio-net-device', 'nic': 'use -netdev with -device virtio-net-device',
  'chardev': 'use -serial', 'mon': 'no monitor', 'qmp': 'no monitor', 'qmp-pretty': 'no monitor',
  'parallel': 'microvm has no parallel port', 'virtioconsole': 'no virtio-console',
  'daemonize': 'not supported', 'pidfile': 'not supported', 'loadvm': 'no snapshots', 'incoming': 'no migration',
'numa': 'no NUMA', 'fw_cfg': 'no fw_cfg', 'icount': 'no instruction counting',
  'no-shutdown': 'no monitor to resume a stopped guest',
  'no-hpet': 'microvm has no HPET', 'smbios': 'no SMBIOS', 'L': 'no firmware', 'bios-dir': 'no firmware',
  'dtb': 'no device tree on x86', 'mem-path': 'no file-backed RAM', 'mem-prealloc': 'RAM is committed lazily',
  'overcommit': 'not supported', 'realtime': 'not supported', 'sandbox': 'not supported', 'runas': 'not supported',
  'chroot': 'not supported', 'trace': 'no trace events', 'plugin': 'no TCG plugins', 'semihosting': 'not supported',
  'k': 'no keyboard', 'xen-domid': 'no Xen', 'watchdog-action': 'no watchdog', 'action': 'not supported',
  'msg': 'not supported', 'seed': 'not supported', 'cpu-throttle': 'not supported', 'add-fd': 'not supported',
  'readconfig': 'not supported', 'writeconfig': 'not supported', 'nodefconfig': 'not supported',
  'no-user-config': 'not supported', 'preconfig': 'not supported', 'uuid': 'not supported', 'iscsi': 'no block devices',
  'mtdblock': 'no block devices', 'sd': 'no block devices', 'fsdev': 'no 9p', 'virtfs': 'no 9p', 'tpmdev': 'no TPM',
  'singlestep': 'use the GDB stub (-s) to single-step', 'g': 'no graphics', 'portrait': 'no graphics',
  'rotate': 'no graphics', 'alt-grab': 'no graphics', 'ctrl-grab': 'no graphics', 'no-quit': 'no graphics',
  'win2k-hack': 'not supported', 'no-fd-bootchk': 'no floppy', 'device-tree': 'no device tree on x86',
  'compat': 'not supported', 'echr': 'not supported', 'show-cursor': 'no graphics', 'tb-size': 'not supported',
  'mem-merge': 'not supported', 'old-param': 'not supported', 'async-teardown': 'not supported',
};

/** Parse QEMU-style argv (without the node and script paths). */
export function parseArgs(argv: readonly string[]): ParseResult {
  if (argv.length === 0) return { action: 'demo' };
  const st: State = {
    machineType: undefined, machineProps: new Map(), memoryText: undefined, smp: undefined, cpu: undefined,
    accels: [], enableKvm: false, nographic: false, serialGiven: false, serials: [], noReboot: undefined,
    deviceRequests: [], netdevs: [], filterDumps: [], globals: [], startPaused: false, gdbs: [], logItems: undefined,
    logFile: undefined, name: undefined, processName: undefined, nodefaults: false,
  };
  let i = 0;
  while (i < argv.length) {
    const raw = argv[i] ?? '';
    i++;
    if (!raw.startsWith('-')) {
      // QEMU takes a bare argument as a disk image for the first IDE disk.
      throw new CliError('UNSUPPORTED', `${raw}: disk images are not supported (did you mean -kernel ${raw}?)`);
    }
    // vl.c lookup_opt: "Treat --foo the same as -foo."
    const name = raw.startsWith('--') ? raw.slice(2) : raw.slice(1);
    const def = Object.prototype.hasOwnProperty.call(OPTIONS, name) ? OPTIONS[name] : undefined;
    if (def === undefined) {
      const why = Object.prototype.hasOwnProperty.call(UNSUPPORTED_OPTIONS, name) ? UNSUPPORTED_OPTIONS[name] : undefined;
      if (why !== undefined) throw new CliError('UNSUPPORTED', `${raw}: option not supported by microvm-ts (${why})`);
      throw new CliError('INVALID_OPTION', `${raw}: invalid option`);
    }
    let arg = '';
    if (def.arg !== undefined) {
      if (i >= argv.length) throw new CliError('MISSING_ARGUMENT', `${raw}: requires an argument`);
      arg = argv[i] ?? '';
      i++;
    }
    const res = def.handle(st, arg);
    if (res !== undefined) return res;
  }
  const config = buildConfig(st);
  try {
    validateConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError('INVALID_CONFIG', e.message, { cause: e });
    throw e;
  }
  return { config };
}

function machineOption(st: State, text: string): ParseResult | void {
  const where = `-machine ${text}`;
  const tokens = text.split(',');
  if (tokens[0] === 'help' || tokens[0] === '?') {
    return { action: 'print', text: 'Supported machines are:\nmicrovm              microvm (i386) (default)' };
  }
  if (tokens.slice(1).some((t) => t === 'help' || t === '?')) return { action: 'print', text: machineHelpText() };
  const pairs = splitOpts(text, where, { impliedKey: 'type' });
  for (const p of pairs) {
    if (p.key === 'type') {
      st.machineType = p.value;
    } else {
      st.machineProps.set(p.key, { value: p.value, where });
    }
  }
}

function machineHelpText(): string {
  return [
    'microvm-machine options:',
    '  acpi=<OnOffAuto>         - Enable ACPI (default: on)',
    '  append=<string>          - Linux kernel command line',
    '  auto-kernel-cmdline=on   - add virtio-mmio devices to the kernel cmdline when acpi=off (always on)',
    '  graphics=<bool>          - accepted; microvm has no display device either way',
    '  initrd=<string>          - initial ramdisk file',
    '  ioapic2=<OnOffAuto>      - Enable second IO-APIC (default: on with ACPI)',
    '  isa-serial=<bool>        - Set off to disable the ISA serial port (default: on)',
    '  kernel=<string>          - kernel image file',
    '  pcie=off                 - no PCIe',
    '  pic=off                  - no i8259 PIC (pic=on is refused)',
    '  pit=off                  - no i8254 PIT (pit=on is refused)',
    '  rtc=<OnOffAuto>          - Enable MC146818 RTC (default: on)',
    '  smm=off                  - no SMM',
    '  usb=off                  - no USB',
    '  x-option-roms=<bool>     - accepted; there are no option ROMs to load (default: on)',
  ].join('\n');
}

/** Machine property names QEMU's microvm has that we do not implement. */
const UNSUPPORTED_MACHINE_PROPS = new Set(['memory-backend', 'confidential-guest-support', 'dump-guest-core',
  'mem-merge', 'suppress-vmdesc', 'firmware', 'dtb', 'dumpdtb', 'dt-compatible', 'phandle-start', 'boot',
  'memory-encryption', 'x-oem-id', 'x-oem-table-id', 'sgx-epc', 'bus-lock-ratelimit', 'memory', 'smp']);

function buildMachine(st: State): { opts: MicrovmOptions; kernel?: string; initrd?: string; append?: string; accel?: { list: string; where: string } } {
  const type = st.machineType ?? 'microvm';
  if (type !== 'microvm') {
    if (OTHER_MACHINES.test(type)) {
      throw new CliError('UNSUPPORTED', `-machine ${type}: machine type '${type}' is not supported: microvm-ts emulates only 'microvm'`);
    }
    throw new CliError('BAD_VALUE', `unsupported machine type\nUse -machine help to list supported machines`);
  }
  const opts: MicrovmOptions = { ...MICROVM_OPTIONS_DEFAULT };
  const out: ReturnType<typeof buildMachine> = { opts };
  let ioapic2: OnOffAuto = 'auto';
  for (const [key, { value, where }] of st.machineProps) {
    switch (key) {
      case 'x-option-roms': opts.xOptionRoms = parseBool(value, key, where); break;
      case 'isa-serial': opts.isaSerial = parseBool(value, key, where); break;
      case 'graphics': parseBool(value, key, where); break;
      case 'pit':
      case 'pic': {
        const v = parseOnOffAuto(value, key, where);
        if (v === 'on') {
          const part = key === 'pit' ? 'i8254 PIT' : 'i8259 PIC';
          throw new CliError('UNSUPPORTED', `${where}: ${key}=on is not supported: microvm-ts has no ${part} (use ${key}=off)`);
        }
        // auto: QEMU creates one under TCG; we have none, so auto means off.
        opts[key] = false;
        break;
      }
      case 'rtc': opts.rtc = parseOnOffAuto(value, key, where) !== 'off'; break;
      case 'acpi': opts.acpi = parseOnOffAuto(value, key, where) !== 'off'; break;
      case 'ioapic2': ioapic2 = parseOnOffAuto(value, key, where); break;
      case 'smm':
      case 'pcie':
        if (parseOnOffAuto(value, key, where) === 'on') {
          throw new CliError('UNSUPPORTED', `${where}: ${key}=on is not supported by microvm-ts`);
        }
        break;
      case 'usb':
        if (parseBool(value, key, where)) throw new CliError('UNSUPPORTED', `${where}: usb=on is not supported (no USB)`);
        break;
      case 'auto-kernel-cmdline':
        if (!parseBool(value, key, where)) {
          throw new CliError('UNSUPPORTED', `${where}: auto-kernel-cmdline=off is not supported`);
        }
        break;
      case 'kernel': out.kernel = value; break;
      case 'initrd': out.initrd = value; break;
      case 'append': out.append = value; break;
      case 'accel': out.accel = { list: value, where }; break;
      default:
        if (UNSUPPORTED_MACHINE_PROPS.has(key)) {
          throw new CliError('UNSUPPORTED', `${where}: machine property '${key}' is not supported by microvm-ts`);
        }
        throw new CliError('BAD_VALUE', `${where}: Property 'microvm-machine.${key}' not found`);
    }
  }
  // hw/i386/microvm.c: ioapic2=auto means on when ACPI is enabled.
  opts.ioapic2 = ioapic2 === 'auto' ? opts.acpi : ioapic2 === 'on';
  return out;
}

function accelOption(st: State, text: string): ParseResult | void {
  const where = `-accel ${text}`;
  const pairs = splitOpts(text, where, { impliedKey: 'accel' });
  const m = optsToMap(pairs, where, new Set(['accel', 'kernel-irqchip']),
    new Set(['thread', 'tb-size', 'split-wx', 'one-insn-per-tb', 'kvm-shadow-mem', 'dirty-ring-size',
      'notify-vmexit', 'notify-window', 'eager-split-size', 'xen-version']));
  const name = m.get('accel') ?? '';
  if (name === 'help' || name === '?') return { action: 'print', text: 'Accelerators supported in microvm-ts:\ntcg (the WebAssembly JIT)\nkvm' };
  checkAccelName(name, where);
  const irqchip = m.get('kernel-irqchip');
  if (irqchip !== undefined) {
    if (name !== 'kvm') throw new CliError('BAD_VALUE', `${where}: Property '${name}-accel.kernel-irqchip' not found`);
    if (irqchip !== 'split') {
      throw new CliError('UNSUPPORTED', `${where}: kernel-irqchip=${irqchip} is not supported (microvm-ts uses kernel-irqchip=split)`);
    }
  }
  st.accels.push({ name, where });
}

function checkAccelName(name: string, where: string): void {
  if (name === 'kvm' || name === 'tcg') return;
  if (['hvf', 'whpx', 'xen', 'nvmm', 'hax', 'qtest'].includes(name)) {
    throw new CliError('UNSUPPORTED', `${where}: accelerator ${name} is not supported (kvm, or tcg for the JIT)`);
  }
  throw new CliError('BAD_VALUE', `${where}: invalid accelerator ${name}`);
}

/**
 * QEMU tries accelerators in order and uses the first that initialises; tcg
 * (our JIT) always does. So [tcg, ...] is 'jit', [kvm] is 'kvm', and
 * [kvm, ..., tcg] is 'auto' (KVM when available, else the JIT).
 */
function resolveAccel(st: State, machineAccel: { list: string; where: string } | undefined): MachineConfig['accel'] {
  let names: string[];
  if (st.accels.length > 0) {
    if (st.enableKvm || machineAccel !== undefined) {
      throw new CliError('CONFLICT', `The -accel and "-machine accel=" options are incompatible`);
    }
    names = st.accels.map((a) => a.name);
  } else if (machineAccel !== undefined) {
    names = machineAccel.list.split(':');
    for (const n of names) checkAccelName(n, machineAccel.where);
    if (st.enableKvm) names = ['kvm'];
  } else if (st.enableKvm) {
    names = ['kvm'];
  } else {
    return 'jit';
  }
  if (names[0] === 'tcg') return 'jit';
  return names.includes('tcg') ? 'auto' : 'kvm';
}

function displayOption(text: string): ParseResult | void {
  const where = `-display ${text}`;
  const pairs = splitOpts(text, where, { impliedKey: 'type' });
  const type = pairs.find((p) => p.key === 'type')?.value ?? '';
  if (type === 'help' || type === '?') return { action: 'print', text: 'Available display backend types:\nnone' };
  if (type !== 'none') {
    throw new CliError('UNSUPPORTED', `${where}: display '${type}' is not supported: microvm-ts has no graphics (use -nographic or -display none)`);
  }
  for (const p of pairs) {
    if (p.key !== 'type') throw new CliError('BAD_VALUE', `${where}: Parameter '${p.key}' is unexpected`);
  }
}

function logOption(st: State, text: string): ParseResult | void {
  const items: LogItem[] = [];
  for (const item of text.split(',')) {
    if (item === 'help' || item === '?') return { action: 'print', text: logHelpText() };
    if (item === 'all') {
      for (const k of Object.keys(LOG_ITEMS)) if (isLogItem(k) && !items.includes(k)) items.push(k);
      continue;
    }
    if (item.startsWith('trace:')) {
      throw new CliError('UNSUPPORTED', `-d ${text}: trace events are not supported`);
    }
    if (!isLogItem(item)) {
      throw new CliError('BAD_VALUE', `-d ${text}: unknown log item '${item}'\n${logHelpText()}`);
    }
    if (!items.includes(item)) items.push(item);
  }
  st.logItems = items;
}

function nameOption(st: State, text: string): void {
  const where = `-name ${text}`;
  const m = optsToMap(splitOpts(text, where, { impliedKey: 'guest' }), where, new Set(['guest', 'process']),
    new Set(['debug-threads']));
  const guest = m.get('guest');
  const proc = m.get('process');
  if (guest !== undefined) st.name = guest;
  if (proc !== undefined) st.processName = proc;
}

/**
 * `-object filter-dump,id=ID,netdev=NETDEV,file=FILE[,maxlen=SIZE]` (net/dump.c):
 * a pcap capture of a netdev's traffic. No other object type is implemented.
 */
function objectOption(st: State, text: string): void {
  const where = `-object ${text}`;
  const pairs = splitOpts(text, where, { impliedKey: 'qom-type' });
  const type = pairs.find((p) => p.key === 'qom-type')?.value ?? '';
  if (type !== 'filter-dump') {
    throw new CliError('UNSUPPORTED', `${where}: object type '${type}' is not supported (only filter-dump)`);
  }
  const m = optsToMap(pairs, where, new Set(['qom-type', 'id', 'netdev', 'file', 'maxlen']), new Set(['queue', 'position', 'insert', 'status']));
  const id = m.get('id');
  const netdev = m.get('netdev');
  const file = m.get('file');
  if (id === undefined) throw new CliError('BAD_VALUE', `${where}: Parameter 'id' is missing`);
  parseId(id, where);
  if (netdev === undefined) throw new CliError('BAD_VALUE', `${where}: Parameter 'netdev' is missing`);
  if (file === undefined || file === '') throw new CliError('BAD_VALUE', `${where}: dump requires 'file' property`);
  if (st.filterDumps.some((d) => d.id === id)) throw new CliError('BAD_VALUE', `${where}: attempt to add duplicate property '${id}' to object`);
  const maxlenText = m.get('maxlen');
  const maxlen = maxlenText === undefined ? undefined : parseSizeParam(maxlenText, 'maxlen', where);
  if (maxlen !== undefined && (maxlen < 1 || maxlen > 0xffffffff)) {
    throw new CliError('BAD_VALUE', `${where}: Parameter 'maxlen' must be 1..4294967295`);
  }
  st.filterDumps.push({ id, netdev, file, ...(maxlen !== undefined ? { maxlen } : {}) });
}

/** `-action reboot=reset|shutdown[,shutdown=poweroff]` (QEMU 6.0+, qapi/run-state.json). */
function actionOption(st: State, text: string): void {
  const where = `-action ${text}`;
  const m = optsToMap(splitOpts(text, where), where, new Set(['reboot', 'shutdown']), new Set(['panic', 'watchdog']));
  const reboot = m.get('reboot');
  if (reboot !== undefined) {
    if (reboot === 'reset') st.noReboot = false;
    else if (reboot === 'shutdown') st.noReboot = true;
    else throw new CliError('BAD_VALUE', `${where}: Parameter 'reboot' does not accept value '${reboot}'`);
  }
  const shutdown = m.get('shutdown');
  if (shutdown !== undefined && shutdown !== 'poweroff') {
    if (shutdown === 'pause') {
      throw new CliError('UNSUPPORTED', `${where}: shutdown=pause is not supported (no monitor to resume a stopped guest)`);
    }
    throw new CliError('BAD_VALUE', `${where}: Parameter 'shutdown' does not accept value '${shutdown}'`);
  }
}

function rtcOption(text: string): void {
  const where = `-rtc ${text}`;
  const m = optsToMap(splitOpts(text, where), where, new Set(['base', 'clock', 'driftfix']));
  const base = m.get('base');
  if (base !== undefined && base !== 'utc') {
    throw new CliError('UNSUPPORTED', `${where}: base=${base} is not supported (the RTC runs on host UTC: base=utc)`);
  }
  const clock = m.get('clock');
  if (clock !== undefined && clock !== 'host') {
    throw new CliError('UNSUPPORTED', `${where}: clock=${clock} is not supported (clock=host)`);
  }
  const driftfix = m.get('driftfix');
  if (driftfix !== undefined && driftfix !== 'none') {
    throw new CliError('UNSUPPORTED', `${where}: driftfix=${driftfix} is not supported (driftfix=none)`);
  }
}

/**
 * -m: `[size=]N[suffix]` (vl.c parse_memory_options). The value is first a
 * QemuOpts size (default unit B), then a number without suffix means MiB;
 * 0 or empty means the default; the result is rounded up to 8 KiB.
 */
export function parseMemoryOption(text: string): number | undefined {
  const where = `-m ${text}`;
  const m = optsToMap(splitOpts(text, where, { impliedKey: 'size' }), where, new Set(['size']), new Set(['slots', 'maxmem']));
  const sizeText = m.get('size');
  if (sizeText === undefined) return undefined;
  const asBytes = parseQemuSize(sizeText, 'B');
  if (asBytes === undefined) throw new CliError('BAD_VALUE', `${where}: Parameter 'size' ${SIZE_SYNTAX_HINT}`);
  // "Fix up legacy suffix-less format": append M.
  const lastIsDigit = /[0-9]$/.test(sizeText);
  let bytes = asBytes;
  if (lastIsDigit) bytes = asBytes * 1024n * 1024n;
  if (bytes === 0n) return undefined;
  const align = BigInt(RAM_SIZE_ALIGN);
  bytes = ((bytes + align - 1n) / align) * align;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new CliError('BAD_VALUE', `${where}: ram size too large`);
  return Number(bytes);
}

function buildConfig(st: State): MachineConfig {
  const machine = buildMachine(st);
  const kernel = machine.kernel;
  if (kernel === undefined || kernel === '') {
    if (machine.append !== undefined) throw new CliError('MISSING_OPTION', '-append only allowed with -kernel option');
    if (machine.initrd !== undefined) throw new CliError('MISSING_OPTION', '-initrd only allowed with -kernel option');
    throw new CliError('MISSING_OPTION',
      'no -kernel given: microvm-ts boots a kernel image directly (it has no firmware to boot a disk); see --help');
  }
  const accel = resolveAccel(st, machine.accel);
  const memory = st.memoryText === undefined ? DEFAULT_MEMORY_BYTES : (parseMemoryOption(st.memoryText) ?? DEFAULT_MEMORY_BYTES);

  // Serial: explicit -serial disables the default; -nodefaults too (vl.c default_serial).
  let serial: SerialConfig;
  if (st.serials[0] !== undefined) serial = st.serials[0];
  else if (st.serialGiven || st.nodefaults) serial = { kind: 'none' };
  else serial = { kind: 'stdio' };

  const gdbs = st.gdbs;
  if (gdbs.length > 1) throw new CliError('CONFLICT', '-gdb/-s: only one GDB server can be configured');
  const gdb = gdbs[0];
  if (st.startPaused && gdb === undefined) {
    throw new CliError('CONFLICT', '-S: the machine would never start: there is no monitor to continue it; use -S with -s or -gdb');
  }
  const devices = resolveDevices(st.deviceRequests, st.globals, new Set(st.netdevs.map((n) => n.id)));
  const cpu = st.cpu ?? { model: DEFAULT_CPU_MODEL, features: {} };
  const topology: SmpTopology | undefined = st.smp?.topology;
  const config: MachineConfig = {
    machine: machine.opts,
    memory,
    cpus: st.smp?.cpus ?? 1,
    ...(topology ? { topology } : {}),
    cpu,
    accel,
    kernel,
    ...(machine.append !== undefined ? { append: machine.append } : {}),
    ...(machine.initrd !== undefined ? { initrd: machine.initrd } : {}),
    serial,
    noReboot: st.noReboot ?? DEFAULT_NO_REBOOT,
    devices,
    netdevs: st.netdevs,
    ...(st.filterDumps.length > 0 ? { filterDumps: st.filterDumps } : {}),
    globals: st.globals.map((g) => ({ driver: g.driver, property: g.property, value: g.value })),
    ...(gdb ? { gdb: { host: gdb.host, port: gdb.port } } : {}),
    startPaused: st.startPaused,
    ...(st.logItems !== undefined || st.logFile !== undefined
      ? { log: { items: st.logItems ?? [], ...(st.logFile !== undefined ? { file: st.logFile } : {}) } }
      : {}),
    ...(st.name !== undefined ? { name: st.name } : {}),
    ...(st.processName !== undefined ? { processName: st.processName } : {}),
  };
  return config;
}

