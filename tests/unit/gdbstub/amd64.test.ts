// The amd64 target description and g-packet layout, checked against gdb's own
// reading of our XML (`maint print remote-registers`), and the register
// mapping from VcpuState.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AMD64_REGS, G_PACKET_BYTES, REG, REG_OFFSETS, amd64TargetXml, encodeRegisters, fullTagWord, writeRegister,
} from '../../../src/gdbstub/amd64.js';
import { alignedPieces } from '../../../src/gdbstub/machine-target.js';
import type { FpuState, SegmentState, VcpuState } from '../../../src/accel/types.js';

const hasGdb = spawnSync('gdb', ['--version']).status === 0;

describe('target.xml as gdb reads it', () => {
  test.skipIf(!hasGdb)('gdb numbers and places every register as our g packet does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdesc-'));
    const file = join(dir, 'target.xml');
    writeFileSync(file, amd64TargetXml());
    const r = spawnSync('gdb', ['-batch', '-nx', '-ex', `set tdesc filename ${file}`, '-ex', 'maint print remote-registers'], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/warning|error/i);
    // Columns: Name Nr Rel Offset Size Type Rmt-Nr g/G-Offset.
    const rows = new Map<string, { size: number; rmt: number; g: number }>();
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*(\S+)\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\S+\s+(\d+)\s+(\d+)\s*$/.exec(line);
      if (m) rows.set(m[1]!, { size: Number(m[2]), rmt: Number(m[3]), g: Number(m[4]) });
    }
    AMD64_REGS.forEach((reg, n) => {
      expect(rows.get(reg.name), reg.name).toEqual({ size: reg.bits / 8, rmt: n, g: REG_OFFSETS[n] });
    });
    expect(G_PACKET_BYTES).toBe(816); // 560 (core, sse, linux, segments) + 16 x 16 (avx: ymm0h..ymm15h)
  });
});

function seg(selector: number, base = 0n): SegmentState {
  return { selector, base, limit: 0xffffffff, type: 3, present: true, dpl: 0, db: true, s: true, l: false, g: true, avl: false, unusable: false };
}

function sampleState(): VcpuState {
  return {
    regs: { gpr: Array.from({ length: 16 }, (_, i) => 0x1000n + BigInt(i)), rip: 0xffffffff80001000n, rflags: 0x246n },
    sregs: {
      cs: seg(0x10), ds: seg(0x18), es: seg(0x18), fs: seg(0x18, 0x7000n), gs: seg(0x18, 0xffff888000000000n), ss: seg(0x18),
      tr: seg(0x28), ldt: seg(0), gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: 0x80000011n, cr2: 0n, cr3: 0x1000n, cr4: 0x20n, cr8: 0n, efer: 0x500n, apicBase: 0xfee00900n,
    },
  };
}

const u64At = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);
const u32At = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

