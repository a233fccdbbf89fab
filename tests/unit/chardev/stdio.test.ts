import { describe, expect, test } from 'vitest';
import { PassThrough, Writable } from 'node:stream';
import { StdioBackend, type QuitReason } from '../../../src/chardev/stdio.js';

class FakeTty extends PassThrough {
  isTTY = true;
  isRaw = false;
  readonly rawCalls: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawCalls.push(mode);
    this.isRaw = mode;
    return this;
  }
}

class Sink extends Writable {
  data = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.data += chunk.toString('latin1');
    cb();
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function make(opts: { signal?: boolean; nowMs?: () => number } = {}) {
  const input = new FakeTty();
  const output = new Sink();
  const quits: QuitReason[] = [];
  const got: string[] = [];
  let breaks = 0;
  const be = new StdioBackend({ input, output, onQuit: (r) => quits.push(r), processHooks: false, ...opts });
  be.onInput((b) => got.push(Buffer.from(b).toString('latin1')));
  be.onBreak(() => breaks++);
  return { input, output, quits, got, be, breaks: () => breaks };
}

describe('stdio backend', () => {
  test('raw mode on a TTY, restored on close', async () => {
    const { input, be } = make();
    expect(input.rawCalls).toEqual([true]);
    await be.close();
    expect(input.rawCalls).toEqual([true, false]);
    await be.close();
    expect(input.rawCalls).toEqual([true, false]);
  });

  test('a non-TTY input is left alone', async () => {
    const input = new FakeTty();
    input.isTTY = false;
    const be = new StdioBackend({ input, output: new Sink(), processHooks: false });
    expect(input.rawCalls).toEqual([]);
    await be.close();
  });

  test('input reaches the guest; guest output reaches stdout', async () => {
    const { input, output, got, be } = make();
    input.write('ls\r');
    await tick();
    expect(got.join('')).toBe('ls\r');
    be.write(Buffer.from('hello\r\n'));
    expect(output.data).toBe('hello\r\n');
    await be.close();
  });

  test('C-a x prints Terminated and quits', async () => {
    const { input, output, quits, got, be } = make();
    input.write('a\x01xb');
    await tick();
    expect(quits).toEqual(['escape']);
    expect(output.data).toContain('Terminated');
    expect(got.join('')).toBe('a');
    await be.close();
  });

  test('C-a h prints help; C-a c says there is no monitor', async () => {
    const { input, output, quits, be } = make();
    input.write('\x01h\x01c');
    await tick();
    expect(output.data).toContain('C-a x    exit emulator');
    expect(output.data).toContain('monitor not supported');
    expect(quits).toEqual([]);
    await be.close();
  });

  test('C-a C-a sends C-a; C-a b sends a break', async () => {
    const { input, got, be, breaks } = make();
    input.write('\x01\x01\x01b');
    await tick();
    expect(got.join('')).toBe('\x01');
    expect(breaks()).toBe(1);
    await be.close();
  });

  test('Ctrl-C quits by default, reaches the guest with signal off', async () => {
    const a = make();
    a.input.write('\x03');
    await tick();
    expect(a.quits).toEqual(['interrupt']);
    await a.be.close();
    const b = make({ signal: false });
    b.input.write('\x03');
    await tick();
    expect(b.quits).toEqual([]);
    expect(b.got.join('')).toBe('\x03');
    await b.be.close();
  });

  test('C-a t prefixes lines with elapsed time', async () => {
    let now = 1000;
    const { input, output, be } = make({ nowMs: () => now });
    input.write('\x01t');
    await tick();
    be.write(Buffer.from('first\n'));
    now = 1000 + 3_723_004; // 1 h 2 min 3.004 s later
    be.write(Buffer.from('second\nthird'));
    expect(output.data).toBe('first\n[01:02:03.004] second\n[01:02:03.004] third');
    await be.close();
  });

  test('pause/resume pause the input stream (flow control)', async () => {
    const { input, be } = make();
    be.pauseInput();
    expect(input.isPaused()).toBe(true);
    be.resumeInput();
    expect(input.isPaused()).toBe(false);
    await be.close();
  });

  test('input before a consumer is attached is kept', async () => {
    const input = new FakeTty();
    const be = new StdioBackend({ input, output: new Sink(), processHooks: false });
    input.write('early');
    await tick();
    const got: string[] = [];
    be.onInput((b) => got.push(Buffer.from(b).toString()));
    expect(got).toEqual(['early']);
    await be.close();
  });

  test('process hooks restore the terminal on exit and are removed on close', async () => {
    const before = process.listenerCount('exit');
    const beforeTerm = process.listenerCount('SIGTERM');
    const input = new FakeTty();
    const be = new StdioBackend({ input, output: new Sink() });
    expect(process.listenerCount('exit')).toBe(before + 1);
    expect(process.listenerCount('SIGTERM')).toBe(beforeTerm + 1);
    process.listeners('exit').at(-1)?.call(process, 0);
    expect(input.rawCalls).toEqual([true, false]);
    await be.close();
    expect(process.listenerCount('exit')).toBe(before);
    expect(process.listenerCount('SIGTERM')).toBe(beforeTerm);
  });
});
