// The translator's SIMD lowering (src/cpu/translate/simd-lower.ts,
// simd-helpers.ts): that the hot forms really are translated (no executor
// call), their boundary cases against the host CPU (variable shift counts at
// and past the element width, byte shifts and shuffles over their whole
// immediate range, VZEROUPPER on every register, per-lane immediates of
// VEX.256 forms, zero sources of the bit scans), and the slow path
// (page-crossing and misaligned memory operands, CR0.TS, CR4.OSXSAVE or
// CR4.OSFXSR clear, a TLB that does not map the page) against the executor:
// same exception vector, same registers and memory.
import { describe, expect, test } from 'vitest';
import type { JitAccelerator } from '../../src/cpu/accelerator.js';
import { MN_NAMES } from '../../src/cpu/decoder/types.js';
import { S } from '../../src/cpu/state.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import { assemble, CODE_ADDR, DATA_ADDR, jitState } from './cpu-native-helper.js';
import { differential, makeAvxJit, Y } from './simd-avx-harness.js';

/** Every lowered form at least once (they must all be translated: no executor call). */
const LOWERED = [
  'popcnt rax, rbx', 'lzcnt rcx, rdx', 'tzcnt r8d, r9d', 'bsf r10, r11', 'bsr r12w, r13w', 'crc32 rax, qword ptr [rsi]', 'crc32 eax, bl',
  'movdqu xmm0, [rsi]', 'pshufb xmm0, xmm1', 'pshufd xmm2, xmm0, 0x1b', 'pshuflw xmm2, xmm0, 0x1b', 'palignr xmm3, xmm2, 4',
  'pslldq xmm3, 4', 'psrldq xmm3, 2', 'punpcklbw xmm1, xmm2', 'punpckhqdq xmm1, xmm2', 'pmulld xmm1, xmm2',
  'pmuludq xmm1, [rsi+16]', 'pminub xmm1, xmm2', 'pmaxud xmm1, xmm2', 'pcmpeqq xmm1, xmm2', 'packuswb xmm1, xmm2', 'pavgb xmm1, xmm2',
  'pmovmskb eax, xmm1', 'movq rax, xmm1', 'movd xmm4, ecx', 'movq xmm5, [rsi+8]', 'movq [rsi+24], xmm5', 'ptest xmm1, xmm2',
  'pextrd eax, xmm1, 2', 'pinsrq xmm1, rbx, 1', 'movhlps xmm1, xmm2', 'shufps xmm1, xmm2, 0x1b', 'shufpd xmm1, xmm2, 1',
  'aesenc xmm0, xmm1', 'aesenclast xmm0, [rsi]', 'aesdec xmm0, xmm1', 'aesdeclast xmm0, xmm1', 'aesimc xmm2, xmm0',
  'aeskeygenassist xmm3, xmm0, 1', 'pclmulqdq xmm0, xmm1, 0x11', 'sha256rnds2 xmm1, xmm2', 'sha256msg1 xmm1, xmm2',
  'sha256msg2 xmm1, xmm2', 'sha1rnds4 xmm1, xmm2, 3', 'sha1nexte xmm1, xmm2', 'sha1msg1 xmm1, xmm2', 'sha1msg2 xmm1, xmm2',
  'vmovdqu ymm0, [rsi]', 'vpaddd ymm1, ymm0, ymm0', 'vpmulld ymm1, ymm1, [rsi+32]', 'vpsllvd ymm2, ymm1, ymm0', 'vpxor ymm2, ymm2, ymm1',
  'vpshufb ymm3, ymm2, ymm1', 'vextracti128 xmm4, ymm3, 1', 'vinserti128 ymm5, ymm3, xmm4, 0', 'vperm2i128 ymm5, ymm5, ymm3, 0x21',
  'vpbroadcastd ymm6, xmm5', 'vpmovmskb eax, ymm6', 'vptest ymm6, ymm5', 'vpsrldq xmm7, xmm6, 4', 'vmovd eax, xmm7',
  'vaesenc xmm1, xmm2, xmm3', 'vpclmulqdq xmm1, xmm2, [rsi], 1', 'vmovdqu [rsi+64], ymm5', 'vzeroupper',
  'shld ax, bx, 20', 'shrd r9w, r10w, cl', 'shrd eax, ebx, cl', 'shld rax, rbx, 63', 'shrd r11, r12, 1', 'shld r13d, r14d, 0',
  'bswap ecx', 'bswap r8', 'mov r15, rsp', 'lea rbp, [rsi+64]', 'leave', 'mov rsp, r15',
  'rorx rax, rbx, 13', 'rorx ecx, dword ptr [rsi+4], 31', 'shlx rdx, rax, rcx', 'shrx r8d, dword ptr [rsi], r9d', 'sarx r10, r11, r12',
  'andn rax, rbx, qword ptr [rsi+8]', 'andn ecx, edx, r8d', 'mulx r9, r10, qword ptr [rsi]', 'mulx r11d, r11d, r12d',
  'pmaddwd xmm1, xmm2', 'pabsw xmm1, xmm2', 'pmovzxbw xmm1, qword ptr [rsi+8]', 'pmovsxbd xmm2, xmm1', 'pblendw xmm1, xmm2, 0x5a',
  'psllw xmm1, xmm2', 'vpsrad ymm1, ymm2, xmm3', 'vpblendd ymm1, ymm2, ymm3, 0x96', 'blendps xmm1, xmm2, 5',
  'movmskps eax, xmm1', 'vmovmskpd ecx, ymm2', 'vpermq ymm3, ymm2, 0x1b', 'vpermpd ymm4, [rsi], 0x4e',
  'vpinsrd xmm1, xmm2, eax, 2', 'vpinsrq xmm2, xmm2, qword ptr [rsi+8], 1', 'pextrd dword ptr [rsi+40], xmm1, 1',
];

