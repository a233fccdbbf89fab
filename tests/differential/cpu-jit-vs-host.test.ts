// Differential test: instruction snippets run natively on the host CPU and on
// the JIT (inline translation and the TypeScript executor) with the same
// random registers, flags and data page; registers, status flags (minus the
// ones the SDM leaves undefined for the instructions involved) and memory
// must match. Seeded and bounded; FULL=1 runs more cases.
import { describe, expect, test } from 'vitest';
import {
  assemble, buildNativeHelper, CODE_ADDR, DATA_ADDR, DATA_BYTES, makeJit, rng, runCaseOnJit, runNative, undefinedFlags,
} from './cpu-native-helper.js';

const FULL = !!process.env['FULL'];
const CASES_PER_TEMPLATE = FULL ? 60 : 5;

const S8 = [['al', 'bl'], ['ah', 'cl'], ['dl', 'bh'], ['sil', 'r9b']];
const S16 = [['ax', 'bx'], ['cx', 'r10w']];
const S32 = [['eax', 'ebx'], ['ecx', 'r11d']];
const S64 = [['rax', 'rbx'], ['rcx', 'r12']];
const ALL = [...S8, ...S16, ...S32, ...S64];
const sizeName = (r: string): string => (/^(r\d+b|[a-d][lh]|sil|dil)$/.test(r) ? 'byte' : /^(r\d+w|[a-d]x|si|di)$/.test(r) ? 'word' : /^(e..|r\d+d)$/.test(r) ? 'dword' : 'qword');

