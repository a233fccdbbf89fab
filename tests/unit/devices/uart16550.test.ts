import { describe, expect, test } from 'vitest';
import { RecordingIrqLine } from '../../../src/devices/irq.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';
import {
  Uart16550, Uart16550StateError,
  UART_RBR, UART_THR, UART_DLL, UART_DLM, UART_IER, UART_IIR, UART_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR,
  IER_ERBFI, IER_ETBEI, IER_ELSI, IER_EDSSI,
  LCR_DLAB, MCR_LOOP, MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2,
  LSR_DR, LSR_OE, LSR_BI, LSR_THRE, LSR_TEMT,
  MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD, MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD,
} from '../../../src/devices/uart16550.js';

function make(time?: ManualTimeSource) {
  const irq = new RecordingIrqLine();
  const out: number[] = [];
  const uart = new Uart16550(irq, (b) => out.push(b), { time });
  const rd = (off: number) => uart.read(off, 1);
  const wr = (off: number, v: number) => uart.write(off, 1, v);
  return { irq, out, uart, rd, wr };
}

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('16550A reset values (PC16550D Table II, QEMU serial_reset_hold)', () => {
  const cases = [
    { name: 'IER', off: UART_IER, want: 0x00 },
    { name: 'IIR (no interrupt)', off: UART_IIR, want: 0x01 },
    { name: 'LCR', off: UART_LCR, want: 0x00 },
    { name: 'MCR (OUT2)', off: UART_MCR, want: 0x08 },
    { name: 'LSR (THRE|TEMT)', off: UART_LSR, want: 0x60 },
    { name: 'MSR (DCD|DSR|CTS)', off: UART_MSR, want: 0xb0 },
    { name: 'SCR', off: UART_SCR, want: 0x00 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { rd, irq } = make();
      expect(rd(c.off)).toBe(c.want);
      expect(irq.log).toEqual([]);
    });
  }
  test('divisor latch reads 12 (9600 baud)', () => {
    const { rd, wr } = make();
    wr(UART_LCR, LCR_DLAB);
    expect([rd(UART_DLL), rd(UART_DLM)]).toEqual([0x0c, 0x00]);
  });
});

describe('divisor latch and scratch', () => {
  test('DLAB selects DLL/DLM at offsets 0/1; THR/IER untouched', () => {
    const { rd, wr, out } = make();
    wr(UART_LCR, 0x83);
    wr(UART_DLL, 0x01);
    wr(UART_DLM, 0x02);
    expect(out).toEqual([]); // no transmission under DLAB
    expect([rd(UART_DLL), rd(UART_DLM), rd(UART_LCR)]).toEqual([0x01, 0x02, 0x83]);
    wr(UART_LCR, 0x03);
    expect(rd(UART_IER)).toBe(0);
    wr(UART_THR, 0x41);
    expect(out).toEqual([0x41]);
  });
  test('character time follows divisor and frame (8N1 at 115200 = 86.8 us)', () => {
    const { uart, wr } = make();
    wr(UART_LCR, 0x83);
    wr(UART_DLL, 1);
    wr(UART_DLM, 0);
    wr(UART_LCR, 0x03);
    expect(uart.characterTimeNs()).toBe(Math.round((1e9 / 115200) * 10));
    wr(UART_LCR, 0x0f); // 8 data, parity, 2 stop = 12 bits
    expect(uart.characterTimeNs()).toBe(Math.round((1e9 / 115200) * 12));
  });
  test('scratch register holds any byte', () => {
    const { rd, wr } = make();
    for (const v of [0x00, 0x55, 0xaa, 0xff]) {
      wr(UART_SCR, v);
      expect(rd(UART_SCR)).toBe(v);
    }
  });
  test('IER keeps only bits 0-3', () => {
    const { rd, wr } = make();
    wr(UART_IER, 0xff);
    expect(rd(UART_IER)).toBe(0x0f);
  });
  test('a 2-byte access is split into byte accesses (QEMU impl size 1)', () => {
    const { uart, wr } = make();
    wr(UART_LCR, LCR_DLAB);
    uart.write(UART_DLL, 2, 0x0201);
    expect(uart.read(UART_DLL, 2)).toBe(0x0201);
    expect(uart.read(UART_DLL, 1)).toBe(0x01);
  });
});

