/**
 * Machine snapshots: boot a guest once, save the whole machine, and start
 * any number of machines from that point.
 *
 * What is saved: the configuration (with the kernel and initrd bytes, so a
 * later `reset()` reloads the same image), every vCPU and whatever the
 * accelerator models itself (`Accelerator.saveState`: on KVM registers,
 * MSRs, FPU, LAPIC, MP state and pending events), the devices the machine
 * owns (UART, RTC, IOAPICs, virtio-mmio transports and their devices
 * through their `saveState()`), and guest RAM.
 *
 * RAM: guest memory is committed lazily (untouched pages cost nothing), and
 * a booted small guest touches little of it. A snapshot keeps only the
 * 4 KiB pages that are not all zero, as runs of consecutive pages. A
 * restore creates a fresh (lazily committed) machine and writes only those
 * pages, so restoring a 512 MiB guest that touched 2 MiB copies 2 MiB; the
 * zero scan on save uses memcmp (Buffer.compare) against a zero page, whose
 * reads of untouched memory do not commit it either. True copy-on-write
 * (mmap of the snapshot file MAP_PRIVATE) is not possible from Node without
 * a native addon; this is the next best and is measured in bench/library.mjs.
 *
 * File format (little-endian): "MVMSNAP1" | u32 header length | header JSON
 * (UTF-8) | payload. The header refers to payload bytes by [offset, length];
 * bigint, Uint8Array and Map values in it are tagged objects (see `encode`).
 *
 * virtio devices: the transport's and the device's state (`SnapshotDevice`,
 * used when present). Host-side netdev state (a `user` netdev's TCP
 * connections, a socket peer) is not saved: the restored machine gets fresh
 * netdevs from the same configuration.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { AcceleratorSnapshot } from '../accel/types.js';
import type { MachineConfig, NetdevConfig } from './config.js';
import type { Microvm } from './microvm.js';
import { NotSupportedError } from './inspect.js';

/** The first 8 bytes of every snapshot. */
export const SNAPSHOT_MAGIC = 'MVMSNAP1';
const PAGE = 4096;

/** A snapshot could not be taken, read or restored (`code` says why). */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  constructor(readonly code: 'BAD_FORMAT' | 'UNSUPPORTED' | 'MISMATCH' | 'BAD_STATE', msg: string, options?: { cause?: unknown }) {
    super(msg, options);
  }
}

/** A blob in the payload. */
type BlobRef = [offset: number, length: number];

interface SnapshotHeader {
  version: 1;
  /** The config without kernel/initrd bytes (those are blobs) and without in-process objects. */
  config: Omit<MachineConfig, 'kernel' | 'initrd'> & { kernelName?: string; initrdName?: string };
  kernel: BlobRef;
  initrd?: BlobRef;
  accel: unknown;
  /** `virtio`: started virtio-mmio transports by index (those with saveState). */
  devices: { uart?: unknown; rtc?: unknown; ioapics: unknown[]; virtio?: Record<string, unknown> };
  /** The machine's clock when saved (informational; devices carry their own deadlines). */
  savedAtNs: string;
  /** Non-zero RAM: [gpa, pages, payload offset]. */
  ram: Array<[number, number, number]>;
  /** Bytes of RAM the snapshot holds (pages * 4096). */
  ramBytes: number;
}

/** A parsed snapshot, ready to start machines from. */
export interface MachineSnapshot {
  readonly config: MachineConfig;
  readonly accel: AcceleratorSnapshot;
  readonly devices: SnapshotHeader['devices'];
  /** Non-zero RAM pages as runs: guest physical address and bytes (views into the snapshot buffer). */
  readonly ram: ReadonlyArray<{ gpa: number; data: Uint8Array }>;
  /** Total bytes of RAM held (what a restore writes). */
  readonly ramBytes: number;
}

/**
 * Save `machine` (paused by the caller) as a snapshot buffer. Throws
 * NotSupportedError when the accelerator has no `saveState`, and
 * SnapshotError('UNSUPPORTED') with a virtio device in use.
 */