function templates(): string[] {
  const t: string[] = [];
  for (const op of ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test']) {
    for (const [a, b] of ALL) { t.push(`${op} ${a}, ${b}`); t.push(`${op} ${sizeName(a)} ptr [rsi+8], ${b}`); }
    for (const [a] of ALL) t.push(`${op} ${a}, 0x5a`);
    t.push(`${op} rax, -3`, `${op} ${'dword'} ptr [rsi], 0x7fffffff`);
    if (op !== 'test') for (const [a] of ALL) t.push(`${op} ${a}, ${sizeName(a)} ptr [rsi+16]`);
  }
  for (const op of ['inc', 'dec', 'neg', 'not']) for (const [a] of ALL) { t.push(`${op} ${a}`); }
  t.push('inc qword ptr [rsi]', 'dec byte ptr [rsi+3]', 'neg dword ptr [rsi+4]');
  for (const op of ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']) {
    for (const [a] of [...S8.slice(0, 1), ...S16.slice(0, 1), ...S32.slice(0, 1), ...S64.slice(0, 1)]) {
      t.push(`${op} ${a}, 1`, `${op} ${a}, 7`, `${op} ${a}, cl`);
    }
  }
  t.push('shld rax, rbx, 13', 'shrd eax, ebx, cl', 'shld ax, bx, 5', 'shrd rax, rbx, cl');
  t.push('mul rbx', 'mul ebx', 'mul bx', 'mul bl', 'imul rbx', 'imul ecx', 'imul bl', 'imul rax, rbx', 'imul eax, ebx, 1234', 'imul rax, qword ptr [rsi], -7', 'imul ax, bx');
  t.push('div rbx', 'div ebx', 'idiv rbx', 'idiv ecx', 'div bl', 'idiv bx');
  t.push('bt rax, rbx', 'bts eax, 7', 'btr rax, 63', 'btc ax, bx', 'bt qword ptr [rsi], rbx', 'bts dword ptr [rsi+8], 3');
  t.push('bsf rax, rbx', 'bsr ecx, edx', 'bsf ax, bx', 'bswap rax', 'bswap ecx');
  t.push('movzx eax, bl', 'movzx rax, bx', 'movsx rax, bl', 'movsx eax, bx', 'movsxd rax, ebx', 'movzx ecx, byte ptr [rsi+1]', 'movsx rdx, word ptr [rsi+2]');
  for (const cc of ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']) {
    t.push(`cmp rax, rbx; set${cc} cl`, `cmp eax, ebx; cmov${cc} ecx, edx`, `sub al, bl; j${cc} 1f; mov r8, 1; 1: nop`, `add rax, rbx; cmov${cc} rcx, qword ptr [rsi]`);
  }
  t.push('xchg rax, rbx', 'xchg eax, ecx', 'xchg al, bh', 'xadd rax, rbx', 'xadd dword ptr [rsi], ecx', 'cmpxchg rcx, rbx', 'cmpxchg dword ptr [rsi], ebx', 'lock cmpxchg qword ptr [rsi+8], rdx');
  t.push('cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo', 'lea rax, [rbx+rcx*4+0x123]', 'lea eax, [rbx+rcx*8-5]', 'lahf', 'sahf', 'clc', 'stc', 'cmc');
  t.push('mov rax, 0x123456789abcdef0', 'mov eax, ebx', 'mov ax, bx', 'mov ah, bl', 'mov qword ptr [rsi+24], rbx', 'mov ecx, dword ptr [rsi+4]', 'mov byte ptr [rsi+7], 0x80');
  t.push('push rbx; pop rcx', 'push 0x1234; pop rax', 'call 1f; 1: pop rax', 'push rax; push rbx; pop rcx; pop rdx');
  t.push('and rcx, 15; rep movsb', 'and rcx, 7; rep stosq', 'lodsb', 'and rcx, 15; repne scasb', 'cmpsb', 'and rcx, 7; repe cmpsb', 'movsq', 'std; lodsw; cld');
  t.push('adc rax, rbx; adc rcx, rdx; sbb r8, r9', 'inc rax; adc rbx, 0', 'dec ecx; setz al; setc bl');
  t.push('movdqu xmm0, [rsi]; movdqu xmm1, [rsi+16]; paddd xmm0, xmm1; movdqu [rsi+32], xmm0',
    'movdqu xmm0, [rsi]; movdqu xmm1, [rsi+16]; pcmpeqb xmm0, xmm1; pmovmskb eax, xmm0',
    'movdqu xmm0, [rsi]; pxor xmm0, [rsi+16]; movdqu [rsi+48], xmm0',
    'movdqu xmm0, [rsi]; pshufd xmm1, xmm0, 0x1b; movdqu [rsi+64], xmm1',
    'movdqu xmm0, [rsi]; movdqu xmm1, [rsi+16]; punpcklbw xmm0, xmm1; movdqu [rsi+64], xmm0',
    'movdqu xmm0, [rsi]; movdqu xmm1, [rsi+16]; psubq xmm0, xmm1; psllq xmm0, 3; movdqu [rsi+64], xmm0',
    'cvtsi2sd xmm0, rax; cvtsi2sd xmm1, rbx; addsd xmm0, xmm1; mulsd xmm0, xmm1; cvttsd2si rcx, xmm0',
    'cvtsi2sd xmm0, rax; cvtsi2sd xmm1, rbx; ucomisd xmm0, xmm1; movq rdx, xmm0',
    'cvtsi2sd xmm0, rax; sqrtsd xmm1, xmm0; movq [rsi+8], xmm1',
    'movq xmm0, rax; movd xmm1, ebx; por xmm0, xmm1; movq rcx, xmm0',
    'movups xmm2, [rsi]; movaps xmm3, xmm2; andps xmm3, [rsi+16]; movups [rsi+80], xmm3',
    // self-loop blocks (translate/block.ts: a wasm loop with registers and flags in locals)
    'and rcx, 15; inc rcx; 1: add rax, rbx; adc rdx, rax; xor rbx, rdx; dec rcx; jnz 1b',
    'and rcx, 31; inc rcx; mov rdi, rsi; 1: movzx eax, byte ptr [rdi]; add rdi, 1; xor rdx, rax; imul rdx, rbx; mov byte ptr [rdi+64], dl; sub rcx, 1; jne 1b',
    'and rcx, 7; 1: shl rax, 1; rcl rbx, 1; inc rcx; cmp rcx, 9; jbe 1b',
    // inline SSE (translate/block.ts genSse): logic, add/sub/compare, shifts by imm incl. counts past the lane width
    'movdqu xmm0, [rsi]; movdqu xmm1, [rsi+16]; pandn xmm0, xmm1; pcmpgtd xmm1, xmm0; movdqu [rsi+32], xmm0; movdqu [rsi+48], xmm1',
    'movdqu xmm0, [rsi]; movdqa xmm1, xmm0; psrld xmm0, 5; psraw xmm1, 20; movdqu [rsi+32], xmm0; movdqu [rsi+48], xmm1',
    'movdqu xmm0, [rsi]; movdqa xmm1, xmm0; psrlq xmm0, 64; pslld xmm1, 31; psrad xmm1, 3; psllw xmm0, 16; movups [rsi+32], xmm0; movdqu [rsi+48], xmm1',
    'and rsi, -16; movdqa xmm0, [rsi]; pand xmm0, [rsi+16]; por xmm0, xmm0; paddb xmm0, [rsi+32]; pcmpeqw xmm0, [rsi+48]; movdqa [rsi+64], xmm0',
    'movdqu xmm4, [rsi+1]; movdqu xmm5, [rsi+17]; paddw xmm4, xmm5; psubb xmm5, xmm4; pcmpgtb xmm4, xmm5; paddq xmm5, xmm5; xorpd xmm4, xmm5; movupd [rsi+96], xmm4; movdqu [rsi+112], xmm5');
  return t;
}