describe('transmitter and THRE interrupt', () => {
  test('THR write transmits at once; LSR shows THRE|TEMT again', () => {
    const { rd, wr, out } = make();
    wr(UART_THR, 0x68);
    wr(UART_THR, 0x69);
    expect(out).toEqual([0x68, 0x69]);
    expect(rd(UART_LSR) & (LSR_THRE | LSR_TEMT)).toBe(LSR_THRE | LSR_TEMT);
  });
  test('enabling ETBEI with THR empty raises THRE; IIR read clears it', () => {
    const { rd, wr, irq } = make();
    wr(UART_IER, IER_ETBEI);
    expect(irq.log).toEqual([true]);
    expect(rd(UART_IIR)).toBe(0x02);
    expect(irq.log).toEqual([true, false]);
    expect(rd(UART_IIR)).toBe(0x01);
  });
  test('THR write lowers then re-raises THRE (an edge per byte)', () => {
    const { rd, wr, irq } = make();
    wr(UART_IER, IER_ETBEI);
    wr(UART_THR, 0x41);
    expect(irq.log).toEqual([true, false, true]);
    rd(UART_IIR);
    wr(UART_THR, 0x42);
    expect(irq.log).toEqual([true, false, true, false, true]);
  });
  test('re-enabling ETBEI re-raises THRE after an IIR read cleared it', () => {
    const { rd, wr, irq } = make();
    wr(UART_IER, IER_ETBEI);
    rd(UART_IIR);
    wr(UART_IER, IER_ETBEI); // unchanged: nothing
    expect(irq.log).toEqual([true, false]);
    wr(UART_IER, 0);
    wr(UART_IER, IER_ETBEI);
    expect(irq.log).toEqual([true, false, true]);
    expect(rd(UART_IIR)).toBe(0x02);
  });
  test('IRQ is not gated by MCR.OUT2 (as QEMU)', () => {
    const { wr, irq } = make();
    wr(UART_MCR, 0);
    wr(UART_IER, IER_ETBEI);
    expect(irq.level).toBe(true);
  });
});

describe('receiver without FIFOs (16450 mode)', () => {
  test('a byte raises RDI; reading RBR lowers it', () => {
    const { uart, rd, wr, irq } = make();
    wr(UART_IER, IER_ERBFI);
    uart.receive(bytes(0x61));
    expect(irq.log).toEqual([true]);
    expect(rd(UART_IIR)).toBe(0x04);
    expect(rd(UART_LSR) & LSR_DR).toBe(LSR_DR);
    expect(rd(UART_RBR)).toBe(0x61);
    expect(irq.log).toEqual([true, false]);
    expect(rd(UART_LSR) & LSR_DR).toBe(0);
  });
  test('second byte before a read overruns: OE set, RBR overwritten, RLS outranks RDI', () => {
    const { uart, rd, wr } = make();
    wr(UART_IER, IER_ERBFI | IER_ELSI);
    uart.receive(bytes(1, 2));
    expect(uart.counters.rxOverruns).toBe(1);
    expect(rd(UART_IIR)).toBe(0x06);
    expect(rd(UART_LSR) & (LSR_OE | LSR_DR)).toBe(LSR_OE | LSR_DR);
    expect(rd(UART_IIR)).toBe(0x04); // OE cleared by the LSR read
    expect(rd(UART_LSR) & LSR_OE).toBe(0);
    expect(rd(UART_RBR)).toBe(2);
  });
  test('canReceive is 1 when RBR empty, 0 when full', () => {
    const { uart, rd } = make();
    expect(uart.canReceive()).toBe(1);
    uart.receive(bytes(9));
    expect(uart.canReceive()).toBe(0);
    rd(UART_RBR);
    expect(uart.canReceive()).toBe(1);
  });
  test('RBR read with nothing received returns 0', () => {
    const { rd } = make();
    expect(rd(UART_RBR)).toBe(0);
  });
  test('RBR keeps its character in 16450 mode; an empty FIFO reads 0', () => {
    const { uart, rd, wr } = make();
    uart.receive(bytes(0x41));
    expect([rd(UART_RBR), rd(UART_RBR)]).toEqual([0x41, 0x41]);
    wr(UART_FCR, 0x01);
    uart.receive(bytes(0x42));
    expect([rd(UART_RBR), rd(UART_RBR)]).toEqual([0x42, 0x00]);
  });
});

