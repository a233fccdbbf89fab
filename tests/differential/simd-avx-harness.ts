// The JIT side and the case generator of the VEX differential suites
// (simd-avx*.test.ts): a JIT whose CPUID reports AVX/AVX2/FMA/F16C, cases
// run with CR4.OSXSAVE = 1 and XCR0 = 7, and a runner that compares the JIT
// with the host CPU (cpu-native-helper.ts) per template.
import { expect } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { Bus } from '../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../src/cpu/cpuid.js';
import { JIT_IMPLEMENTED_FEATURES, type FeatureName } from '../../src/cpu/features.js';
import { S } from '../../src/cpu/state.js';
import {
  assemble, buildNativeHelper, CODE_ADDR, DATA_ADDR, DATA_BYTES, jitState, rng, runNative, undefinedFlags,
} from './cpu-native-helper.js';

/** Load ymm0..ymm5 from [rsi], run `body`, store ymm0..ymm5 to [rsi+512..]. */
export const Y = (body: string): string =>
  'vmovdqu ymm0, [rsi]; vmovdqu ymm1, [rsi+32]; vmovdqu ymm2, [rsi+64]; vmovdqu ymm3, [rsi+96]; ' +
  `vmovdqu ymm4, [rsi+128]; vmovdqu ymm5, [rsi+160]; ${body}; ` +
  'vmovdqu [rsi+512], ymm0; vmovdqu [rsi+544], ymm1; vmovdqu [rsi+576], ymm2; vmovdqu [rsi+608], ymm3; ' +
  'vmovdqu [rsi+640], ymm4; vmovdqu [rsi+672], ymm5';
/** Under MXCSR rounding mode rc (MXCSR words at [rsi+1024+4*rc], the default at [rsi+1040]). */
export const R = (rc: number, body: string): string => Y(`vldmxcsr [rsi+${1024 + 4 * rc}]; ${body}; vldmxcsr [rsi+1040]`);

const F32_SPECIALS = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff,
  0x3f800000, 0x3fc00000, 0xbfc00000, 0x40200000, 0x3f000000, 0xbf000000, 0x4b000001, 0x7f7fffff, 0x00800000, 0x4effffff, 0xcf000000];
const F64_SPECIALS = [0n, 0x8000000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000123n,
  0x7ff0000000000001n, 0x7ff4000000000000n, 1n, 0x800fffffffffffffn, 0x3ff0000000000000n, 0x3ff8000000000000n, 0xc004000000000000n,
  0x3fe0000000000000n, 0xbfe0000000000000n, 0x4330000000000001n, 0x7fefffffffffffffn, 0x0010000000000000n, 0x41dfffffffc00000n,
  0x36a0000000000001n, 0x47efffffefffffffn];

/** Fill the data page in one of four styles. */
export function fillData(rand: () => bigint, style: number): Uint8Array {
  const data = new Uint8Array(DATA_BYTES), dv = new DataView(data.buffer);
  for (let i = 0; i < DATA_BYTES; i += 8) {
    const x = rand();
    switch (style) {
      case 0: dv.setBigUint64(i, x, true); break;
      case 1: for (let k = 0; k < 8; k++) data[i + k] = Number((x >> BigInt(8 * k)) & 3n) * (k & 1 ? 1 : 0x21); break;
      case 2:
        for (let k = 0; k < 2; k++) {
          const y = Number((x >> BigInt(32 * k)) & 0xffffffffn);
          dv.setUint32(i + 4 * k, y % 3 === 0 ? y : F32_SPECIALS[y % F32_SPECIALS.length]!, true);
        }
        break;
      default: dv.setBigUint64(i, x % 3n === 0n ? x : F64_SPECIALS[Number(x % BigInt(F64_SPECIALS.length))]!, true); break;
    }
  }
  return data;
}

/** The features the JIT should report for these tests (whatever features.ts says today). */
const AVX_FEATURES: FeatureName[] = [...JIT_IMPLEMENTED_FEATURES, 'xsave', 'avx', 'avx2', 'fma', 'f16c'];

/** A JIT reporting AVX_FEATURES minus `without` (the decoder accepts the VEX extensions either way). */
export async function makeAvxJit(without: FeatureName[] = []): Promise<{ jit: JitAccelerator; mem: GuestMemory }> {
  const mem = new GuestMemory(1024 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const jit = new JitAccelerator();
  // Each case runs once: translate it on first sight, or the translator's lowered VEX forms would never run.
  jit.interpretFirst = false;
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'),
    cpuid: createCpuidPolicy({ accel: 'kvm', model: 'max', supported: new Set(AVX_FEATURES.filter((f) => !without.includes(f))) }), cpuCount: 1,
    onStop: () => {}, onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n);
  return { jit, mem };
}

