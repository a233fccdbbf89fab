/**
 * ACPI tables for the microvm machine, as QEMU builds them with acpi=on
 * (hw/i386/acpi-microvm.c, hw/i386/acpi-common.c): RSDP (revision 2) ->
 * XSDT -> FADT (hardware-reduced, revision 5) -> DSDT, and MADT. Field offsets
 * follow ACPI 6.5 §5.2 (RSDP 5.2.5.3, header 5.2.6, XSDT 5.2.8, FADT 5.2.9
 * Table 5.9, MADT 5.2.12).
 *
 * Differences from QEMU, because this machine has no such device: no GED
 * (generic event device) and no fw_cfg device in the DSDT, and therefore no
 * FADT sleep/reset registers unless `ged` is given.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import {
  IOAPIC0_BASE, IOAPIC1_BASE, LAPIC_BASE, VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE,
  COM1_PORT, COM1_IRQ, RTC_PORT, RTC_IRQ,
} from '../../memory/layout.js';
import { LoaderError, hex } from '../errors.js';
import { StructWriter, alignUp } from '../bytes.js';
import { BootPlan } from '../plan.js';
import { ACPI_AREA_GPA, ACPI_AREA_SIZE, ACPI_RSDP_GPA } from '../boot-layout.js';
import * as aml from './aml.js';
import { microvmVirtioGsi } from '../cmdline.js';

export const ACPI_OEM_ID = 'BOCHS ';
export const ACPI_OEM_TABLE_ID = 'BXPC    ';
export const ACPI_CREATOR_ID = 'BXPC';
export const ACPI_HEADER_SIZE = 36;
export const RSDP_SIZE = 36;
export const FADT_REV5_SIZE = 268;

/** FADT Flags (Table 5.10). */
export const FADT_F_RESET_REG_SUP = 1 << 10;
export const FADT_F_HW_REDUCED_ACPI = 1 << 20;
/** MADT structure types (Table 5.21). */
export const MADT_LOCAL_APIC = 0;
export const MADT_IO_APIC = 1;
export const MADT_INTERRUPT_SOURCE_OVERRIDE = 2;
export const MADT_LOCAL_APIC_NMI = 4;
export const MADT_LOCAL_X2APIC = 9;
export const MADT_LOCAL_X2APIC_NMI = 10;
export const MADT_PCAT_COMPAT = 1;
/** Generic Address Structure address space ids (Table 5.1). */
const GAS_SYSTEM_MEMORY = 0;

export interface AcpiIoApic { readonly id: number; readonly gpa: number; readonly gsiBase: number }
export interface AcpiVirtioDevice {
  /** Transport index n: the device is named VRnn, as in QEMU. */
  readonly index: number;
  readonly gpa: number;
  readonly size?: number;
  readonly gsi: number;
}
export interface AcpiInterruptOverride { readonly source: number; readonly gsi: number; readonly flags: number }
export interface AcpiIsaDevice { readonly port: number; readonly irq: number }
/** QEMU's GED (hw/acpi/generic_event_device.c): only when the machine has one. */
export interface AcpiGed { readonly sleepCtlGpa: number; readonly sleepStsGpa: number; readonly resetGpa: number; readonly resetValue: number }

export interface AcpiOptions {
  readonly cpus: number;
  /** APIC ID per CPU; default 0..cpus-1. IDs >= 255 get x2APIC structures, as QEMU does. */
  readonly apicIds?: readonly number[];
  readonly ioapics: readonly AcpiIoApic[];
  /** virtio-mmio transports that have a device attached (QEMU lists only those). */
  readonly virtioDevices: readonly AcpiVirtioDevice[];
  /** COM1 (16550A) when isa-serial is on. */
  readonly serial?: AcpiIsaDevice;
  /** MC146818 RTC when rtc is on (also sets FADT CENTURY = 0x32). */
  readonly rtc?: AcpiIsaDevice;
  /** MADT flag PCAT_COMPAT (dual 8259s present): QEMU always sets it. Default true. */
  readonly pcatCompat?: boolean;
  /** QEMU's microvm emits none (pc machines add IRQ0 -> GSI 2). */
  readonly interruptOverrides?: readonly AcpiInterruptOverride[];
  readonly ged?: AcpiGed;
}

export interface AcpiTable { readonly signature: string; readonly gpa: number; readonly bytes: Uint8Array }
export interface AcpiTablesResult {
  readonly rsdpGpa: number;
  /** RSDP first, then DSDT, FACP, APIC, XSDT in memory order. */
  readonly tables: readonly AcpiTable[];
}