describe('FIFOs', () => {
  test('FCR bit 0 sets IIR bits 6-7', () => {
    const { rd, wr } = make();
    wr(UART_FCR, 0x01);
    expect(rd(UART_IIR)).toBe(0xc1);
    wr(UART_FCR, 0x00);
    expect(rd(UART_IIR)).toBe(0x01);
  });

  const triggerCases = [
    { fcr: 0x01, level: 1 },
    { fcr: 0x41, level: 4 },
    { fcr: 0x81, level: 8 },
    { fcr: 0xc1, level: 14 },
  ];
  for (const c of triggerCases) {
    test(`trigger level ${c.level} (FCR 0x${c.fcr.toString(16)})`, () => {
      const time = new ManualTimeSource();
      const { uart, rd, wr, irq } = make(time);
      wr(UART_FCR, c.fcr);
      wr(UART_IER, IER_ERBFI);
      expect(uart.canReceive()).toBe(c.level);
      uart.receive(new Uint8Array(c.level - 1).fill(0x30));
      expect(irq.level).toBe(false);
      expect(uart.canReceive()).toBe(1);
      uart.receive(bytes(0x31));
      expect(irq.log).toEqual([true]);
      expect(rd(UART_IIR)).toBe(0xc4);
      for (let i = 0; i < c.level - 1; i++) expect(rd(UART_RBR)).toBe(0x30);
      // Below the trigger level again: RDI drops (the timeout has not elapsed).
      if (c.level > 1) expect(irq.level).toBe(false);
      expect(rd(UART_RBR)).toBe(0x31);
      expect(irq.level).toBe(false);
      expect(rd(UART_LSR) & LSR_DR).toBe(0);
    });
  }

  test('character timeout after 4 character times below the trigger level', () => {
    const time = new ManualTimeSource();
    const { uart, rd, wr, irq } = make(time);
    wr(UART_LCR, 0x83);
    wr(UART_DLL, 1);
    wr(UART_LCR, 0x03);
    wr(UART_FCR, 0x81); // trigger 8
    wr(UART_IER, IER_ERBFI);
    uart.receive(bytes(1, 2, 3));
    const fourChars = BigInt(4 * uart.characterTimeNs());
    time.advance(fourChars - 1n);
    expect(irq.level).toBe(false);
    time.advance(1n);
    expect(irq.log).toEqual([true]);
    expect(rd(UART_IIR)).toBe(0xcc);
    expect(rd(UART_RBR)).toBe(1); // clears CTI and restarts the timer
    expect(irq.level).toBe(false);
    time.advance(fourChars);
    expect(rd(UART_IIR)).toBe(0xcc);
    rd(UART_RBR);
    rd(UART_RBR);
    time.advance(fourChars * 2n);
    expect(rd(UART_IIR)).toBe(0xc1); // FIFO empty: no timeout
  });

  test('ERBFI masks the character timeout (QEMU)', () => {
    const time = new ManualTimeSource();
    const { uart, rd, wr, irq } = make(time);
    wr(UART_FCR, 0xc1);
    uart.receive(bytes(1));
    time.advance(10_000_000n);
    expect(irq.level).toBe(false);
    wr(UART_IER, IER_ERBFI);
    expect(rd(UART_IIR)).toBe(0xcc);
  });

  test('16 bytes fill the FIFO; the 17th overruns and is lost', () => {
    const { uart, rd, wr } = make();
    wr(UART_FCR, 0x01);
    uart.receive(Uint8Array.from({ length: 17 }, (_, i) => i));
    expect(uart.canReceive()).toBe(0);
    expect(rd(UART_LSR) & LSR_OE).toBe(LSR_OE);
    const got = Array.from({ length: 16 }, () => rd(UART_RBR));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(rd(UART_LSR) & LSR_DR).toBe(0);
  });

  test('FCR receiver reset empties the FIFO; enable change flushes', () => {
    const { uart, rd, wr } = make();
    wr(UART_FCR, 0x01);
    uart.receive(bytes(1, 2, 3));
    wr(UART_FCR, 0x03);
    expect(rd(UART_LSR) & LSR_DR).toBe(0);
    uart.receive(bytes(4));
    wr(UART_FCR, 0x00); // disabling flushes too
    expect(rd(UART_LSR) & LSR_DR).toBe(0);
  });

  test('transmit FIFO reset re-signals THRE', () => {
    const { rd, wr, irq } = make();
    wr(UART_IER, IER_ETBEI);
    rd(UART_IIR);
    wr(UART_FCR, 0x05);
    expect(irq.log).toEqual([true, false, true]);
  });

  test('rx-space listener fires when a read frees space', () => {
    const { uart, rd } = make();
    let calls = 0;
    uart.setRxSpaceListener(() => calls++);
    uart.receive(bytes(1));
    expect(calls).toBe(0);
    rd(UART_RBR);
    expect(calls).toBe(1);
  });
});

