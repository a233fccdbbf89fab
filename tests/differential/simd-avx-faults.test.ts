// VEX exception conditions and partial-progress semantics on the JIT (the
// host cannot be put into these states): #UD without CR4.OSXSAVE or without
// XCR0.SSE/AVX, #UD for a feature CPUID does not report, #NM with CR0.TS,
// #GP for the aligned forms only, gathers (#UD register overlap, #PF after
// completed elements with their mask bits cleared), masked moves that do
// not touch masked-off elements, and VRCPPS/VRSQRTPS within the SDM's error
// bound; random VEX encodings never throw out of the executor. Exceptions
// land in an IDT whose handler i does `mov eax, i; hlt`.
import { describe, expect, test } from 'vitest';
import { JitAccelerator } from '../../src/cpu/accelerator.js';
import { S } from '../../src/cpu/state.js';
import { readYmm } from '../../src/cpu/runtime/avx.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import type { FeatureName } from '../../src/cpu/features.js';
import { assemble, CODE_ADDR, DATA_ADDR, jitState } from './cpu-native-helper.js';
import { makeAvxJit } from './simd-avx-harness.js';

const IDT = 0x30000000, HANDLERS = 0x30001000, GDT = 0x30002000;

function setupIdt(mem: GuestMemory): void {
  mem.writeU64(GDT + 8, 0x00209a0000000000n); // 64-bit ring-0 code
  mem.writeU64(GDT + 16, 0x0000920000000000n); // data
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + v * 16;
    mem.writeBytes(h, new Uint8Array([0xb8, v, 0, 0, 0, 0xf4])); // mov eax, v; hlt
    const g = new Uint8Array(16), dv = new DataView(g.buffer);
    dv.setUint16(0, h & 0xffff, true); dv.setUint16(2, 8, true); g[5] = 0x8e; dv.setUint16(6, (h >>> 16) & 0xffff, true);
    mem.writeBytes(IDT + v * 16, g);
  }
}

interface Run { r: string; rax: bigint; jit: JitAccelerator }

async function run(asm: string, opts: { osxsave?: boolean; xcr0?: bigint; ts?: boolean; without?: FeatureName[] } = {}): Promise<Run> {
  const { jit, mem } = await makeAvxJit(opts.without);
  setupIdt(mem);
  const [code] = assemble([asm]);
  mem.writeBytes(CODE_ADDR, new Uint8Array([...code!, 0xb8, 0xff, 0xff, 0, 0, 0xf4])); // mov eax, 0xffff; hlt
  const gpr = Array.from({ length: 16 }, () => 0n);
  gpr[4] = BigInt(DATA_ADDR + 3072); gpr[6] = BigInt(DATA_ADDR + 256);
  const s = jitState(gpr, 2n);
  let cr4 = s.sregs.cr4;
  if (opts.osxsave !== false) cr4 |= 1n << 18n;
  const cr0 = opts.ts ? s.sregs.cr0 | 8n : s.sregs.cr0;
  jit.setState(0, { ...s, sregs: { ...s.sregs, cr0, cr4, idt: { base: BigInt(IDT), limit: 32 * 16 - 1 }, gdt: { base: BigInt(GDT), limit: 23 } } });
  const v = jit.vcpus[0]!;
  v.st.setU64(S.XCR0, opts.xcr0 ?? 7n);
  v.runState = 'running';
  let r: string = v.run(10000);
  if (r === 'budget') r = v.run(10000);
  return { r, rax: jit.getState(0).regs.gpr[0]!, jit };
}

const DONE = 0xffffn, UD = 6n, NM = 7n, GP = 13n, PF = 14n;

