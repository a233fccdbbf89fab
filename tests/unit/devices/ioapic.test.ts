import { describe, expect, test } from 'vitest';
import type { InterruptMessage, InterruptSink } from '../../../src/devices/irq.js';
import {
  GsiRouter, Ioapic, IoapicStateError, isaIrqToGsi, parseRedirectionEntry,
  IOAPIC_EOI, IOAPIC_IOREGSEL, IOAPIC_IOWIN, RTE_MASKED, RTE_REMOTE_IRR, RTE_TRIGGER_LEVEL, RTE_POLARITY_LOW,
} from '../../../src/devices/ioapic.js';

class RecordingSink implements InterruptSink {
  readonly msgs: InterruptMessage[] = [];
  deliver(msg: InterruptMessage): void {
    this.msgs.push(msg);
  }
  get vectors(): number[] {
    return this.msgs.map((m) => m.vector);
  }
}

function make(opts: ConstructorParameters<typeof Ioapic>[1] = {}) {
  const sink = new RecordingSink();
  const io = new Ioapic(sink, opts);
  const readReg = (sel: number) => {
    io.write(IOAPIC_IOREGSEL, 4, sel);
    return io.read(IOAPIC_IOWIN, 4);
  };
  const writeReg = (sel: number, v: number) => {
    io.write(IOAPIC_IOREGSEL, 4, sel);
    io.write(IOAPIC_IOWIN, 4, v);
  };
  const setEntry = (pin: number, lo: number, hi = 0) => {
    writeReg(0x11 + 2 * pin, hi);
    writeReg(0x10 + 2 * pin, lo);
  };
  return { sink, io, readReg, writeReg, setEntry };
}

const LEVEL = RTE_TRIGGER_LEVEL;

describe('identification registers (82093AA §3.2)', () => {
  test('VER: version 0x20, maximum redirection entry 23', () => {
    expect(make().readReg(0x01)).toBe(0x00170020);
  });
  test('ID: bits 24-27 only; ARB reads the ID (QEMU)', () => {
    const { readReg, writeReg } = make();
    expect(readReg(0x00)).toBe(0);
    writeReg(0x00, 0xffffffff);
    expect(readReg(0x00)).toBe(0x0f000000);
    expect(readReg(0x02)).toBe(0x0f000000);
    writeReg(0x01, 0); // read-only
    expect(readReg(0x01)).toBe(0x00170020);
  });
  test('ID option sets the reset value', () => {
    expect(make({ id: 1 }).readReg(0x00)).toBe(0x01000000);
  });
  test('IOREGSEL reads back (8 bits) at any width', () => {
    const { io } = make();
    io.write(IOAPIC_IOREGSEL, 1, 0x1234);
    expect(io.read(IOAPIC_IOREGSEL, 1)).toBe(0x34);
    expect(io.read(IOAPIC_IOREGSEL, 4)).toBe(0x34);
  });
  test('unknown indirect registers read 0', () => {
    const { readReg } = make();
    for (const sel of [0x03, 0x0f, 0x40, 0xff]) expect(readReg(sel)).toBe(0);
  });
});

describe('redirection table', () => {
  test('every entry resets masked, destination 0', () => {
    const { readReg } = make();
    for (let pin = 0; pin < 24; pin++) {
      expect(readReg(0x10 + 2 * pin)).toBe(RTE_MASKED);
      expect(readReg(0x11 + 2 * pin)).toBe(0);
    }
  });
  test('delivery status (bit 12) and remote IRR (bit 14) are read-only', () => {
    const { readReg, writeReg } = make();
    writeReg(0x10, 0xffffffff);
    expect(readReg(0x10)).toBe(0xffffafff); // all ones but bits 12 and 14
    writeReg(0x11, 0xff000000);
    expect(readReg(0x11)).toBe(0xff000000);
  });
  test('an 8-byte access acts as its low 4 bytes (QEMU splits it)', () => {
    const { io } = make();
    io.write(IOAPIC_IOREGSEL, 8, 0x01);
    expect(io.read(IOAPIC_IOWIN, 8)).toBe(0x00170020);
    expect(io.counters.badSizeAccesses).toBe(0);
  });
  test('non-32-bit IOWIN accesses are counted and ignored', () => {
    const { io, readReg } = make();
    io.write(IOAPIC_IOREGSEL, 4, 0x01);
    expect(io.read(IOAPIC_IOWIN, 1)).toBe(0);
    expect(io.read(IOAPIC_IOWIN, 2)).toBe(0);
    io.write(IOAPIC_IOREGSEL, 4, 0x10);
    io.write(IOAPIC_IOWIN, 2, 0x30);
    expect(readReg(0x10)).toBe(RTE_MASKED);
    expect(io.counters.badSizeAccesses).toBe(3);
  });

  const decodeCases = [
    { name: 'fixed physical edge', lo: 0x00000030, hi: 0x01000000, want: { vector: 0x30, deliveryMode: 0, logicalDestination: false, triggerLevel: false, destination: 1 } },
    { name: 'lowest priority logical level', lo: 0x00008941, hi: 0xff000000, want: { vector: 0x41, deliveryMode: 1, logicalDestination: true, triggerLevel: true, destination: 0xff } },
    { name: 'NMI', lo: 0x00000400, hi: 0, want: { vector: 0, deliveryMode: 4, logicalDestination: false, triggerLevel: false, destination: 0 } },
    { name: 'ExtINT', lo: 0x00000700, hi: 0x02000000, want: { vector: 0, deliveryMode: 7, logicalDestination: false, triggerLevel: false, destination: 2 } },
  ];
  for (const c of decodeCases) {
    test(`message for ${c.name}`, () => {
      const { io, setEntry, sink } = make();
      setEntry(3, c.lo, c.hi);
      io.setIrq(3, true);
      expect(sink.msgs).toEqual([{ ...c.want, level: true }]);
      expect(parseRedirectionEntry(c.lo, c.hi)).toMatchObject(c.want);
    });
  }
  test('parseRedirectionEntry decodes every flag', () => {
    expect(parseRedirectionEntry(0x0001ffff, 0xab000000)).toEqual({
      vector: 0xff, deliveryMode: 7, logicalDestination: true, deliveryStatus: true, polarityLow: true,
      remoteIrr: true, triggerLevel: true, masked: true, destination: 0xab,
    });
  });
});