describe('interrupt priorities (PC16550D Table IV)', () => {
  test('RLS > RDI > THRE > MSI, each cleared in turn', () => {
    const { uart, rd, wr } = make();
    wr(UART_IER, IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI);
    wr(UART_MCR, MCR_LOOP); // loopback: modem inputs change -> MSI
    wr(UART_MCR, MCR_LOOP | MCR_RTS);
    wr(UART_THR, 0x10); // loops to the receiver
    wr(UART_THR, 0x11); // overrun in 16450 mode
    const seen: number[] = [];
    seen.push(rd(UART_IIR));
    rd(UART_LSR);
    seen.push(rd(UART_IIR));
    rd(UART_RBR);
    seen.push(rd(UART_IIR)); // THRE, cleared by this read
    seen.push(rd(UART_IIR));
    rd(UART_MSR);
    seen.push(rd(UART_IIR));
    expect(seen).toEqual([0x06, 0x04, 0x02, 0x00, 0x01]);
    expect(uart.irqAsserted).toBe(false);
  });
});

describe('loopback (MCR bit 4)', () => {
  test('transmitted bytes come back on RBR, never reach tx', () => {
    const { uart, rd, wr, out } = make();
    wr(UART_MCR, MCR_LOOP);
    wr(UART_THR, 0x5a);
    expect(out).toEqual([]);
    expect(rd(UART_LSR) & LSR_DR).toBe(LSR_DR);
    expect(rd(UART_RBR)).toBe(0x5a);
    expect(uart.counters.txBytes).toBe(0);
  });
  test('host input is held off in loopback', () => {
    const { uart, rd, wr } = make();
    wr(UART_MCR, MCR_LOOP);
    expect(uart.canReceive()).toBe(0);
    uart.receive(bytes(1));
    expect(rd(UART_LSR) & LSR_DR).toBe(0);
    expect(uart.counters.rxDroppedInLoopback).toBe(1);
  });
  const msrCases = [
    { mcr: 0, msr: 0 },
    { mcr: MCR_DTR, msr: MSR_DSR },
    { mcr: MCR_RTS, msr: MSR_CTS },
    { mcr: MCR_OUT1, msr: MSR_RI },
    { mcr: MCR_OUT2, msr: MSR_DCD },
    { mcr: 0x0f, msr: 0xf0 },
  ];
  for (const c of msrCases) {
    test(`MCR 0x${c.mcr.toString(16)} loops to MSR 0x${c.msr.toString(16)}`, () => {
      const { rd, wr } = make();
      wr(UART_MCR, MCR_LOOP | c.mcr);
      rd(UART_MSR); // clear deltas from entering loopback
      expect(rd(UART_MSR)).toBe(c.msr);
    });
  }
  test('delta bits and TERI (RI 1 -> 0 only) with a modem status interrupt', () => {
    const { rd, wr, irq } = make();
    wr(UART_MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR | MCR_RTS); // same as external inputs: no delta
    expect(rd(UART_MSR)).toBe(MSR_DCD | MSR_DSR | MSR_CTS);
    wr(UART_IER, IER_EDSSI);
    wr(UART_MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR | MCR_RTS | MCR_OUT1);
    expect(irq.level).toBe(false); // RI 0 -> 1 is not a TERI
    wr(UART_MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR);
    expect(rd(UART_IIR)).toBe(0x00);
    expect(rd(UART_MSR)).toBe(MSR_DCD | MSR_DSR | MSR_DCTS | MSR_TERI);
    expect(irq.log).toEqual([true, false]);
    wr(UART_MCR, MCR_LOOP);
    expect(rd(UART_MSR)).toBe(MSR_DDSR | MSR_DDCD);
  });
  test('leaving loopback restores the external modem inputs', () => {
    const { rd, wr } = make();
    wr(UART_MCR, MCR_LOOP);
    wr(UART_MCR, 0);
    expect(rd(UART_MSR) & 0xf0).toBe(0xb0);
  });
});

