// Differential test for the VEX-encoded extensions (AVX, AVX2, FMA, F16C):
// each template loads YMM0..YMM5 from the random data page, runs the
// instruction form (both vector lengths, register and memory operands,
// VEX.vvvv aliasing the destination), stores YMM0..YMM5 back, natively on the
// host CPU and on the JIT's executor. Registers, status flags and the data
// page must match. Inputs mix random bits, a small byte alphabet, and
// floating-point specials (NaNs, infinities, denormals, zeros); the FP forms
// also run under every MXCSR rounding mode. Seeded; AVX_CASES=n or FULL=1
// for more cases per template.
import { describe, expect, test } from 'vitest';
import { differential, R, Y } from './simd-avx-harness.js';

const FULL = !!process.env['FULL'];
const CASES = Number(process.env['AVX_CASES'] ?? (FULL ? 48 : 6));

/** Three-operand packed forms: both lengths, register and (unaligned) memory, vvvv = destination. */
function three(t: string[], op: string, only256 = false, wrap: (s: string) => string = Y): void {
  if (!only256) t.push(wrap(`${op} xmm0, xmm1, xmm2`), wrap(`${op} xmm3, xmm4, xmmword ptr [rsi+200]`));
  t.push(wrap(`${op} ymm0, ymm1, ymm2`), wrap(`${op} ymm3, ymm3, ymmword ptr [rsi+233]`), wrap(`${op} ymm2, ymm1, ymm2`));
}

