/**
 * MXCSR on the JIT against the host CPU (Intel SDM Vol. 1 §11.5, §4.9, and
 * each instruction's "SIMD Floating-Point Exceptions"): for every SSE..SSE4.1,
 * AVX and FMA floating-point form, random and special operands (SNaN, QNaN,
 * infinities, zeros, denormals, values near overflow and underflow, inexact
 * results), random rounding control, DAZ, FTZ, sticky flags already set and
 * random exception masks. Compared: the destination, MXCSR after the
 * instruction, RAX (the integer conversions) and the arithmetic flags (COMIS).
 *
 * With an unmasked exception the host raises #XM (SIGFPE): its own helper
 * below catches the signal and reports MXCSR and XMM0 from the signal frame,
 * i.e. the state the #XM handler sees; the JIT must then deliver vector 19
 * (CR4.OSXMMEXCPT = 1) with the same MXCSR and XMM0 (the destination left
 * unchanged, SDM Vol. 1 §11.5.1). `MXCSR_CASES=n` per template or `FULL=1`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import type { JitAccelerator } from '../../src/cpu/accelerator.js';
import { S } from '../../src/cpu/state.js';
import { readYmm } from '../../src/cpu/runtime/avx.js';
import {
  ADD, DIV, exactArith, exactSqrt, F32, F64, f32FromBits, f64FromBits, fpBegin, fpx, MUL, op32, op64, SUB,
} from '../../src/cpu/runtime/mxcsr.js';
import { sqrt32, sqrt64 } from '../../src/cpu/runtime/avx-fp.js';
import { assemble, CODE_ADDR, DATA_ADDR, jitState, rng } from './cpu-native-helper.js';
import { makeAvxJit } from './simd-avx-harness.js';

const FULL = !!process.env['FULL'];
const CASES = Number(process.env['MXCSR_CASES'] ?? (FULL ? 400 : 24));

// ---- the host side: run a snippet with RDI = a 256-byte block, catch SIGFPE with its signal frame ----

const C_SOURCE = String.raw`
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile int fault_sig, fault_code;
static uint32_t fault_mxcsr;
static uint8_t fault_xmm0[16];
static uint64_t fault_rax;

static void on_signal(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  fault_sig = sig; fault_code = si->si_code;
  fault_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  memcpy(fault_xmm0, uc->uc_mcontext.fpregs->_xmm[0].element, 16);
  fault_rax = uc->uc_mcontext.gregs[REG_RAX];
  siglongjmp(jb, 1);
}
static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }
static void unhex(const char *s, uint8_t *out, size_t n) { for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hexval(s[2*i]) << 4 | hexval(s[2*i+1])); }
static void hexout(const uint8_t *p, size_t n) { for (size_t i = 0; i < n; i++) printf("%02x", p[i]); }

int main(void) {
  uint8_t *data = mmap((void *)0x10000000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  uint8_t *code = mmap((void *)0x20000000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (data == MAP_FAILED || code == MAP_FAILED) return 2;
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_signal; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0); sigaction(SIGSEGV, &sa, 0); sigaction(SIGILL, &sa, 0);
  static char line[65536];
  while (fgets(line, sizeof line, stdin)) {
    char *p = strtok(line, " \n"); if (!p) continue;
    size_t clen = strlen(p) / 2;
    unhex(p, code, clen); code[clen] = 0xc3;
    p = strtok(0, " \n"); unhex(p, data, 256);
    fault_sig = 0;
    if (sigsetjmp(jb, 1) == 0) ((void (*)(uint8_t *))code)(data);
    uint32_t def = 0x1f80; __asm__ volatile("ldmxcsr %0; vzeroupper" :: "m"(def));
    if (fault_sig) { printf("fault %d %d %08x ", fault_sig, fault_code, fault_mxcsr); hexout(fault_xmm0, 16); printf(" %016lx\n", fault_rax); }
    else { printf("ok "); hexout(data, 256); printf("\n"); }
    fflush(stdout);
  }
  return 0;
}
`;

function buildHost(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mxcsr-diff-'));
  writeFileSync(join(dir, 'host.c'), C_SOURCE);
  execFileSync('gcc', ['-O1', '-no-pie', '-o', join(dir, 'host'), join(dir, 'host.c')]);
  return join(dir, 'host');
}

type HostResult = { ok: Uint8Array } | { sig: number; code: number; mxcsr: number; xmm0: string; rax: bigint };

function runHost(bin: string, cases: Array<{ code: Uint8Array; data: Uint8Array }>): HostResult[] {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const out: HostResult[] = [];
  for (let i = 0; i < cases.length; i += 4000) {
    const input = cases.slice(i, i + 4000).map((c) => `${hex(c.code)} ${hex(c.data)}`).join('\n') + '\n';
    const r = spawnSync(bin, [], { input, maxBuffer: 1 << 30 });
    for (const l of r.stdout.toString().trim().split('\n')) {
      const p = l.split(' ');
      if (p[0] === 'ok') out.push({ ok: new Uint8Array(Buffer.from(p[1]!, 'hex')) });
      else out.push({ sig: Number(p[1]), code: Number(p[2]), mxcsr: parseInt(p[3]!, 16), xmm0: p[4]!, rax: BigInt('0x' + p[5]!) });
    }
  }
  return out;
}

// ---- the case layout (RDI = the block) ----
// [0..32) ymm0, [32..64) ymm1, [64..96) ymm2 in; [96] MXCSR in; [104] RAX in.
// Out: [128..160) ymm0, [160] MXCSR, [168] RAX, [176] RFLAGS.
const wrap = (body: string): string =>
  'vmovdqu ymm0, [rdi]; vmovdqu ymm1, [rdi+32]; vmovdqu ymm2, [rdi+64]; mov rax, [rdi+104]; ' +
  `ldmxcsr [rdi+96]; ${body}; stmxcsr [rdi+160]; vmovdqu [rdi+128], ymm0; mov [rdi+168], rax; pushfq; pop qword ptr [rdi+176]`;

type Kind = 's' | 'd' | 'i32' | 'i64' | 'sd2ss';
interface Template { asm: string; kind: Kind; flags?: boolean }

function templates(): Template[] {
  const t: Template[] = [];
  const both = (op: string, kind: 's' | 'd', vex = true): void => {
    t.push({ asm: `${op} xmm0, xmm1`, kind });
    if (vex) t.push({ asm: `v${op} xmm0, xmm1, xmm2`, kind });
  };
  for (const o of ['add', 'sub', 'mul', 'div', 'min', 'max']) {
    for (const f of ['ps', 'ss']) both(o + f, 's');
    for (const f of ['pd', 'sd']) both(o + f, 'd');
    t.push({ asm: `v${o}ps ymm0, ymm1, ymm2`, kind: 's' }, { asm: `v${o}pd ymm0, ymm1, ymm2`, kind: 'd' });
  }
  t.push({ asm: 'sqrtps xmm0, xmm1', kind: 's' }, { asm: 'sqrtss xmm0, xmm1', kind: 's' }, { asm: 'sqrtpd xmm0, xmm1', kind: 'd' },
    { asm: 'sqrtsd xmm0, xmm1', kind: 'd' }, { asm: 'vsqrtps ymm0, ymm1', kind: 's' }, { asm: 'vsqrtsd xmm0, xmm1, xmm2', kind: 'd' },
    { asm: 'vsqrtss xmm0, xmm1, xmm2', kind: 's' }, { asm: 'vsqrtpd ymm0, ymm1', kind: 'd' });
  for (let imm = 0; imm < 8; imm++) {
    t.push({ asm: `cmpps xmm0, xmm1, ${imm}`, kind: 's' }, { asm: `cmpsd xmm0, xmm1, ${imm}`, kind: 'd' });
  }
  for (let imm = 0; imm < 32; imm++) t.push({ asm: `vcmpps ymm0, ymm1, ymm2, ${imm}`, kind: 's' }, { asm: `vcmpsd xmm0, xmm1, xmm2, ${imm}`, kind: 'd' });
  t.push({ asm: 'cmpss xmm0, xmm1, 1', kind: 's' }, { asm: 'cmppd xmm0, xmm1, 6', kind: 'd' });
  for (const c of ['comiss', 'ucomiss']) t.push({ asm: `${c} xmm0, xmm1`, kind: 's', flags: true }, { asm: `v${c} xmm0, xmm1`, kind: 's', flags: true });
  for (const c of ['comisd', 'ucomisd']) t.push({ asm: `${c} xmm0, xmm1`, kind: 'd', flags: true }, { asm: `v${c} xmm0, xmm1`, kind: 'd', flags: true });
  // conversions
  t.push({ asm: 'cvtsd2ss xmm0, xmm1', kind: 'sd2ss' }, { asm: 'cvtpd2ps xmm0, xmm1', kind: 'sd2ss' }, { asm: 'vcvtpd2ps xmm0, ymm1', kind: 'sd2ss' },
    { asm: 'vcvtsd2ss xmm0, xmm1, xmm2', kind: 'sd2ss' },
    { asm: 'cvtss2sd xmm0, xmm1', kind: 's' }, { asm: 'cvtps2pd xmm0, xmm1', kind: 's' }, { asm: 'vcvtps2pd ymm0, xmm1', kind: 's' },
    { asm: 'vcvtss2sd xmm0, xmm1, xmm2', kind: 's' },
    { asm: 'cvtdq2ps xmm0, xmm1', kind: 'i32' }, { asm: 'vcvtdq2ps ymm0, ymm1', kind: 'i32' }, { asm: 'cvtdq2pd xmm0, xmm1', kind: 'i32' },
    { asm: 'cvtps2dq xmm0, xmm1', kind: 's' }, { asm: 'cvttps2dq xmm0, xmm1', kind: 's' }, { asm: 'vcvtps2dq ymm0, ymm1', kind: 's' },
    { asm: 'vcvttps2dq ymm0, ymm1', kind: 's' }, { asm: 'cvtpd2dq xmm0, xmm1', kind: 'd' }, { asm: 'cvttpd2dq xmm0, xmm1', kind: 'd' },
    { asm: 'vcvtpd2dq xmm0, ymm1', kind: 'd' }, { asm: 'vcvttpd2dq xmm0, ymm1', kind: 'd' },
    { asm: 'cvtss2si eax, xmm1', kind: 's' }, { asm: 'cvtss2si rax, xmm1', kind: 's' }, { asm: 'cvttss2si eax, xmm1', kind: 's' },
    { asm: 'cvttss2si rax, xmm1', kind: 's' }, { asm: 'cvtsd2si eax, xmm1', kind: 'd' }, { asm: 'cvtsd2si rax, xmm1', kind: 'd' },
    { asm: 'cvttsd2si eax, xmm1', kind: 'd' }, { asm: 'cvttsd2si rax, xmm1', kind: 'd' }, { asm: 'vcvtss2si rax, xmm1', kind: 's' },
    { asm: 'vcvttsd2si eax, xmm1', kind: 'd' },
    { asm: 'cvtsi2ss xmm0, rax', kind: 'i64' }, { asm: 'cvtsi2ss xmm0, eax', kind: 'i64' }, { asm: 'cvtsi2sd xmm0, rax', kind: 'i64' },
    { asm: 'cvtsi2sd xmm0, eax', kind: 'i64' }, { asm: 'vcvtsi2ss xmm0, xmm1, rax', kind: 'i64' }, { asm: 'vcvtsi2sd xmm0, xmm1, rax', kind: 'i64' });
  // SSE3
  for (const o of ['haddps', 'hsubps', 'addsubps']) t.push({ asm: `${o} xmm0, xmm1`, kind: 's' }, { asm: `v${o} ymm0, ymm1, ymm2`, kind: 's' });
  for (const o of ['haddpd', 'hsubpd', 'addsubpd']) t.push({ asm: `${o} xmm0, xmm1`, kind: 'd' }, { asm: `v${o} ymm0, ymm1, ymm2`, kind: 'd' });
  // SSE4.1
  for (const imm of [0, 1, 2, 3, 4, 8, 9, 12, 15]) {
    t.push({ asm: `roundps xmm0, xmm1, ${imm}`, kind: 's' }, { asm: `roundss xmm0, xmm1, ${imm}`, kind: 's' },
      { asm: `roundpd xmm0, xmm1, ${imm}`, kind: 'd' }, { asm: `roundsd xmm0, xmm1, ${imm}`, kind: 'd' });
  }
  t.push({ asm: 'vroundps ymm0, ymm1, 4', kind: 's' }, { asm: 'vroundpd ymm0, ymm1, 1', kind: 'd' }, { asm: 'vroundsd xmm0, xmm1, xmm2, 12', kind: 'd' });
  for (const imm of [0xff, 0x31, 0xf1, 0x7e, 0x5a]) t.push({ asm: `dpps xmm0, xmm1, ${imm}`, kind: 's' }, { asm: `vdpps ymm0, ymm1, ymm2, ${imm}`, kind: 's' });
  for (const imm of [0x33, 0x31, 0x12, 0x22]) t.push({ asm: `dppd xmm0, xmm1, ${imm}`, kind: 'd' });
  // FMA
  for (const k of ['vfmadd', 'vfmsub', 'vfnmadd', 'vfnmsub']) {
    for (const o of ['132', '213', '231']) {
      t.push({ asm: `${k}${o}ps ymm0, ymm1, ymm2`, kind: 's' }, { asm: `${k}${o}sd xmm0, xmm1, xmm2`, kind: 'd' });
    }
    t.push({ asm: `${k}231pd xmm0, xmm1, xmm2`, kind: 'd' }, { asm: `${k}132ss xmm0, xmm1, xmm2`, kind: 's' });
  }
  t.push({ asm: 'vfmaddsub213ps ymm0, ymm1, ymm2', kind: 's' }, { asm: 'vfmsubadd231pd ymm0, ymm1, ymm2', kind: 'd' });
  // MMX operands (the MMX result read back through RAX; EMMS leaves the host's x87 state empty again)
  t.push({ asm: 'movq mm1, [rdi+32]; cvtpi2ps xmm0, mm1; emms', kind: 'i32' }, { asm: 'cvtpi2ps xmm0, qword ptr [rdi+32]', kind: 'i32' },
    { asm: 'movq mm1, [rdi+32]; cvtpi2pd xmm0, mm1; emms', kind: 'i32' }, { asm: 'cvtpi2pd xmm0, qword ptr [rdi+64]', kind: 'i32' },
    { asm: 'cvtps2pi mm0, xmm1; movq rax, mm0; emms', kind: 's' }, { asm: 'cvttps2pi mm0, qword ptr [rdi+32]; movq rax, mm0; emms', kind: 's' },
    { asm: 'cvtpd2pi mm0, xmm1; movq rax, mm0; emms', kind: 'd' }, { asm: 'cvttpd2pi mm0, [rdi+32]; movq rax, mm0; emms', kind: 'd' });
  // ... and whether they switch the x87 unit to MMX (TOP = 0, tags valid): FSW and the FNSTENV tag word in RAX
  const x87 = (body: string): string => `fninit; ${'fldz; '.repeat(8)}fninit; fld1; fldz; ${body}; fnstenv [rdi+192]; movzx eax, word ptr [rdi+196]; ` +
    'movzx ecx, word ptr [rdi+200]; shl ecx, 16; or eax, ecx; fninit';
  t.push({ asm: x87('cvtpi2pd xmm0, qword ptr [rdi+64]'), kind: 'i32' }, { asm: x87('cvtpi2ps xmm0, qword ptr [rdi+64]'), kind: 'i32' },
    { asm: x87('cvtpi2pd xmm0, mm7'), kind: 'i32' }, { asm: x87('cvttps2pi mm3, xmm1'), kind: 's' });
  // memory sources (ymm1's bytes at [rdi+32], ymm2's at [rdi+64])
  t.push({ asm: 'addsd xmm0, qword ptr [rdi+32]', kind: 'd' }, { asm: 'mulps xmm0, [rdi+32]', kind: 's' },
    { asm: 'vdivps ymm0, ymm1, [rdi+64]', kind: 's' }, { asm: 'comisd xmm0, qword ptr [rdi+32]', kind: 'd', flags: true },
    { asm: 'cvtss2sd xmm0, dword ptr [rdi+32]', kind: 's' }, { asm: 'cvtsi2sd xmm0, qword ptr [rdi+104]', kind: 'i64' },
    { asm: 'cvttsd2si rax, qword ptr [rdi+32]', kind: 'd' }, { asm: 'roundsd xmm0, qword ptr [rdi+32], 4', kind: 'd' },
    { asm: 'vfmadd231sd xmm0, xmm1, qword ptr [rdi+64]', kind: 'd' }, { asm: 'sqrtss xmm0, dword ptr [rdi+32]', kind: 's' });
  // F16C: narrowing per imm8 rounding or MXCSR.RC (imm8[2]); widening from random halves
  for (const imm of [0, 1, 2, 3, 4]) t.push({ asm: `vcvtps2ph xmm0, ymm1, ${imm}`, kind: 's' });
  t.push({ asm: 'vcvtps2ph xmm0, xmm1, 4', kind: 's' }, { asm: 'vcvtph2ps ymm0, xmm1', kind: 'i32' }, { asm: 'vcvtph2ps xmm0, xmm1', kind: 'i32' });
  return t;
}

// ---- operands ----

function f32Lane(r: () => bigint): number {
  const x = r(), sel = Number(x % 16n), m = Number((x >> 8n) & 0x7fffffn), sg = Number((x >> 40n) & 1n) << 31;
  const e = (v: number): number => (sg | ((v & 0xff) << 23) | m) >>> 0;
  const k = Number((x >> 48n) & 0xffn);
  switch (sel) {
    case 0: return [0x7fc00000, 0xffc00001, 0x7fa00000, 0xff800001, 0x7f800000, 0xff800000, 0, 0x80000000][k % 8]!;
    case 1: return (sg | (m & 0x7fffff)) >>> 0 || 1; // denormal
    case 2: return [1, 0x807fffff, 0x00800000, 0x80800001, 0x7f7fffff, 0xff7ffffe, 0x3f800000, 0x00400000][k % 8]!;
    case 3: return e(1 + (k % 8)); // just above the underflow threshold
    case 4: return e(0x3f + (k % 12)); // products near 2^-126
    case 5: return e(0xc0 + (k % 8)); // products near overflow
    case 6: return e(0xfe - (k % 4)); // sums near overflow
    case 7: return (sg | (0x3f800000 + (k % 3)) | ((m & 0x3f) << 1)) >>> 0; // sums that cancel
    case 8: return Number(x & 0xffffffffn); // any bits
    case 9: return e(0x96 + (k % 8) - 4); // near 2^23: integer rounding
    default: return e(0x7f + (k % 20) - 10); // ordinary
  }
}

function f64Lane(r: () => bigint): bigint {
  const x = r(), sel = Number(x % 16n), m = (x >> 4n) & 0xfffffffffffffn, sg = ((x >> 60n) & 1n) << 63n;
  const k = Number((x >> 56n) & 0xfn);
  const e = (v: number): bigint => sg | (BigInt(v & 0x7ff) << 52n) | m;
  switch (sel) {
    case 0: return [0x7ff8000000000000n, 0xfff8000000000001n, 0x7ff4000000000000n, 0xfff0000000000001n, 0x7ff0000000000000n,
      0xfff0000000000000n, 0n, 0x8000000000000000n][k % 8]!;
    case 1: return sg | (m || 1n);
    case 2: return [1n, 0x800fffffffffffffn, 0x0010000000000000n, 0x8010000000000001n, 0x7fefffffffffffffn, 0xffeffffffffffffen,
      0x3ff0000000000000n, 0x0008000000000000n][k % 8]!;
    case 3: return e(1 + (k % 8));
    case 4: return e(0x1ff + (k % 12));
    case 5: return e(0x600 + (k % 8));
    case 6: return e(0x7fe - (k % 4));
    case 7: return sg | (0x3ff0000000000000n + BigInt(k % 3)) | ((m & 0x3fn) << 1n);
    case 8: return x;
    case 9: return e(0x433 + (k % 8) - 4);
    case 10: return e(0x380 + (k % 8)); // f32 underflow range (CVTSD2SS)
    case 11: return e(0x47f - (k % 4)); // f32 overflow range
    case 12: return sg | (BigInt(0x36a + (k % 3)) << 52n) | m; // f32 denormal range
    case 13: return e(0x7e0 + (k % 6)); // around 2^995 and 2^-968: the bounds of the exact-in-doubles paths
    case 14: return e(0x035 + (k % 6));
    default: return e(0x3ff + (k % 20) - 10);
  }
}

function intLane(r: () => bigint, bits: number): bigint {
  const x = r(), len = Number(x % BigInt(bits)) + 1;
  return BigInt.asIntN(bits, (x >> 8n) & ((1n << BigInt(len)) - 1n)) * ((x & 1n) ? -1n : 1n);
}

function mxcsrOf(r: () => bigint): number {
  const x = r();
  let m = 0x1f80 | (Number(x & 3n) << 13);
  if ((x >> 2n) % 3n === 0n) m |= 0x40; // DAZ
  if ((x >> 4n) % 3n === 0n) m |= 0x8000; // FTZ
  if ((x >> 6n) % 4n === 0n) m |= Number((x >> 8n) & 0x3fn); // sticky flags already set
  if ((x >> 14n) % 5n < 2n) m &= ~(Number((x >> 16n) & 0x3fn) << 7); // some exceptions unmasked
  return m;
}

function makeData(r: () => bigint, kind: Kind): Uint8Array {
  const data = new Uint8Array(256), dv = new DataView(data.buffer);
  for (let i = 0; i < 96; i += 8) {
    if (kind === 's') { dv.setUint32(i, f32Lane(r), true); dv.setUint32(i + 4, f32Lane(r), true); }
    else if (kind === 'd' || kind === 'sd2ss') dv.setBigUint64(i, f64Lane(r), true);
    else if (kind === 'i32') { dv.setInt32(i, Number(intLane(r, 32)), true); dv.setInt32(i + 4, Number(intLane(r, 32)), true); }
    else dv.setBigUint64(i, r(), true);
  }
  dv.setUint32(96, mxcsrOf(r), true);
  dv.setBigUint64(104, kind === 'i64' ? BigInt.asUintN(64, intLane(r, 64)) : r(), true);
  return data;
}

// ---- the JIT side: an IDT whose handler for vector v is a HLT at HANDLERS + 16 v ----

const IDT = 0x30000000, HANDLERS = 0x30001000, GDT = 0x30002000;

function setupIdt(mem: GuestMemory): void {
  mem.writeU64(GDT + 8, 0x00209a0000000000n);
  mem.writeU64(GDT + 16, 0x0000920000000000n);
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + v * 16;
    mem.writeBytes(h, new Uint8Array([0xf4]));
    const g = new Uint8Array(16), dv = new DataView(g.buffer);
    dv.setUint16(0, h & 0xffff, true); dv.setUint16(2, 8, true); g[5] = 0x8e; dv.setUint16(6, (h >>> 16) & 0xffff, true);
    mem.writeBytes(IDT + v * 16, g);
  }
}

interface JitOut { vector: number; stop: string; mxcsr: number; xmm0: string; block: Uint8Array; rax: bigint }

function runJit(jit: JitAccelerator, mem: GuestMemory, code: Uint8Array, data: Uint8Array, osxmmexcpt = true): JitOut {
  const v = jit.vcpus[0]!;
  mem.writeBytes(DATA_ADDR, data);
  mem.writeBytes(CODE_ADDR, new Uint8Array([...code, 0xf4]));
  jit.engine.flushAll();
  const gpr = Array.from({ length: 16 }, () => 0n);
  gpr[7] = BigInt(DATA_ADDR); gpr[4] = BigInt(DATA_ADDR + 3072);
  const s = jitState(gpr, 2n);
  const cr4 = (s.sregs.cr4 | (1n << 18n)) & ~(osxmmexcpt ? 0n : 1n << 10n);
  jit.setState(0, { ...s, sregs: { ...s.sregs, cr4, idt: { base: BigInt(IDT), limit: 32 * 16 - 1 }, gdt: { base: BigInt(GDT), limit: 23 } } });
  v.st.setU64(S.XCR0, 7n);
  v.runState = 'running';
  let r: string = v.run(10000);
  if (r === 'budget') r = v.run(10000);
  const rip = Number(v.st.rip);
  const vector = r !== 'halted' ? -2 : rip >= HANDLERS && rip < HANDLERS + 512 ? (rip - HANDLERS - 1) / 16 : -1;
  return {
    vector, stop: r === 'halted' ? '' : ` (${r} ${v.lastError ?? ''} rip ${v.st.rip.toString(16)})`,
    mxcsr: v.st.u32(S.MXCSR), xmm0: Buffer.from(readYmm(v.st, 0).subarray(0, 16)).toString('hex'),
    block: mem.readBytes(DATA_ADDR, 256), rax: v.st.gpr(0),
  };
}

describe('MXCSR flags, masks, DAZ/FTZ and #XM: JIT vs host CPU', () => {
  test(`every FP form x ${CASES} random cases (operands, RC, DAZ, FTZ, masks)`, async () => {
    const tpl = templates();
    const codes = assemble(tpl.map((x) => wrap(x.asm)));
    const host = buildHost();
    const { jit, mem } = await makeAvxJit();
    setupIdt(mem);
    const r = rng(0x3c5a11e5n);
    const cases: Array<{ t: number; code: Uint8Array; data: Uint8Array }> = [];
    for (let t = 0; t < tpl.length; t++) for (let k = 0; k < CASES; k++) cases.push({ t, code: codes[t]!, data: makeData(r, tpl[t]!.kind) });
    const want = runHost(host, cases);
    expect(want.length).toBe(cases.length);
    const failures: string[] = [];
    const failedTemplates = new Set<number>();
    let faults = 0;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!, w = want[i]!, tp = tpl[c.t]!;
      if (failedTemplates.has(c.t) && !FULL) continue;
      if (i % 256 === 255) await new Promise((res) => setImmediate(res));
      const got = runJit(jit, mem, c.code, c.data);
      const inHex = Buffer.from(c.data.subarray(0, 112)).toString('hex');
      const mx = new DataView(c.data.buffer).getUint32(96, true).toString(16);
      const fail = (m: string): void => { failures.push(`${tp.asm} mxcsr=${mx} in=${inHex}: ${m}`); failedTemplates.add(c.t); };
      if ('ok' in w) {
        if (got.vector !== -1) { fail(`host ok (mxcsr ${new DataView(w.ok.buffer).getUint32(160, true).toString(16)}), JIT vector ${got.vector}${got.stop}`); continue; }
        const hv = new DataView(w.ok.buffer), jv = new DataView(got.block.buffer, got.block.byteOffset);
        const diffs: string[] = [];
        const hmx = hv.getUint32(160, true), jmx = jv.getUint32(160, true);
        if (hmx !== jmx) diffs.push(`mxcsr jit ${jmx.toString(16)} host ${hmx.toString(16)}`);
        const hy = Buffer.from(w.ok.subarray(128, 160)).toString('hex'), jy = Buffer.from(got.block.subarray(128, 160)).toString('hex');
        if (hy !== jy) diffs.push(`ymm0 jit ${jy} host ${hy}`);
        if (hv.getBigUint64(168, true) !== jv.getBigUint64(168, true)) diffs.push(`rax jit ${jv.getBigUint64(168, true).toString(16)} host ${hv.getBigUint64(168, true).toString(16)}`);
        if (tp.flags && (hv.getUint32(176, true) & 0x8d5) !== (jv.getUint32(176, true) & 0x8d5)) {
          diffs.push(`rflags jit ${jv.getUint32(176, true).toString(16)} host ${hv.getUint32(176, true).toString(16)}`);
        }
        if (diffs.length) fail(diffs.join('; '));
      } else {
        faults++;
        if (w.sig !== 8) { fail(`host signal ${w.sig}`); continue; }
        const diffs: string[] = [];
        if (got.vector !== 19) diffs.push(`host #XM, JIT vector ${got.vector}${got.stop}`);
        if (got.mxcsr !== w.mxcsr) diffs.push(`mxcsr jit ${got.mxcsr.toString(16)} host ${w.mxcsr.toString(16)}`);
        if (got.xmm0 !== w.xmm0) diffs.push(`xmm0 jit ${got.xmm0} host ${w.xmm0}`);
        if (got.rax !== w.rax) diffs.push(`rax jit ${got.rax.toString(16)} host ${w.rax.toString(16)}`);
        if (diffs.length) fail(`(#XM) ${diffs.join('; ')}`);
      }
    }
    if (failures.length) console.log(`${failedTemplates.size} of ${tpl.length} templates fail:\n${failures.slice(0, 150).join('\n')}`);
    expect(faults).toBeGreaterThan(cases.length / 20); // the unmasked cases did reach the host's #XM
    expect(failures.slice(0, 20)).toEqual([]);
  }, 60_000 + CASES * 6_000);

  for (const interpretFirst of [false, true]) {
    test(`an unmasked exception raises #UD when CR4.OSXMMEXCPT = 0, #XM when set; LDMXCSR reserved bits #GP (${interpretFirst ? 'interpreter tier' : 'translated'})`, async () => {
      const { jit, mem } = await makeAvxJit();
      jit.engine.interpretFirst = interpretFirst;
      setupIdt(mem);
      const [div, ld, vdiv] = assemble([wrap('divss xmm0, xmm1'), 'ldmxcsr [rdi+96]', wrap('vdivps ymm0, ymm1, ymm2')]);
      const data = new Uint8Array(256), dv = new DataView(data.buffer);
      dv.setUint32(0, 0x3f800000, true); dv.setUint32(32, 0, true); // 1 / 0
      dv.setUint32(96, 0x1f80 & ~(1 << 9), true); // ZM clear
      const xm = runJit(jit, mem, div!, data);
      expect([xm.vector, xm.mxcsr, xm.xmm0.slice(0, 8)]).toEqual([19, 0x1d84, '0000803f']);
      const ud = runJit(jit, mem, div!, data, false);
      expect([ud.vector, ud.mxcsr]).toEqual([6, 0x1d84]);
      dv.setUint32(96, 0x1f80, true);
      expect(runJit(jit, mem, div!, data).vector).toBe(-1);
      dv.setUint32(96, 0x11f80, true);
      expect(runJit(jit, mem, ld!, data).vector).toBe(13);
      // PE unmasked: 1/3 in the last element of a VEX.256 divide; ymm0 keeps its old value.
      dv.setUint32(32 + 28, 0x3f800000, true); dv.setUint32(64 + 28, 0x40400000, true);
      for (let i = 0; i < 7; i++) { dv.setUint32(32 + 4 * i, 0x3f800000, true); dv.setUint32(64 + 4 * i, 0x3f800000, true); }
      dv.setUint32(96, 0x1f80 & ~(1 << 12), true);
      const pe = runJit(jit, mem, vdiv!, data);
      expect([pe.vector, pe.mxcsr, pe.xmm0]).toEqual([19, 0x0fa0, Buffer.from(data.subarray(0, 16)).toString('hex')]);
    });
  }
});

describe('the fast paths (error-free transformations in doubles) agree with the exact BigInt rounding', () => {
  test('random finite operands over the whole exponent range, every RC, FTZ, masked and unmasked UE/OE', () => {
    const r = rng(0xe7ac7n);
    const ops = [ADD, SUB, MUL, DIV];
    const failures: string[] = [];
    const n = FULL ? 400_000 : 40_000;
    for (let i = 0; i < n && failures.length < 10; i++) {
      const op = ops[i & 3]!, rc = (i >> 2) & 3;
      let mx = 0x1f80 | (rc << 13);
      if (i % 7 === 0) mx |= 0x8000; // FTZ
      if (i % 5 === 0) mx &= ~0x0c00; // OE and UE unmasked
      const a = f64Lane(r), b = f64Lane(r), x = f64FromBits(a), y = f64FromBits(b);
      if (Number.isFinite(x) && Number.isFinite(y) && x !== 0 && y !== 0) {
        fpBegin(mx); const fast = op64(a, b, op, rc); const ff = fpx.post;
        fpBegin(mx); const exact = exactArith(op.kind, x, y, F64, rc); const fe = fpx.post;
        if (fast !== exact || ff !== fe) failures.push(`f64 ${op.kind} rc=${rc} ${a.toString(16)} ${b.toString(16)}: ${fast.toString(16)}/${ff} exact ${exact.toString(16)}/${fe}`);
        if (x > 0) {
          fpBegin(mx); const sf = sqrt64(a, rc); const sff = fpx.post;
          fpBegin(mx); const se = exactSqrt(x, F64, rc); const sfe = fpx.post;
          if (sf !== se || sff !== sfe) failures.push(`sqrt64 rc=${rc} ${a.toString(16)}: ${sf.toString(16)}/${sff} exact ${se.toString(16)}/${sfe}`);
        }
      }
      const c = f32Lane(r), d = f32Lane(r), u = f32FromBits(c), v = f32FromBits(d);
      if (Number.isFinite(u) && Number.isFinite(v) && u !== 0 && v !== 0) {
        fpBegin(mx); const fast = op32(c, d, op, rc); const ff = fpx.post;
        fpBegin(mx); const exact = Number(exactArith(op.kind, u, v, F32, rc)); const fe = fpx.post;
        if (fast !== exact || ff !== fe) failures.push(`f32 ${op.kind} rc=${rc} ${c.toString(16)} ${d.toString(16)}: ${fast.toString(16)}/${ff} exact ${exact.toString(16)}/${fe}`);
        if (u > 0) {
          fpBegin(mx); const sf = sqrt32(c, rc); const sff = fpx.post;
          fpBegin(mx); const se = Number(exactSqrt(u, F32, rc)); const sfe = fpx.post;
          if (sf !== se || sff !== sfe) failures.push(`sqrt32 rc=${rc} ${c.toString(16)}: ${sf.toString(16)}/${sff} exact ${se.toString(16)}/${sfe}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('RCPPS/RCPSS/RSQRTPS/RSQRTSS (legacy and VEX): JIT vs host CPU', () => {
  test('within the SDM bound of the host value (1.5 * 2^-12 each), specials and MXCSR identical', async () => {
    const tpl = ['rcpps xmm0, xmm1', 'rcpss xmm0, xmm1', 'rsqrtps xmm0, xmm1', 'rsqrtss xmm0, dword ptr [rdi+32]',
      'vrcpps ymm0, ymm1', 'vrsqrtss xmm0, xmm1, xmm2'];
    const codes = assemble(tpl.map(wrap));
    const host = buildHost();
    const { jit, mem } = await makeAvxJit();
    setupIdt(mem);
    const r = rng(0x4c9an);
    const cases: Array<{ t: number; code: Uint8Array; data: Uint8Array }> = [];
    for (let t = 0; t < tpl.length; t++) for (let k = 0; k < CASES * 4; k++) cases.push({ t, code: codes[t]!, data: makeData(r, 's') });
    const want = runHost(host, cases);
    const failures: string[] = [];
    const f32 = (b: number): number => f32FromBits(b);
    for (let i = 0; i < cases.length && failures.length < 10; i++) {
      const c = cases[i]!, w = want[i]!;
      const got = runJit(jit, mem, c.code, c.data);
      if (!('ok' in w)) { failures.push(`${tpl[c.t]}: host faulted`); continue; }
      const hv = new DataView(w.ok.buffer), jv = new DataView(got.block.buffer, got.block.byteOffset);
      if (got.vector !== -1 || hv.getUint32(160, true) !== jv.getUint32(160, true)) {
        failures.push(`${tpl[c.t]}: JIT vector ${got.vector}${got.stop}, mxcsr jit ${jv.getUint32(160, true).toString(16)} host ${hv.getUint32(160, true).toString(16)}`);
        continue;
      }
      for (let l = 0; l < 8; l++) {
        const h = hv.getUint32(128 + 4 * l, true), j = jv.getUint32(128 + 4 * l, true), hx = f32(h), jx = f32(j);
        const special = !Number.isFinite(hx) || hx === 0 || !Number.isFinite(jx) || jx === 0;
        if (special ? h !== j : Math.abs(jx - hx) > 3 * 2 ** -12 * Math.abs(hx)) {
          failures.push(`${tpl[c.t]} in=${Buffer.from(c.data.subarray(0, 96)).toString('hex')} lane ${l}: jit ${j.toString(16)} host ${h.toString(16)}`);
          break;
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
