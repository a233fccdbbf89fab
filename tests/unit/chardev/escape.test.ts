import { describe, expect, test } from 'vitest';
import { EscapeDecoder, escapeHelpText, type EscapeEvent } from '../../../src/chardev/escape.js';

const enc = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
/** Events with data as strings, for readable tables. */
function decode(chunks: string[], signal = true): Array<string | EscapeEvent['kind']> {
  const d = new EscapeDecoder({ signal });
  const out: Array<string | EscapeEvent['kind']> = [];
  for (const c of chunks) {
    for (const ev of d.feed(enc(c))) out.push(ev.kind === 'data' ? Buffer.from(ev.bytes).toString('latin1') : ev.kind);
  }
  return out;
}

describe('QEMU console escapes (chardev/char-mux.c)', () => {
  const cases: Array<{ name: string; chunks: string[]; want: Array<string | EscapeEvent['kind']>; signal?: boolean }> = [
    { name: 'plain data passes', chunks: ['hello'], want: ['hello'] },
    { name: 'C-a x quits', chunks: ['ab\x01xcd'], want: ['ab', 'quit', 'cd'] },
    { name: 'C-a h and C-a ? print help', chunks: ['\x01h\x01?'], want: ['help', 'help'] },
    { name: 'C-a C-a sends one C-a', chunks: ['a\x01\x01b'], want: ['a', '\x01b'] },
    { name: 'C-a b sends a break', chunks: ['\x01b'], want: ['break'] },
    { name: 'C-a c asks for the monitor', chunks: ['\x01c'], want: ['monitor'] },
    { name: 'C-a t toggles timestamps', chunks: ['\x01t'], want: ['timestamps'] },
    { name: 'C-a s saves disks', chunks: ['\x01s'], want: ['save'] },
    { name: 'unknown command key is swallowed', chunks: ['a\x01zb'], want: ['a', 'b'] },
    { name: 'escape split across chunks', chunks: ['ab\x01', 'xcd'], want: ['ab', 'quit', 'cd'] },
    { name: 'C-a C-a split across chunks', chunks: ['\x01', '\x01q'], want: ['\x01q'] },
    { name: 'Ctrl-C interrupts with signal on', chunks: ['a\x03b'], want: ['a', 'interrupt', 'b'] },
    { name: 'Ctrl-C is data with signal off', chunks: ['a\x03b'], want: ['a\x03b'], signal: false },
    { name: 'C-a then Ctrl-C is swallowed', chunks: ['\x01\x03'], want: [] },
  ];
  for (const c of cases) test(c.name, () => expect(decode(c.chunks, c.signal ?? true)).toEqual(c.want));

  test('help text lists every command in QEMU wording', () => {
    const t = escapeHelpText();
    for (const line of ['C-a h    print this help', 'C-a x    exit emulator', 'C-a b    send break (magic sysrq)', 'C-a C-a  sends C-a']) {
      expect(t).toContain(line);
    }
    expect(t.endsWith('\n\r')).toBe(true);
  });
});
