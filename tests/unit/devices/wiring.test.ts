/**
 * The microvm legacy-device wiring the machine is expected to do, end to end
 * at register level: COM1 on GSI 4 and the RTC on GSI 8 through IOAPIC 0,
 * virtio-style GSIs on IOAPIC 1, isa-debug-exit on a PIO port.
 */
import { describe, expect, test } from 'vitest';
import { Bus } from '../../../src/memory/bus.js';
import { COM1_IRQ, COM1_PORT, IOAPIC0_BASE, IOAPIC1_BASE, IOAPIC_SIZE, RTC_IRQ, RTC_PORT } from '../../../src/memory/layout.js';
import type { InterruptMessage } from '../../../src/devices/irq.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';
import { GsiRouter, Ioapic, IOAPIC_IOREGSEL, IOAPIC_IOWIN, IOAPIC_EOI, isaIrqToGsi } from '../../../src/devices/ioapic.js';
import { Uart16550, UART_IER, UART_IIR, IER_ETBEI } from '../../../src/devices/uart16550.js';
import { Mc146818Rtc, RTC_REG_B, RTC_REG_C, REG_B_24H, REG_B_UIE } from '../../../src/devices/rtc-mc146818.js';
import { DebugExit } from '../../../src/devices/debug-exit.js';

function machine() {
  const msgs: InterruptMessage[] = [];
  const sink = { deliver: (m: InterruptMessage) => msgs.push(m) };
  const ioapic0 = new Ioapic(sink, { gsiBase: 0, id: 0 });
  const ioapic1 = new Ioapic(sink, { gsiBase: 24, id: 1 });
  const gsi = new GsiRouter([ioapic0, ioapic1]);
  const time = new ManualTimeSource(Date.UTC(2025, 0, 1));
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');
  mmio.register(IOAPIC0_BASE, IOAPIC_SIZE, ioapic0, 'ioapic0');
  mmio.register(IOAPIC1_BASE, IOAPIC_SIZE, ioapic1, 'ioapic1');
  const out: number[] = [];
  const uart = new Uart16550(gsi.line(isaIrqToGsi(COM1_IRQ)), (b) => out.push(b), { time });
  pio.register(COM1_PORT, 8, uart, 'serial0');
  const rtc = new Mc146818Rtc(gsi.line(isaIrqToGsi(RTC_IRQ)), time);
  pio.register(RTC_PORT, 2, rtc, 'rtc');
  const exits: number[] = [];
  const dbg = new DebugExit((code) => exits.push(code), { iobase: 0xf4, iosize: 4 });
  pio.register(dbg.config.iobase, dbg.config.iosize, dbg, 'isa-debug-exit');
  /** The guest programs a redirection entry through MMIO. */
  const route = (base: number, pin: number, lo: number, dest = 0) => {
    mmio.write(base + IOAPIC_IOREGSEL, 4, 0x11 + 2 * pin);
    mmio.write(base + IOAPIC_IOWIN, 4, dest << 24);
    mmio.write(base + IOAPIC_IOREGSEL, 4, 0x10 + 2 * pin);
    mmio.write(base + IOAPIC_IOWIN, 4, lo);
  };
  return { msgs, gsi, time, pio, mmio, route, out, exits };
}

describe('microvm legacy wiring', () => {
  test('COM1 THRE interrupt arrives as vector 0x24 from IOAPIC 0 pin 4', () => {
    const m = machine();
    m.route(IOAPIC0_BASE, 4, 0x24);
    m.pio.write(COM1_PORT + UART_IER, 1, IER_ETBEI);
    expect(m.msgs.map((x) => x.vector)).toEqual([0x24]);
    expect(m.pio.read(COM1_PORT + UART_IIR, 1)).toBe(0x02);
    m.pio.write(COM1_PORT, 1, 0x41);
    expect(m.out).toEqual([0x41]);
    expect(m.msgs.map((x) => x.vector)).toEqual([0x24, 0x24]);
  });

  test('RTC update interrupt arrives on pin 8 once per second while C is read', () => {
    const m = machine();
    m.route(IOAPIC0_BASE, 8, 0x28, 0);
    m.pio.write(RTC_PORT, 1, RTC_REG_B);
    m.pio.write(RTC_PORT + 1, 1, REG_B_24H | REG_B_UIE);
    for (let i = 0; i < 3; i++) {
      m.time.advance(1_000_000_000n);
      m.pio.write(RTC_PORT, 1, RTC_REG_C);
      m.pio.read(RTC_PORT + 1, 1); // the handler acknowledges
    }
    expect(m.msgs.map((x) => x.vector)).toEqual([0x28, 0x28, 0x28]);
  });

  test('a level GSI on IOAPIC 1 with EOI through the EOI register', () => {
    const m = machine();
    m.route(IOAPIC1_BASE, 23, 0x8000 | 0x57, 1); // level, vector 0x57, APIC 1
    m.gsi.setGsi(47, true);
    m.mmio.write(IOAPIC1_BASE + IOAPIC_EOI, 4, 0x57);
    m.gsi.setGsi(47, false);
    m.mmio.write(IOAPIC1_BASE + IOAPIC_EOI, 4, 0x57);
    expect(m.msgs).toEqual([
      { vector: 0x57, deliveryMode: 0, destination: 1, logicalDestination: false, level: true, triggerLevel: true },
      { vector: 0x57, deliveryMode: 0, destination: 1, logicalDestination: false, level: true, triggerLevel: true },
    ]);
  });

  test('isa-debug-exit at 0xf4', () => {
    const m = machine();
    m.pio.write(0xf4, 1, 0x31);
    expect(m.exits).toEqual([0x63]);
  });
});
