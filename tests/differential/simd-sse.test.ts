// Differential test for the SIMD extensions beyond SSE2 (SSE3, SSSE3,
// SSE4.1, SSE4.2, POPCNT, AES-NI, PCLMULQDQ, SHA): each template loads XMM/MMX
// registers from the random data page, runs the instruction form, and
// stores the results back, natively on the host CPU and on the JIT (inline
// and executor-only). Registers, status flags and the data page must match.
// Inputs mix random bits, a small byte alphabet (so string compares and
// shuffles hit equal/zero elements), and floating-point specials (NaNs,
// infinities, denormals, zeros). Seeded; FULL=1 runs many more cases.
import { describe, expect, test } from 'vitest';
import {
  assemble, buildNativeHelper, CODE_ADDR, DATA_ADDR, DATA_BYTES, makeJit, rng, runCaseOnJit, runNative, undefinedFlags,
} from './cpu-native-helper.js';

const FULL = !!process.env['FULL'];
const CASES_PER_TEMPLATE = Number(process.env["SIMD_CASES"] ?? (FULL ? 40 : 8));

/** Load xmm0..xmm3 from [rsi], run `body`, store xmm0..xmm3 to [rsi+512..]. */
const X = (body: string): string =>
  `movdqu xmm0, [rsi]; movdqu xmm1, [rsi+16]; movdqu xmm2, [rsi+32]; movdqu xmm3, [rsi+48]; ${body}; ` +
  'movdqu [rsi+512], xmm0; movdqu [rsi+528], xmm1; movdqu [rsi+544], xmm2; movdqu [rsi+560], xmm3';
/** The same with mm0..mm2 (MMX forms); EMMS leaves the x87 state as it was. */
const M = (body: string): string =>
  `movq mm0, [rsi]; movq mm1, [rsi+16]; movq mm2, [rsi+32]; ${body}; movq [rsi+512], mm0; movq [rsi+528], mm1; movq [rsi+544], mm2; emms`;

