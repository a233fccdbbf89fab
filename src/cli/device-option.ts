/**
 * `-device DRIVER[,prop=value...]` and `-global DRIVER.PROP=VALUE` for the
 * devices microvm-ts models. QEMU applies `-global` defaults when a device is
 * created and explicit `-device` properties over them, whatever the order on
 * the command line; `resolveDevices` does the same once all options are read.
 */
import type { DeviceConfig } from '../machine/config.js';
import { CliError } from './errors.js';
import { optsToMap, parseBool, parseId, parseUint, splitOpts } from './qemu-opts.js';

/** QEMU's isa-debug-exit defaults (hw/misc/debugexit.c). */
export const DEBUG_EXIT_DEFAULT_IOBASE = 0x501;
export const DEBUG_EXIT_DEFAULT_IOSIZE = 0x02;

/** Devices QEMU has and we do not: a message that says so. */
const QEMU_ONLY_DEVICES = ['virtio-blk-device', 'virtio-serial-device', 'virtio-rng-device', 'virtio-balloon-device',
  'virtio-gpu-device', 'virtio-keyboard-device', 'virtio-mouse-device', 'virtio-scsi-device', 'vhost-vsock-device',
  'virtio-net-pci', 'virtio-blk-pci', 'e1000', 'e1000e', 'rtl8139', 'isa-serial', 'isa-debugcon', 'pvpanic',
  'virtconsole', 'virtserialport', 'vhost-user-fs-device', 'virtio-9p-device'];

const DEVICE_PROPS: Readonly<Record<DeviceConfig['driver'], ReadonlySet<string>>> = {
  'isa-debug-exit': new Set(['driver', 'id', 'iobase', 'iosize']),
  'virtio-net-device': new Set(['driver', 'id', 'netdev', 'mac']),
};

export interface DeviceRequest {
  driver: DeviceConfig['driver'];
  /** The -device text, for messages. */
  where: string;
  props: Map<string, string>;
}

function isDriver(name: string): name is DeviceConfig['driver'] {
  return Object.prototype.hasOwnProperty.call(DEVICE_PROPS, name);
}

function unknownDriver(name: string, where: string): never {
  if (QEMU_ONLY_DEVICES.includes(name)) {
    throw new CliError('UNSUPPORTED', `${where}: device '${name}' is not supported by microvm-ts ` +
      `(devices: ${Object.keys(DEVICE_PROPS).join(', ')})`);
  }
  throw new CliError('BAD_VALUE', `${where}: '${name}' is not a valid device model name`);
}

/** First pass: syntax, driver and property names. Values are checked in `resolveDevices`. */
export function parseDeviceOption(text: string): DeviceRequest {
  const where = `-device ${text}`;
  const pairs = splitOpts(text, where, { impliedKey: 'driver' });
  const driver = pairs.find((p) => p.key === 'driver')?.value;
  if (driver === undefined) throw new CliError('BAD_VALUE', `${where}: Parameter 'driver' is missing`);
  if (!isDriver(driver)) unknownDriver(driver, where);
  const allowed = DEVICE_PROPS[driver];
  for (const p of pairs) {
    if (!allowed.has(p.key)) throw new CliError('BAD_VALUE', `${where}: Property '${driver}.${p.key}' not found`);
  }
  const props = optsToMap(pairs, where, allowed);
  const id = props.get('id');
  if (id !== undefined) parseId(id, where);
  return { driver, where, props };
}

export interface GlobalProp {
  driver: string;
  property: string;
  value: string;
}

/** The -global pairs we know, with a value check; bool values are normalised to on/off. */
const KNOWN_GLOBALS: Readonly<Record<string, (value: string, where: string) => string>> = {
  'virtio-mmio.force-legacy': (v, w) => (parseBool(v, 'force-legacy', w) ? 'on' : 'off'),
  'virtio-mmio.ioeventfd': (v, w) => (parseBool(v, 'ioeventfd', w) ? 'on' : 'off'),
  'isa-debug-exit.iobase': (v, w) => String(parseUint(v, 'iobase', w, 0, 0xffff)),
  'isa-debug-exit.iosize': (v, w) => String(parseUint(v, 'iosize', w, 1, 0x10000)),
  'virtio-net-device.mac': (v, w) => parseMac(v, 'virtio-net-device', w),
};

export function knownGlobals(): string[] {
  return Object.keys(KNOWN_GLOBALS);
}

