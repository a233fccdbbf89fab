// Random guest behaviour against the virtio-mmio transport and virtio-net:
// register writes (biased to real registers and plausible values), random
// bytes in the rings and descriptor tables, notifications, and frames from
// the backend. Invariants: no exception leaves the device, no guest memory
// access outside RAM (every GuestMemory accessor is checked), and the
// device never reports an internal error. Seeded; bounded time
// (FUZZ_MS, default 3 s; FULL=1 runs 60 s).
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { RecordingIrqLine } from '../../../src/devices/irq.js';
import { VirtioMmioTransport } from '../../../src/virtio/mmio.js';
import { VirtioNet } from '../../../src/virtio/net.js';
import { StreamNetdev } from '../../../src/net/stream.js';
import type { AccessSize } from '../../../src/memory/bus.js';

const RAM = 256 * 1024;
const BUDGET_MS = Number(process.env.FUZZ_MS ?? (process.env.FULL ? 60_000 : 3_000));

/** xorshift32: reproducible from the seed printed on failure. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

const REGS = [0x010, 0x014, 0x020, 0x024, 0x028, 0x030, 0x034, 0x038, 0x03c, 0x040, 0x044, 0x050, 0x060, 0x064, 0x070,
  0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0c0, 0x0fc, 0x100, 0x104, 0x108];

/** Wrap every accessor so that an out-of-RAM access is recorded even if something catches the error. */
function guard(mem: GuestMemory, violations: string[]): void {
  const m = mem as unknown as Record<string, (...a: unknown[]) => unknown>;
  const sized: Record<string, number> = { readU8: 1, readU16: 2, readU32: 4, readU64: 8, writeU8: 1, writeU16: 2, writeU32: 4, writeU64: 8 };
  for (const [name, size] of Object.entries(sized)) {
    const orig = m[name]!.bind(mem);
    m[name] = (gpa: unknown, ...rest: unknown[]) => {
      if (!mem.isRangeRam(gpa as number, size)) violations.push(`${name}(0x${(gpa as number).toString(16)})`);
      return orig(gpa, ...rest);
    };
  }
  for (const name of ['writeBytes', 'copyOut']) {
    const orig = m[name]!.bind(mem);
    m[name] = (gpa: unknown, data: unknown) => {
      if (!mem.isRangeRam(gpa as number, (data as Uint8Array).length)) violations.push(`${name}(0x${(gpa as number).toString(16)})`);
      return orig(gpa, data);
    };
  }
}

