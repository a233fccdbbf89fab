// The snapshot format's pieces: the zero-page scan that decides what RAM is
// kept, and the tagged JSON for bigint / bytes / Map state.
import { describe, expect, test } from 'vitest';
import { decode, encode, nonZeroRuns, parseSnapshot, SnapshotError } from '../../../src/machine/snapshot.js';

describe('snapshot format', () => {
  test('nonZeroRuns finds exactly the pages with a non-zero byte, as runs', () => {
    const ram = new Uint8Array(16 * 4096);
    expect(nonZeroRuns(ram)).toEqual([]);
    ram[0] = 1; // page 0
    ram[4096 * 3 + 4095] = 1; // last byte of page 3
    ram[4096 * 4] = 9; // page 4: joins page 3
    ram[4096 * 15 + 100] = 2; // the last page
    expect(nonZeroRuns(ram)).toEqual([{ start: 0, pages: 1 }, { start: 3 * 4096, pages: 2 }, { start: 15 * 4096, pages: 1 }]);
  });

  test('nonZeroRuns: runs across 64 KiB chunk boundaries; a partial last page is ignored', () => {
    const ram = new Uint8Array(40 * 4096 + 100);
    ram[15 * 4096 + 1] = 1; // last page of chunk 0
    ram[16 * 4096] = 1; // first page of chunk 1: same run
    ram[39 * 4096] = 1; // in the last, partial chunk
    ram[40 * 4096 + 5] = 1; // the partial page: not a whole page, not kept
    expect(nonZeroRuns(ram)).toEqual([{ start: 15 * 4096, pages: 2 }, { start: 39 * 4096, pages: 1 }]);
  });

  test('encode/decode round-trip bigint, bytes, Map and nesting; undefined members vanish', () => {
    const v = { a: 1n << 70n, b: Uint8Array.of(0, 255, 7), m: new Map([[0x10, 5n]]), l: [true, 'x', null, { c: -3n }], u: undefined };
    const json = JSON.parse(JSON.stringify(encode(v))) as unknown;
    expect(decode(json)).toEqual({ a: 1n << 70n, b: Uint8Array.of(0, 255, 7), m: new Map([[0x10, 5n]]), l: [true, 'x', null, { c: -3n }] });
  });

  test('parseSnapshot refuses wrong magic, truncation and bad references', () => {
    expect(() => parseSnapshot(Buffer.from('NOTASNAPSHOT'))).toThrow(/bad magic/);
    const make = (header: unknown, payload = 0): Uint8Array => {
      const json = Buffer.from(JSON.stringify(header));
      const out = new Uint8Array(12 + json.length + payload);
      out.set(Buffer.from('MVMSNAP1'), 0);
      new DataView(out.buffer).setUint32(8, json.length, true);
      out.set(json, 12);
      return out;
    };
    expect(() => parseSnapshot(make({ version: 2 }))).toThrow(SnapshotError);
    const base = {
      version: 1, config: { memory: 1 << 20, netdevs: [] }, kernel: [0, 16], accel: { accel: 'kvm', format: 'kvm-1', vcpus: [] },
      devices: { ioapics: [] }, savedAtNs: '0', ram: [], ramBytes: 0,
    };
    expect(() => parseSnapshot(make(base, 8))).toThrow(/kernel lies outside the snapshot/);
    expect(parseSnapshot(make(base, 16)).config.memory).toBe(1 << 20);
    expect(() => parseSnapshot(make({ ...base, ram: [[4096, 1, 16]] }, 16))).toThrow(/RAM run 0 lies outside/);
    expect(() => parseSnapshot(make({ ...base, ram: [[4095, 1, 0]] }, 16 + 4096))).toThrow(/bad RAM run 0/);
    expect(() => parseSnapshot(make({ ...base, accel: { accel: 'qemu' } }, 16))).toThrow(/bad accelerator state/);
  });
});
