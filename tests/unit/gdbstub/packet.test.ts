// The RSP packet layer against the GDB manual's own examples (E.1 "Overview").
import { describe, expect, test } from 'vitest';
import {
  checksum, compressRunLength, encodePacket, escapeBinary, expandRunLength, fromHex, PacketDecoder, toHex,
  unescapeBinary, asciiBytes, bytesToAscii, parseHexBig, parseHexNumber, type PacketEvent,
} from '../../../src/gdbstub/protocol/packet.js';

const a = asciiBytes;
const feedAll = (d: PacketDecoder, s: string | Uint8Array): PacketEvent[] => {
  const out: PacketEvent[] = [];
  for (const b of typeof s === 'string' ? a(s) : s) {
    const ev = d.feed(b);
    if (ev) out.push(ev);
  }
  return out;
};

describe('checksum and framing', () => {
  // Checksums of packets as gdb sends them (from `set debug remote 1` logs).
  const cases: Array<[string, string]> = [
    ['OK', '$OK#9a'], ['g', '$g#67'], ['?', '$?#3f'], ['', '$#00'], ['vCont?', '$vCont?#49'],
    ['qSupported', '$qSupported#37'], ['T05thread:01;', '$T05thread:01;#07'],
  ];
  for (const [payload, framed] of cases) {
    test(`${JSON.stringify(payload)} -> ${framed}`, () => {
      expect(bytesToAscii(encodePacket(a(payload)))).toBe(framed);
      expect(checksum(a(payload))).toBe(parseInt(framed.slice(-2), 16));
    });
  }
});

describe('binary escapes', () => {
  test('the four special bytes are escaped as 0x7d then byte ^ 0x20 (E.1: 0x7d becomes 0x7d 0x5d)', () => {
    expect([...escapeBinary(Uint8Array.of(0x7d))]).toEqual([0x7d, 0x5d]);
    expect([...escapeBinary(Uint8Array.of(0x23, 0x24, 0x2a, 0x41))]).toEqual([0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x0a, 0x41]);
  });
  test('round trip of every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const esc = escapeBinary(all);
    expect(esc.length).toBe(256 + 4);
    expect([...unescapeBinary(esc)!]).toEqual([...all]);
  });
  test('a trailing lone escape is malformed', () => {
    expect(unescapeBinary(Uint8Array.of(0x41, 0x7d))).toBeUndefined();
  });
});

describe('run-length encoding', () => {
  test("E.1's example: '0* ' is \"0000\"", () => {
    expect(bytesToAscii(expandRunLength(a('0* '), 100)!)).toBe('0000');
  });
  test('malformed runs: nothing to repeat, no count, a count below the printable range', () => {
    expect(expandRunLength(a('*"'), 100)).toBeUndefined();
    expect(expandRunLength(a('0*'), 100)).toBeUndefined();
    expect(expandRunLength(Uint8Array.of(0x30, 0x2a, 0x1f), 100)).toBeUndefined();
  });
  test('expansion is bounded (a hostile peer cannot make us allocate)', () => {
    expect(expandRunLength(a('0~0~0~0~'.replace(/~/g, '*~')), 50)).toBeUndefined();
  });
  test('compression never emits # or $ as a count, and round-trips', () => {
    for (let n = 1; n <= 300; n++) {
      const s = '1' + '0'.repeat(n) + '2';
      const c = compressRunLength(a(s));
      expect(c.includes(0x23)).toBe(false);
      expect(c.includes(0x24)).toBe(false);
      expect(bytesToAscii(expandRunLength(c, 1000)!)).toBe(s);
    }
    expect(bytesToAscii(compressRunLength(a('0000')))).toBe('0* ');
  });
  test('runs of escape-sensitive bytes are left alone', () => {
    expect(bytesToAscii(compressRunLength(a('}}}}}}')))).toBe('}}}}}}');
  });
});

describe('PacketDecoder', () => {
  test('acks, nacks and Ctrl-C outside packets; noise skipped', () => {
    const d = new PacketDecoder();
    expect(feedAll(d, 'x+\x03-')).toEqual([{ kind: 'ack' }, { kind: 'interrupt' }, { kind: 'nack' }]);
  });
  test('a packet fed one byte at a time', () => {
    const d = new PacketDecoder();
    const ev = feedAll(d, '+$qSupported#37');
    expect(ev[0]).toEqual({ kind: 'ack' });
    expect(ev[1]?.kind).toBe('packet');
    expect(bytesToAscii((ev[1] as { payload: Uint8Array }).payload)).toBe('qSupported');
  });
  test('bad checksum, bad hex digits in the checksum', () => {
    expect(feedAll(new PacketDecoder(), '$g#68')).toEqual([{ kind: 'bad-packet', reason: 'checksum' }]);
    expect(feedAll(new PacketDecoder(), '$g#zz')).toEqual([{ kind: 'bad-packet', reason: 'checksum' }]);
  });
  test('checksum is still framed in no-ack mode but not verified', () => {
    const d = new PacketDecoder();
    d.verifyChecksum = false;
    expect(feedAll(d, '$g#00')[0]?.kind).toBe('packet');
  });
  test('a $ inside a packet starts a new one (resynchronisation)', () => {
    const ev = feedAll(new PacketDecoder(), '$qSup$g#67');
    expect(ev.length).toBe(1);
    expect(bytesToAscii((ev[0] as { payload: Uint8Array }).payload)).toBe('g');
  });
  test('an over-long packet is dropped whole, then the next one decodes', () => {
    const d = new PacketDecoder(8);
    const long = '$' + 'm'.repeat(20) + '#00';
    expect(feedAll(d, long)).toEqual([{ kind: 'bad-packet', reason: 'too-long' }]);
    expect(feedAll(d, '$g#67')[0]?.kind).toBe('packet');
  });
  test('run-length encoded payloads are expanded; malformed ones rejected', () => {
    const ok = feedAll(new PacketDecoder(), bytesToAscii(encodePacket(a('0* '))));
    expect(bytesToAscii((ok[0] as { payload: Uint8Array }).payload)).toBe('0000');
    expect(feedAll(new PacketDecoder(), bytesToAscii(encodePacket(a('*0'))))).toEqual([{ kind: 'bad-packet', reason: 'run-length' }]);
  });
  test('random bytes never throw', () => {
    let seed = 12345;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff; };
    const d = new PacketDecoder(64);
    for (let i = 0; i < 100_000; i++) d.feed(rnd());
  });
});

describe('hex helpers', () => {
  test('toHex/fromHex', () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0x7f))).toBe('00ab7f');
    expect([...fromHex('00AB7f')!]).toEqual([0, 0xab, 0x7f]);
    expect(fromHex('0')).toBeUndefined();
    expect(fromHex('zz')).toBeUndefined();
  });
  test('numbers', () => {
    expect(parseHexBig('ffffffffffffffff')).toBe(0xffffffffffffffffn);
    expect(parseHexBig('1ffffffffffffffff')).toBeUndefined();
    expect(parseHexBig('')).toBeUndefined();
    expect(parseHexNumber('10')).toBe(16);
    expect(parseHexNumber('-1')).toBeUndefined();
  });
});