/** Boundary cases against the host (loads ymm0..5 from the data page and stores them back: Y). */
function boundaryTemplates(): string[] {
  const t: string[] = [];
  for (const c of [0, 1, 15, 31, 32, 33, 63, 64, 65, 0x7fffffff, 0x80000000]) {
    for (const op of ['vpsllvd', 'vpsrlvd', 'vpsravd']) t.push(Y(`mov eax, ${c}; vmovd xmm5, eax; vpbroadcastd ymm5, xmm5; ${op} ymm0, ymm1, ymm5; ${op} xmm2, xmm3, xmm5`));
    for (const op of ['vpsllvq', 'vpsrlvq']) t.push(Y(`mov rax, ${c}; vmovq xmm5, rax; vpbroadcastq ymm5, xmm5; ${op} ymm0, ymm1, ymm5; ${op} xmm2, xmm3, [rsi+200]`));
  }
  for (const op of ['vpsllvd', 'vpsrlvd', 'vpsravd', 'vpsllvq', 'vpsrlvq']) t.push(Y(`${op} ymm0, ymm1, ymm2`), Y(`${op} ymm3, ymm3, [rsi+200]`));
  for (const imm of [0, 1, 4, 7, 8, 15, 16, 17, 31, 32, 255]) {
    t.push(Y(`pslldq xmm0, ${imm}; psrldq xmm1, ${imm}; vpslldq ymm2, ymm3, ${imm}; vpsrldq xmm4, xmm5, ${imm}`));
    t.push(Y(`palignr xmm0, xmm1, ${imm}; vpalignr ymm2, ymm3, ymm4, ${imm}; vpalignr xmm5, xmm5, [rsi+200], ${imm}`));
    t.push(Y(`psllw xmm0, ${imm}; vpsrad ymm1, ymm2, ${imm}; vpsrlq ymm3, ymm3, ${imm}; vpsllq xmm4, xmm5, ${imm}`));
  }
  for (const imm of [0, 0x1b, 0x4e, 0xb1, 0xff, 0x72]) {
    t.push(Y(`pshufd xmm0, xmm1, ${imm}; pshuflw xmm2, [rsi+200], ${imm}; pshufhw xmm3, xmm3, ${imm}; vpshufd ymm4, ymm5, ${imm}`));
    t.push(Y(`shufps xmm0, xmm1, ${imm}; shufpd xmm2, xmm3, ${imm & 3}; vshufps ymm4, ymm5, ymm1, ${imm}; vshufpd ymm1, ymm2, ymm3, ${imm & 15}`));
    t.push(Y(`vperm2i128 ymm0, ymm1, ymm2, ${imm}; vperm2f128 ymm3, ymm4, [rsi+200], ${imm ^ 0x88}`));
  }
  t.push(Y('vmovdqu ymm15, [rsi+192]; vmovdqu ymm8, [rsi+224]; vzeroupper; vmovdqu [rsi+704], ymm15; vmovdqu [rsi+736], ymm8'));
  t.push(Y('vpxor xmm0, xmm1, xmm2; vpaddq xmm3, xmm3, xmm3; movdqa xmm4, xmm5; pshufb xmm5, xmm1; paddd xmm1, xmm2'));
  t.push(Y('vpbroadcastb ymm0, [rsi+201]; vpbroadcastw xmm1, xmm2; vpbroadcastq ymm2, [rsi+203]; vbroadcastss ymm3, [rsi+205]; vpbroadcastd xmm4, xmm4'));
  t.push(Y('vextracti128 xmm0, ymm1, 1; vextractf128 [rsi+300], ymm2, 0; vinserti128 ymm3, ymm3, [rsi+233], 1; vinsertf128 ymm4, ymm5, xmm0, 0'));
  t.push(Y('vpmovmskb eax, ymm1; vpmovmskb rdx, xmm2; pmovmskb ecx, xmm3; vmovd ebx, xmm4; vmovq r8, xmm5; movd r9d, xmm1'));
  t.push(Y('vpcmpeqq ymm0, ymm1, ymm1; vpcmpgtq ymm2, ymm3, ymm4; vpminud ymm1, ymm1, [rsi+200]; vpmaxsb xmm5, xmm4, xmm3'));
  t.push(Y('vpackusdw ymm0, ymm1, ymm2; vpacksswb ymm3, ymm4, [rsi+200]; vpunpckhbw ymm5, ymm5, ymm1; vpmuludq ymm1, ymm2, ymm3'));
  t.push(Y('vaesenc xmm0, xmm1, xmm2; vaesdeclast xmm3, xmm4, [rsi+200]; vaesimc xmm5, xmm1; vaeskeygenassist xmm1, xmm2, 0x80; vpclmulqdq xmm2, xmm3, xmm4, 0x10'));
  t.push(Y('vptest ymm0, ymm1; setz al; setc bl; vptest xmm2, xmm2; setz cl; setc dl; ptest xmm4, [rsi+208]; setz r8b; setc r9b'));
  t.push(Y('movq xmm0, rax; movq xmm1, xmm2; movq xmm3, [rsi+200]; movq [rsi+300], xmm4; movd [rsi+310], xmm5; vmovq xmm5, [rsi+204]'));
  for (const c of [0, 1, 7, 16, 31, 32, 33, 63, 64]) {
    t.push(`mov ecx, ${c}; shld rax, rbx, cl; shrd rdx, r8, cl; shld r9d, r10d, cl; shrd r11d, r12d, cl`);
    if (c < 64) t.push(`shld rax, rbx, ${c}; shrd rdx, r8, ${c}; shld r9d, r10d, ${c & 31}; shrd r11d, r12d, ${c & 31}`);
    if (c <= 16) t.push(`mov ecx, ${c}; shld ax, bx, cl; shrd dx, r8w, ${c}; xor r13d, r13d; shrd r13w, r14w, cl`);
  }
  t.push('bswap eax; bswap rbx; bswap r9d; bswap r15', 'mov r15, rsp; lea rbp, [rsi+64]; leave; mov rax, rsp; mov rsp, r15');
  for (const c of [0, 1, 15, 16, 31, 32, 63, 64, 0x100000000]) {
    t.push(Y(`mov rax, ${c}; movq xmm5, rax; psllw xmm0, xmm5; psrad xmm1, xmm5; psrlq xmm2, xmm5; vpsraw ymm3, ymm4, xmm5; vpsllq ymm4, ymm4, xmm5; vpsrld xmm5, xmm1, xmm5`));
  }
  for (const imm of [0, 0x1b, 0x4e, 0xe4, 0xff, 0x93]) t.push(Y(`vpermq ymm0, ymm1, ${imm}; vpermpd ymm2, [rsi+200], ${imm}; vpermq ymm3, ymm3, ${imm ^ 0x55}`));
  for (const imm of [0, 1, 3, 7, 15]) {
    t.push(Y(`vpinsrb xmm0, xmm1, eax, ${imm}; vpinsrw xmm2, xmm3, word ptr [rsi+301], ${imm & 7}; vpinsrd xmm4, xmm4, ebx, ${imm & 3}; vpinsrq xmm5, xmm0, qword ptr [rsi+305], ${imm & 1}`));
    t.push(Y(`pextrb byte ptr [rsi+300], xmm1, ${imm}; vpextrw word ptr [rsi+310], xmm2, ${imm & 7}; vpextrd dword ptr [rsi+320], xmm3, ${imm & 3}; pextrq qword ptr [rsi+330], xmm4, ${imm & 1}; vpextrb ecx, xmm5, ${imm}`));
  }
  t.push(Y('movmskps eax, xmm1; movmskpd ebx, xmm2; vmovmskps ecx, ymm3; vmovmskpd rdx, ymm4; vmovmskps r8d, xmm5'));
  t.push(Y('pmaddwd xmm0, xmm1; pmaddwd xmm2, [rsi+208]; pabsb xmm3, xmm4; pabsd xmm4, [rsi+224]; psraw xmm5, [rsi+240]'));
  t.push(Y('pmovzxbd xmm0, dword ptr [rsi+201]; pmovsxwq xmm1, dword ptr [rsi+203]; pmovzxbq xmm2, word ptr [rsi+205]; vpmovsxbw xmm3, qword ptr [rsi+207]; vpmovzxdq xmm4, xmm5'));
  // Consecutive lowered instructions share a checked memory operand only for the same address, access and size.
  t.push(Y('vpaddd ymm0, ymm1, [rsi+200]; vpmulld ymm2, ymm3, [rsi+200]; vpxor xmm4, xmm4, [rsi+200]; vpaddd ymm5, ymm5, [rsi+204]'));
  t.push(Y('vmovdqu [rsi+200], ymm1; vpaddd ymm2, ymm3, [rsi+200]; vpaddd xmm0, xmm1, [rsi+216]; vpaddd ymm4, ymm3, [rsi+216]'));
  t.push(Y('lea rcx, [rsi+64]; movq xmm5, rcx; lea rax, [rsi]; vpaddd ymm0, ymm1, [rax+200]; movq rax, xmm5; vpaddd ymm2, ymm3, [rax+200]'));
  t.push(Y('vpaddd ymm0, ymm1, [rip+3f]; vpaddd ymm2, ymm3, [rip+3f]; jmp 4f; 3: .fill 64, 1, 0x5a; 4: nop'));
  for (const op of ['bsf', 'bsr']) t.push(`xor ebx, ebx; ${op} rax, rbx; ${op} rcx, qword ptr [rsi+800]; ${op} dx, bx`, `${op} r8, r9; ${op} r10d, r11d; ${op} r12w, r13w`);
  return t;
}

