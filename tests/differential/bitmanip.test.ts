// Differential test: BMI1, BMI2, ADX, MOVBE, LZCNT/TZCNT and POPCNT run natively
// on the host CPU and on the JIT's executor (src/cpu/runtime/bitmanip.ts) with
// the same registers, flags and data page. Every register form at 16/32/64
// bits where it exists, memory forms, boundary counts and control fields
// (0, 1, width-1, width, width+1, 255), and operands 0 / all-ones / random.
// On an Intel host all six status flags are compared, including the ones the
// SDM leaves undefined (the JIT follows Intel there); on another vendor the
// undefined ones are masked. Seeded; FULL=1 runs more cases per template.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  assemble, buildNativeHelper, DATA_ADDR, DATA_BYTES, makeJit, rng, runCaseOnJit, runNative, undefinedFlags,
} from './cpu-native-helper.js';

const FULL = !!process.env['FULL'];
const CASES_PER_TEMPLATE = FULL ? 200 : 16;
const INTEL_HOST = /GenuineIntel/.test(readFileSync('/proc/cpuinfo', 'utf8'));

/** Operands that exercise the edges: zero, one, all-ones, sign bits, single bytes. */
const SPECIAL = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffffn, 0x80000000n,
  0x7fffffffn, 0xffffn, 0x8000n, 0x80n, 0xffn, 0x100000000n, 0xff00ff00ff00ff00n];
/** Shift/rotate/BZHI counts around the operand widths (hardware masks or saturates them). */
const COUNTS = [0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 255];

interface Template { asm: string; /** how RCX (the control/count register) is drawn */ ctl?: 'count' | 'bextr' }

function templates(): Template[] {
  const t: Template[] = [];
  const regMem = (op: string, ctl?: Template['ctl']): void => {
    t.push({ asm: `${op} rax, rbx, rcx`, ctl }, { asm: `${op} eax, ebx, ecx`, ctl }, { asm: `${op} r9, r10, rcx`, ctl });
  };
  // ANDN d, s1, s2 / PDEP / PEXT (d, vvvv, r/m)
  for (const op of ['andn', 'pdep', 'pext']) {
    regMem(op);
    t.push({ asm: `${op} r8, rbx, qword ptr [rsi+8]` }, { asm: `${op} r8d, ebx, dword ptr [rsi+4]` });
  }
  // BEXTR / BZHI / SHLX / SARX / SHRX (d, r/m, vvvv)
  for (const [op, ctl] of [['bextr', 'bextr'], ['bzhi', 'count'], ['shlx', 'count'], ['sarx', 'count'], ['shrx', 'count']] as const) {
    regMem(op, ctl);
    t.push({ asm: `${op} rax, qword ptr [rsi+16], rcx`, ctl }, { asm: `${op} eax, dword ptr [rsi+20], ecx`, ctl });
    t.push({ asm: `${op} rcx, rbx, rcx`, ctl }); // destination = control register
  }
  // BLSI / BLSMSK / BLSR (vvvv, r/m)
  for (const op of ['blsi', 'blsmsk', 'blsr']) {
    t.push({ asm: `${op} rax, rbx` }, { asm: `${op} eax, ebx` }, { asm: `${op} r11, qword ptr [rsi+24]` }, { asm: `${op} edx, dword ptr [rsi+28]` }, { asm: `${op} rbx, rbx` });
  }
  // TZCNT / LZCNT / POPCNT at 16, 32, 64 bits
  for (const op of ['tzcnt', 'lzcnt', 'popcnt']) {
    t.push({ asm: `${op} rax, rbx` }, { asm: `${op} eax, ebx` }, { asm: `${op} ax, bx` }, { asm: `${op} r12, qword ptr [rsi+32]` },
      { asm: `${op} ecx, dword ptr [rsi+36]` }, { asm: `${op} dx, word ptr [rsi+38]` });
  }
  // MULX hi, lo, r/m (RDX implicit); equal destinations keep the high half.
  t.push({ asm: 'mulx rax, rbx, rcx' }, { asm: 'mulx eax, ebx, ecx' }, { asm: 'mulx r8, r9, qword ptr [rsi+40]' },
    { asm: 'mulx r8d, r9d, dword ptr [rsi+44]' }, { asm: 'mulx rax, rax, rcx' }, { asm: 'mulx rdx, rbx, rdx' }, { asm: 'mulx eax, eax, edx' });
  // RORX d, r/m, imm8
  for (const n of [0, 1, 5, 31, 32, 63, 64, 255]) t.push({ asm: `rorx rax, rbx, ${n}` }, { asm: `rorx eax, ebx, ${n}` });
  t.push({ asm: 'rorx r10, qword ptr [rsi+48], 17' }, { asm: 'rorx r10d, dword ptr [rsi+52], 9' });
  // ADCX / ADOX: carry chains through CF and OF independently (the multi-precision multiply idiom)
  for (const op of ['adcx', 'adox']) {
    t.push({ asm: `${op} rax, rbx` }, { asm: `${op} eax, ebx` }, { asm: `${op} r13, qword ptr [rsi+56]` }, { asm: `${op} r13d, dword ptr [rsi+60]` });
  }
  t.push({ asm: 'adcx rax, rbx; adox rcx, rdx; adcx r8, r9; adox r10, r11; adcx eax, r12d' });
  t.push({ asm: 'xor eax, eax; mulx r9, r8, qword ptr [rsi]; adcx r8, r10; adox r9, r11; mulx r11, r10, qword ptr [rsi+8]; adcx r9, r10; adox r11, rax' });
  // MOVBE load and store at 16, 32, 64 bits (unaligned addresses)
  t.push({ asm: 'movbe ax, word ptr [rsi+1]' }, { asm: 'movbe eax, dword ptr [rsi+3]' }, { asm: 'movbe rax, qword ptr [rsi+5]' },
    { asm: 'movbe word ptr [rsi+7], bx' }, { asm: 'movbe dword ptr [rsi+9], ebx' }, { asm: 'movbe qword ptr [rsi+11], rbx' },
    { asm: 'movbe r14, qword ptr [rsi+64]; movbe qword ptr [rsi+72], r14' });
  return t;
}