export function saveMachine(machine: Microvm): Uint8Array {
  const accel = machine.accelerator;
  if (!accel || machine.state !== 'paused') {
    throw new SnapshotError('BAD_STATE', `a snapshot needs a started, paused machine (it is ${machine.state})`);
  }
  if (!accel.saveState) throw new NotSupportedError(accel.name, 'saveState', 'taking a snapshot');
  const virtio: Record<string, unknown> = {};
  for (const [index, t] of machine.virtio.mmioTransports) {
    if (!t.device || t.deviceStatus === 0) continue;
    const transport = t as Partial<SnapshotDevice>;
    const device = t.device as Partial<SnapshotDevice>;
    if (!transport.saveState || !transport.restoreState || !device.saveState || !device.restoreState) {
      throw new SnapshotError('UNSUPPORTED', `virtio-mmio.${index}: a snapshot of a started virtio device is not supported yet (no saveState)`);
    }
    virtio[String(index)] = encode({ transport: transport.saveState(), device: device.saveState() });
  }
  const payload: Uint8Array[] = [];
  let payloadLen = 0;
  const blob = (b: Uint8Array): BlobRef => {
    payload.push(b);
    payloadLen += b.length;
    return [payloadLen - b.length, b.length];
  };
  const { kernel, initrd, ...rest } = machine.config;
  const config: SnapshotHeader['config'] = {
    ...rest,
    netdevs: rest.netdevs.map(stripPort),
    ...(typeof kernel === 'string' ? { kernelName: kernel } : {}),
    ...(typeof initrd === 'string' ? { initrdName: initrd } : {}),
  };
  const kernelRef = blob(machine.kernelBytes);
  const initrdRef = machine.initrdBytes ? blob(machine.initrdBytes) : undefined;
  const ram: Array<[number, number, number]> = [];
  let ramBytes = 0;
  for (const r of machine.memory.regions) {
    const view = new Uint8Array(r.buffer, r.offset, r.size);
    for (const run of nonZeroRuns(view)) {
      const data = view.subarray(run.start, run.start + run.pages * PAGE);
      const [off] = blob(data);
      ram.push([r.gpa + run.start, run.pages, off]);
      ramBytes += data.length;
    }
  }
  const header: SnapshotHeader = {
    version: 1,
    config,
    kernel: kernelRef,
    ...(initrdRef ? { initrd: initrdRef } : {}),
    accel: encode(accel.saveState()),
    devices: {
      ...(machine.uart ? { uart: encode(machine.uart.saveState()) } : {}),
      ...(machine.rtc ? { rtc: encode(machine.rtc.saveState()) } : {}),
      ioapics: machine.ioapics.map((io) => encode(io.saveState())),
      ...(Object.keys(virtio).length > 0 ? { virtio } : {}),
    },
    savedAtNs: machine.time.nowNs().toString(),
    ram,
    ramBytes,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(12 + json.length + payloadLen);
  out.set(Buffer.from(SNAPSHOT_MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let at = 12 + json.length;
  for (const p of payload) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parse a snapshot buffer (validated: a corrupt file throws SnapshotError('BAD_FORMAT')). */
export function parseSnapshot(buf: Uint8Array): MachineSnapshot {
  if (buf.length < 12 || Buffer.from(buf.subarray(0, 8)).toString('latin1') !== SNAPSHOT_MAGIC) {
    throw new SnapshotError('BAD_FORMAT', 'not a microvm-ts snapshot (bad magic)');
  }
  const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(8, true);
  if (12 + len > buf.length) throw new SnapshotError('BAD_FORMAT', 'snapshot header runs past the end');
  let h: SnapshotHeader;
  try {
    h = JSON.parse(Buffer.from(buf.subarray(12, 12 + len)).toString('utf8')) as SnapshotHeader;
  } catch (e) {
    throw new SnapshotError('BAD_FORMAT', 'snapshot header is not JSON', { cause: e });
  }
  if (typeof h !== 'object' || h === null || h.version !== 1 || !Array.isArray(h.ram) || typeof h.config !== 'object') {
    throw new SnapshotError('BAD_FORMAT', 'unsupported snapshot header');
  }
  const base = 12 + len;
  const slice = (ref: unknown, what: string): Uint8Array => {
    if (!Array.isArray(ref) || !Number.isSafeInteger(ref[0]) || !Number.isSafeInteger(ref[1])) throw new SnapshotError('BAD_FORMAT', `bad ${what} reference`);
    const [off, n] = ref as [number, number];
    if (off < 0 || n < 0 || base + off + n > buf.length) throw new SnapshotError('BAD_FORMAT', `${what} lies outside the snapshot`);
    return buf.subarray(base + off, base + off + n);
  };
  const { kernelName: _k, initrdName: _i, ...cfg } = h.config;
  const config: MachineConfig = {
    ...cfg,
    kernel: slice(h.kernel, 'kernel'),
    ...(h.initrd ? { initrd: slice(h.initrd, 'initrd') } : {}),
  };
  const ram = h.ram.map((r, i) => {
    if (!Array.isArray(r) || r.length !== 3) throw new SnapshotError('BAD_FORMAT', `bad RAM run ${i}`);
    const [gpa, pages, off] = r;
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE !== 0 || gpa + pages * PAGE > config.memory + 2 ** 32) {
      throw new SnapshotError('BAD_FORMAT', `bad RAM run ${i}`);
    }
    return { gpa, data: slice([off, pages * PAGE], `RAM run ${i}`) };
  });
  const accel = decode(h.accel) as AcceleratorSnapshot;
  if (typeof accel !== 'object' || accel === null || (accel.accel !== 'kvm' && accel.accel !== 'jit') || !Array.isArray(accel.vcpus)) {
    throw new SnapshotError('BAD_FORMAT', 'bad accelerator state');
  }
  const devices = {
    ...(h.devices?.uart !== undefined ? { uart: decode(h.devices.uart) } : {}),
    ...(h.devices?.rtc !== undefined ? { rtc: decode(h.devices.rtc) } : {}),
    ioapics: Array.isArray(h.devices?.ioapics) ? h.devices.ioapics.map(decode) : [],
    ...(typeof h.devices?.virtio === 'object' && h.devices.virtio !== null
      ? { virtio: Object.fromEntries(Object.entries(h.devices.virtio).map(([k, v]) => [k, decode(v)])) } : {}),
  };
  return { config, accel, devices, ram, ramBytes: ram.reduce((n, r) => n + r.data.length, 0) };
}

/**
 * Fill a freshly created, not yet started machine from `snap` (for
 * `Microvm.start({ restore })`): RAM, the accelerator's state, devices.
 */
export function restoreMachine(machine: Microvm, snap: MachineSnapshot): void {
  const accel = machine.accelerator;
  if (!accel) throw new SnapshotError('BAD_STATE', 'restore needs an initialized accelerator');
  if (!accel.restoreState) throw new NotSupportedError(accel.name, 'restoreState', 'restoring a snapshot');
  if (accel.name !== snap.accel.accel) {
    throw new SnapshotError('MISMATCH', `the snapshot was taken on ${snap.accel.accel}; this machine runs ${accel.name}`);
  }
  for (const r of snap.ram) machine.memory.writeBytes(r.gpa, r.data);
  accel.restoreState(snap.accel);
  if (snap.devices.uart !== undefined) machine.uart?.restoreState(snap.devices.uart);
  if (snap.devices.rtc !== undefined) machine.rtc?.restoreState(snap.devices.rtc);
  snap.devices.ioapics.forEach((s, i) => machine.ioapics[i]?.restoreState(s));
  for (const [index, raw] of Object.entries(snap.devices.virtio ?? {})) {
    const t = machine.virtio.mmioTransports.get(Number(index));
    const transport = t as Partial<SnapshotDevice> | undefined;
    const device = t?.device as Partial<SnapshotDevice> | undefined;
    if (!t || !transport?.restoreState || !device?.restoreState) {
      throw new SnapshotError('MISMATCH', `the snapshot has state for virtio-mmio.${index}, which this machine cannot restore`);
    }
    const state = raw as { transport?: unknown; device?: unknown } | null;
    // The device first: the transport's restore re-raises the line from its own state.
    if (device.restoreState(state?.device) === false || transport.restoreState(state?.transport) === false) {
      throw new SnapshotError('BAD_FORMAT', `virtio-mmio.${index}: the saved state was refused`);
    }
    // A started device picks up where it was: pending transmits, receive readiness.
    if (t.live) t.device!.activate();
  }
}

/**
 * What a device needs for snapshots (the UART, RTC, IOAPIC, the virtio-mmio
 * transport and virtio-net have it). A started virtio device whose
 * transport or device lacks it makes `saveMachine` refuse.
 */
export interface SnapshotDevice {
  saveState(): unknown;
  /** Untrusted input: validate; throw or return false without changing anything on error. */
  restoreState(state: unknown): void | boolean;
}

/** Write snapshot bytes to `path`. */
export async function writeSnapshotFile(path: string, snapshot: Uint8Array): Promise<void> {
  await writeFile(path, snapshot);
}

/** Read snapshot bytes from `path` (parse them with `parseSnapshot`). */
export async function readSnapshotFile(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/**
 * Runs of 4 KiB pages that are not all zero, as [byte offset, page count].
 * Two levels: 64 KiB chunks first (one memcmp each; most of a big guest's
 * RAM is untouched), then the pages of the chunks that are not all zero.
 */
export function nonZeroRuns(view: Uint8Array): Array<{ start: number; pages: number }> {
  const CHUNK = 16 * PAGE;
  const zero = Buffer.alloc(CHUNK);
  const buf = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const runs: Array<{ start: number; pages: number }> = [];
  let cur: { start: number; pages: number } | undefined;
  const page = (off: number, len: number): void => {
    if (buf.compare(zero, 0, len, off, off + len) === 0) {
      cur = undefined;
      return;
    }
    if (cur) cur.pages++;
    else runs.push(cur = { start: off, pages: 1 });
  };
  const end = buf.length - (buf.length % PAGE);
  for (let chunk = 0; chunk < end; chunk += CHUNK) {
    const len = Math.min(CHUNK, end - chunk);
    if (buf.compare(zero, 0, len, chunk, chunk + len) === 0) {
      cur = undefined;
      continue;
    }
    for (let off = chunk; off < chunk + len; off += PAGE) page(off, PAGE);
  }
  return runs;
}

function stripPort(n: NetdevConfig): NetdevConfig {
  if (n.kind !== 'stream') return n;
  return { kind: 'stream', id: n.id };
}

/** JSON-safe form of plain data with bigint, Uint8Array and Map inside. */
export function encode(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Map) return { $map: [...v].map(([k, x]) => [encode(k), encode(x)]) };
  if (Array.isArray(v)) return v.map(encode);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = encode(x);
    return out;
  }
  return v;
}

/** The inverse of `encode`. */
export function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o.$bigint === 'string') return BigInt(o.$bigint);
    if (typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
    if (Array.isArray(o.$map)) return new Map((o.$map as unknown[]).map((e) => (Array.isArray(e) ? [decode(e[0]), decode(e[1])] : [undefined, undefined])));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decode(x);
    return out;
  }
  return v;
}