export function simdTemplates(): string[] {
  const t: string[] = [];
  // SSSE3: XMM reg, XMM mem (aligned), MMX reg forms.
  for (const op of ['pshufb', 'phaddw', 'phaddd', 'phaddsw', 'pmaddubsw', 'phsubw', 'phsubd', 'phsubsw', 'psignb', 'psignw', 'psignd', 'pmulhrsw', 'pabsb', 'pabsw', 'pabsd']) {
    t.push(X(`${op} xmm0, xmm1`), X(`${op} xmm2, xmmword ptr [rsi+64]`), M(`${op} mm0, mm1`), M(`${op} mm2, qword ptr [rsi+72]`));
  }
  for (const imm of [0, 1, 5, 8, 15, 16, 17, 31, 32, 200]) t.push(X(`palignr xmm0, xmm1, ${imm}`), M(`palignr mm0, mm1, ${imm & 31}`));
  t.push(X('palignr xmm1, xmmword ptr [rsi+80], 3'));
  // SSE3 (integer moves and packed arithmetic, default MXCSR).
  for (const op of ['addsubps', 'addsubpd', 'haddps', 'haddpd', 'hsubps', 'hsubpd', 'movshdup', 'movsldup']) {
    t.push(X(`${op} xmm0, xmm1`), X(`${op} xmm2, xmmword ptr [rsi+64]`));
  }
  // Every MXCSR rounding mode (MXCSR words at [rsi+1024+4*rc], default 0x1F80 at [rsi+1040] restored after).
  for (let rc = 0; rc < 4; rc++) {
    const R = (body: string): string => X(`ldmxcsr [rsi+${1024 + 4 * rc}]; ${body}; ldmxcsr [rsi+1040]`);
    for (const op of ['addsubps', 'addsubpd', 'haddps', 'haddpd', 'hsubps', 'hsubpd']) t.push(R(`${op} xmm0, xmm1`), R(`${op} xmm2, xmm3`));
    t.push(R('dpps xmm0, xmm1, 0xff'), R('dpps xmm2, xmm3, 0x7d'), R('dppd xmm0, xmm1, 0x33'), R('dppd xmm2, xmm3, 0x31'));
    t.push(R('roundps xmm0, xmm1, 4'), R('roundpd xmm2, xmm3, 4'), R('roundss xmm0, xmm1, 4'), R('roundsd xmm2, xmm3, 12'));
  }
  t.push(X('movddup xmm0, xmm1'), X('movddup xmm2, qword ptr [rsi+72]'), X('lddqu xmm3, [rsi+3]'));
  // SSE4.1
  for (const op of ['pmulld', 'pmuldq', 'pcmpeqq', 'packusdw', 'pminsb', 'pminsd', 'pminuw', 'pminud', 'pmaxsb', 'pmaxsd', 'pmaxuw', 'pmaxud', 'phminposuw', 'ptest']) {
    t.push(X(`${op} xmm0, xmm1`), X(`${op} xmm2, xmmword ptr [rsi+64]`));
  }
  t.push(X('ptest xmm0, xmm0'), X('pxor xmm1, xmm1; ptest xmm0, xmm1'), X('pcmpeqd xmm1, xmm1; ptest xmm1, xmm0'));
  for (const op of ['pmovsxbw', 'pmovsxbd', 'pmovsxbq', 'pmovsxwd', 'pmovsxwq', 'pmovsxdq', 'pmovzxbw', 'pmovzxbd', 'pmovzxbq', 'pmovzxwd', 'pmovzxwq', 'pmovzxdq']) {
    const w = /b[wdq]$/.test(op) ? (op.endsWith('bw') ? 'qword' : op.endsWith('bd') ? 'dword' : 'word') : /w[dq]$/.test(op) ? (op.endsWith('wd') ? 'qword' : 'dword') : 'qword';
    t.push(X(`${op} xmm0, xmm1`), X(`${op} xmm2, ${w} ptr [rsi+65]`));
  }
  t.push(X('pblendvb xmm1, xmm2'), X('blendvps xmm1, xmm2'), X('blendvpd xmm1, xmmword ptr [rsi+64]'), X('movntdqa xmm1, [rsi+64]'));
  for (const imm of [0, 0x5a, 0xff, 0x81]) t.push(X(`pblendw xmm0, xmm1, ${imm}`), X(`blendps xmm0, xmm1, ${imm & 15}`), X(`blendpd xmm0, xmmword ptr [rsi+64], ${imm & 3}`));
  for (const imm of [0, 3, 5, 7]) t.push(X(`mpsadbw xmm0, xmm1, ${imm}`));
  t.push(X('mpsadbw xmm2, xmmword ptr [rsi+64], 2'));
  for (const imm of [0, 1, 2, 3, 4, 8, 9, 10, 11, 12]) {
    t.push(X(`roundps xmm0, xmm1, ${imm}`), X(`roundpd xmm0, xmm1, ${imm}`), X(`roundss xmm0, xmm1, ${imm}`), X(`roundsd xmm0, xmm1, ${imm}`));
  }
  t.push(X('roundss xmm2, dword ptr [rsi+68], 1'), X('roundsd xmm2, qword ptr [rsi+72], 2'), X('roundpd xmm2, xmmword ptr [rsi+64], 4'));
  for (const imm of [0, 1, 5, 15, 7]) t.push(X(`pextrb eax, xmm1, ${imm}`), X(`pextrb byte ptr [rsi+600], xmm1, ${imm}`));
  for (const imm of [0, 3, 7]) t.push(X(`pextrw ecx, xmm1, ${imm}`), X(`pextrw word ptr [rsi+600], xmm1, ${imm}`));
  for (const imm of [0, 1, 2, 3]) t.push(X(`pextrd edx, xmm1, ${imm}`), X(`pextrd dword ptr [rsi+600], xmm1, ${imm}`), X(`extractps eax, xmm1, ${imm}`), X(`extractps dword ptr [rsi+600], xmm1, ${imm}`));
  t.push(X('pextrq rax, xmm1, 1'), X('pextrq qword ptr [rsi+600], xmm1, 0'));
  for (const imm of [0, 7, 15]) t.push(X(`pinsrb xmm0, ebx, ${imm}`), X(`pinsrb xmm0, byte ptr [rsi+90], ${imm}`));
  for (const imm of [0, 3]) t.push(X(`pinsrd xmm0, ebx, ${imm}`), X(`pinsrd xmm0, dword ptr [rsi+90], ${imm}`), X(`pinsrq xmm0, rbx, ${imm & 1}`), X(`pinsrq xmm0, qword ptr [rsi+90], ${imm & 1}`));
  for (const imm of [0, 0x1e, 0x5a, 0xc3, 0x30, 0xff]) t.push(X(`insertps xmm0, xmm1, ${imm}`), X(`insertps xmm0, dword ptr [rsi+68], ${imm}`));
  for (const imm of [0xff, 0xf1, 0x3c, 0x51, 0x0f]) t.push(X(`dpps xmm0, xmm1, ${imm}`), X(`dppd xmm0, xmm1, ${imm & 0x33}`));
  // SSE4.2
  t.push(X('pcmpgtq xmm0, xmm1'), X('pcmpgtq xmm2, xmmword ptr [rsi+64]'));
  for (const imm of [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0c, 0x0d, 0x0e, 0x10, 0x18, 0x1a, 0x30, 0x34, 0x3c, 0x40, 0x44, 0x48, 0x4c, 0x70, 0x7f]) {
    t.push(X(`pcmpistri xmm1, xmm2, ${imm}`), X(`pcmpistrm xmm1, xmm2, ${imm}`), X(`pcmpestri xmm1, xmm2, ${imm}`), X(`pcmpestrm xmm1, xmmword ptr [rsi+67], ${imm}`));
  }
  t.push(X('rex.w pcmpestri xmm1, xmm2, 0x0c'), X('rex.w pcmpestrm xmm1, xmm2, 0x44'));
  t.push('crc32 eax, bl', 'crc32 eax, bx', 'crc32 eax, ebx', 'crc32 rax, rbx', 'crc32 rax, bl', 'crc32 ecx, byte ptr [rsi+5]', 'crc32 rcx, qword ptr [rsi+8]', 'crc32 edx, word ptr [rsi+3]');
  t.push('popcnt rax, rbx', 'popcnt ecx, edx', 'popcnt ax, bx', 'popcnt r8, qword ptr [rsi+8]');
  // AES-NI
  for (const op of ['aesenc', 'aesenclast', 'aesdec', 'aesdeclast', 'aesimc']) t.push(X(`${op} xmm0, xmm1`), X(`${op} xmm2, xmmword ptr [rsi+64]`));
  for (const imm of [0, 1, 0x36, 0x80, 0xff]) t.push(X(`aeskeygenassist xmm0, xmm1, ${imm}`));
  t.push(X('aeskeygenassist xmm2, xmmword ptr [rsi+64], 0x1b'));
  // PCLMULQDQ
  for (const imm of [0x00, 0x01, 0x10, 0x11, 0xff]) t.push(X(`pclmulqdq xmm0, xmm1, ${imm}`));
  t.push(X('pclmulqdq xmm2, xmmword ptr [rsi+64], 0x10'));
  // SHA
  for (const op of ['sha1nexte', 'sha1msg1', 'sha1msg2', 'sha256msg1', 'sha256msg2']) t.push(X(`${op} xmm1, xmm2`), X(`${op} xmm3, xmmword ptr [rsi+64]`));
  for (const imm of [0, 1, 2, 3]) t.push(X(`sha1rnds4 xmm1, xmm2, ${imm}`));
  t.push(X('sha256rnds2 xmm1, xmm2'), X('sha256rnds2 xmm3, xmmword ptr [rsi+64]'));
  return t;
}