/** `-global driver.property=value` or `-global driver=D,property=P,value=V` (QEMU qemu_global_option). */
export function parseGlobalOption(text: string): GlobalProp {
  const where = `-global ${text}`;
  let driver: string;
  let property: string;
  let value: string;
  const m = /^([^.=,]+)\.([^=]+)=(.*)$/s.exec(text);
  if (m) {
    driver = m[1] ?? '';
    property = m[2] ?? '';
    value = m[3] ?? '';
  } else if (text.startsWith('driver=')) {
    const opts = optsToMap(splitOpts(text, where), where, new Set(['driver', 'property', 'value']));
    const d = opts.get('driver');
    const p = opts.get('property');
    const v = opts.get('value');
    if (d === undefined || p === undefined || v === undefined) {
      throw new CliError('BAD_VALUE', `${where}: driver, property and value are all required`);
    }
    driver = d; property = p; value = v;
  } else {
    throw new CliError('BAD_VALUE', `${where}: Invalid parameter '${text}' (expected DRIVER.PROPERTY=VALUE)`);
  }
  const check = KNOWN_GLOBALS[`${driver}.${property}`];
  if (!check) {
    throw new CliError('UNSUPPORTED', `${where}: global property '${driver}.${property}' is not supported by microvm-ts ` +
      `(known: ${knownGlobals().join(', ')})`);
  }
  return { driver, property, value: check(value, where) };
}

/**
 * A MAC address as QEMU's `mac` property takes it (hw/core/qdev-properties-system.c
 * set_mac): six pairs of hex digits separated by ':' or '-'. Returned in
 * lower-case colon form.
 */
export function parseMac(text: string, driver: string, where: string): string {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new CliError('BAD_VALUE', `${where}: Property '${driver}.mac' doesn't take value '${text}'`);
  }
  return text.toLowerCase().replace(/-/g, ':');
}

/** Apply -global defaults, check values and netdev references, and build the device list. */
export function resolveDevices(
  requests: readonly DeviceRequest[], globals: readonly GlobalProp[], netdevIds: ReadonlySet<string>,
): DeviceConfig[] {
  const out: DeviceConfig[] = [];
  const usedNetdevs = new Set<string>();
  const ids = new Set<string>();
  for (const req of requests) {
    const props = new Map<string, string>();
    for (const g of globals) if (g.driver === req.driver) props.set(g.property, g.value);
    for (const [k, v] of req.props) props.set(k, v);
    const id = props.get('id');
    if (id !== undefined) {
      if (ids.has(id)) throw new CliError('BAD_VALUE', `${req.where}: Duplicate device ID '${id}'`);
      ids.add(id);
    }
    switch (req.driver) {
      case 'isa-debug-exit': {
        const iobase = parseUint(props.get('iobase') ?? String(DEBUG_EXIT_DEFAULT_IOBASE), 'iobase', req.where, 0, 0xffff);
        const iosize = parseUint(props.get('iosize') ?? String(DEBUG_EXIT_DEFAULT_IOSIZE), 'iosize', req.where, 1, 0x10000);
        if (iobase + iosize > 0x10000) {
          throw new CliError('BAD_VALUE', `${req.where}: ports 0x${iobase.toString(16)}+${iosize} run past 0xffff`);
        }
        out.push({ driver: 'isa-debug-exit', iobase, iosize });
        break;
      }
      case 'virtio-net-device': {
        const netdev = props.get('netdev');
        if (netdev === undefined) {
          throw new CliError('BAD_VALUE', `${req.where}: Parameter 'netdev' is missing (a NIC with no backend has no peer)`);
        }
        if (!netdevIds.has(netdev)) {
          throw new CliError('BAD_VALUE', `${req.where}: Property 'virtio-net-device.netdev' can't find value '${netdev}'`);
        }
        if (usedNetdevs.has(netdev)) {
          throw new CliError('BAD_VALUE', `${req.where}: Property 'virtio-net-device.netdev' can't take value '${netdev}', it's in use`);
        }
        usedNetdevs.add(netdev);
        const macText = props.get('mac');
        const mac = macText === undefined ? undefined : parseMac(macText, 'virtio-net-device', req.where);
        out.push({ driver: 'virtio-net-device', netdev, ...(mac !== undefined ? { mac } : {}) });
        break;
      }
      default: {
        const never: never = req.driver;
        throw new Error(`unreachable driver ${String(never)}`);
      }
    }
  }
  return out;
}

export function deviceHelpText(): string {
  return [
    'Devices (-device DRIVER[,prop=value...]):',
    '  isa-debug-exit     iobase=PORT (default 0x501), iosize=N (default 2): a write of V ends the process',
    '                     with status (V << 1) | 1',
    '  virtio-net-device  netdev=ID (required), mac=xx:xx:xx:xx:xx:xx: virtio-net on a virtio-mmio transport',
    '',
    'Global properties (-global DRIVER.PROP=VALUE):',
    ...knownGlobals().map((g) => `  ${g}`),
  ].join('\n');
}

