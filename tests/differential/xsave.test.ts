// Differential test: XRSTOR / XSAVE / XSAVEOPT / XSAVEC / XGETBV run natively on
// the host CPU and on the JIT (src/cpu/runtime/xsave.ts) with the same images.
// Each case first brings every component to its initial configuration (XRSTOR
// from an all-zero header), restores a random image (random XSTATE_BV, x87
// registers and tags, XMM, MXCSR, YMM upper halves) with a chosen RFBM, then
// saves with another RFBM over random bytes, and puts the host back into the
// init state. The whole data page (source, destination with its header bytes,
// untouched bytes), the registers and the flags must match.
// x87 FOP/FIP/FDP are 0 in every image and no x87 instruction runs, because
// the JIT does not track the last-instruction pointers.
// Seeded; FULL=1 runs more cases per template.
import { describe, expect, test } from 'vitest';
import {
  assemble, buildNativeHelper, DATA_ADDR, DATA_BYTES, jitState, makeJit, rng, runNative,
} from './cpu-native-helper.js';
import type { JitAccelerator } from '../../src/cpu/accelerator.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import { S } from '../../src/cpu/state.js';
import { createCpuidPolicy } from '../../src/cpu/cpuid.js';
import { JIT_IMPLEMENTED_FEATURES, type FeatureName } from '../../src/cpu/features.js';
import { XSAVE_YMMH, XSAVE_YMMH_BYTES } from '../../src/cpu/runtime/xsave.js';

const FULL = !!process.env['FULL'];
const CASES_PER_TEMPLATE = FULL ? 100 : 8;

/** Data-page offsets: source image (RSI), destination (RDI), init image (RBP), stack (RSP). */
const SRC = 256, DST = 1152, INIT = 2048, STACK = 3072;

