/**
 * The Intel MultiProcessor Specification 1.4 table that QEMU's microvm
 * firmware (qboot mptable.c) always leaves in the EBDA at 0x9fc00: guests
 * without ACPI (Linux with acpi=off, older kernels) find the CPUs, the IOAPIC
 * and the ISA interrupt routing there.
 *
 * Same content as qboot's: one processor entry per CPU (APIC ID = index,
 * APIC version 0x14, the BSP flagged), an ISA bus, IOAPIC 0 (ID cpus + 1, at
 * 0xfec00000), ISA IRQs 0-15 routed 1:1 to IOAPIC pins except IRQ0 -> pin 2
 * (microvm sets FW_CFG_IRQ0_OVERRIDE) and no entry for IRQ2, ExtINT on LINT0
 * of the BSP and NMI on LINT1 of all CPUs. One difference: qboot leaves the
 * header's entry count at 0 (Linux walks by length); we fill it in, as MP 1.4
 * §4.2 requires. Above 254 CPUs no MP table is written (see planMpTable).
 */
import { IOAPIC0_BASE, LAPIC_BASE } from '../memory/layout.js';
import { LoaderError } from './errors.js';
import { StructWriter } from './bytes.js';
import type { BootPlan } from './plan.js';
import { acpiChecksum } from './acpi/tables.js';

export const MPTABLE_GPA = 0x9fc00; // the EBDA, reserved in the e820 map
const EBDA_SIZE = 0x400;
/** Where the configuration table goes when it does not fit in the EBDA (the reserved F segment). */
const MPTABLE_OVERFLOW_GPA = 0xf0000;
const MPF_SIZE = 16;
const MPC_HEADER_SIZE = 44;
const MP_PROCESSOR = 0;
const MP_BUS = 1;
const MP_IOAPIC = 2;
const MP_INTSRC = 3;
const MP_LINTSRC = 4;
const MP_INT = 0;
const MP_NMI = 1;
const MP_EXTINT = 3;
const CPU_ENABLED = 1;
const CPU_BOOTPROCESSOR = 2;
const APIC_VERSION = 0x14;
const MPC_APIC_USABLE = 1;

export interface MpTableOptions {
  readonly cpus: number;
  /** CPUID.1:EAX of the CPUs (processor entries' "CPU signature"). */
  readonly cpuSignature?: number;
  /** CPUID.1:EDX of the CPUs (processor entries' "feature flags"). */
  readonly cpuFeatures?: number;
  /** Route ISA IRQ0 to IOAPIC pin 2 (microvm: yes). */
  readonly irq0Override?: boolean;
}

export interface MpTableResult { readonly floatingPointerGpa: number; readonly tableGpa: number; readonly bytes: Uint8Array }

export function buildMpConfigTable(o: MpTableOptions): Uint8Array {
  if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > 254) {
    throw new LoaderError('ACPI_INVALID_CONFIG', `MP table: cpus must be 1..254 (xAPIC IDs), got ${o.cpus}`);
  }
  const ioapicId = o.cpus + 1;
  const entries: number[] = [];
  const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
  let count = 0;
  for (let i = 0; i < o.cpus; i++) {
    entries.push(MP_PROCESSOR, i, APIC_VERSION, CPU_ENABLED | (i === 0 ? CPU_BOOTPROCESSOR : 0),
      ...le(o.cpuSignature ?? 0, 4), ...le(o.cpuFeatures ?? 0, 4), ...le(0, 8));
    count++;
  }
  entries.push(MP_BUS, 0, ...[...'ISA   '].map((c) => c.charCodeAt(0)));
  entries.push(MP_IOAPIC, ioapicId, APIC_VERSION, MPC_APIC_USABLE, ...le(IOAPIC0_BASE, 4));
  count += 2;
  const override = o.irq0Override ?? true;
  for (let irq = 0; irq < 16; irq++) {
    if (override && irq === 2) continue;
    const pin = override && irq === 0 ? 2 : irq;
    entries.push(MP_INTSRC, MP_INT, 0, 0, 0 /* bus */, irq, ioapicId, pin);
    count++;
  }
  entries.push(MP_LINTSRC, MP_EXTINT, 0, 0, 0, 0, 0, 0);
  entries.push(MP_LINTSRC, MP_NMI, 0, 0, 0, 0, 0xff, 1);
  count += 2;

  const w = new StructWriter(MPC_HEADER_SIZE + entries.length);
  w.ascii(0, 'PCMP', 4)
    .u16(4, MPC_HEADER_SIZE + entries.length) // base table length
    .u8(6, 4)                                   // spec revision 1.4
    .ascii(8, 'QBOOT   ', 8)
    .ascii(16, '000000000000', 12)
    .u32(28, 0).u16(32, 0)                      // no OEM table
    .u16(34, count)
    .u32(36, LAPIC_BASE)
    .set(MPC_HEADER_SIZE, Uint8Array.from(entries));
  w.u8(7, (0x100 - acpiChecksum(w.bytes)) & 0xff);
  return w.bytes;
}

/** MP Floating Pointer Structure (MP 1.4 §4.1). */
export function buildMpFloatingPointer(tableGpa: number): Uint8Array {
  const w = new StructWriter(MPF_SIZE);
  w.ascii(0, '_MP_', 4).u32(4, tableGpa).u8(8, 1).u8(9, 4);
  w.u8(10, (0x100 - acpiChecksum(w.bytes)) & 0xff);
  return w.bytes;
}

/**
 * Queue the MP table. Returns undefined (no table) above 254 CPUs: xAPIC IDs
 * and the IOAPIC's ID (cpus + 1) must fit in a byte; ACPI's MADT (with x2APIC
 * entries) describes such machines.
 */
export function planMpTable(plan: BootPlan, o: MpTableOptions): MpTableResult | undefined {
  if (o.cpus > 254) return undefined;
  const table = buildMpConfigTable(o);
  const inEbda = MPF_SIZE + table.length <= EBDA_SIZE;
  const tableGpa = inEbda ? MPTABLE_GPA + MPF_SIZE : MPTABLE_OVERFLOW_GPA;
  const mpf = buildMpFloatingPointer(tableGpa);
  if (inEbda) {
    plan.claim('boot-data', 'MP table', MPTABLE_GPA, MPF_SIZE + table.length);
  } else {
    plan.claim('boot-data', 'MP floating pointer', MPTABLE_GPA, MPF_SIZE);
    plan.claim('boot-data', 'MP configuration table', tableGpa, table.length);
  }
  plan.write(MPTABLE_GPA, mpf);
  plan.write(tableGpa, table);
  return { floatingPointerGpa: MPTABLE_GPA, tableGpa, bytes: table };
}
