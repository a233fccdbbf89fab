import { describe, expect, test } from 'vitest';
import { RecordingIrqLine } from '../../../src/devices/irq.js';
import { ManualTimeSource } from '../../../src/devices/clock.js';
import { Uart16550, UART_RBR, UART_LSR, UART_FCR, UART_THR, UART_IER, UART_IIR, LSR_DR, LSR_OE, LSR_BI, IER_ERBFI } from '../../../src/devices/uart16550.js';
import { BackendBase, type CharBackend } from '../../../src/chardev/backend.js';
import { SerialPort } from '../../../src/chardev/serial-port.js';
import { StreamBackend } from '../../../src/chardev/stream.js';

/** A backend the test drives by hand, recording flow control. */
class FakeBackend extends BackendBase implements CharBackend {
  readonly ready = Promise.resolve();
  readonly written: Uint8Array[] = [];
  readonly flow: string[] = [];
  closed = false;
  write(bytes: Uint8Array): void {
    this.written.push(Uint8Array.from(bytes));
  }
  pauseInput(): void {
    this.flow.push('pause');
  }
  resumeInput(): void {
    this.flow.push('resume');
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  input(s: string | Uint8Array): void {
    this.deliver(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }
  sendBreak(): void {
    this.breakCb?.();
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function build() {
  const backend = new FakeBackend();
  const port = new SerialPort(backend);
  const irq = new RecordingIrqLine();
  const uart = new Uart16550(irq, port.tx, { time: new ManualTimeSource() });
  port.attach(uart);
  /** The guest's polling receive loop: read RBR while LSR.DR. */
  const guestRead = (max = 100_000): number[] => {
    const out: number[] = [];
    while (out.length < max && uart.read(UART_LSR, 1) & LSR_DR) out.push(uart.read(UART_RBR, 1));
    return out;
  };
  return { backend, port, irq, uart, guestRead };
}

describe('SerialPort input flow control', () => {
  test('16450 mode: 300 bytes arrive at once, none lost, no overrun', async () => {
    const { backend, port, uart, guestRead } = build();
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    backend.input(data);
    expect(backend.flow).toEqual(['pause']);
    expect(port.pendingInputBytes).toBe(299);
    const got = guestRead();
    expect(got).toEqual(Array.from(data));
    expect(uart.read(UART_LSR, 1) & LSR_OE).toBe(0);
    expect(uart.counters.rxOverruns).toBe(0);
    expect(backend.flow).toEqual(['pause', 'resume']);
    await port.close();
  });

  test('FIFO mode: the trigger level is offered first, then the rest as the guest reads', () => {
    const { backend, port, uart, irq, guestRead } = build();
    uart.write(UART_FCR, 1, 0x81); // FIFO on, trigger 8
    uart.write(UART_IER, 1, IER_ERBFI);
    backend.input('0123456789abcdefghijklmnopqrstuvwxyz');
    expect(port.pendingInputBytes).toBe(36 - 8);
    expect(irq.level).toBe(true);
    expect(uart.read(UART_IIR, 1)).toBe(0xc4);
    expect(String.fromCharCode(...guestRead())).toBe('0123456789abcdefghijklmnopqrstuvwxyz');
    expect(uart.counters.rxOverruns).toBe(0);
  });

  test('many small chunks are merged into one offer', () => {
    const { backend, port, uart } = build();
    uart.write(UART_FCR, 1, 0xc1); // trigger 14
    for (const ch of 'abcdefghij') backend.input(ch);
    expect(port.pendingInputBytes).toBe(0);
    expect(uart.canReceive()).toBe(4);
  });

  test('input before attach waits for the UART', () => {
    const backend = new FakeBackend();
    const port = new SerialPort(backend);
    backend.input('hi');
    const uart = new Uart16550(new RecordingIrqLine(), port.tx);
    port.attach(uart);
    expect(uart.read(UART_RBR, 1)).toBe(0x68);
    expect(uart.read(UART_RBR, 1)).toBe(0x69);
  });

  test('a host break reaches the UART', () => {
    const { backend, uart } = build();
    backend.sendBreak();
    expect(uart.read(UART_LSR, 1) & LSR_BI).toBe(LSR_BI);
  });
});

describe('SerialPort output', () => {
  test('bytes are batched into one backend write per turn', async () => {
    const { backend, uart } = build();
    for (const c of Buffer.from('hello, world\n')) uart.write(UART_THR, 1, c);
    expect(backend.written).toEqual([]);
    await tick();
    expect(backend.written.map((b) => Buffer.from(b).toString())).toEqual(['hello, world\n']);
  });

  test('flush() writes at once; 4 KiB forces a write', () => {
    const { backend, port, uart } = build();
    uart.write(UART_THR, 1, 0x41);
    port.flush();
    expect(backend.written.length).toBe(1);
    for (let i = 0; i < 4096; i++) uart.write(UART_THR, 1, 0x42);
    expect(backend.written.length).toBe(2);
    expect(backend.written[1]?.length).toBe(4096);
  });

  test('close flushes and closes the backend', async () => {
    const { backend, port, uart } = build();
    uart.write(UART_THR, 1, 0x43);
    await port.close();
    expect(backend.written.map((b) => Buffer.from(b).toString())).toEqual(['C']);
    expect(backend.closed).toBe(true);
  });
});

describe('stream backend through SerialPort', () => {
  test('stream writes become guest input with backpressure; guest output is readable', async () => {
    const backend = new StreamBackend();
    const port = new SerialPort(backend);
    const uart = new Uart16550(new RecordingIrqLine(), port.tx);
    port.attach(uart);
    const chunks: string[] = [];
    backend.stream.on('data', (c: Buffer) => chunks.push(c.toString()));

    const payload = Buffer.from('x'.repeat(50) + 'END');
    const accepted = backend.stream.write(payload.subarray(0, 20));
    backend.stream.write(payload.subarray(20));
    await tick();
    expect(accepted).toBe(true);
    const got: number[] = [];
    // The guest polls; the event loop runs between bursts, as in a real machine.
    for (let round = 0; round < 200 && got.length < payload.length; round++) {
      while (uart.read(UART_LSR, 1) & LSR_DR) got.push(uart.read(UART_RBR, 1));
      await tick();
    }
    expect(Buffer.from(got).toString()).toBe(payload.toString());

    for (const c of Buffer.from('guest says hi')) uart.write(UART_THR, 1, c);
    await tick();
    await tick();
    expect(chunks.join('')).toBe('guest says hi');
    await port.close();
  });
});