/** `rfbm1`: XRSTOR mask; `mid`: instructions between; `save`: the save instruction and its mask. */
function templates(): string[] {
  const t: string[] = [];
  const wrap = (rfbm1: number, mid: string, save: string, rfbm2: number): string =>
    `mov eax, 7; xor edx, edx; xrstor [rbp]; mov eax, ${rfbm1}; xrstor [rsi]; ${mid ? mid + ';' : ''} mov eax, ${rfbm2}; xor edx, edx; ${save} [rdi]; mov eax, 7; xrstor [rbp]`;
  for (const r2 of [7, 3, 1, 2, 4, 5, 6, 0]) t.push(wrap(7, '', 'xsave', r2));
  for (const r1 of [1, 2, 3, 4, 6]) t.push(wrap(r1, '', 'xsave', 7));
  t.push(wrap(7, '', 'xsave64', 7), wrap(7, '', 'xrstor64 [rsi]; xsave', 7));
  for (const r2 of [7, 3, 2, 1]) t.push(wrap(7, '', 'xsaveopt', r2));
  for (const r2 of [7, 3, 5, 2, 4, 1, 0]) t.push(wrap(7, '', 'xsavec', r2));
  t.push(wrap(3, '', 'xsavec64', 7));
  // SSE registers changed between restore and save
  // (Only changes that leave the SSE registers non-initial: the JIT's XINUSE follows the values, the host's
  // tracks modification, so a MOVDQU of zeros or an LDMXCSR alone would differ in XSTATE_BV; xsave.ts.)
  t.push(wrap(7, 'movdqu xmm3, [rsi+168]; paddd xmm9, xmm3', 'xsave', 7), wrap(1, 'movq xmm0, r8', 'xsavec', 7),
    wrap(7, 'movdqu xmm1, [rsi+200]; mov dword ptr [rsp-8], 0x9fc0; ldmxcsr [rsp-8]', 'xsave', 7),
    wrap(5, 'pcmpeqb xmm15, xmm15', 'xsaveopt', 7), wrap(3, 'pcmpeqb xmm15, xmm15', 'xsavec', 7));
  // AVX instructions between (runtime/avx.ts): YMM upper halves written, then VZEROUPPER (AVX back to init).
  t.push(wrap(3, 'vmovdqu ymm3, [rsi+600]; vpaddd ymm12, ymm3, [rsi+640]', 'xsave', 7),
    wrap(7, 'vmovdqu ymm3, [rsi+600]; vzeroupper', 'xsavec', 7), wrap(3, 'vpcmpeqb ymm1, ymm1, ymm1', 'xsaveopt', 7));
  // XGETBV ECX=1 (XCR0 AND XINUSE) after a restore; keep only the x87/SSE/AVX bits of the host's answer
  t.push('mov eax, 7; xor edx, edx; xrstor [rbp]; mov eax, 7; xrstor [rsi]; mov ecx, 1; xgetbv; and eax, 7; mov r9, rax; mov eax, 7; xor edx, edx; xrstor [rbp]; xor ecx, ecx');
  // Compacted round trip: XSAVEC to DST, XRSTOR from it (compacted form), XSAVE standard to SRC.
  t.push('mov eax, 7; xor edx, edx; xrstor [rbp]; mov eax, 7; xrstor [rsi]; xsavec [rdi]; xrstor [rbp]; xrstor [rdi]; xsave [rsi]; xrstor [rbp]');
  t.push('mov eax, 7; xor edx, edx; xrstor [rbp]; mov eax, 7; xrstor [rsi]; mov eax, 5; xsavec [rdi]; mov eax, 7; xrstor [rbp]; xrstor [rdi]; xsave [rsi]; xrstor [rbp]');
  // XRSTOR header rules (#GP on both): XSTATE_BV bit 63, XCOMP_BV without bit 63, a nonzero reserved header byte,
  // compacted with an XSTATE_BV bit outside XCOMP_BV, an MXCSR reserved bit.
  const bad = (patch: string): string => `mov eax, 7; xor edx, edx; xrstor [rbp]; ${patch}; mov eax, 7; xor edx, edx; xrstor [rsi]; xrstor [rbp]`;
  t.push(bad('bts qword ptr [rsi+512], 63'), bad('mov byte ptr [rsi+520], 1'), bad('mov byte ptr [rsi+530], 1'),
    bad('mov byte ptr [rsi+527], 0x80; and byte ptr [rsi+512], 3; mov byte ptr [rsi+520], 1; or byte ptr [rsi+512], 2'),
    bad('bts dword ptr [rsi+24], 17'), bad('mov byte ptr [rsi+527], 0x80; mov qword ptr [rsi+512], 0; mov byte ptr [rsi+520], 0; mov byte ptr [rsi+540], 1'));
  // ... and the legal neighbours: a nonzero byte past the part the standard form checks, compacted with a subset.
  t.push(bad('mov byte ptr [rsi+540], 1; mov eax, 7; xor edx, edx; xrstor [rsi]; xsave [rdi]'),
    bad('mov byte ptr [rsi+527], 0x80; mov byte ptr [rsi+520], 7; mov eax, 7; xor edx, edx; xrstor [rsi]; xsave [rdi]'));
  return t;
}