function run(seed: number, modern: boolean, steps: number): { violations: string[]; errors: string[]; tx: number; rx: number } {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[r() % a.length]!;
  const mem = new GuestMemory(RAM);
  const violations: string[] = [];
  guard(mem, violations);
  const nd = new StreamNetdev('fz');
  let txFrames = 0;
  nd.port.on('frame', () => { txFrames++; });
  const nic = new VirtioNet(nd, { mac: new Uint8Array([2, 0, 0, 0, 0, 1]) });
  const t = new VirtioMmioTransport(mem, nic, new RecordingIrqLine(), { modern });
  const errors: string[] = [];
  const value = (): number => {
    switch (r() % 8) {
      case 0: return r();
      case 1: return r() % 16;
      case 2: return (r() % (RAM / 4096)) * 4096; // page in RAM
      case 3: return RAM - (r() % 64); // at the end of RAM
      case 4: return 1 << (r() % 32);
      case 5: return 0xffffffff;
      case 6: return pick([1, 2, 4, 8, 0xf, 0xb, 0x4b]);
      default: return r() % 0x4000;
    }
  };
  for (let i = 0; i < steps; i++) {
    try {
      const op = r() % 10;
      if (r() % 300 === 0) {
        // A well-formed setup with random (small) ring addresses: gets the device live, so scribbles hit live rings.
        t.write(0x070, 4, 0);
        t.write(0x070, 4, 3);
        t.write(0x024, 4, 1);
        t.write(0x020, 4, modern ? 1 : 0);
        t.write(0x024, 4, 0);
        t.write(0x020, 4, r() & 0x3000_8000);
        t.write(0x070, 4, 0xb);
        for (let q = 0; q < 2; q++) {
          t.write(0x030, 4, q);
          t.write(0x038, 4, pick([4, 8, 16]));
          const base = (r() % 8) * 0x1000;
          // one valid buffer per queue: rx writable 2 KiB, tx a 74-byte frame with its header
          const buf = 0x10000 + (r() % 16) * 0x1000;
          const d = modern ? base : base + 0x1000;
          mem.writeU64(d, BigInt(buf));
          mem.writeU32(d + 8, q === 0 ? 2048 : 74);
          mem.writeU16(d + 12, q === 0 ? 2 : 0);
          const avail = modern ? base + 0x400 : d + 16 * 16;
          mem.writeU16(avail + 2, 1);
          mem.writeU16(avail + 4, 0);
          if (modern) {
            t.write(0x080, 4, base);
            t.write(0x090, 4, base + 0x400);
            t.write(0x0a0, 4, base + 0x800);
            t.write(0x044, 4, 1);
          } else {
            t.write(0x028, 4, 4096);
            t.write(0x03c, 4, 4096);
            t.write(0x040, 4, base / 4096 + 1);
          }
        }
        t.write(0x070, 4, 0xf);
        t.write(0x050, 4, 1);
      } else if (op < 4) {
        const off = r() % 3 === 0 ? r() % 0x200 : pick(REGS);
        const size = pick([4, 4, 4, 1, 2, 8] as AccessSize[]);
        t.write(off, size, value());
      } else if (op < 6) {
        t.read(r() % 3 === 0 ? r() % 0x200 : pick(REGS), pick([4, 4, 1, 2] as AccessSize[]));
      } else if (op < 8) {
        // scribble on low memory, where rings and tables tend to be
        const at = r() % 0x8000;
        const n = 1 + (r() % 32);
        for (let k = 0; k < n && at + k < RAM; k++) mem.writeU8(at + k, r() & 0xff);
      } else if (op < 9) {
        const len = pick([0, 13, 14, 60, 1514, 4000, 70000]);
        nd.port.send(new Uint8Array(len));
      } else {
        t.write(0x050, 4, r() % 3);
      }
    } catch (e) {
      errors.push(`step ${i}: ${(e as Error).stack ?? String(e)}`);
      break;
    }
    if (t.counters.lastError?.includes('internal error')) {
      errors.push(`step ${i}: ${t.counters.lastError}`);
      break;
    }
  }
  return { violations, errors, tx: txFrames, rx: nic.counters.rxFrames };
}

describe('virtio-mmio + virtio-net fuzz', () => {
  for (const modern of [false, true]) {
    test(`random guest, version ${modern ? 2 : 1} (${BUDGET_MS} ms)`, () => {
      const end = Date.now() + BUDGET_MS / 2;
      let seed = 0x9e3779b9 ^ (modern ? 1 : 0);
      let runs = 0;
      let tx = 0;
      let rx = 0;
      while (Date.now() < end) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        const res = run(seed, modern, 2000);
        if (res.violations.length || res.errors.length) {
          throw new Error(`seed 0x${seed.toString(16)} (modern=${modern}): ${[...res.violations.slice(0, 5), ...res.errors].join('\n')}`);
        }
        runs++;
        tx += res.tx;
        rx += res.rx;
      }
      // The harness must reach the data path, or it tests only the register file.
      expect(runs).toBeGreaterThan(0);
      expect(rx + tx).toBeGreaterThan(0);
      console.log(`fuzz modern=${modern}: ${runs} runs, ${tx} frames sent, ${rx} received`);
    });
  }
  test('a driver that behaves gets frames through under random ring scribbling elsewhere (sanity of the fuzz harness)', () => {
    // The guard must see an out-of-RAM access: prove it by making one.
    const mem = new GuestMemory(RAM);
    const v: string[] = [];
    guard(mem, v);
    expect(() => mem.readU32(RAM)).toThrow();
    expect(v).toEqual([`readU32(0x${RAM.toString(16)})`]);
  });
});
