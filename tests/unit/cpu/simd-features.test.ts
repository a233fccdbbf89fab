// CPUID models switch the SIMD extensions: an instruction of an extension
// the vCPU's CPUID does not report raises #UD (here: no IDT, so #UD ->
// #DF -> triple fault), one it reports runs. Byte encodings from the SDM
// (checked against objdump in tests/differential/simd-sse.test.ts).
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import { Bus } from '../../../src/memory/bus.js';
import { JitAccelerator, JIT_RESERVED_BYTES } from '../../../src/cpu/accelerator.js';
import { createCpuidPolicy } from '../../../src/cpu/cpuid.js';
import type { SegmentState, VcpuState } from '../../../src/accel/types.js';

const CODE = 0x100000;

function flat(sel: number, code: boolean): SegmentState {
  return { selector: sel, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3, present: true, dpl: 0, db: !code, s: true, l: code, g: true, avl: false, unusable: false };
}

async function run(model: string, features: Record<string, boolean>, code: number[]): Promise<string> {
  const mem = new GuestMemory(64 * 1024 * 1024, { reservedBytes: JIT_RESERVED_BYTES });
  const jit = new JitAccelerator();
  await jit.init({
    memory: mem, pio: new Bus('pio'), mmio: new Bus('mmio'), cpuid: createCpuidPolicy({ accel: 'jit', model, features }), cpuCount: 1,
    onStop: () => {}, onEoi: () => {}, nowNs: () => process.hrtime.bigint(),
  });
  mem.writeU64(0x1000, 0x2000n | 3n);
  mem.writeU64(0x2000, 0x83n);
  mem.writeBytes(CODE, new Uint8Array([...code, 0xf4]));
  const nul: SegmentState = { ...flat(0, false), unusable: true, present: false };
  const s: VcpuState = {
    regs: { gpr: new Array<bigint>(16).fill(0n), rip: BigInt(CODE), rflags: 2n },
    sregs: {
      cs: flat(8, true), ds: flat(16, false), es: flat(16, false), ss: flat(16, false), fs: flat(16, false), gs: flat(16, false),
      tr: { ...flat(0x18, false), type: 0xb, s: false, limit: 0x67 }, ldt: nul, gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: 0x80000033n, cr2: 0n, cr3: 0x1000n, cr4: 0x620n, cr8: 0n, efer: 0xd00n, apicBase: 0xfee00900n,
    },
  };
  jit.setState(0, s);
  const v = jit.vcpus[0]!;
  v.runState = 'running';
  return v.run(10000);
}

const PSHUFB = [0x66, 0x0f, 0x38, 0x00, 0xc1]; // pshufb xmm0, xmm1 (SSSE3)
const SHA256RNDS2 = [0x0f, 0x38, 0xcb, 0xca]; // sha256rnds2 xmm1, xmm2 (SHA)
const AESENC = [0x66, 0x0f, 0x38, 0xdc, 0xc1]; // aesenc xmm0, xmm1 (AES)
const PTEST = [0x66, 0x0f, 0x38, 0x17, 0xc1]; // ptest xmm0, xmm1 (SSE4.1)
const CRC32 = [0xf2, 0x0f, 0x38, 0xf1, 0xc3]; // crc32 eax, ebx (SSE4.2)
const HADDPS = [0xf2, 0x0f, 0x7c, 0xc1]; // haddps xmm0, xmm1 (SSE3)

describe('SIMD extensions follow the CPUID model', () => {
  const cases: Array<[string, number[], string, Record<string, boolean>, string]> = [
    ['pshufb on max', PSHUFB, 'max', {}, 'halted'],
    ['pshufb on qemu64 (no SSSE3)', PSHUFB, 'qemu64', {}, 'triple'],
    ['pshufb on qemu64,+ssse3', PSHUFB, 'qemu64', { ssse3: true }, 'halted'],
    ['sha256rnds2 on max,-sha-ni', SHA256RNDS2, 'max', { 'sha-ni': false }, 'triple'],
    ['sha256rnds2 on max', SHA256RNDS2, 'max', {}, 'halted'],
    ['aesenc on max,-aes', AESENC, 'max', { aes: false }, 'triple'],
    ['ptest on qemu64', PTEST, 'qemu64', {}, 'triple'],
    ['crc32 on max,-sse4.2', CRC32, 'max', { 'sse4.2': false }, 'triple'],
    ['crc32 on max', CRC32, 'max', {}, 'halted'],
    ['haddps on qemu64 (SSE3 is in qemu64)', HADDPS, 'qemu64', {}, 'halted'],
    ['haddps on qemu64,-sse3', HADDPS, 'qemu64', { sse3: false }, 'triple'],
  ];
  for (const [name, code, model, features, want] of cases) {
    test(name, async () => { expect(await run(model, features, code)).toBe(want); });
  }
});