describe('BMI1/BMI2/ADX/MOVBE/LZCNT: JIT vs host CPU', () => {
  const tpl = templates();
  const codes = assemble(tpl.map((x) => x.asm));
  const native = buildNativeHelper();
  const undef = undefinedFlags(codes);
  // Translated (the translator lowers POPCNT/LZCNT/TZCNT/RORX/SHLX/SHRX/SARX/ANDN/MULX: simd-lower.ts) and executor only.
  for (const noInline of [false, true]) test(`${tpl.length} templates x ${CASES_PER_TEMPLATE} inputs (${noInline ? 'executor' : 'translated'})`, async () => {
    const { jit, mem } = await makeJit(noInline);
    const rand = rng(0x5eed_b111_0000_0001n);
    const pick = <T>(xs: readonly T[]): T => xs[Number(rand() % BigInt(xs.length))]!;
    const cases: Array<{ t: number; code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }> = [];
    for (let t = 0; t < codes.length; t++) {
      for (let k = 0; k < CASES_PER_TEMPLATE; k++) {
        const gpr: bigint[] = [];
        for (let r = 0; r < 16; r++) {
          const x = rand();
          gpr.push(x % 3n === 0n ? pick(SPECIAL) : x % 3n === 1n ? x >> BigInt(Number(rand() % 64n)) : x);
        }
        const hi = rand() & ~0xffffn;
        if (tpl[t]!.ctl === 'count') gpr[1] = (rand() & ~0xffn) | BigInt(pick(COUNTS));
        if (tpl[t]!.ctl === 'bextr') gpr[1] = hi | (BigInt(pick(COUNTS)) << 8n) | BigInt(pick(COUNTS));
        gpr[4] = BigInt(DATA_ADDR + 3072); // rsp
        gpr[6] = BigInt(DATA_ADDR + 256 + Number(rand() % 64n)); // rsi
        gpr[7] = BigInt(DATA_ADDR + 1024 + Number(rand() % 64n)); // rdi
        const rflags = 2n | (rand() & 0x8d5n);
        const data = new Uint8Array(DATA_BYTES);
        const dv = new DataView(data.buffer);
        for (let i = 0; i < DATA_BYTES; i += 8) dv.setBigUint64(i, k % 4 === 0 ? pick(SPECIAL) : rand(), true);
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
      const name = `${tpl[c.t]!.asm} gpr=[${c.gpr.map((g) => g.toString(16)).join(',')}] fl=${c.rflags.toString(16)}`;
      if (e.fault !== undefined) { failures.push(`${name}: host faulted (signal ${e.fault})`); continue; }
      if (r !== 'halted') { failures.push(`${name}: JIT ${r} ${v.lastError ?? ''} rip=${v.st.rip.toString(16)}`); continue; }
      const s = jit.getState(0);
      const mask = BigInt(INTEL_HOST ? 0x8d5 : 0x8d5 & ~undef[c.t]!);
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
});