/** Sum of all bytes mod 256 (a valid table sums to 0). */
export function acpiChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + bytes[i]!) & 0xff;
  return s;
}

function fixChecksum(bytes: Uint8Array, at: number, start = 0, end = bytes.length): void {
  bytes[at] = 0;
  bytes[at] = (0x100 - acpiChecksum(bytes, start, end)) & 0xff;
}

/** §5.2.6 System Description Table Header, checksum filled in. */
function table(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const w = new StructWriter(ACPI_HEADER_SIZE + body.length);
  w.ascii(0, signature, 4)
    .u32(4, ACPI_HEADER_SIZE + body.length)
    .u8(8, revision)
    .ascii(10, ACPI_OEM_ID, 6)
    .ascii(16, ACPI_OEM_TABLE_ID, 8)
    .u32(24, 1)
    .ascii(28, ACPI_CREATOR_ID, 4)
    .u32(32, 1)
    .set(ACPI_HEADER_SIZE, body);
  fixChecksum(w.bytes, 9);
  return w.bytes;
}

/** The devices under \_SB, each an encoded DefDevice (exported for tests that compare with QEMU's AML). */
export function dsdtDevices(o: AcpiOptions): number[][] {
  const sb: number[][] = [];
  if (o.serial) {
    // hw/char/serial-isa.c serial_isa_build_aml
    sb.push(aml.device('COM1',
      aml.name('_HID', aml.eisaId('PNP0501')),
      aml.name('_UID', aml.integer(1)),
      aml.name('_STA', aml.integer(0xf)),
      aml.name('_CRS', aml.resourceTemplate(aml.ioPort(o.serial.port, o.serial.port, 0x00, 0x08), aml.irqNoFlags(o.serial.irq)))));
  }
  if (o.rtc) {
    // hw/rtc/mc146818rtc.c rtc_build_aml
    sb.push(aml.device('RTC',
      aml.name('_HID', aml.eisaId('PNP0B00')),
      aml.name('_CRS', aml.resourceTemplate(aml.ioPort(o.rtc.port, o.rtc.port, 0x01, 0x08), aml.irqNoFlags(o.rtc.irq)))));
  }
  for (const v of o.virtioDevices) {
    // hw/i386/acpi-microvm.c acpi_dsdt_add_virtio: "LNRO0005", level, active high, exclusive
    sb.push(aml.device(`VR${String(v.index).padStart(2, '0')}`,
      aml.name('_HID', aml.string('LNRO0005')),
      aml.name('_UID', aml.integer(v.index)),
      aml.name('_CCA', aml.integer(1)),
      aml.name('_CRS', aml.resourceTemplate(
        aml.memory32Fixed(v.gpa, v.size ?? VIRTIO_MMIO_STRIDE, true),
        aml.extendedInterrupt({ consumer: true, edge: false, activeLow: false, shared: false }, [v.gsi])))));
  }
  return sb;
}

/** \_S5 (soft off) with SLP_TYP 5, as QEMU's microvm DSDT has it (ACPI_GED_SLP_TYP_S5). */
export function dsdtSleepStates(): number[] {
  return aml.scope('\\', aml.name('_S5', aml.pkg([aml.integer(5), aml.integer(0), aml.integer(0), aml.integer(0)])));
}

export function buildDsdt(o: AcpiOptions): Uint8Array {
  const body = [
    // QEMU writes Scope (_SB) without the root prefix (aml_scope("_SB")); same bytes here.
    ...aml.scope('_SB', ...dsdtDevices(o)),
    ...dsdtSleepStates(),
  ];
  return table('DSDT', 2, Uint8Array.from(body));
}

/** Generic Address Structure (§5.2.3.2); access size 0 (legacy), as QEMU writes it. */
function gas(w: StructWriter, off: number, bitWidth: number, address: number): void {
  w.u8(off, GAS_SYSTEM_MEMORY).u8(off + 1, bitWidth).u8(off + 2, 0).u8(off + 3, 0).u64(off + 4, address);
}