describe('VEX exceptions on the JIT', () => {
  test('#UD unless CR4.OSXSAVE and XCR0[2:1] = 11b; #NM with CR0.TS', async () => {
    expect((await run('vaddps ymm0, ymm1, ymm2')).rax).toBe(DONE);
    expect((await run('vaddps ymm0, ymm1, ymm2', { osxsave: false })).rax).toBe(UD);
    expect((await run('vpxor xmm0, xmm0, xmm0', { xcr0: 3n })).rax).toBe(UD);
    expect((await run('vzeroupper', { xcr0: 5n })).rax).toBe(UD);
    expect((await run('vmovaps xmm0, xmm1', { ts: true })).rax).toBe(NM);
    expect((await run('vmovaps xmm0, xmm1', { ts: true, osxsave: false })).rax).toBe(UD); // #UD before #NM
    // Legacy SSE does not need OSXSAVE.
    expect((await run('addps xmm0, xmm1', { osxsave: false })).rax).toBe(DONE);
  });

  test('a feature CPUID does not report raises #UD (AVX2 integer forms at 256 bits, FMA, F16C)', async () => {
    expect((await run('vpaddb ymm0, ymm1, ymm2', { without: ['avx2'] })).rax).toBe(UD);
    expect((await run('vpaddb xmm0, xmm1, xmm2', { without: ['avx2'] })).rax).toBe(DONE);
    expect((await run('vaddps ymm0, ymm1, ymm2', { without: ['avx2'] })).rax).toBe(DONE);
    expect((await run('vfmadd231ps ymm0, ymm1, ymm2', { without: ['fma'] })).rax).toBe(UD);
    expect((await run('vcvtph2ps ymm0, xmm1', { without: ['f16c'] })).rax).toBe(UD);
    expect((await run('vaddps xmm0, xmm1, xmm2', { without: ['avx', 'avx2', 'fma', 'f16c'] })).rax).toBe(UD);
  });

  test('#GP only for the aligned forms, at their natural (16 or 32 byte) alignment', async () => {
    expect((await run('vmovaps ymm0, [rsi+16]')).rax).toBe(GP);
    expect((await run('vmovaps xmm0, [rsi+16]')).rax).toBe(DONE);
    expect((await run('vmovdqa [rsi+8], xmm0')).rax).toBe(GP);
    expect((await run('vmovntdq [rsi+16], ymm0')).rax).toBe(GP);
    expect((await run('vaddps ymm0, ymm1, [rsi+3]')).rax).toBe(DONE);
    expect((await run('vpshufb xmm0, xmm1, [rsi+1]')).rax).toBe(DONE);
    expect((await run('vmovups ymm0, [rsi+1]')).rax).toBe(DONE);
  });

  test('gathers: #UD on register overlap; a #PF keeps the completed elements and clears their mask', async () => {
    expect((await run('vpgatherdd ymm0, [rsi+ymm1*4], ymm0')).rax).toBe(UD);
    expect((await run('vpgatherdd ymm0, [rsi+ymm0*4], ymm2')).rax).toBe(UD);
    // Indices 0, 1, then one far outside RAM (unmapped: #PF), then 3..7.
    const setup = 'vpcmpeqd ymm2, ymm2, ymm2; vpxor ymm0, ymm0, ymm0; mov eax, 0; vmovd xmm1, eax; ' +
      'mov eax, 1; vpinsrd xmm1, xmm1, eax, 1; mov eax, 0x40000000; vpinsrd xmm1, xmm1, eax, 2; mov eax, 3; vpinsrd xmm1, xmm1, eax, 3; ' +
      'vinserti128 ymm1, ymm1, xmm1, 1';
    const r = await run(`${setup}; vpgatherdd ymm0, [rsi+ymm1*4], ymm2`);
    expect(r.rax).toBe(PF);
    const st = r.jit.vcpus[0]!.st;
    const dst = new Uint32Array(readYmm(st, 0).buffer), mask = new Uint32Array(readYmm(st, 2).buffer);
    expect([mask[0], mask[1], mask[2], mask[7]]).toEqual([0, 0, 0xffffffff, 0xffffffff]);
    expect(dst[2]).toBe(0);
    // Completed: the whole mask is zero afterwards.
    const ok = await run('vpcmpeqd ymm2, ymm2, ymm2; vpxor ymm1, ymm1, ymm1; vpgatherdd ymm0, [rsi+ymm1*4], ymm2');
    expect(ok.rax).toBe(DONE);
    expect(Array.from(new Uint32Array(readYmm(ok.jit.vcpus[0]!.st, 2).buffer))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('masked moves do not access masked-off elements', async () => {
    // rdi -> 8 bytes before an unmapped page (RAM ends at 1 GiB; only the first element is selected).
    const pre = 'mov rdi, 0x3ffffff8; vpxor xmm1, xmm1, xmm1; mov eax, -1; vmovd xmm1, eax';
    expect((await run(`${pre}; vmaskmovps ymm0, ymm1, [rdi]`)).rax).toBe(DONE);
    expect((await run(`${pre}; vpmaskmovd [rdi], ymm1, ymm0`)).rax).toBe(DONE);
    expect((await run('mov rdi, 0x3ffffff8; vpcmpeqd ymm1, ymm1, ymm1; vmaskmovps ymm0, ymm1, [rdi]')).rax).toBe(PF);
  });

  test('VRCPPS/VRSQRTPS: relative error <= 1.5 * 2^-12, SDM specials', async () => {
    const inputs = [1, 3, 0.1, -7.5, 1e30, 2.5e-38, 1e-45, 0, -0, Infinity, -Infinity, 123456.78, 4, 0.25];
    const { jit, mem } = await makeAvxJit();
    for (const op of ['vrcpps', 'vrsqrtps']) {
      const f = new Float32Array(16); inputs.forEach((x, i) => { f[i] = x; });
      const [code] = assemble([`vmovups ymm1, [rsi]; ${op} ymm0, ymm1; vmovups [rsi+64], ymm0; vmovups ymm1, [rsi+32]; ${op} ymm0, ymm1; vmovups [rsi+96], ymm0`]);
      mem.writeBytes(DATA_ADDR + 256, new Uint8Array(f.buffer));
      mem.writeBytes(CODE_ADDR, new Uint8Array([...code!, 0xf4]));
      jit.engine.flushAll();
      const gpr = Array.from({ length: 16 }, () => 0n); gpr[4] = BigInt(DATA_ADDR + 3072); gpr[6] = BigInt(DATA_ADDR + 256);
      const s = jitState(gpr, 2n);
      jit.setState(0, { ...s, sregs: { ...s.sregs, cr4: s.sregs.cr4 | (1n << 18n) } });
      jit.vcpus[0]!.st.setU64(S.XCR0, 7n); jit.vcpus[0]!.runState = 'running';
      expect(jit.vcpus[0]!.run(1000)).toBe('halted');
      const out = new Float32Array(mem.readBytes(DATA_ADDR + 256 + 64, 64).slice().buffer);
      inputs.forEach((x, i) => {
        const r = out[i]!;
        const xd = Math.abs(x) < 2 ** -126 ? (Object.is(x, -0) || x < 0 ? -0 : 0) : x; // denormal inputs count as zero
        const exact = op === 'vrcpps' ? 1 / xd : 1 / Math.sqrt(xd);
        if (Number.isNaN(exact)) expect(r).toBeNaN();
        else if (!Number.isFinite(exact) || exact === 0) expect(Object.is(r, exact)).toBe(true);
        else if (Math.abs(exact) < 2 ** -126) expect(r).toBe(0); // tiny results are flushed
        else expect(Math.abs(r - exact) / Math.abs(exact)).toBeLessThanOrEqual(1.5 * 2 ** -12);
      });
    }
  });
});

describe('VEX robustness', () => {
  test('random VEX encodings never throw out of the executor (every outcome is a result or an exception)', async () => {
    const { decode } = await import('../../src/cpu/decoder/decoder.js');
    const { makeFeatureSet } = await import('../../src/cpu/decoder/features.js');
    const { Feature, ATTR_AVX } = await import('../../src/cpu/decoder/types.js');
    const { rng } = await import('./cpu-native-helper.js');
    const all = makeFeatureSet(Object.values(Feature));
    const { jit, mem } = await makeAvxJit();
    setupIdt(mem);
    const rand = rng(0x7e5eedn);
    const v = jit.vcpus[0]!;
    let ran = 0;
    for (let k = 0; ran < 1500 && k < 100000; k++) {
      const bytes = new Uint8Array(15);
      const dv = new DataView(bytes.buffer); dv.setBigUint64(0, rand(), true); dv.setBigUint64(7, rand(), true);
      bytes[0] = k & 1 ? 0xc5 : 0xc4;
      if (bytes[0] === 0xc4) bytes[1] = (bytes[1]! & 0xe3) | (1 + (k >> 1) % 3); // a valid map (0F, 0F38, 0F3A)
      const d = decode(bytes, 0, 64, all);
      if (!('mn' in d) || (d.attrs & ATTR_AVX) === 0) continue;
      const code = bytes.slice(0, d.length);
      mem.writeBytes(CODE_ADDR, new Uint8Array([...code, 0xb8, 0xff, 0xff, 0, 0, 0xf4]));
      jit.engine.flushAll();
      const gpr = Array.from({ length: 16 }, () => rand() & 0xfffffffn); // addresses mostly inside RAM
      gpr[4] = BigInt(DATA_ADDR + 3072);
      const s = jitState(gpr, 2n);
      jit.setState(0, { ...s, sregs: { ...s.sregs, cr4: s.sregs.cr4 | (1n << 18n), idt: { base: BigInt(IDT), limit: 511 }, gdt: { base: BigInt(GDT), limit: 23 } } });
      v.st.setU64(S.XCR0, 7n); v.runState = 'running'; v.lastError = undefined;
      const r = v.run(1000);
      expect(v.lastError, Buffer.from(code).toString('hex')).toBeUndefined();
      expect(['halted', 'budget'], Buffer.from(code).toString('hex')).toContain(r);
      ran++;
    }
    expect(ran).toBe(1500);
  }, 120_000);
});