describe('edge-triggered inputs', () => {
  test('one message per rising edge', () => {
    const { io, setEntry, sink } = make();
    setEntry(4, 0x24);
    io.setIrq(4, true);
    io.setIrq(4, true);
    expect(sink.vectors).toEqual([0x24]);
    io.setIrq(4, false);
    io.setIrq(4, true);
    expect(sink.vectors).toEqual([0x24, 0x24]);
  });
  test('an edge on a masked pin is lost, not latched', () => {
    const { io, setEntry, sink } = make();
    setEntry(4, 0x24 | RTE_MASKED);
    io.setIrq(4, true);
    setEntry(4, 0x24);
    expect(sink.msgs).toEqual([]);
    io.setIrq(4, false);
    io.setIrq(4, true);
    expect(sink.vectors).toEqual([0x24]);
  });
  test('EOI leaves edge entries alone', () => {
    const { io, setEntry, sink, readReg } = make();
    setEntry(1, 0x31);
    io.setIrq(1, true);
    io.eoi(0x31);
    expect(sink.vectors).toEqual([0x31]);
    expect(readReg(0x12) & RTE_REMOTE_IRR).toBe(0);
  });
  test('out-of-range pins are counted, not thrown', () => {
    const { io } = make();
    io.setIrq(24, true);
    io.setIrq(-1, true);
    expect(io.counters.badPins).toBe(2);
  });
});

describe('level-triggered inputs and remote IRR', () => {
  test('delivers once, sets remote IRR; EOI redelivers while asserted', () => {
    const { io, setEntry, sink, readReg } = make();
    setEntry(8, 0x38 | LEVEL);
    io.setIrq(8, true);
    io.setIrq(8, true);
    expect(sink.vectors).toEqual([0x38]);
    expect(readReg(0x20) & RTE_REMOTE_IRR).toBe(RTE_REMOTE_IRR);
    io.eoi(0x39); // other vector: nothing
    expect(sink.vectors).toEqual([0x38]);
    io.eoi(0x38);
    expect(sink.vectors).toEqual([0x38, 0x38]);
    io.setIrq(8, false);
    io.eoi(0x38);
    expect(sink.vectors).toEqual([0x38, 0x38]);
    expect(readReg(0x20) & RTE_REMOTE_IRR).toBe(0);
  });
  test('EOI register at +0x40 (32-bit only)', () => {
    const { io, setEntry, sink } = make();
    setEntry(5, 0x45 | LEVEL);
    io.setIrq(5, true);
    io.write(IOAPIC_EOI, 1, 0x45);
    expect(sink.vectors).toEqual([0x45]);
    io.write(IOAPIC_EOI, 4, 0x45);
    expect(sink.vectors).toEqual([0x45, 0x45]);
  });
  test('unmasking an asserted level input delivers', () => {
    const { io, setEntry, sink } = make();
    setEntry(9, 0x49 | LEVEL | RTE_MASKED);
    io.setIrq(9, true);
    expect(sink.msgs).toEqual([]);
    setEntry(9, 0x49 | LEVEL);
    expect(sink.vectors).toEqual([0x49]);
  });
  test('a deasserted line before unmask delivers nothing', () => {
    const { io, setEntry, sink } = make();
    setEntry(9, 0x49 | LEVEL | RTE_MASKED);
    io.setIrq(9, true);
    io.setIrq(9, false);
    setEntry(9, 0x49 | LEVEL);
    expect(sink.msgs).toEqual([]);
  });
  test('switching to edge clears a stuck remote IRR (QEMU, Linux EOI workaround)', () => {
    const { io, setEntry, readReg } = make();
    setEntry(2, 0x22 | LEVEL);
    io.setIrq(2, true);
    expect(readReg(0x14) & RTE_REMOTE_IRR).toBe(RTE_REMOTE_IRR);
    setEntry(2, 0x22 | RTE_MASKED);
    expect(readReg(0x14) & RTE_REMOTE_IRR).toBe(0);
  });
  test('EOI broadcast does not redeliver a masked entry', () => {
    const { io, setEntry, sink } = make();
    setEntry(6, 0x66 | LEVEL);
    io.setIrq(6, true);
    setEntry(6, 0x66 | LEVEL | RTE_MASKED);
    io.eoi(0x66);
    expect(sink.vectors).toEqual([0x66]);
  });
});

