/**
 * Decoder contract cases that the differential oracles cannot see: the
 * failure kinds (#UD / #GP / needs more bytes), feature gating, AMD choices,
 * immediate representation, implicit operands and metadata. Expectations come
 * from the Intel SDM Vol. 2 / AMD APM Vol. 3 text cited per case.
 */
import { describe, expect, test } from 'vitest';
import { decode, decodeInto, relTarget } from '../../../src/cpu/decoder/decoder.js';
import { formatInstruction } from '../../../src/cpu/decoder/disasm.js';
import { ALL_FEATURES, featuresFromCpuid, hasFeature, makeFeatureSet, withoutFeatures } from '../../../src/cpu/decoder/features.js';
import {
  ACCESS_READ, ACCESS_WRITE, ATTR_LOCKED, ATTR_PRIVILEGED, ATTR_SERIALIZING, BASE_RIP, DECODE_GP, DECODE_MORE,
  DECODE_UD, Feature, FLAG_CF, FLAG_OF, FLAGS_STATUS, Flow, Instruction, Mn, NO_REG, OpKind, RegClass, UdReason,
  type CpuMode,
} from '../../../src/cpu/decoder/types.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

function ok(hex: string, mode: CpuMode = 64, features = ALL_FEATURES): Instruction {
  const r = decode(bytes(hex), 0, mode, features);
  if (!(r instanceof Instruction)) throw new Error(`${hex}: ${JSON.stringify(r)}`);
  return r;
}

describe('failure kinds', () => {
  test('a truncated instruction asks for more bytes, never more than 15', () => {
    expect(decode(bytes('48 8b 84 24 00 00'), 0, 64)).toEqual({ kind: 'more', needed: 8 });
    expect(decode(bytes('48'), 0, 64)).toEqual({ kind: 'more', needed: 2 });
    expect(decode(bytes('0f'), 0, 64)).toEqual({ kind: 'more', needed: 2 });
    expect(decode(bytes(''), 0, 64)).toEqual({ kind: 'more', needed: 1 });
  });
  test('longer than 15 bytes is #GP(0) (SDM Vol. 2 §2.3.11)', () => {
    // 14 prefixes + 3-byte instruction = 17 bytes.
    expect(decode(bytes('66'.repeat(14) + '05 00 00'), 0, 64)).toEqual({ kind: 'gp', length: 15 });
    // Exactly 15 is fine: 11 prefixes + 81 /0 id would be 17; 8 prefixes + 7-byte add = 15.
    expect(ok('2e'.repeat(8) + '81 c0 01 02 03 04'.replace(/ /g, '') + '').length).toBe(14);
    expect(ok('2e'.repeat(9) + '81c001020304').length).toBe(15);
    expect(decode(bytes('2e'.repeat(10) + '81c001020304'), 0, 64)).toEqual({ kind: 'gp', length: 15 });
  });
  test('decodeInto respects `end` and returns the needed count', () => {
    const insn = new Instruction();
    const b = bytes('e8 11 22 33 44');
    expect(decodeInto(insn, b, 0, 3, 64)).toBe(DECODE_MORE);
    expect(insn.length).toBe(5);
    expect(decodeInto(insn, b, 0, 5, 64)).toBe(5);
  });
  test('#UD reasons', () => {
    const ud = (hex: string, mode: CpuMode = 64): unknown => decode(bytes(hex), 0, mode);
    expect(ud('0f 0b')).toBeInstanceOf(Instruction); // UD2 decodes; it raises #UD when executed
    expect(ud('06')).toMatchObject({ kind: 'ud', reason: UdReason.MODE }); // PUSH ES in 64-bit mode
    expect(ud('37')).toMatchObject({ kind: 'ud', reason: UdReason.MODE }); // AAA
    expect(ud('f0 01 c0')).toMatchObject({ kind: 'ud', reason: UdReason.LOCK }); // LOCK ADD reg,reg
    expect(ud('f0 8b 00')).toMatchObject({ kind: 'ud', reason: UdReason.LOCK }); // LOCK MOV
    expect(ud('66 c5 f8 77')).toMatchObject({ kind: 'ud', reason: UdReason.VEX }); // 66 before VEX
    expect(ud('c5 f0 77')).toMatchObject({ kind: 'ud', reason: UdReason.VEX }); // VZEROUPPER with vvvv != 1111b
    expect(ud('62 f1 7c 48 58 c1')).toEqual({ kind: 'ud', length: 6, reason: UdReason.UNSUPPORTED }); // EVEX vaddps zmm
    expect(ud('0f 0f c1 9e')).toEqual({ kind: 'ud', length: 4, reason: UdReason.UNSUPPORTED }); // 3DNow! pfadd
    expect(ud('8e c8')).toMatchObject({ kind: 'ud' }); // MOV CS, ax
    expect(ud('0f 20 c8')).toMatchObject({ kind: 'ud' }); // MOV rax, CR1
  });
});