const IDT = 0x30000000, HANDLERS = 0x30001000, GDT = 0x30002000;
/** An IDT whose handler for vector i does `mov eax, i; hlt` (the vector lands in RAX). */
function setupIdt(mem: GuestMemory): void {
  mem.writeU64(GDT + 8, 0x00209a0000000000n);
  mem.writeU64(GDT + 16, 0x0000920000000000n);
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + v * 16;
    mem.writeBytes(h, new Uint8Array([0xb8, v, 0, 0, 0, 0xf4]));
    const g = new Uint8Array(16), dv = new DataView(g.buffer);
    dv.setUint16(0, h & 0xffff, true); dv.setUint16(2, 8, true); g[5] = 0x8e; dv.setUint16(6, (h >>> 16) & 0xffff, true);
    mem.writeBytes(IDT + v * 16, g);
  }
}

interface Outcome { r: string; gpr: bigint[]; flags: bigint; xmm: string; data: string }

/** Run `code` (then `mov eax, 0xffff; hlt`) with two data pages of fixed contents; CR0/CR4/XCR0 as given. */
function runOn(jit: JitAccelerator, mem: GuestMemory, code: Uint8Array, opt: { ts?: boolean; osxsave?: boolean; osfxsr?: boolean }): Outcome {
  const data = new Uint8Array(8192);
  for (let i = 0; i < data.length; i++) data[i] = (i * 167 + 13) & 0xff;
  mem.writeBytes(DATA_ADDR, data);
  mem.writeBytes(CODE_ADDR, new Uint8Array([...code, 0xb8, 0xff, 0xff, 0, 0, 0xf4]));
  jit.engine.flushAll();
  const gpr = Array.from({ length: 16 }, (_, i) => BigInt(i) * 0x0101010101010101n);
  gpr[4] = BigInt(DATA_ADDR + 3072); gpr[6] = BigInt(DATA_ADDR + 256);
  const s = jitState(gpr, 2n);
  let cr4 = s.sregs.cr4;
  if (opt.osxsave !== false) cr4 |= 1n << 18n;
  if (opt.osfxsr === false) cr4 &= ~(1n << 9n);
  const cr0 = opt.ts ? s.sregs.cr0 | 8n : s.sregs.cr0;
  jit.setState(0, { ...s, sregs: { ...s.sregs, cr0, cr4, idt: { base: BigInt(IDT), limit: 32 * 16 - 1 }, gdt: { base: BigInt(GDT), limit: 23 } } });
  const v = jit.vcpus[0]!;
  v.st.setU64(S.XCR0, 7n);
  for (let r = 0; r < 16; r++) for (let b = 0; b < 16; b++) { v.st.u8[v.st.base + S.XMM + r * 16 + b] = r * 16 + b; v.st.u8[v.st.base + S.YMMH + r * 16 + b] = 255 - b; }
  v.runState = 'running';
  let r: string = v.run(10000);
  if (r === 'budget') r = v.run(10000);
  const st = jit.getState(0);
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return {
    r, gpr: st.regs.gpr, flags: st.regs.rflags & 0x8d5n,
    xmm: hex(v.st.u8.slice(v.st.base + S.XMM, v.st.base + S.YMMH + 256)), data: hex(mem.readBytes(DATA_ADDR, 8192)),
  };
}

