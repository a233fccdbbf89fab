/**
 * What the executor needs from the system side of the vCPU (runtime/vcpu.ts):
 * mode changes, descriptor loads, far transfers, interrupts, port I/O, MSRs.
 * Each returns an exit code (translate/core.ts Exit) unless stated.
 */
import type { Instruction } from '../decoder/types.js';
import type { XsaveCaps } from './xsave.js';

export interface SystemOps {
  movToCr(n: number, v: bigint, next: bigint): number;
  readCr(n: number): bigint | undefined;
  writeDr(n: number, v: bigint): void;
  readDr(n: number): bigint;
  loadSeg(seg: number, selector: number): number;
  farJump(sel: number, off: bigint, pushReturn: bigint | undefined, opSize: number): number;
  farReturn(insn: Instruction, popBytes: number): number;
  iret(opSize: number): number;
  softInt(vector: number, next: bigint, isException?: boolean): number;
  inhibitIrq(): void;
  writeFlagsFromPop(v: bigint, opSize: number): void;
  checkIopl(): number;
  checkIo(port: number, size: number): number;
  portIn(port: number, size: number): number;
  portOut(port: number, size: number, value: number): void;
  hlt(): number;
  cpuid(): void;
  rdtsc(withAux: boolean): number;
  /** IA32_TSC_AUX (RDPID). */
  readTscAux(): bigint;
  rdmsr(): number;
  wrmsr(next: bigint): number;
  random(size: number): bigint;
  ltr(sel: number): number;
  lldt(sel: number): number;
  invlpg(lin: bigint): void;
  syscall(next: bigint): number;
  sysret(opSize: number): number;
  hypercall(): void;
  fninit(): void;
  fxsave(lin: bigint): number;
  fxrstor(lin: bigint): number;
  /** The CPU model's XSAVE support (XSETBV, XGETBV, XRSTOR checks). */
  readonly xsaveCaps: XsaveCaps;
}