describe('polarity (bit 13)', () => {
  test("'ignore' (QEMU, default): an active-low entry still fires on a high input", () => {
    const { io, setEntry, sink } = make();
    setEntry(7, 0x57 | LEVEL | RTE_POLARITY_LOW);
    expect(sink.msgs).toEqual([]);
    io.setIrq(7, true);
    expect(sink.vectors).toEqual([0x57]);
  });
  test("'honor': active low inverts the input", () => {
    const { io, setEntry, sink } = make({ polarity: 'honor' });
    setEntry(7, 0x57 | LEVEL | RTE_POLARITY_LOW);
    expect(sink.vectors).toEqual([0x57]); // idle-low line reads as asserted
    io.eoi(0x57);
    expect(sink.vectors).toEqual([0x57, 0x57]);
    io.setIrq(7, true); // deasserted
    io.eoi(0x57);
    expect(sink.vectors).toEqual([0x57, 0x57]);
  });
});

describe('GSI routing across two IOAPICs', () => {
  const build = () => {
    const sink = new RecordingSink();
    const a = new Ioapic(sink, { gsiBase: 0 });
    const b = new Ioapic(sink, { gsiBase: 24, id: 1 });
    return { sink, a, b, router: new GsiRouter([a, b]) };
  };
  const cases = [
    { gsi: 0, chip: 'a', pin: 0 },
    { gsi: 4, chip: 'a', pin: 4 },
    { gsi: 23, chip: 'a', pin: 23 },
    { gsi: 24, chip: 'b', pin: 0 },
    { gsi: 47, chip: 'b', pin: 23 },
  ] as const;
  for (const c of cases) {
    test(`GSI ${c.gsi} -> IOAPIC ${c.chip} pin ${c.pin}`, () => {
      const { a, b, router } = build();
      const r = router.resolve(c.gsi);
      expect(r?.pin).toBe(c.pin);
      expect(r?.ioapic).toBe(c.chip === 'a' ? a : b);
    });
  }
  test('GSI 48 is not served', () => {
    const { router } = build();
    expect(router.resolve(48)).toBeUndefined();
    expect(() => router.line(48)).toThrow(RangeError);
  });
  test('line(gsi) drives the right pin; EOI reaches both chips', () => {
    const { sink, b, router } = build();
    b.write(IOAPIC_IOREGSEL, 4, 0x10 + 2 * 23);
    b.write(IOAPIC_IOWIN, 4, 0x80 | LEVEL);
    router.line(47).set(true);
    expect(sink.vectors).toEqual([0x80]);
    router.eoi(0x80);
    expect(sink.vectors).toEqual([0x80, 0x80]);
  });
  test('isaIrqToGsi: IRQ 0 is GSI 2, others identity', () => {
    expect([0, 1, 4, 8, 15].map(isaIrqToGsi)).toEqual([2, 1, 4, 8, 15]);
  });
});

describe('save, restore, reset', () => {
  test('round trip; an asserted level line not yet in service is delivered on restore', () => {
    const a = make();
    a.setEntry(3, 0x33 | LEVEL | RTE_MASKED);
    a.io.setIrq(3, true);
    const saved = a.io.saveState();
    saved.redirLo[3] = 0x33 | LEVEL; // as if unmasked in the snapshot
    const b = make();
    b.io.restoreState(JSON.parse(JSON.stringify(saved)) as unknown);
    expect(b.sink.vectors).toEqual([0x33]);
    expect(b.readReg(0x16) & RTE_REMOTE_IRR).toBe(RTE_REMOTE_IRR);
  });
  const bad = [
    { name: 'version', patch: { version: 0 } },
    { name: 'id', patch: { id: 16 } },
    { name: 'short table', patch: { redirLo: [0] } },
    { name: 'irr beyond 24 pins', patch: { irr: 1 << 24 } },
  ];
  for (const c of bad) {
    test(`rejects bad ${c.name}`, () => {
      const { io } = make();
      expect(() => io.restoreState({ ...io.saveState(), ...c.patch })).toThrow(IoapicStateError);
    });
  }
  test('reset masks every entry but keeps input levels', () => {
    const { io, setEntry, sink } = make();
    setEntry(1, 0x21 | LEVEL);
    io.setIrq(1, true);
    io.reset();
    expect(io.entry(1).masked).toBe(true);
    setEntry(1, 0x21 | LEVEL);
    expect(sink.vectors).toEqual([0x21, 0x21]);
  });
});