const F32_SPECIALS = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff,
  0x3f800000, 0x3fc00000, 0xbfc00000, 0x40200000, 0x3f000000, 0xbf000000, 0x4b000001, 0x7f7fffff, 0x00800000];
const F64_SPECIALS = [0n, 0x8000000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000123n,
  0x7ff0000000000001n, 0x7ff4000000000000n, 1n, 0x800fffffffffffffn, 0x3ff0000000000000n, 0x3ff8000000000000n, 0xc004000000000000n,
  0x3fe0000000000000n, 0xbfe0000000000000n, 0x4330000000000001n, 0x7fefffffffffffffn, 0x0010000000000000n];

/** Fill the data page in one of four styles. */
function fillData(rand: () => bigint, style: number): Uint8Array {
  const data = new Uint8Array(DATA_BYTES), dv = new DataView(data.buffer);
  for (let i = 0; i < DATA_BYTES; i += 8) {
    const x = rand();
    switch (style) {
      case 0: dv.setBigUint64(i, x, true); break;
      case 1: for (let k = 0; k < 8; k++) data[i + k] = Number((x >> BigInt(8 * k)) & 3n) * (k & 1 ? 1 : 0x21); break;
      case 2: // f32 lanes: specials or random
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

describe('SIMD extensions: JIT vs host CPU', () => {
  const snippets = simdTemplates();
  const codes = assemble(snippets);
  const native = buildNativeHelper();
  const undef = undefinedFlags(codes);
  for (const noInline of [false, true]) {
    test(`${snippets.length} templates x ${CASES_PER_TEMPLATE} inputs (${noInline ? 'executor' : 'inline'})`, async () => {
      const { jit, mem } = await makeJit(noInline);
      const rand = rng(0x51d5eed5n + (noInline ? 7n : 0n));
      const cases: Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> = [];
      for (let t = 0; t < codes.length; t++) {
        for (let k = 0; k < CASES_PER_TEMPLATE; k++) {
          const gpr: bigint[] = [];
          for (let r = 0; r < 16; r++) gpr.push(rand());
          // PCMPESTRx lengths: mostly in or near [-17, 17], sometimes huge.
          gpr[0] = k % 4 === 3 ? gpr[0]! : BigInt.asUintN(64, BigInt(Number(rand() % 37n) - 18));
          gpr[2] = k % 5 === 4 ? gpr[2]! : BigInt.asUintN(64, BigInt(Number(rand() % 37n) - 18));
          gpr[4] = BigInt(DATA_ADDR + 3072); // rsp
          gpr[6] = BigInt(DATA_ADDR + 256); // rsi (16-byte aligned for the aligned memory forms)
          gpr[7] = BigInt(DATA_ADDR + 1024);
          const rflags = 2n | (rand() & 0x8d5n);
          const data = fillData(rand, k % 4);
          const dv = new DataView(data.buffer);
          for (let rc = 0; rc < 4; rc++) dv.setUint32(256 + 1024 + 4 * rc, 0x1f80 | (rc << 13), true);
          dv.setUint32(256 + 1040, 0x1f80, true);
          cases.push({ t, code: codes[t]!, gpr, rflags, data });
        }
      }
      // The native helper is fed in chunks (one huge stdin/stdout exchange loses lines at FULL sizes).
      const expected = runNative(native, cases);
      expect(expected.length).toBe(cases.length);
      const failures: string[] = [];
      const v = jit.vcpus[0]!;
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i]!, e = expected[i]!;
        const r = runCaseOnJit(jit, mem, c);
        const name = `#${i} ${snippets[c.t]} (style ${i % CASES_PER_TEMPLATE % 4})`;
        if (e.fault !== undefined) {
          if (r !== 'triple') failures.push(`${name}: host faulted (signal ${e.fault}), JIT ${r}`);
          continue;
        }
        if (r !== 'halted') { failures.push(`${name}: JIT ${r} ${v.lastError ?? ''} rip=${v.st.rip.toString(16)}`); continue; }
        const s = jit.getState(0);
        const mask = BigInt(0x8d5 & ~undef[c.t]!);
        const diffs: string[] = [];
        for (let g = 0; g < 16; g++) if (s.regs.gpr[g] !== e.gpr![g]) diffs.push(`r${g}: jit ${s.regs.gpr[g]!.toString(16)} host ${e.gpr![g]!.toString(16)}`);
        if ((s.regs.rflags & mask) !== (e.rflags! & mask)) diffs.push(`flags: jit ${s.regs.rflags.toString(16)} host ${e.rflags!.toString(16)} mask ${mask.toString(16)}`);
        const d = mem.readBytes(DATA_ADDR, DATA_BYTES);
        for (let b = 0; b < DATA_BYTES; b++) {
          if (d[b] !== e.data![b]) {
            const at = b & ~15;
            const hex = (x: Uint8Array): string => Buffer.from(x.subarray(at, at + 16)).toString('hex');
            diffs.push(`mem[+${b}]: jit ${hex(d)} host ${hex(e.data!)} in ${Buffer.from(c.data.subarray(256, 336)).toString('hex')}`);
            break;
          }
        }
        if (diffs.length) failures.push(`${name}: ${diffs.join('; ')}`);
      }
      // One line per failing template (the first failing input), then the count.
      const seen = new Set<string>();
      const firstPerTemplate = failures.filter((f) => { const k = f.replace(/^#\d+ /, '').split(' (style')[0]!; if (seen.has(k)) return false; seen.add(k); return true; });
      if (failures.length) console.log(`${failures.length} failures in ${firstPerTemplate.length} templates:\n` + firstPerTemplate.slice(0, 60).join('\n'));
      expect(failures.slice(0, 20)).toEqual([]);
    }, 120_000);
  }
});