describe('g packet from VcpuState', () => {
  test('gdb order rax rbx rcx rdx rsi rdi rbp rsp from encoding order', () => {
    const { bytes, unavailable } = encodeRegisters(sampleState(), undefined);
    // VcpuState.gpr is rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..
    const expected = [0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15].map((i) => 0x1000n + BigInt(i));
    expected.forEach((v, n) => expect(u64At(bytes, REG_OFFSETS[n]!)).toBe(v));
    expect(u64At(bytes, REG_OFFSETS[REG.rip]!)).toBe(0xffffffff80001000n);
    expect(u32At(bytes, REG_OFFSETS[REG.eflags]!)).toBe(0x246);
    expect(u32At(bytes, REG_OFFSETS[REG.cs]!)).toBe(0x10);
    expect(u64At(bytes, REG_OFFSETS[REG.fsBase]!)).toBe(0x7000n);
    expect(u64At(bytes, REG_OFFSETS[REG.gsBase]!)).toBe(0xffff888000000000n);
    expect(u64At(bytes, REG_OFFSETS[REG.origRax]!)).toBe(0xffffffffffffffffn);
    // Without FPU state, st0..mxcsr and ymm0h..ymm15h are unavailable and nothing else is.
    expect(unavailable![REG_OFFSETS[REG.st0]! - 1]).toBe(0);
    expect(unavailable![REG_OFFSETS[REG.st0]!]).toBe(1);
    expect(unavailable![REG_OFFSETS[REG.mxcsr]! + 3]).toBe(1);
    expect(unavailable![REG_OFFSETS[REG.origRax]!]).toBe(0);
    expect(unavailable![REG_OFFSETS[REG.gsBase]! + 7]).toBe(0);
    expect(unavailable![REG_OFFSETS[REG.ymm0h]!]).toBe(1);
    expect(unavailable![G_PACKET_BYTES - 1]).toBe(1);
  });

  test('register writes land in the right VcpuState fields', () => {
    const s = sampleState();
    const le = (v: bigint, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
    expect(writeRegister(s, undefined, 1, le(0xabcn, 8))).toEqual({ state: true, fpu: false }); // rbx
    expect(s.regs.gpr[3]).toBe(0xabcn);
    writeRegister(s, undefined, 7, le(0x8000n, 8)); // rsp
    expect(s.regs.gpr[4]).toBe(0x8000n);
    writeRegister(s, undefined, REG.eflags, le(0x202n, 4));
    expect(s.regs.rflags).toBe(0x202n);
    writeRegister(s, undefined, REG.fsBase, le(0x1234n, 8));
    expect(s.sregs.fs.base).toBe(0x1234n);
    expect(writeRegister(s, undefined, REG.origRax, le(5n, 8))).toEqual({ state: false, fpu: false });
    expect(writeRegister(s, undefined, 1, le(1n, 4))).toBeUndefined(); // wrong size
    expect(writeRegister(s, undefined, REG.xmm0, new Uint8Array(16))).toBeUndefined(); // no FPU source
    expect(writeRegister(s, undefined, 99, new Uint8Array(8))).toBeUndefined();
  });
});

function fpu(): FpuState {
  return { fpr: new Uint8Array(80), fcw: 0x37f, fsw: 0, ftwx: 0, lastOpcode: 0, lastIp: 0n, lastDp: 0n, xmm: new Uint8Array(256), mxcsr: 0x1f80 };
}

describe('x87 tag word (SDM Vol. 1 8.1.7, 10.5.1.1)', () => {
  test('FNINIT: every register empty -> 0xffff', () => {
    expect(fullTagWord(fpu())).toBe(0xffff);
  });
  test('FLD1 after FNINIT: TOP=7, physical register 7 holds 1.0 (valid)', () => {
    const f = fpu();
    f.fsw = 7 << 11;
    f.ftwx = 0x80;
    f.fpr.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f], 0); // ST(0) = 1.0
    expect(fullTagWord(f)).toBe(0x3fff);
  });
  test('FLDZ: zero (01); an infinity: special (10)', () => {
    const f = fpu();
    f.fsw = 6 << 11;
    f.ftwx = 0xc0;
    // ST(0) = physical 6 = +0.0; ST(1) = physical 7 = +inf.
    f.fpr.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f], 10);
    expect(fullTagWord(f)).toBe(0x9fff);
  });
  test('encoded x87 and SSE registers and a write of the tag word back to the abridged form', () => {
    const f = fpu();
    f.xmm[16] = 0xaa; // xmm1 byte 0
    f.lastIp = 0x1234_0000_5678n;
    const { bytes, unavailable } = encodeRegisters(sampleState(), f);
    // No ymmh in this FpuState (as from KVM_GET_FPU): only ymm0h..ymm15h are unavailable.
    expect(unavailable!.slice(0, REG_OFFSETS[REG.ymm0h]!).every((b) => b === 0)).toBe(true);
    expect(unavailable!.slice(REG_OFFSETS[REG.ymm0h]!).every((b) => b === 1)).toBe(true);
    expect(bytes[REG_OFFSETS[REG.xmm0 + 1]!]).toBe(0xaa);
    expect(u32At(bytes, REG_OFFSETS[REG.mxcsr]!)).toBe(0x1f80);
    expect(u32At(bytes, REG_OFFSETS[REG.fctrl]!)).toBe(0x37f);
    expect(u32At(bytes, REG_OFFSETS[REG.fctrl + 2]!)).toBe(0xffff);
    expect(u32At(bytes, REG_OFFSETS[REG.fctrl + 3]!)).toBe(0x1234); // fiseg
    expect(u32At(bytes, REG_OFFSETS[REG.fctrl + 4]!)).toBe(0x5678); // fioff
    const s = sampleState();
    writeRegister(s, f, REG.fctrl + 2, Uint8Array.of(0xff, 0x3f, 0, 0));
    expect(f.ftwx).toBe(0x80);
    expect(writeRegister(s, f, REG.ymm0h, new Uint8Array(16))).toBeUndefined(); // no AVX source
  });
  test('ymm upper halves (org.gnu.gdb.i386.avx) from FpuState.ymmh, and written back', () => {
    const f = { ...fpu(), ymmh: new Uint8Array(256) };
    f.ymmh[3 * 16 + 15] = 0x5a; // ymm3 byte 31
    const { bytes, unavailable } = encodeRegisters(sampleState(), f);
    expect(unavailable).toBeUndefined();
    expect(bytes[REG_OFFSETS[REG.ymm0h + 3]! + 15]).toBe(0x5a);
    expect(writeRegister(sampleState(), f, REG.ymm0h + 15, new Uint8Array(16).fill(7))).toEqual({ state: false, fpu: true });
    expect(f.ymmh.slice(240)).toEqual(new Uint8Array(16).fill(7));
    expect(amd64TargetXml()).toContain('<feature name="org.gnu.gdb.i386.avx">');
  });
});

describe('watchpoint ranges as debug-register pieces', () => {
  const cases: Array<[bigint, number, Array<[bigint, number]>]> = [
    [0x1000n, 4, [[0x1000n, 4]]],
    [0x1000n, 8, [[0x1000n, 8]]],
    [0x1001n, 4, [[0x1001n, 1], [0x1002n, 2], [0x1004n, 1]]],
    [0x1004n, 12, [[0x1004n, 4], [0x1008n, 8]]],
    [0x1003n, 1, [[0x1003n, 1]]],
  ];
  for (const [addr, len, want] of cases) {
    test(`0x${addr.toString(16)}+${len}`, () => {
      expect(alignedPieces(addr, len).map((p) => [p.addr, p.len])).toEqual(want);
    });
  }
});
