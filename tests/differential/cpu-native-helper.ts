// The native side of the differential harness: a small C program, built at
// test time with the machine's gcc, that runs an instruction snippet on the
// host CPU with given registers, flags and a 4 KiB data page, and prints the
// resulting registers, flags and data page. One process serves many cases
// (one line per case on stdin) so the harness stays fast.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { Bus } from '../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../src/cpu/cpuid.js';
import { decode } from '../../src/cpu/decoder/decoder.js';
import type { SegmentState, VcpuState } from '../../src/accel/types.js';

export const DATA_ADDR = 0x10000000;
export const CODE_ADDR = 0x20000000;
export const DATA_BYTES = 4096;

const C_SOURCE = String.raw`
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct regs { uint64_t gpr[16]; uint64_t rflags; };
struct regs in_regs, out_regs;
uint64_t saved_rsp, code_ptr;
static sigjmp_buf jb;
static volatile int faulted;

void run_case(void);
__asm__(
  ".globl run_case\n"
  "run_case:\n"
  "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
  "  mov %rsp, saved_rsp(%rip)\n"
  "  lea in_regs(%rip), %rdi\n"
  "  push 128(%rdi); popfq\n"
  "  mov 0(%rdi), %rax; mov 8(%rdi), %rcx; mov 16(%rdi), %rdx; mov 24(%rdi), %rbx\n"
  "  mov 32(%rdi), %rsp; mov 40(%rdi), %rbp; mov 48(%rdi), %rsi\n"
  "  mov 64(%rdi), %r8; mov 72(%rdi), %r9; mov 80(%rdi), %r10; mov 88(%rdi), %r11\n"
  "  mov 96(%rdi), %r12; mov 104(%rdi), %r13; mov 112(%rdi), %r14; mov 120(%rdi), %r15\n"
  "  mov 56(%rdi), %rdi\n"
  "  jmp *code_ptr(%rip)\n"
  ".globl after_case\n"
  "after_case:\n"
  "  mov %rax, out_regs+0(%rip); mov %rcx, out_regs+8(%rip); mov %rdx, out_regs+16(%rip); mov %rbx, out_regs+24(%rip)\n"
  "  mov %rsp, out_regs+32(%rip); mov %rbp, out_regs+40(%rip); mov %rsi, out_regs+48(%rip); mov %rdi, out_regs+56(%rip)\n"
  "  mov %r8, out_regs+64(%rip); mov %r9, out_regs+72(%rip); mov %r10, out_regs+80(%rip); mov %r11, out_regs+88(%rip)\n"
  "  mov %r12, out_regs+96(%rip); mov %r13, out_regs+104(%rip); mov %r14, out_regs+112(%rip); mov %r15, out_regs+120(%rip)\n"
  "  mov saved_rsp(%rip), %rsp\n"
  "  pushfq; pop %rax; mov %rax, out_regs+128(%rip)\n"
  "  cld\n"
  "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
  "  ret\n");
extern char after_case[];

static void on_signal(int sig) { faulted = sig; siglongjmp(jb, 1); }

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }
static void unhex(const char *s, uint8_t *out, size_t n) { for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hexval(s[2*i]) << 4 | hexval(s[2*i+1])); }

int main(void) {
  uint8_t *data = mmap((void *)0x10000000, 4096 * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  uint8_t *code = mmap((void *)0x20000000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (data == MAP_FAILED || code == MAP_FAILED) return 2;
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_signal; sa.sa_flags = SA_NODEFER | SA_ONSTACK;
  stack_t ss; ss.ss_sp = malloc(65536); ss.ss_size = 65536; ss.ss_flags = 0; sigaltstack(&ss, 0);
  sigaction(SIGFPE, &sa, 0); sigaction(SIGSEGV, &sa, 0); sigaction(SIGILL, &sa, 0); sigaction(SIGBUS, &sa, 0); sigaction(SIGTRAP, &sa, 0);
  static char line[65536];
  while (fgets(line, sizeof line, stdin)) {
    /* line: <codehex> <17 x 16 hex regs+flags> <datahex 4096*2> */
    char *p = strtok(line, " \n");
    if (!p) continue;
    size_t clen = strlen(p) / 2;
    memset(code, 0xcc, 4096);
    unhex(p, code, clen);
    code[clen] = 0xff; code[clen + 1] = 0x25; memset(code + clen + 2, 0, 4);
    uint64_t back = (uint64_t)after_case; memcpy(code + clen + 6, &back, 8);
    for (int i = 0; i < 17; i++) { p = strtok(0, " \n"); uint64_t v = strtoull(p, 0, 16); if (i < 16) in_regs.gpr[i] = v; else in_regs.rflags = v; }
    p = strtok(0, " \n"); unhex(p, data, 4096);
    code_ptr = (uint64_t)code;
    faulted = 0;
    if (sigsetjmp(jb, 1) == 0) run_case();
    if (faulted) { __asm__ volatile("cld"); printf("fault %d\n", faulted); fflush(stdout); continue; }
    for (int i = 0; i < 16; i++) printf("%016lx ", out_regs.gpr[i]);
    printf("%016lx ", out_regs.rflags);
    for (int i = 0; i < 4096; i++) printf("%02x", data[i]);
    printf("\n"); fflush(stdout);
  }
  return 0;
}
`;

export interface NativeResult { fault?: number; gpr?: bigint[]; rflags?: bigint; data?: Uint8Array }