describe('break', () => {
  test('break sets BI and DR, raises RLS, reads as 0', () => {
    const { uart, rd, wr } = make();
    wr(UART_IER, IER_ELSI | IER_ERBFI);
    uart.receiveBreak();
    expect(rd(UART_IIR)).toBe(0x06);
    expect(rd(UART_LSR) & (LSR_BI | LSR_DR)).toBe(LSR_BI | LSR_DR);
    expect(rd(UART_LSR) & LSR_BI).toBe(0);
    expect(rd(UART_RBR)).toBe(0);
  });
});

describe('save and restore', () => {
  test('round trip keeps registers, FIFO and interrupt level', () => {
    const a = make(new ManualTimeSource());
    a.wr(UART_FCR, 0x41);
    a.wr(UART_IER, IER_ERBFI);
    a.wr(UART_SCR, 0x77);
    a.uart.receive(bytes(1, 2, 3, 4, 5));
    const saved = JSON.parse(JSON.stringify(a.uart.saveState())) as unknown;
    const b = make(new ManualTimeSource());
    b.uart.restoreState(saved);
    expect(b.irq.log).toEqual([true]);
    expect(b.rd(UART_SCR)).toBe(0x77);
    expect(b.rd(UART_IIR)).toBe(0xc4);
    expect([1, 2, 3, 4, 5].map(() => b.rd(UART_RBR))).toEqual([1, 2, 3, 4, 5]);
  });
  const bad: Array<{ name: string; patch: Record<string, unknown> }> = [
    { name: 'wrong version', patch: { version: 2 } },
    { name: 'ier not a byte', patch: { ier: 256 } },
    { name: 'divisor too big', patch: { divisor: 0x10000 } },
    { name: 'rx too long', patch: { rx: new Array(17).fill(0) } },
    { name: 'rx non-byte', patch: { rx: [1.5] } },
    { name: 'two bytes in 16450 mode', patch: { fcr: 0, rx: [1, 2] } },
    { name: 'thrIpending not boolean', patch: { thrIpending: 1 } },
  ];
  for (const c of bad) {
    test(`rejects ${c.name} and keeps state`, () => {
      const { uart, rd, wr } = make();
      wr(UART_SCR, 0x12);
      const s = { ...uart.saveState(), ...c.patch };
      expect(() => uart.restoreState(s)).toThrow(Uart16550StateError);
      expect(rd(UART_SCR)).toBe(0x12);
    });
  }
  test('rejects non-objects', () => {
    const { uart } = make();
    for (const v of [null, 3, 'x', undefined]) expect(() => uart.restoreState(v)).toThrow(Uart16550StateError);
  });
});