describe('features', () => {
  test('a disabled feature decodes to #UD', () => {
    const noAvx = withoutFeatures(ALL_FEATURES, [Feature.AVX, Feature.AVX2]);
    expect(decode(bytes('c5 fc 58 c1'), 0, 64, noAvx)).toMatchObject({ kind: 'ud', reason: UdReason.FEATURE });
    expect(decode(bytes('f3 0f b8 c1'), 0, 64, withoutFeatures(ALL_FEATURES, [Feature.POPCNT])))
      .toMatchObject({ kind: 'ud', reason: UdReason.FEATURE });
    const l0only = withoutFeatures(ALL_FEATURES, [Feature.AVX2]);
    expect(ok('c5 f9 fe c1', 64, l0only).mn).toBe(Mn.VPADDD); // 128-bit integer op: AVX
    expect(decode(bytes('c5 fd fe c1'), 0, 64, l0only)).toMatchObject({ kind: 'ud' }); // 256-bit: AVX2
  });
  test('TZCNT/LZCNT fall back to BSF/BSR without BMI1/LZCNT (the F3 prefix is ignored)', () => {
    const none = makeFeatureSet([]);
    expect(ok('f3 0f bc c1', 64, none).mn).toBe(Mn.BSF);
    expect(ok('f3 0f bd c1', 64, none).mn).toBe(Mn.BSR);
    expect(ok('f3 0f bc c1').mn).toBe(Mn.TZCNT);
    expect(ok('f3 0f 1e fa', 64, none).mn).toBe(Mn.NOP); // ENDBR64 without CET is a hint NOP
  });
  test('featuresFromCpuid reads the SDM/APM bit positions', () => {
    // Leaf 1 ECX bit 23 POPCNT, bit 28 AVX; leaf 7 EBX bit 3 BMI1; 80000001h ECX bit 5 LZCNT (ABM).
    const regs: Record<string, { eax: number; ebx: number; ecx: number; edx: number }> = {
      '0': { eax: 7, ebx: 0, ecx: 0, edx: 0 },
      '1': { eax: 0, ebx: 0, ecx: 1 << 23, edx: (1 << 25) | (1 << 26) },
      '7': { eax: 0, ebx: 1 << 3, ecx: 0, edx: 0 },
      '2147483648': { eax: 0x80000001, ebx: 0, ecx: 0, edx: 0 },
      '2147483649': { eax: 0, ebx: 0, ecx: 1 << 5, edx: 0 },
    };
    const fs = featuresFromCpuid((leaf) => regs[String(leaf >>> 0)] ?? { eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect([Feature.POPCNT, Feature.BMI1, Feature.LZCNT, Feature.SSE2].map((f) => hasFeature(fs, f))).toEqual([true, true, true, true]);
    expect([Feature.AVX, Feature.BMI2, Feature.SSE3].map((f) => hasFeature(fs, f))).toEqual([false, false, false]);
    expect(decode(bytes('c5 fc 58 c1'), 0, 64, fs)).toMatchObject({ kind: 'ud', reason: UdReason.FEATURE });
    expect(ok('f3 0f b8 c1', 64, fs).mn).toBe(Mn.POPCNT);
  });
  test('LAHF/SAHF need LAHF_LM only in 64-bit mode', () => {
    const noLahf = withoutFeatures(ALL_FEATURES, [Feature.LAHF_LM]);
    expect(decode(bytes('9f'), 0, 64, noLahf)).toMatchObject({ kind: 'ud' });
    expect(ok('9f', 32, noLahf).mn).toBe(Mn.LAHF);
  });
});

describe('prefixes and REX', () => {
  test('a REX followed by a legacy prefix is ignored (SDM Vol. 2 §2.2.1)', () => {
    const i = ok('48 66 01 c0');
    expect(i.opSize).toBe(16);
    expect(i.rex).toBe(0);
    expect(ok('66 48 01 c0').opSize).toBe(64); // REX.W wins over 66
  });
  test('SPL/BPL/SIL/DIL with any REX, AH..BH without', () => {
    const a = ok('88 e0'); // mov al, ah
    expect(a.ops[1]).toMatchObject({ kind: OpKind.REG, reg: 0, highByte: true, size: 1 });
    const b = ok('40 88 e0'); // mov al, spl
    expect(b.ops[1]).toMatchObject({ kind: OpKind.REG, reg: 4, highByte: false, size: 1 });
    expect(formatInstruction(a)).toBe('mov    al,ah');
    expect(formatInstruction(b)).toBe('mov    al,spl');
  });
  test('segment overrides: last one wins; FS/GS survive a later null prefix in 64-bit mode', () => {
    expect(ok('64 3e 8b 00').ops[1]!.seg).toBe(4);
    expect(ok('3e 64 8b 00').ops[1]!.seg).toBe(4);
    expect(ok('64 3e 8b 00', 32).ops[1]!.seg).toBe(3);
    expect(ok('8b 45 00', 32).ops[1]!.seg).toBe(2); // [ebp] defaults to SS
  });
  test('F2/F3 both present: the last is the REP kind', () => {
    expect(ok('f2 f3 a4').rep).toBe(0xf3);
    expect(ok('f3 f2 a4').rep).toBe(0xf2);
  });
});

describe('operands', () => {
  test('RIP-relative and 67-prefixed EIP-relative', () => {
    const i = ok('48 8b 05 10 00 00 00');
    expect(i.ops[1]).toMatchObject({ kind: OpKind.MEM, base: BASE_RIP, index: NO_REG, disp: 16, addrSize: 64, size: 8 });
    expect(ok('67 8b 05 f0 ff ff ff').ops[1]).toMatchObject({ base: BASE_RIP, disp: -16, addrSize: 32 });
    expect(ok('8b 05 10 00 00 00', 32).ops[1]).toMatchObject({ base: NO_REG, disp: 16 }); // absolute in 32-bit mode
  });
  test('16-bit addressing forms (SDM Vol. 2 Table 2-1)', () => {
    expect(ok('8b 00', 16).ops[1]).toMatchObject({ base: 3, index: 6, addrSize: 16 }); // [bx+si]
    expect(ok('8b 46 fe', 16).ops[1]).toMatchObject({ base: 5, index: NO_REG, disp: -2, seg: 2 }); // [bp-2], SS
    expect(ok('8b 06 34 12', 16).ops[1]).toMatchObject({ base: NO_REG, index: NO_REG, disp: 0x1234 });
  });
  test('SIB: no index (100b), no base (mod 00, base 101b), REX.X makes index 4 real', () => {
    expect(ok('8b 04 24').ops[1]).toMatchObject({ base: 4, index: NO_REG, seg: 2 });
    expect(ok('8b 04 25 78 56 34 12').ops[1]).toMatchObject({ base: NO_REG, index: NO_REG, disp: 0x12345678 });
    expect(ok('42 8b 04 24').ops[1]).toMatchObject({ base: 4, index: 12, scale: 1 });
  });
  test('immediates: sign-extended ones are negative, full-width ones unsigned, imm64 split', () => {
    expect(ok('48 83 c0 ff').ops[1]).toMatchObject({ kind: OpKind.IMM, imm: -1, immHi: -1, size: 8 });
    expect(ok('05 ff ff ff ff').ops[1]).toMatchObject({ imm: 0xffffffff, immHi: 0, size: 4 });
    expect(ok('48 05 ff ff ff ff').ops[1]).toMatchObject({ imm: -1, immHi: -1, size: 8 });
    expect(ok('b0 ff').ops[1]).toMatchObject({ imm: 0xff, size: 1 });
    const m = ok('48 b8 ef cd ab 89 67 45 23 01');
    expect(m.ops[1]).toMatchObject({ imm: 0x89abcdef, immHi: 0x01234567, size: 8 });
    expect(formatInstruction(m)).toBe('movabs rax,0x123456789abcdef');
    expect(ok('6a 80').ops[0]).toMatchObject({ imm: -128, size: 8 }); // push imm8 sign-extended to 64
    expect(ok('c8 10 00 01').ops.slice(0, 2)).toMatchObject([{ imm: 16, size: 2 }, { imm: 1, size: 1 }]); // enter
  });
  test('moffs64 and far pointers', () => {
    const a = ok('48 a1 88 77 66 55 44 33 22 11');
    expect(a.length).toBe(10);
    expect(a.ops[1]).toMatchObject({ kind: OpKind.MEM, disp: 0x55667788, dispHi: 0x11223344, size: 8 });
    const j = ok('ea 78 56 34 12 cd ab', 32);
    expect(j.ops[0]).toMatchObject({ kind: OpKind.FAR, sel: 0xabcd, imm: 0x12345678 });
    expect(j.flow).toBe(Flow.JMP_FAR);
    expect(decode(bytes('ea 78 56 34 12 cd ab'), 0, 64)).toMatchObject({ kind: 'ud', reason: UdReason.MODE });
  });
  test('AMD: 66 makes near branches 16-bit in 64-bit mode; IP wraps', () => {
    const j = ok('66 e9 10 00');
    expect(j.length).toBe(4);
    expect(j.opSize).toBe(16);
    expect(relTarget(j, 0x1234fff0n)).toBe(0x0004n);
    expect(relTarget(ok('e8 fb ff ff ff'), 0x1000n)).toBe(0x1000n);
  });
  test('implicit operands: MUL, CPUID, string pointers', () => {
    const mul = ok('48 f7 e3');
    expect(mul.implicitCount).toBe(2);
    expect(mul.implicit.slice(0, 2)).toMatchObject([
      { kind: OpKind.REG, regClass: RegClass.GPR, reg: 0, size: 8, access: ACCESS_READ | ACCESS_WRITE },
      { kind: OpKind.REG, reg: 2, size: 8, access: ACCESS_WRITE },
    ]);
    expect(ok('0f a2').implicitCount).toBe(4);
    const push = ok('50');
    expect(push.implicit.slice(0, push.implicitCount)).toMatchObject([{ regClass: RegClass.GPR, reg: 4, size: 8 }]);
    const stos32 = ok('67 f3 ab');
    expect(stos32.implicit.slice(0, stos32.implicitCount).map((o) => [o.reg, o.size])).toEqual([[7, 4], [1, 4]]);
    const movs = ok('f3 48 a5');
    expect(movs.ops.slice(0, 2)).toMatchObject([{ base: 7, seg: 0, size: 8 }, { base: 6, seg: 3, size: 8 }]);
    expect(formatInstruction(movs)).toBe('rep movs QWORD PTR es:[rdi],QWORD PTR ds:[rsi]');
  });
  test('MOV CRn ignores ModRM.mod; LOCK MOV CR0 is CR8 (AMD AltMovCr8)', () => {
    expect(ok('0f 20 00').length).toBe(3);
    expect(ok('0f 20 00').ops[1]).toMatchObject({ regClass: RegClass.CR, reg: 0 });
    expect(ok('f0 0f 20 c0').ops[1]).toMatchObject({ regClass: RegClass.CR, reg: 8 });
    expect(ok('44 0f 22 c0').ops[0]).toMatchObject({ regClass: RegClass.CR, reg: 8 });
    expect(ok('0f 22 c0').attrs & (ATTR_PRIVILEGED | ATTR_SERIALIZING)).toBe(ATTR_PRIVILEGED | ATTR_SERIALIZING);
  });
});

describe('metadata', () => {
  test('flags: ADD writes all status flags; ADC reads CF; INC leaves CF', () => {
    expect(ok('01 c0')).toMatchObject({ flagsRead: 0, flagsWritten: FLAGS_STATUS });
    expect(ok('11 c0').flagsRead).toBe(FLAG_CF);
    expect(ok('ff c0').flagsWritten & FLAG_CF).toBe(0);
  });
  test('shift flags: by CL may write nothing (so also read); by an immediate the count decides', () => {
    expect(ok('d3 e0').flagsRead).toBe(FLAGS_STATUS);
    expect(ok('c1 e0 03')).toMatchObject({ flagsRead: 0, flagsWritten: FLAGS_STATUS });
    expect(ok('c1 e0 00')).toMatchObject({ flagsRead: 0, flagsWritten: 0 });
    expect(ok('c1 e0 20')).toMatchObject({ flagsWritten: 0 }); // count masked to 0
    expect(ok('48 c1 e0 20').flagsWritten).toBe(FLAGS_STATUS); // 64-bit mask is 3Fh
    expect(ok('d1 e0').flagsUndefined & FLAG_OF).toBe(0); // OF defined for count 1
    expect(ok('c0 d0 09')).toMatchObject({ flagsWritten: 0 }); // RCL r8 by 9: count mod 9 = 0
  });
  test('control flow classes', () => {
    expect(ok('74 00').flow).toBe(Flow.JCC);
    expect(ok('74 00').cond).toBe(4);
    expect(ok('ff d0').flow).toBe(Flow.CALL_IND);
    expect(ok('c3').flow).toBe(Flow.RET);
    expect(ok('0f 05').flow).toBe(Flow.SYSCALL);
    expect(ok('f4').flow).toBe(Flow.HLT);
    expect(ok('48 cf').flow).toBe(Flow.IRET);
    expect(ok('90').flow).toBe(Flow.NONE);
  });
  test('LOCK is recorded; XCHG with memory is locked without it', () => {
    expect(ok('f0 01 00').attrs & ATTR_LOCKED).toBe(ATTR_LOCKED);
    expect(ok('87 00').attrs & ATTR_LOCKED).toBe(ATTR_LOCKED);
    expect(ok('87 c0').attrs & ATTR_LOCKED).toBe(0);
  });
  test('VSIB gathers: index vector and #UD when registers overlap', () => {
    // vpgatherdd ymm2,[rax+ymm3*1],ymm1 (SDM "VPGATHERDD": VEX.256.66.0F38.W0 90 /r)
    const g = ok('c4 e2 75 90 14 18');
    expect(g.ops[1]).toMatchObject({ kind: OpKind.MEM, base: 0, index: 3, vsib: 32, size: 4 });
    expect(formatInstruction(g)).toBe('vpgatherdd ymm2,DWORD PTR [rax+ymm3*1],ymm1'); // objdump 2.40 output
    // Same with index = mask register: #UD.
    expect(decode(bytes('c4 e2 75 90 14 08'), 0, 64)).toMatchObject({ kind: 'ud' });
  });
});

describe('every mode decodes the same bytes differently where the SDM says so', () => {
  test('40-4F: INC/DEC outside 64-bit mode, REX inside', () => {
    expect(ok('40', 32).mn).toBe(Mn.INC);
    expect(ok('48 ff c0', 64).opSize).toBe(64);
  });
  test('63: ARPL outside 64-bit mode, MOVSXD inside', () => {
    expect(ok('63 c0', 32).mn).toBe(Mn.ARPL);
    expect(ok('48 63 c0', 64).mn).toBe(Mn.MOVSXD);
  });
  test('C4/C5: LES/LDS unless ModRM.mod would be 11b', () => {
    expect(ok('c4 00', 32).mn).toBe(Mn.LES);
    expect(ok('c5 f8 77', 32).mn).toBe(Mn.VZEROUPPER);
  });
  test('DECODE_UD / DECODE_GP codes are negative and distinct', () => {
    expect(new Set([DECODE_UD, DECODE_GP, DECODE_MORE]).size).toBe(3);
  });
});

describe('needs-more-bytes is never an overestimate', () => {
  // For every prefix of a valid instruction, `needed` must not exceed the instruction's real length.
  const samples: Array<[string, CpuMode]> = [
    ['8f c0', 32], ['62 00', 32], ['c4 00', 32], ['c5 f8 77', 64], ['62 f1 7c 48 58 c1', 64],
    ['48 8b 84 24 00 01 00 00', 64], ['66 0f 3a 0f c1 08', 64], ['f3 0f 1e fa', 64], ['9a 00 00 00 00 00 00', 32],
    ['67 a1 00 00 00 00', 64], ['48 a1 00 00 00 00 00 00 00 00', 64], ['c8 00 01 02', 16], ['0f 0f c1 9e', 64],
  ];
  for (const [hex, mode] of samples) {
    test(`${hex} (${mode}-bit)`, () => {
      const b = bytes(hex);
      const insn = new Instruction();
      for (let end = 0; end < b.length; end++) {
        const r = decodeInto(insn, b, 0, end, mode);
        expect(r).toBe(DECODE_MORE);
        expect(insn.length).toBeGreaterThan(end);
        expect(insn.length).toBeLessThanOrEqual(b.length);
      }
      const r = decodeInto(insn, b, 0, b.length, mode);
      expect(r === b.length || (r === DECODE_UD && insn.length === b.length)).toBe(true);
    });
  }
});

test('property: every truncation of a decodable string asks for more, within its real length', () => {
  let seed = 0x1234567;
  const rnd = (): number => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed & 0xff; };
  const insn = new Instruction();
  const buf = new Uint8Array(15);
  let checked = 0;
  for (let i = 0; i < 20_000; i++) {
    for (let k = 0; k < 15; k++) buf[k] = rnd();
    for (const mode of [64, 32, 16] as const) {
      const full = decodeInto(insn, buf, 0, 15, mode);
      const len = full > 0 ? full : full === DECODE_UD && insn.length > 0 ? insn.length : 0;
      if (len === 0) continue;
      for (let end = 0; end < len; end++) {
        const r = decodeInto(insn, buf, 0, end, mode);
        if (r !== DECODE_MORE || insn.length <= end || insn.length > len) {
          throw new Error(`${Buffer.from(buf).toString('hex')} mode ${mode} end ${end}: r=${r} needed ${insn.length} len ${len}`);
        }
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(30_000);
});