export function avxTemplates(): string[] {
  const t: string[] = [];
  // ---- AVX2 integer (the legacy operation per lane)
  for (const op of ['punpcklbw', 'punpcklwd', 'punpckldq', 'packsswb', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'packuswb', 'punpckhbw',
    'punpckhwd', 'punpckhdq', 'packssdw', 'punpcklqdq', 'punpckhqdq', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'paddq', 'pmullw', 'psubusb',
    'psubusw', 'pminub', 'pand', 'paddusb', 'paddusw', 'pmaxub', 'pandn', 'pavgb', 'pavgw', 'pmulhuw', 'pmulhw', 'psubsb', 'psubsw',
    'pminsw', 'por', 'paddsb', 'paddsw', 'pmaxsw', 'pxor', 'pmuludq', 'pmaddwd', 'psadbw', 'psubb', 'psubw', 'psubd', 'psubq', 'paddb',
    'paddw', 'paddd', 'pshufb', 'phaddw', 'phaddd', 'phaddsw', 'pmaddubsw', 'phsubw', 'phsubd', 'phsubsw', 'psignb', 'psignw', 'psignd',
    'pmulhrsw', 'pmuldq', 'pcmpeqq', 'packusdw', 'pcmpgtq', 'pminsb', 'pminsd', 'pminuw', 'pminud', 'pmaxsb', 'pmaxsd', 'pmaxuw',
    'pmaxud', 'pmulld']) three(t, `v${op}`);
  for (const op of ['pabsb', 'pabsw', 'pabsd']) t.push(Y(`v${op} xmm0, xmm1`), Y(`v${op} ymm2, ymm3`), Y(`v${op} ymm4, [rsi+201]`));
  for (const op of ['psrlw', 'psrld', 'psrlq', 'psraw', 'psrad', 'psllw', 'pslld', 'psllq']) {
    t.push(Y(`and ecx, 31; vmovd xmm7, ecx; v${op} ymm0, ymm1, xmm7`), Y(`and ecx, 15; vmovd xmm7, ecx; v${op} xmm0, xmm1, xmm7`),
      Y(`v${op} ymm2, ymm3, [rsi+200]`), Y(`v${op} ymm2, ymm2, xmm4`));
    for (const imm of [0, 1, 7, 15, 31, 63, 200]) t.push(Y(`v${op} ymm0, ymm1, ${imm}`), Y(`v${op} xmm2, xmm3, ${imm}`));
  }
  for (const imm of [0, 1, 5, 15, 16, 200]) t.push(Y(`vpslldq ymm0, ymm1, ${imm}`), Y(`vpsrldq ymm2, ymm2, ${imm}`), Y(`vpsrldq xmm2, xmm3, ${imm}`));
  const small = 'mov eax, 0x2f; vmovd xmm7, eax; vpbroadcastd ymm7, xmm7; vpand ymm2, ymm2, ymm7; vpand ymm4, ymm4, ymm7';
  const smallQ = 'mov eax, 0x4f; vmovq xmm7, rax; vpbroadcastq ymm7, xmm7; vpand ymm2, ymm2, ymm7';
  for (const op of ['vpsllvd', 'vpsrlvd', 'vpsravd']) t.push(Y(`${small}; ${op} ymm0, ymm1, ymm2`), Y(`${small}; ${op} xmm0, xmm1, xmm2`), Y(`${op} ymm3, ymm1, ymm3`));
  for (const op of ['vpsllvq', 'vpsrlvq']) t.push(Y(`${smallQ}; ${op} ymm0, ymm1, ymm2`), Y(`${smallQ}; ${op} xmm0, xmm1, xmm2`), Y(`${op} ymm3, ymm1, [rsi+250]`));
  for (const w of ['bw', 'bd', 'bq', 'wd', 'wq', 'dq']) {
    for (const s of ['sx', 'zx']) t.push(Y(`vpmov${s}${w} ymm0, xmm1`), Y(`vpmov${s}${w} xmm2, xmm1`), Y(`vpmov${s}${w} ymm3, [rsi+203]`), Y(`vpmov${s}${w} xmm3, [rsi+203]`));
  }
  for (const imm of [0, 0x1b, 0xe4, 0x4e, 0xff]) {
    t.push(Y(`vpshufd ymm0, ymm1, ${imm}`), Y(`vpshufhw ymm0, [rsi+200], ${imm}`), Y(`vpshuflw xmm0, xmm1, ${imm}`),
      Y(`vpblendw ymm0, ymm1, ymm2, ${imm}`), Y(`vpblendd ymm0, ymm1, ymm2, ${imm}`), Y(`vpblendd xmm0, xmm1, [rsi+200], ${imm}`),
      Y(`vpermq ymm0, ymm1, ${imm}`), Y(`vpermpd ymm2, [rsi+200], ${imm}`), Y(`vpermilps ymm0, ymm1, ${imm}`),
      Y(`vpermilpd ymm0, ymm1, ${imm & 15}`), Y(`vpermilpd xmm0, [rsi+200], ${imm & 3}`), Y(`vshufps ymm0, ymm1, ymm2, ${imm}`),
      Y(`vshufpd ymm0, ymm1, [rsi+200], ${imm & 15}`), Y(`vblendps ymm0, ymm1, ymm2, ${imm}`), Y(`vblendpd ymm0, ymm1, ymm2, ${imm & 15}`),
      Y(`vperm2i128 ymm0, ymm1, ymm2, ${imm}`), Y(`vperm2f128 ymm0, ymm1, [rsi+200], ${imm}`));
  }
  for (const imm of [0, 3, 8, 15, 16, 17, 31, 32]) t.push(Y(`vpalignr ymm0, ymm1, ymm2, ${imm}`), Y(`vpalignr xmm0, xmm1, xmm2, ${imm}`));
  for (const imm of [0, 5, 0x2b, 0x3f]) t.push(Y(`vmpsadbw ymm0, ymm1, ymm2, ${imm}`), Y(`vmpsadbw xmm0, xmm1, [rsi+200], ${imm}`));
  t.push(Y('vpermd ymm0, ymm1, ymm2'), Y('vpermps ymm0, ymm1, [rsi+200]'), Y('vpermd ymm1, ymm1, ymm1'), Y('vpermilps ymm0, ymm1, ymm2'),
    Y('vpermilps xmm0, xmm1, [rsi+200]'), Y('vpermilpd ymm0, ymm1, ymm2'), Y('vpermilpd ymm2, ymm1, ymm2'));
  for (const op of ['vpblendvb', 'vblendvps', 'vblendvpd']) t.push(Y(`${op} ymm0, ymm1, ymm2, ymm3`), Y(`${op} xmm0, xmm1, [rsi+200], xmm3`), Y(`${op} ymm3, ymm1, ymm2, ymm3`));
  // broadcasts, inserts, extracts
  t.push(Y('vbroadcastss ymm0, [rsi+201]'), Y('vbroadcastss xmm0, xmm1'), Y('vbroadcastss ymm0, xmm1'), Y('vbroadcastsd ymm0, [rsi+203]'),
    Y('vbroadcastsd ymm0, xmm2'), Y('vbroadcastf128 ymm0, [rsi+203]'), Y('vbroadcasti128 ymm1, [rsi+205]'));
  for (const s of ['b', 'w', 'd', 'q']) {
    const m = s === 'b' ? 'byte' : s === 'w' ? 'word' : s === 'd' ? 'dword' : 'qword';
    t.push(Y(`vpbroadcast${s} ymm0, xmm1`), Y(`vpbroadcast${s} xmm0, xmm2`), Y(`vpbroadcast${s} ymm3, ${m} ptr [rsi+207]`));
  }
  for (const imm of [0, 1]) {
    t.push(Y(`vinsertf128 ymm0, ymm1, xmm2, ${imm}`), Y(`vinserti128 ymm0, ymm0, [rsi+200], ${imm}`), Y(`vextractf128 xmm0, ymm1, ${imm}`),
      Y(`vextracti128 [rsi+300], ymm1, ${imm}`));
  }
  // moves
  for (const op of ['vmovups', 'vmovupd', 'vmovdqu', 'vlddqu']) t.push(Y(`${op} ymm0, [rsi+201]`), Y(`${op} xmm0, [rsi+201]`));
  for (const op of ['vmovups', 'vmovupd', 'vmovdqu']) t.push(Y(`${op} [rsi+301], ymm1`), Y(`${op} [rsi+301], xmm1`), Y(`${op} ymm0, ymm1`), Y(`${op} xmm0, xmm1`));
  for (const op of ['vmovaps', 'vmovapd', 'vmovdqa']) t.push(Y(`${op} ymm0, [rsi+192]`), Y(`${op} xmm0, [rsi+208]`), Y(`${op} [rsi+320], ymm1`), Y(`${op} xmm2, xmm1`));
  t.push(Y('vmovntdqa ymm0, [rsi+192]'), Y('vmovntps [rsi+320], ymm1'), Y('vmovntpd [rsi+320], xmm1'), Y('vmovntdq [rsi+320], ymm1'));
  t.push(Y('vmovss xmm0, [rsi+201]'), Y('vmovsd xmm0, [rsi+201]'), Y('vmovss [rsi+301], xmm1'), Y('vmovsd [rsi+301], xmm1'),
    Y('vmovss xmm0, xmm1, xmm2'), Y('vmovsd xmm0, xmm1, xmm2'), Y('vmovss xmm2, xmm2, xmm1'), Y('vmovlps xmm0, xmm1, [rsi+201]'),
    Y('vmovhps xmm0, xmm1, [rsi+201]'), Y('vmovlpd xmm0, xmm1, [rsi+201]'), Y('vmovhpd xmm0, xmm1, [rsi+201]'), Y('vmovlps [rsi+301], xmm1'),
    Y('vmovhps [rsi+301], xmm1'), Y('vmovhlps xmm0, xmm1, xmm2'), Y('vmovlhps xmm0, xmm1, xmm2'), Y('vmovd xmm0, ebx'), Y('vmovq xmm0, rbx'),
    Y('vmovd eax, xmm1'), Y('vmovq rax, xmm1'), Y('vmovd xmm0, [rsi+201]'), Y('vmovq xmm0, [rsi+201]'), Y('vmovd [rsi+301], xmm1'),
    Y('vmovq [rsi+301], xmm1'), Y('vmovq xmm0, xmm1'), Y('vmovddup ymm0, ymm1'), Y('vmovddup xmm0, [rsi+201]'), Y('vmovddup ymm0, [rsi+201]'),
    Y('vmovshdup ymm0, ymm1'), Y('vmovsldup ymm0, [rsi+201]'), Y('vmovsldup xmm0, xmm1'));
  t.push(Y('vmovmskps eax, ymm1'), Y('vmovmskps eax, xmm1'), Y('vmovmskpd ecx, ymm1'), Y('vmovmskpd rcx, xmm1'), Y('vpmovmskb edx, ymm1'),
    Y('vpmovmskb edx, xmm1'));
  for (const op of ['vmaskmovps', 'vmaskmovpd', 'vpmaskmovd', 'vpmaskmovq']) {
    t.push(Y(`${op} ymm0, ymm1, [rsi+201]`), Y(`${op} xmm0, xmm1, [rsi+201]`), Y(`${op} [rsi+301], ymm1, ymm2`), Y(`${op} [rsi+301], xmm1, xmm2`));
  }
  t.push(Y('vmaskmovdqu xmm1, xmm2'), Y('vzeroupper'), Y('vzeroall'));
  for (const imm of [0, 1, 5, 15]) t.push(Y(`vpextrb eax, xmm1, ${imm}`), Y(`vpextrb [rsi+301], xmm1, ${imm}`), Y(`vpinsrb xmm0, xmm1, ebx, ${imm}`), Y(`vpinsrb xmm0, xmm1, [rsi+201], ${imm}`));
  for (const imm of [0, 3, 7]) t.push(Y(`vpextrw eax, xmm1, ${imm}`), Y(`vpextrw [rsi+301], xmm1, ${imm}`), Y(`vpinsrw xmm0, xmm1, ebx, ${imm}`), Y(`vpinsrw xmm0, xmm1, [rsi+201], ${imm}`));
  for (const imm of [0, 1, 3]) {
    t.push(Y(`vpextrd eax, xmm1, ${imm}`), Y(`vpextrd [rsi+301], xmm1, ${imm}`), Y(`vpinsrd xmm0, xmm1, ebx, ${imm}`), Y(`vextractps eax, xmm1, ${imm}`),
      Y(`vextractps [rsi+301], xmm1, ${imm}`), Y(`vpextrq rax, xmm1, ${imm & 1}`), Y(`vpinsrq xmm0, xmm1, [rsi+201], ${imm & 1}`));
  }
  for (const imm of [0, 0x1e, 0x5a, 0xc3, 0x30]) t.push(Y(`vinsertps xmm0, xmm1, xmm2, ${imm}`), Y(`vinsertps xmm0, xmm1, [rsi+201], ${imm}`));
  for (const op of ['vptest', 'vtestps', 'vtestpd']) t.push(Y(`${op} ymm0, ymm1`), Y(`${op} xmm0, [rsi+200]`), Y(`${op} ymm1, ymm1`), Y(`vpxor xmm2, xmm2, xmm2; ${op} ymm0, ymm2`));
  // gathers: indices masked to [-32, 31] around rsi+256 (inside the data page)
  const idxD = 'mov eax, 0x3f; vmovd xmm7, eax; vpbroadcastd ymm7, xmm7; vpand ymm1, ymm1, ymm7; mov eax, 32; vmovd xmm7, eax; vpbroadcastd ymm7, xmm7; vpsubd ymm1, ymm1, ymm7';
  const idxQ = 'mov eax, 0x3f; vmovq xmm7, rax; vpbroadcastq ymm7, xmm7; vpand ymm1, ymm1, ymm7; mov eax, 32; vmovq xmm7, rax; vpbroadcastq ymm7, xmm7; vpsubq ymm1, ymm1, ymm7';
  for (const [op, idx] of [['vpgatherdd', idxD], ['vgatherdps', idxD], ['vpgatherqq', idxQ], ['vgatherqpd', idxQ]] as const) {
    t.push(Y(`${idx}; ${op} ymm0, [rsi+256+ymm1*4], ymm2`), Y(`${idx}; ${op} xmm0, [rsi+256+xmm1*8], xmm2`));
  }
  for (const [op, idx] of [['vpgatherdq', idxD], ['vgatherdpd', idxD]] as const) t.push(Y(`${idx}; ${op} ymm0, [rsi+256+xmm1*8], ymm2`), Y(`${idx}; ${op} xmm0, [rsi+256+xmm1*4], xmm2`));
  for (const [op, idx] of [['vpgatherqd', idxQ], ['vgatherqps', idxQ]] as const) t.push(Y(`${idx}; ${op} xmm0, [rsi+256+ymm1*4], xmm2`), Y(`${idx}; ${op} xmm0, [rsi+256+xmm1*2], xmm2`));
  // SSE4.2 string compares, AES, PCLMULQDQ (VEX.128)
  for (const imm of [0x00, 0x0c, 0x18, 0x44, 0x7f]) t.push(Y(`vpcmpistri xmm1, xmm2, ${imm}`), Y(`vpcmpistrm xmm1, [rsi+200], ${imm}`), Y(`vpcmpestrm xmm1, xmm2, ${imm}`));
  for (const op of ['vaesenc', 'vaesenclast', 'vaesdec', 'vaesdeclast']) t.push(Y(`${op} xmm0, xmm1, xmm2`), Y(`${op} xmm3, xmm3, [rsi+200]`));
  t.push(Y('vaesimc xmm0, xmm1'), Y('vaeskeygenassist xmm0, xmm1, 0x36'), Y('vpclmulqdq xmm0, xmm1, xmm2, 0x11'), Y('vpclmulqdq xmm0, xmm1, [rsi+200], 0x01'));
  // ---- AVX floating point, every rounding mode for the rounding forms
  for (let rc = 0; rc < 4; rc++) {
    const W = (s: string): string => R(rc, s);
    for (const op of ['add', 'sub', 'mul', 'div']) {
      three(t, `v${op}ps`, false, W); three(t, `v${op}pd`, false, W);
      t.push(W(`v${op}ss xmm0, xmm1, xmm2`), W(`v${op}sd xmm0, xmm1, [rsi+200]`), W(`v${op}sd xmm1, xmm1, xmm1`));
    }
    t.push(W('vsqrtps ymm0, ymm1'), W('vsqrtpd ymm0, [rsi+200]'), W('vsqrtss xmm0, xmm1, xmm2'), W('vsqrtsd xmm0, xmm1, [rsi+200]'),
      W('vcvtpd2ps xmm0, ymm1'), W('vcvtpd2ps xmm0, xmm1'), W('vcvtpd2dq xmm0, ymm1'), W('vcvtpd2dq xmm0, xmmword ptr [rsi+200]'),
      W('vcvtps2dq ymm0, ymm1'), W('vcvtdq2ps ymm0, ymm1'), W('vcvtsd2ss xmm0, xmm1, xmm2'), W('vcvtsi2ss xmm0, xmm1, rbx'),
      W('vcvtsi2sd xmm0, xmm1, rbx'), W('vcvtss2si rax, xmm1'), W('vcvtsd2si eax, xmm1'), W('vroundps ymm0, ymm1, 4'), W('vroundpd ymm0, ymm1, 12'),
      W('vroundss xmm0, xmm1, xmm2, 4'), W('vdpps ymm0, ymm1, ymm2, 0xff'), W('vdppd xmm0, xmm1, xmm2, 0x31'), W('vhaddps ymm0, ymm1, ymm2'),
      W('vhsubpd ymm0, ymm1, ymm2'), W('vaddsubps ymm0, ymm1, ymm2'), W('vaddsubpd ymm0, ymm1, [rsi+200]'));
  }
  for (const op of ['min', 'max']) { three(t, `v${op}ps`); three(t, `v${op}pd`); t.push(Y(`v${op}ss xmm0, xmm1, xmm2`), Y(`v${op}sd xmm0, xmm1, [rsi+200]`)); }
  for (const op of ['and', 'andn', 'or', 'xor', 'unpckl', 'unpckh']) { three(t, `v${op}ps`); three(t, `v${op}pd`); }
  for (let p = 0; p < 32; p++) {
    t.push(Y(`vcmpps ymm0, ymm1, ymm2, ${p}`), Y(`vcmppd ymm0, ymm1, [rsi+200], ${p}`), Y(`vcmpss xmm0, xmm1, xmm2, ${p}`), Y(`vcmpsd xmm0, xmm1, xmm2, ${p}`));
  }
  t.push(Y('vcmpps xmm0, xmm1, xmm2, 1'), Y('vcmppd xmm3, xmm3, xmm3, 3'));
  t.push(Y('vcvtps2pd ymm0, xmm1'), Y('vcvtps2pd ymm0, [rsi+200]'), Y('vcvtps2pd xmm0, xmm1'), Y('vcvtdq2pd ymm0, xmm1'), Y('vcvtdq2pd xmm0, [rsi+200]'),
    Y('vcvttpd2dq xmm0, ymm1'), Y('vcvttpd2dq xmm0, xmm1'), Y('vcvttps2dq ymm0, ymm1'), Y('vcvttps2dq xmm0, [rsi+200]'), Y('vcvtss2sd xmm0, xmm1, xmm2'),
    Y('vcvttss2si eax, xmm1'), Y('vcvttsd2si rax, [rsi+200]'));
  for (const imm of [0, 1, 2, 3, 8, 9]) t.push(Y(`vroundps ymm0, ymm1, ${imm}`), Y(`vroundpd xmm0, [rsi+200], ${imm}`), Y(`vroundsd xmm0, xmm1, xmm2, ${imm}`));
  for (const op of ['vcomiss', 'vucomiss', 'vcomisd', 'vucomisd']) t.push(Y(`${op} xmm0, xmm1`), Y(`${op} xmm2, [rsi+200]`));
  for (const imm of [0xff, 0x3c, 0xf1]) t.push(Y(`vdpps ymm0, ymm1, [rsi+200], ${imm}`));
  // Legacy SSE instructions leave bits 255:128 unchanged (SDM Vol. 1 §14.1.2), inline or in the executor.
  for (const op of ['paddd xmm0, xmm1', 'movaps xmm0, xmm1', 'pxor xmm1, xmm1', 'movss xmm0, [rsi+200]', 'movsd xmm2, xmm3',
    'pshufb xmm0, xmm1', 'cvtsi2sd xmm2, rax', 'movq xmm3, rax', 'pinsrd xmm4, eax, 1', 'movdqu xmm5, [rsi+201]', 'sqrtpd xmm0, xmm1',
    'pcmpistri xmm1, xmm2, 0x0c', 'aesenc xmm0, xmm1', 'blendvps xmm1, xmm2', 'cvtps2pd xmm1, xmm2', 'shufps xmm0, xmm1, 0x1b']) t.push(Y(op));
  t.push(Y('vaddps ymm0, ymm1, ymm2; psubq xmm0, xmm1; vaddps ymm0, ymm0, ymm0'));
  // Self-modifying code through VEX stores: the immediate of the next instruction (then 12 NOPs) is rewritten.
  const imm = 'vmovd xmm7, ecx; mov eax, 0x90909090; vpinsrd xmm7, xmm7, eax, 1; vpinsrd xmm7, xmm7, eax, 2; vpinsrd xmm7, xmm7, eax, 3; lea rdi, [rip+2f]';
  const tail = '2: mov ebx, 0x11111111; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop';
  t.push(Y(`${imm}; vmovd [rdi+1], xmm7; ${tail}`), Y(`${imm}; vmovdqu [rdi+1], xmm7; ${tail}`),
    Y(`${imm}; vpcmpeqd xmm6, xmm6, xmm6; vpsrldq xmm6, xmm6, 12; vmaskmovps [rdi+1], xmm6, xmm7; ${tail}`),
    Y(`${imm}; vinserti128 ymm7, ymm7, xmm7, 1; vextracti128 [rdi+1], ymm7, 1; ${tail}`));
  return t;
}

describe('AVX/AVX2: JIT vs host CPU', () => {
  test('every form, random and special operands', async () => {
    const snippets = avxTemplates();
    const failures = await differential(snippets, CASES, 0xa7c5eedn);
    if (failures.length) console.log(`${failures.length} failing templates of ${snippets.length}:\n` + failures.slice(0, 80).join('\n'));
    expect(failures.slice(0, 20)).toEqual([]);
  }, 120_000 * Math.max(1, CASES / 6));
});