/** A random valid standard-format image of x87, SSE and AVX state (FOP/FIP/FDP 0). */
function randomImage(rand: () => bigint, data: Uint8Array, at: number, mxcsrWithSse: boolean): void {
  const dv = new DataView(data.buffer);
  for (let i = 0; i < 832; i += 8) dv.setBigUint64(at + i, rand(), true);
  const r = Number(rand() & 0xffffffffn);
  // FCW: all exceptions masked (bits 0-5) so nothing traps on the host afterwards; random PC/RC.
  dv.setUint16(at, 0x3f | (r & 0x0f00) | 0x40, true);
  dv.setUint16(at + 2, (r >>> 16) & 0x3800, true); // FSW: TOP only (no pending exceptions)
  data[at + 5] = 0;
  for (let i = 6; i < 24; i++) data[at + i] = 0; // FOP, FIP, FDP
  // MXCSR: every exception masked; random flags, RC, DAZ, FTZ; sometimes the initial value.
  const mx = (r & 7) === 0 ? 0x1f80 : 0x1f80 | (Number(rand() & 0xffffn) & (0x3f | 0x40 | 0x6000 | 0x8000));
  dv.setUint32(at + 24, mx, true);
  dv.setUint32(at + 28, 0, true);
  for (let i = 0; i < 8; i++) for (let b = 10; b < 16; b++) data[at + 32 + i * 16 + b] = 0;
  for (let i = 416; i < 512; i++) data[at + i] = 0;
  let bv = rand() & 7n;
  // XSAVEC saves SSE state when MXCSR != 1F80H even with XMM0-15 = 0; restoring that on the host marks SSE in use
  // while the JIT (XINUSE from values, xsave.ts) sees it initial. Round trips through XSAVEC avoid that one case.
  if (mxcsrWithSse && mx !== 0x1f80) bv |= 2n;
  dv.setBigUint64(at + 512, bv, true);
  for (let i = 520; i < 576; i++) data[at + i] = 0;
}

function initImage(data: Uint8Array, at: number): void {
  data.fill(0, at, at + 576);
  new DataView(data.buffer).setUint32(at + 24, 0x1f80, true);
}

/** As runCaseOnJit (cpu-native-helper.ts), with CR4.OSXSAVE = 1 and XCR0 = x87|SSE|AVX. */
function runXsaveCase(jit: JitAccelerator, mem: GuestMemory, c: { code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }): string {
  const v = jit.vcpus[0]!;
  mem.writeBytes(DATA_ADDR, c.data);
  mem.writeBytes(0x20000000, new Uint8Array([...c.code, 0xf4]));
  jit.engine.flushAll();
  const s = jitState([...c.gpr], c.rflags);
  jit.setState(0, { ...s, sregs: { ...s.sregs, cr4: s.sregs.cr4 | (1n << 18n) } });
  v.st.setU64(S.XCR0, 7n);
  v.runState = 'running';
  let r = v.run(10000);
  if (r === 'budget') r = v.run(10000);
  return r;
}