/** FADT revision 5, hardware-reduced (ACPI 6.5 §5.2.9, §4.1). */
export function buildFadt(o: AcpiOptions, dsdtGpa: number): Uint8Array {
  const w = new StructWriter(FADT_REV5_SIZE - ACPI_HEADER_SIZE);
  const at = (fadtOffset: number): number => fadtOffset - ACPI_HEADER_SIZE;
  w.u32(at(36), 0);             // FIRMWARE_CTRL: no FACS on hardware-reduced platforms
  w.u32(at(40), dsdtGpa);       // DSDT
  w.u8(at(45), 0);              // Preferred_PM_Profile: unspecified
  w.u16(at(46), 0);             // SCI_INT: none
  // CENTURY (108) and IAPC_BOOT_ARCH (109) stay 0 as in QEMU's microvm FADT: no
  // century index advertised, and no 8042 (bit 1 clear), so Linux skips i8042.
  let flags = FADT_F_HW_REDUCED_ACPI;
  if (o.ged) {
    flags |= FADT_F_RESET_REG_SUP;
    gas(w, at(116), 8, o.ged.resetGpa); // RESET_REG
    w.u8(at(128), o.ged.resetValue);
    gas(w, at(244), 8, o.ged.sleepCtlGpa); // SLEEP_CONTROL_REG
    gas(w, at(256), 8, o.ged.sleepStsGpa); // SLEEP_STATUS_REG
  }
  w.u32(at(112), flags);
  w.u8(at(131), 0);             // FADT Minor Version
  w.u64(at(132), 0);            // X_FIRMWARE_CTRL
  w.u64(at(140), dsdtGpa);      // X_DSDT
  return table('FACP', 5, w.bytes);
}

/** MADT (ACPI 6.5 §5.2.12), structure order as QEMU's acpi_build_madt. */
export function buildMadt(o: AcpiOptions): Uint8Array {
  const parts: number[] = [];
  const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
  const ids = o.apicIds ?? Array.from({ length: o.cpus }, (_, i) => i);
  let x2apic = false;
  ids.forEach((id, uid) => {
    if (id < 255) {
      parts.push(MADT_LOCAL_APIC, 8, uid, id, ...le(1, 4)); // flags: Enabled
    } else {
      x2apic = true;
      parts.push(MADT_LOCAL_X2APIC, 16, 0, 0, ...le(id, 4), ...le(1, 4), ...le(uid, 4));
    }
  });
  for (const io of o.ioapics) parts.push(MADT_IO_APIC, 12, io.id, 0, ...le(io.gpa, 4), ...le(io.gsiBase, 4));
  for (const iso of o.interruptOverrides ?? []) {
    parts.push(MADT_INTERRUPT_SOURCE_OVERRIDE, 10, 0 /* ISA */, iso.source, ...le(iso.gsi, 4), ...le(iso.flags, 2));
  }
  // LINT1 of every processor is the NMI input.
  if (x2apic) parts.push(MADT_LOCAL_X2APIC_NMI, 12, 0, 0, ...le(0xffffffff, 4), 1, 0, 0, 0);
  else parts.push(MADT_LOCAL_APIC_NMI, 6, 0xff, 0, 0, 1);
  const w = new StructWriter(8 + parts.length);
  w.u32(0, LAPIC_BASE).u32(4, (o.pcatCompat ?? true) ? MADT_PCAT_COMPAT : 0).set(8, Uint8Array.from(parts));
  return table('APIC', 1, w.bytes);
}

export function buildXsdt(entries: readonly number[]): Uint8Array {
  const w = new StructWriter(8 * entries.length);
  entries.forEach((gpa, i) => w.u64(i * 8, gpa));
  return table('XSDT', 1, w.bytes);
}

/** RSDP revision 2 (§5.2.5.3): checksum over the first 20 bytes, extended checksum over all 36. */
export function buildRsdp(xsdtGpa: number): Uint8Array {
  const w = new StructWriter(RSDP_SIZE);
  w.ascii(0, 'RSD PTR ', 8).ascii(9, ACPI_OEM_ID, 6).u8(15, 2).u32(16, 0).u32(20, RSDP_SIZE).u64(24, xsdtGpa);
  fixChecksum(w.bytes, 8, 0, 20);
  fixChecksum(w.bytes, 32, 0, RSDP_SIZE);
  return w.bytes;
}

function validate(o: AcpiOptions): void {
  const bad = (msg: string): never => { throw new LoaderError('ACPI_INVALID_CONFIG', msg); };
  if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > 288) bad(`ACPI: cpus must be 1..288, got ${o.cpus}`);
  const ids = o.apicIds ?? [];
  if (o.apicIds && ids.length !== o.cpus) bad(`ACPI: ${ids.length} APIC IDs given for ${o.cpus} CPUs`);
  if (new Set(ids).size !== ids.length) bad('ACPI: APIC IDs are not unique');
  if (o.ioapics.length === 0) bad('ACPI: at least one IOAPIC is needed');
  for (const v of o.virtioDevices) {
    if (!Number.isInteger(v.index) || v.index < 0 || v.index > 99) bad(`ACPI: virtio transport index ${v.index} is not 0..99`);
  }
  for (const d of [o.serial, o.rtc]) if (d && (d.irq < 0 || d.irq > 15)) bad(`ACPI: ISA IRQ ${d.irq} is not 0..15`);
}