describe('JIT vs host CPU', () => {
  const snippets = templates();
  const codes = assemble(snippets);
  const native = buildNativeHelper();
  const undef = undefinedFlags(codes);
  for (const noInline of [false, true]) {
    test(`${snippets.length} templates x ${CASES_PER_TEMPLATE} random inputs (${noInline ? 'executor' : 'inline'})`, async () => {
      const { jit, mem } = await makeJit(noInline);
      const rand = rng(0x9e3779b97f4a7c15n + (noInline ? 1n : 0n));
      const special = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0x80n, 0x7fn, 0xffn, 0x8000n, 0xffffffffn, 0x80000000n];
      const cases: Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> = [];
      for (let t = 0; t < codes.length; t++) {
        for (let k = 0; k < CASES_PER_TEMPLATE; k++) {
          const gpr: bigint[] = [];
          for (let r = 0; r < 16; r++) {
            const x = rand();
            gpr.push(x % 3n === 0n ? special[Number(x % BigInt(special.length))]! : x % 3n === 1n ? x & 0xffn : x);
          }
          gpr[4] = BigInt(DATA_ADDR + 3072); // rsp
          gpr[6] = BigInt(DATA_ADDR + 256 + Number(rand() % 64n)); // rsi
          gpr[7] = BigInt(DATA_ADDR + 1024 + Number(rand() % 64n)); // rdi
          if (/div/.test(snippets[t]!) && k % 2 === 0) { gpr[2] = 0n; gpr[3] |= 1n; gpr[1] |= 1n; }
          if (/^bt. .* ptr \[rsi\], rbx/.test(snippets[t]!) || /^bt qword ptr/.test(snippets[t]!)) gpr[3] &= 0x3ffn;
          if (/^(bs[fr])/.test(snippets[t]!)) { gpr[3] |= 1n << BigInt(Number(rand() % 16n)); gpr[2] |= 0x100n; }
          const rflags = 2n | (rand() & 0x8d5n);
          const data = new Uint8Array(DATA_BYTES);
          for (let i = 0; i < DATA_BYTES; i += 8) new DataView(data.buffer).setBigUint64(i, rand(), true);
          cases.push({ t, code: codes[t]!, gpr, rflags, data });
        }
      }
      const expected = runNative(native, cases);
      expect(expected.length).toBe(cases.length);
      const failures: string[] = [];
      const v = jit.vcpus[0]!;
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i]!, e = expected[i]!;
        const r = runCaseOnJit(jit, mem, c);
        const name = `${snippets[c.t]} gpr=[${c.gpr.map((g) => g.toString(16)).join(',')}] fl=${c.rflags.toString(16)}`;
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
        for (let b = 0; b < DATA_BYTES; b++) if (d[b] !== e.data![b]) { diffs.push(`mem[+${b}]: jit ${d[b]} host ${e.data![b]}`); break; }
        if (diffs.length) failures.push(`${name}: ${diffs.join('; ')}`);
      }
      if (failures.length) console.log(`${failures.length} failures:\n` + failures.slice(0, 40).join('\n'));
      expect(failures.slice(0, 20)).toEqual([]);
    });
  }
});