describe('SIMD lowering in the translator', () => {
  test('the lowered forms are translated (no executor call) and agree with the executor', async () => {
    const [code] = assemble([LOWERED.join('; ')]);
    const inline = await makeAvxJit();
    const exec = await makeAvxJit();
    exec.jit.engine.noInline = true;
    for (const j of [inline, exec]) setupIdt(j.mem);
    const executor: string[] = [];
    inline.jit.engine.onTranslate = (insns) => { for (const i of insns) if (i.helper >= 0) executor.push(MN_NAMES[i.insn.mn] ?? '?'); };
    const a = runOn(inline.jit, inline.mem, code!, {});
    const b = runOn(exec.jit, exec.mem, code!, {});
    // Everything but the final HLT is translated (the block is translated again from where a TLB miss left it).
    expect(new Set(executor)).toEqual(new Set(['hlt']));
    expect(inline.jit.engine.stats.inlined).toBeGreaterThanOrEqual(LOWERED.length);
    expect(a.r).toBe('halted');
    expect(a).toEqual(b);
  });

  test('boundary operands against the host CPU', async () => {
    const failures = await differential(boundaryTemplates(), 4, 0x10e7e5n);
    expect(failures.slice(0, 20)).toEqual([]);
  }, 120_000);

  // The slow path: both JITs (inline and executor-only) must agree on the outcome, the exception vector
  // (RAX from the IDT handler), registers, flags and both data pages.
  const PAGE_END = 4096 - 256; // [rsi + PAGE_END - k] crosses into the second data page
  const slowCases: Array<[string, { ts?: boolean; osxsave?: boolean; osfxsr?: boolean }]> = [
    [`movdqu xmm0, [rsi+${PAGE_END - 8}]; pshufb xmm1, [rsi+${PAGE_END - 4}]; aesenc xmm2, [rsi+${PAGE_END - 12}]; pmovmskb eax, xmm1`, {}],
    [`vmovdqu ymm0, [rsi+${PAGE_END - 16}]; vpaddd ymm1, ymm0, [rsi+${PAGE_END - 20}]; vmovdqu [rsi+${PAGE_END - 24}], ymm1`, {}],
    [`movq [rsi+${PAGE_END - 4}], xmm3; vextracti128 [rsi+${PAGE_END - 8}], ymm4, 1; pinsrq xmm5, [rsi+${PAGE_END - 3}], 1`, {}],
    [`crc32 rax, qword ptr [rsi+${PAGE_END - 5}]; popcnt rbx, [rsi+${PAGE_END - 2}]; sha256rnds2 xmm1, [rsi+${PAGE_END - 1}]`, {}],
    ['pshufd xmm0, [rsi+8], 0x1b', {}], // misaligned legacy SSE: #GP
    ['pclmulqdq xmm0, [rsi+1], 0', {}],
    ['vmovdqa ymm0, [rsi+16]', {}], // #GP at 32-byte alignment
    ['vpshufb ymm0, ymm1, [rsi+3]; vpsllvd ymm1, ymm1, [rsi+5]', {}], // VEX: no alignment check
    ['pshufb xmm0, xmm1', { ts: true }], // #NM
    ['aesenc xmm0, xmm1', { osfxsr: false }], // #UD
    ['vpaddd ymm0, ymm1, ymm2', { ts: true }], // #NM
    ['vpaddd ymm0, ymm1, ymm2', { osxsave: false }], // #UD before #NM
    ['vzeroupper', { osxsave: false, ts: true }],
    ['popcnt rax, rbx; crc32 eax, bl', { ts: true, osfxsr: false }], // general-purpose: no SIMD checks
    ['mov rdi, 0x3ffffff8; movdqu xmm0, [rdi]', {}], // RAM ends at 1 GiB: #PF
    ['mov rdi, 0x3ffffff8; pmaxud xmm0, [rdi]', {}],
    ['mov rdi, 0x3ffffffc; vpbroadcastq ymm0, [rdi]', {}],
    ['mov rdi, 0x3ffffff0; mov rax, [rdi]; vpaddd xmm0, xmm1, [rdi]; vpaddd ymm2, ymm3, [rdi]', {}], // the wider access crosses into no RAM
  ];
  test.each(slowCases)('slow path: %s %o', async (asm, opt) => {
    // Both data pages are touched first: the TLB then maps them and the lowered code's own checks decide.
    const [code] = assemble([`mov r15, [rsi]; mov r14, [rsi+${PAGE_END}]; ${asm}`]);
    const inline = await makeAvxJit();
    const exec = await makeAvxJit();
    exec.jit.engine.noInline = true;
    for (const j of [inline, exec]) setupIdt(j.mem);
    const a = runOn(inline.jit, inline.mem, code!, opt);
    const b = runOn(exec.jit, exec.mem, code!, opt);
    expect(a.r).toBe('halted');
    expect(a).toEqual(b);
  });
});