/** Queue RSDP and tables in `plan` (0xe0000 .. 0xf0000). */
export function planAcpiTables(plan: BootPlan, o: AcpiOptions): AcpiTablesResult {
  validate(o);
  const out: AcpiTable[] = [];
  let next = alignUp(ACPI_RSDP_GPA + RSDP_SIZE, 16);
  const place = (signature: string, bytes: Uint8Array): number => {
    const gpa = next;
    out.push({ signature, gpa, bytes });
    next = alignUp(gpa + bytes.length, 16);
    return gpa;
  };
  const dsdtGpa = place('DSDT', buildDsdt(o));
  const fadtGpa = place('FACP', buildFadt(o, dsdtGpa));
  const madtGpa = place('APIC', buildMadt(o));
  const xsdtGpa = place('XSDT', buildXsdt([fadtGpa, madtGpa]));
  const rsdp = buildRsdp(xsdtGpa);
  const end = out[out.length - 1]!;
  const used = end.gpa + end.bytes.length - ACPI_AREA_GPA;
  if (used > ACPI_AREA_SIZE) {
    throw new LoaderError('ACPI_TABLES_TOO_LARGE', `ACPI tables need ${used} bytes; the ACPI area at ${hex(ACPI_AREA_GPA)} holds ${ACPI_AREA_SIZE}`);
  }
  plan.claim('acpi', 'ACPI tables', ACPI_AREA_GPA, used);
  plan.zero(ACPI_AREA_GPA, used);
  plan.write(ACPI_RSDP_GPA, rsdp);
  for (const t of out) plan.write(t.gpa, t.bytes);
  return { rsdpGpa: ACPI_RSDP_GPA, tables: [{ signature: 'RSD PTR ', gpa: ACPI_RSDP_GPA, bytes: rsdp }, ...out] };
}

/** Build and write the ACPI tables; returns the RSDP address (for hvm_start_info.rsdp_paddr). */
export function buildAcpiTables(mem: GuestMemory, o: AcpiOptions): AcpiTablesResult {
  const plan = new BootPlan(mem);
  const r = planAcpiTables(plan, o);
  plan.commit();
  return r;
}

export interface MicrovmAcpiConfig {
  readonly cpus: number;
  readonly ioapic2: boolean;
  readonly rtc: boolean;
  readonly isaSerial: boolean;
  /** Accepted for completeness; QEMU's MADT ignores it (PCAT_COMPAT always set). */
  readonly pic: boolean;
  /** Indices of the virtio-mmio transports that have a device. */
  readonly virtioTransports: readonly number[];
}

/**
 * The ACPI description of QEMU's microvm (hw/i386/microvm.c): IOAPIC 0 at
 * 0xfec00000 (GSI 0-23), IOAPIC 1 at 0xfec10000 (GSI 24-47) with ioapic2; the
 * virtio-mmio transports use GSI 24+n with ioapic2, else GSI 16+n.
 * Like QEMU, MADT PCAT_COMPAT is set whatever pic= says.
 */
export function microvmAcpiOptions(c: MicrovmAcpiConfig): AcpiOptions {
  return {
    cpus: c.cpus,
    ioapics: [
      { id: 0, gpa: IOAPIC0_BASE, gsiBase: 0 },
      ...(c.ioapic2 ? [{ id: 1, gpa: IOAPIC1_BASE, gsiBase: 24 }] : []),
    ],
    // QEMU lists the transports newest-first (qdev's bus_add_child inserts at the head): VR23 first.
    virtioDevices: [...c.virtioTransports].sort((a, b) => b - a)
      .map((n) => ({ index: n, gpa: VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_STRIDE, gsi: microvmVirtioGsi(n, true, c.ioapic2) })),
    ...(c.isaSerial ? { serial: { port: COM1_PORT, irq: COM1_IRQ } } : {}),
    ...(c.rtc ? { rtc: { port: RTC_PORT, irq: RTC_IRQ } } : {}),
    pcatCompat: true,
  };
}