describe('XSAVE feature set: JIT vs host CPU', () => {
  const snippets = templates();
  const codes = assemble(snippets);
  const native = buildNativeHelper();
  test('CPUID.(EAX=0DH,ECX=2): the AVX component is 256 bytes at 576 on the host and on the JIT', () => {
    const [code] = assemble(['mov eax, 0xd; mov ecx, 2; cpuid']);
    const gpr = new Array<bigint>(16).fill(0n);
    gpr[4] = BigInt(DATA_ADDR + STACK);
    const [h] = runNative(native, [{ code: code!, gpr, rflags: 2n, data: new Uint8Array(DATA_BYTES) }]);
    expect([h!.gpr![0], h!.gpr![3]]).toEqual([BigInt(XSAVE_YMMH_BYTES), BigInt(XSAVE_YMMH)]);
    const p = createCpuidPolicy({ accel: 'kvm', model: 'max', supported: new Set<FeatureName>([...JIT_IMPLEMENTED_FEATURES, 'avx']) });
    const j = p.lookup(0, 0xd, 2);
    expect([j.eax, j.ebx]).toEqual([Number(h!.gpr![0]), Number(h!.gpr![3])]);
  });
  test(`${snippets.length} templates x ${CASES_PER_TEMPLATE} images`, async () => {
    const { jit, mem } = await makeJit(true);
    const rand = rng(0x0d15ea5e_0000_7e57n);
    const cases: Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> = [];
    for (let t = 0; t < codes.length; t++) {
      for (let k = 0; k < CASES_PER_TEMPLATE; k++) {
        const gpr: bigint[] = [];
        for (let r = 0; r < 16; r++) gpr.push(rand());
        gpr[4] = BigInt(DATA_ADDR + STACK);
        gpr[5] = BigInt(DATA_ADDR + INIT);
        gpr[6] = BigInt(DATA_ADDR + SRC);
        gpr[7] = BigInt(DATA_ADDR + DST);
        const data = new Uint8Array(DATA_BYTES);
        for (let i = 0; i < DATA_BYTES; i += 8) new DataView(data.buffer).setBigUint64(i, rand(), true);
        randomImage(rand, data, SRC, snippets[t]!.includes('xrstor [rdi]'));
        initImage(data, INIT);
        // Bytes 63:16 of the destination's header are zero (as after software clears an area) so that a compacted
        // XRSTOR from what XSAVEC wrote there is legal: XSAVEC writes only XSTATE_BV and XCOMP_BV.
        if (k % 4 !== 3) data.fill(0, DST + 528, DST + 576);
        cases.push({ t, code: codes[t]!, gpr, rflags: 2n | (rand() & 0x8d5n), data });
      }
    }
    const expected = runNative(native, cases);
    expect(expected.length).toBe(cases.length);
    const failures: string[] = [];
    let faults = 0;
    const v = jit.vcpus[0]!;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!, e = expected[i]!;
      const r = runXsaveCase(jit, mem, c);
      const name = `#${i} ${snippets[c.t]} (XSTATE_BV ${c.data[SRC + 512]}, MXCSR ${new DataView(c.data.buffer).getUint32(SRC + 24, true).toString(16)})`;
      if (e.fault !== undefined) {
        // #GP on the host is SIGSEGV; the JIT has no IDT here, so #GP -> #DF -> triple fault.
        if (r !== 'triple' || e.fault !== 11) failures.push(`${name}: host faulted (signal ${e.fault}), JIT ${r}`);
        faults++;
        continue;
      }
      if (r !== 'halted') { failures.push(`${name}: JIT ${r} ${v.lastError ?? ''} rip=${v.st.rip.toString(16)}`); continue; }
      const s = jit.getState(0);
      const d = mem.readBytes(DATA_ADDR, DATA_BYTES);
      const compare = (h: typeof e): string[] => {
        const diffs: string[] = [];
        for (let g = 0; g < 16; g++) if (s.regs.gpr[g] !== h.gpr![g]) diffs.push(`r${g}: jit ${s.regs.gpr[g]!.toString(16)} host ${h.gpr![g]!.toString(16)}`);
        if ((s.regs.rflags & 0x8d5n) !== (h.rflags! & 0x8d5n)) diffs.push(`flags: jit ${s.regs.rflags.toString(16)} host ${h.rflags!.toString(16)}`);
        let shown = 0;
        for (let b = 0; b < DATA_BYTES && shown < 4; b++) {
          if (d[b] !== h.data![b]) { diffs.push(`mem[+${b}]: jit ${d[b]} host ${h.data![b]}`); shown++; }
        }
        return diffs;
      };
      let diffs = compare(e);
      // The host's XINUSE changes when Linux preempts the process between XRSTOR and XSAVE (the kernel's
      // XSAVES/XRSTORS marks SSE in use when MXCSR != 1F80H), so a mismatch is re-run on the host twice.
      for (let retry = 0; retry < 2 && diffs.length > 0; retry++) {
        const again = runNative(native, [c])[0]!;
        if (again.fault === undefined) diffs = compare(again);
      }
      if (diffs.length) failures.push(`${name}: ${diffs.join('; ')}`);
    }
    if (failures.length) console.log(`${failures.length} failures:\n` + failures.slice(0, 40).join('\n'));
    expect(failures.slice(0, 20)).toEqual([]);
    // The header-rule templates fault on both sides; most cases must not.
    expect(faults).toBeGreaterThan(0);
    expect(faults).toBeLessThan(cases.length / 4);
  });
});