/** As runCaseOnJit, with CR4.OSXSAVE set and XCR0 = x87|SSE|AVX (what Linux sets up before using AVX). */
export function runAvxCase(jit: JitAccelerator, mem: GuestMemory, c: { code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }): string {
  const v = jit.vcpus[0]!;
  mem.writeBytes(DATA_ADDR, c.data);
  mem.writeBytes(CODE_ADDR, new Uint8Array([...c.code, 0xf4]));
  // The inputs of one template run the same translation (compiled once); a new template, or code the last
  // case rewrote (its translations were invalidated), starts afresh.
  const last = lastRun.get(jit);
  if (!last || last.code !== c.code || last.invalidations !== jit.engine.stats.invalidations) jit.engine.flushAll();
  const s = jitState([...c.gpr], c.rflags);
  jit.setState(0, { ...s, sregs: { ...s.sregs, cr4: s.sregs.cr4 | (1n << 18n) } });
  v.st.setU64(S.XCR0, 7n);
  v.runState = 'running';
  let r = v.run(10000);
  if (r === 'budget') r = v.run(10000);
  lastRun.set(jit, { code: c.code, invalidations: jit.engine.stats.invalidations });
  return r;
}
const lastRun = new WeakMap<JitAccelerator, { code: Uint8Array; invalidations: number }>();

export function makeCases(codes: Uint8Array[], rand: () => bigint, perTemplate: number, first = 0, end = codes.length): Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> {
  const cases: Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> = [];
  for (let t = first; t < end; t++) {
    for (let k = 0; k < perTemplate; k++) {
      const gpr: bigint[] = [];
      for (let r = 0; r < 16; r++) gpr.push(rand());
      gpr[0] = k % 4 === 3 ? gpr[0]! : BigInt.asUintN(64, BigInt(Number(rand() % 37n) - 18));
      gpr[2] = k % 5 === 4 ? gpr[2]! : BigInt.asUintN(64, BigInt(Number(rand() % 37n) - 18));
      gpr[4] = BigInt(DATA_ADDR + 3072);
      gpr[6] = BigInt(DATA_ADDR + 256);
      gpr[7] = BigInt(DATA_ADDR + 1024 + 128);
      const rflags = 2n | (rand() & 0x8d5n);
      const data = fillData(rand, k % 4);
      const dv = new DataView(data.buffer);
      for (let rc = 0; rc < 4; rc++) dv.setUint32(256 + 1024 + 4 * rc, 0x1f80 | (rc << 13), true);
      dv.setUint32(256 + 1040, 0x1f80, true);
      cases.push({ t, code: codes[t]!, gpr, rflags, data });
    }
  }
  return cases;
}

/** Run the cases natively and on the JIT; one failure line per failing template. */
export async function differential(snippets: string[], perTemplate: number, seed: bigint): Promise<string[]> {
  const codes = assemble(snippets);
  const native = buildNativeHelper();
  const undef = undefinedFlags(codes);
  const { jit, mem } = await makeAvxJit();
  // Generated and run natively in chunks, yielding between them so the worker keeps answering vitest's RPC.
  const cases: ReturnType<typeof makeCases> = [];
  const rand = rng(seed);
  for (let t = 0; t < codes.length; t += 64) {
    cases.push(...makeCases(codes, rand, perTemplate, t, Math.min(t + 64, codes.length)));
    await new Promise((r) => setImmediate(r));
  }
  // In chunks: one stdin string for FULL-sized runs would exceed the maximum string length.
  const expected: ReturnType<typeof runNative> = [];
  for (let i = 0; i < cases.length; i += 2000) {
    expected.push(...runNative(native, cases.slice(i, i + 2000)));
    await new Promise((r) => setImmediate(r));
  }
  expect(expected.length).toBe(cases.length);
  const failures: string[] = [];
  const v = jit.vcpus[0]!;
  const seen = new Set<number>();
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!, e = expected[i]!;
    if (seen.has(c.t)) continue;
    if (i % 512 === 511) await new Promise((r) => setImmediate(r)); // let the worker answer vitest's RPC on long runs
    const r = runAvxCase(jit, mem, c);
    const name = `#${i} ${snippets[c.t]!.replace(/^.*vmovdqu ymm5, \[rsi\+160\]; /, '').replace(/; vmovdqu \[rsi\+512\].*$/, '')} (style ${i % perTemplate % 4})`;
    const fail = (m: string): void => { failures.push(`${name}: ${m}`); seen.add(c.t); };
    if (e.fault !== undefined) { if (r !== 'triple') fail(`host faulted (signal ${e.fault}), JIT ${r}`); continue; }
    if (r !== 'halted') { fail(`JIT ${r} ${v.lastError ?? ''} rip=${v.st.rip.toString(16)}`); continue; }
    const s = jit.getState(0);
    const mask = BigInt(0x8d5 & ~undef[c.t]!);
    const diffs: string[] = [];
    for (let g = 0; g < 16; g++) if (s.regs.gpr[g] !== e.gpr![g]) diffs.push(`r${g}: jit ${s.regs.gpr[g]!.toString(16)} host ${e.gpr![g]!.toString(16)}`);
    if ((s.regs.rflags & mask) !== (e.rflags! & mask)) diffs.push(`flags: jit ${s.regs.rflags.toString(16)} host ${e.rflags!.toString(16)}`);
    const d = mem.readBytes(DATA_ADDR, DATA_BYTES);
    for (let b = 0; b < DATA_BYTES; b++) {
      if (d[b] !== e.data![b]) {
        const at = b & ~31;
        const hex = (x: Uint8Array): string => Buffer.from(x.subarray(at, at + 32)).toString('hex');
        diffs.push(`mem[+${b}]: jit ${hex(d)} host ${hex(e.data!)}`);
        break;
      }
    }
    if (diffs.length) fail(diffs.join('; '));
  }
  return failures;
}