export function buildNativeHelper(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-diff-'));
  writeFileSync(join(dir, 'native.c'), C_SOURCE);
  execFileSync('gcc', ['-O1', '-no-pie', '-o', join(dir, 'native'), join(dir, 'native.c')]);
  return join(dir, 'native');
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function runNative(bin: string, cases: Array<{ code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array }>): NativeResult[] {
  const input = cases.map((c) => [hex(c.code), ...c.gpr.map((g) => BigInt.asUintN(64, g).toString(16)), c.rflags.toString(16), hex(c.data)].join(' ')).join('\n') + '\n';
  // A program that never ends on the host (a bad test program) must fail the test, not hang the suite.
  const r = spawnSync(bin, [], { input, maxBuffer: 1 << 30, timeout: 60_000 });
  if (r.error || r.signal) throw new Error(`native helper: ${r.error?.message ?? `killed by ${r.signal}`} (a program that does not end?)`);
  const lines = r.stdout.toString().trim().split('\n');
  return lines.map((l) => {
    if (l.startsWith('fault')) return { fault: Number(l.split(' ')[1]) };
    const parts = l.split(' ');
    return {
      gpr: parts.slice(0, 16).map((x) => BigInt('0x' + x)),
      rflags: BigInt('0x' + parts[16]!),
      data: new Uint8Array(Buffer.from(parts[17]!, 'hex')),
    };
  });
}

/** Assemble Intel-syntax snippets with the machine's `as`; returns their bytes. */
export function assemble(snippets: string[]): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-asm-'));
  const src = ['.intel_syntax noprefix', '.text'];
  snippets.forEach((s, i) => { src.push(`t${i}:`, ...s.split(';').map((x) => '  ' + x.trim())); });
  src.push(`t${snippets.length}:`);
  writeFileSync(join(dir, 'a.s'), src.join('\n') + '\n');
  execFileSync('as', ['--64', '-o', join(dir, 'a.o'), join(dir, 'a.s')]);
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', join(dir, 'a.o'), join(dir, 'a.bin')]);
  const nm = execFileSync('nm', ['-n', join(dir, 'a.o')]).toString();
  const off = new Map<number, number>();
  for (const line of nm.trim().split('\n')) {
    const [addr, , name] = line.split(' ');
    if (name?.startsWith('t')) off.set(Number(name.slice(1)), parseInt(addr!, 16));
  }
  const bin = new Uint8Array(execFileSync('cat', [join(dir, 'a.bin')]));
  return snippets.map((_, i) => bin.slice(off.get(i)!, off.get(i + 1)!));
}

// ---- The JIT side of the differential suites (cpu-jit-vs-host, simd-sse, x87) ----

/** xorshift64* (seeded, reproducible). */
export function rng(seed: bigint): () => bigint {
  let s = seed;
  return () => { s ^= s >> 12n; s ^= (s << 25n) & ((1n << 64n) - 1n); s ^= s >> 27n; return BigInt.asUintN(64, s * 0x2545f4914f6cdd1dn); };
}

/** A flat 4 GiB ring-0 segment (64-bit code when `code`). */
export function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

/** A JIT with 1 GiB of RAM identity-mapped by one 1 GiB page (PML4 at 0x1000, PDPT at 0x2000). */
export async function makeJit(noInline: boolean): Promise<{ jit: JitAccelerator; mem: GuestMemory }> {
  const mem = new GuestMemory(1024 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const jit = new JitAccelerator();
  jit.noInline = noInline;
  // Each case runs once: translate it on first sight, or the inline code would never be tested.
  jit.interpretFirst = false;
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit', model: 'max' }), cpuCount: 1,
    onStop: () => {}, onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n);
  return { jit, mem };
}

/** 64-bit ring-0 state with SSE enabled, at CODE_ADDR, as the native runner starts. */
export function jitState(gpr: bigint[], rflags: bigint): VcpuState {
  const nul: SegmentState = { ...flat(0, false), unusable: true, present: false };
  return {
    regs: { gpr, rip: BigInt(CODE_ADDR), rflags },
    sregs: {
      cs: flat(8, true), ds: flat(16, false), es: flat(16, false), ss: flat(16, false), fs: flat(16, false), gs: flat(16, false),
      tr: { ...flat(0x18, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul,
      gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: 0x80000033n, cr2: 0n, cr3: 0x1000n, cr4: 0x620n, cr8: 0n, efer: 0xd00n, apicBase: 0xfee00900n,
    },
  };
}

/** Per snippet: the RFLAGS bits the SDM leaves undefined for any of its instructions (masked in comparisons). */
export function undefinedFlags(codes: readonly Uint8Array[]): number[] {
  return codes.map((c) => {
    let m = 0, off = 0;
    while (off < c.length) {
      const r = decode(c, off, 64);
      if (!('mn' in r)) break;
      m |= r.flagsUndefined; off += r.length;
    }
    return m;
  });
}

/**
 * Run one differential case on the JIT's vCPU 0: the case's data page and
 * code (followed by HLT) written fresh, translations flushed, registers set,
 * run until HLT or a fault (one budget refill). Returns what `Vcpu.run` returns.
 */
export function runCaseOnJit(
  jit: JitAccelerator, mem: GuestMemory, c: { code: Uint8Array; gpr: bigint[]; rflags: bigint; data: Uint8Array },
): ReturnType<JitAccelerator['vcpus'][number]['run']> {
  const v = jit.vcpus[0]!;
  mem.writeBytes(DATA_ADDR, c.data);
  mem.writeBytes(CODE_ADDR, new Uint8Array([...c.code, 0xf4]));
  jit.engine.flushAll();
  jit.setState(0, jitState([...c.gpr], c.rflags));
  v.runState = 'running'; // the previous case ended in HLT (setState keeps the run state)
  let r = v.run(10000);
  if (r === 'budget') r = v.run(10000);
  return r;
}

