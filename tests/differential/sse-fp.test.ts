/**
 * SSE/SSE2 floating-point arithmetic (the x86-64 baseline gcc and Go use) on
 * the host CPU and the JIT, lane bits compared exactly: NaN operands (the
 * first source's NaN wins, quietened; SNaN payloads), signed zeros,
 * infinities, denormals, and every MXCSR rounding mode. MXCSR exception
 * flags, masks, #XM, DAZ and FTZ are compared in sse-fp-flags.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assemble, buildNativeHelper, DATA_ADDR, DATA_BYTES, makeJit, rng, runCaseOnJit, runNative } from './cpu-native-helper.js';

const OPS = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'];
const FORMS = [
  ...OPS.flatMap((o) => ['ps', 'pd', 'ss', 'sd'].map((f) => `${o}${f}`)),
  // conversions: NaN payloads, rounding of narrowing and of integers that do not fit the significand
  'cvtsd2ss', 'cvtss2sd', 'cvtps2pd', 'cvtpd2ps', 'cvtdq2ps', 'cvtsi2ss xmm0, qword ptr [rsi+16]',
  'cvtsi2sd xmm0, qword ptr [rsi+16]', 'cvtsi2ss xmm0, dword ptr [rsi+16]',
];

const SPECIAL32 = [0x7fc00000, 0xffc00001, 0x7fa00000, 0xff800001, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x807fffff,
  0x7f7fffff, 0x3f800000, 0xbf800000, 0x00800000, 0x3fffffff];
const SPECIAL64 = [0x7ff8000000000000n, 0xfff8000000000001n, 0x7ff4000000000000n, 0xfff0000000000001n, 0x7ff0000000000000n,
  0xfff0000000000000n, 0n, 0x8000000000000000n, 1n, 0x800fffffffffffffn, 0x7fefffffffffffffn, 0x3ff0000000000000n,
  0xbff0000000000000n, 0x0010000000000000n, 0x3fffffffffffffffn];

describe('SSE/SSE2 FP arithmetic: JIT vs host CPU', () => {
  let bin: string;
  let codes: Uint8Array[];
  beforeAll(() => {
    bin = buildNativeHelper();
    // MXCSR from [rsi+64]; operands at [rsi] and [rsi+16]; result to [rsi+32].
    codes = assemble(FORMS.map((f) => `ldmxcsr [rsi+64]; movups xmm0, [rsi]; movups xmm1, [rsi+16]; ${f.includes(' ') ? f : `${f} xmm0, xmm1`}; movups [rsi+32], xmm0; mov dword ptr [rsi+64], 0x1f80; ldmxcsr [rsi+64]`));
  });

  it(`${FORMS.length} forms x 4 rounding modes x random special and ordinary lanes`, async () => {
    const next = rng(0x55ef9n);
    const { jit, mem } = await makeJit(false);
    const failures: string[] = [];
    for (let f = 0; f < FORMS.length; f++) {
      const form = FORMS[f]!;
      const double = /(pd|sd|cvtsd2ss|cvtpd2ps|cvtsi2s[sd] xmm0, qword)/.test(form) && !/cvtss2sd|cvtps2pd/.test(form);
      for (let k = 0; k < 24; k++) {
        const data = new Uint8Array(DATA_BYTES);
        const dv = new DataView(data.buffer);
        for (let i = 0; i < 32; i += double ? 8 : 4) {
          const pick = next() % 3n;
          if (double) dv.setBigUint64(i, pick === 0n ? next() : SPECIAL64[Number(next() % BigInt(SPECIAL64.length))]!, true);
          else dv.setUint32(i, pick === 0n ? Number(next() & 0xffffffffn) : SPECIAL32[Number(next() % BigInt(SPECIAL32.length))]!, true);
        }
        const rc = k % 4;
        dv.setUint32(64, 0x1f80 | (rc << 13), true);
        const gpr = Array.from({ length: 16 }, () => 0n);
        gpr[4] = BigInt(DATA_ADDR + 3072);
        gpr[6] = BigInt(DATA_ADDR);
        const [want] = runNative(bin, [{ code: codes[f]!, gpr, rflags: 0x202n, data }]);
        const r = runCaseOnJit(jit, mem, { code: codes[f]!, gpr, rflags: 0x202n, data });
        const got = Buffer.from(mem.readBytes(DATA_ADDR + 32, 16)).toString('hex');
        const exp = Buffer.from(want!.data!.slice(32, 48)).toString('hex');
        const inputs = Buffer.from(data.slice(0, 32)).toString('hex');
        if (r !== 'halted' || got !== exp) failures.push(`${FORMS[f]} rc=${rc} in=${inputs}: jit ${r} ${got} host ${exp}`);
      }
    }
    if (failures.length) console.log(failures.slice(0, 20).join('\n'));
    expect(failures.slice(0, 10)).toEqual([]);
  }, 120_000);
});
