/**
 * Documented disagreements between our decoder and the reference decoders.
 * Every entry says why the reference is wrong (or why the difference is only
 * a convention of that tool); anything not listed here fails the tests.
 */
import type { Instruction as IcedInstruction } from 'iced-x86';
import type { ObjdumpDisagreement } from './decoder-objdump.js';
import type { Disagreement } from './decoder-oracle.js';

interface Rule<D> { readonly reason: string; readonly match: (d: D) => boolean }

const icedMnemonic = (d: Disagreement): string => d.iced.split(/[ (]/)[0] ?? '';

export const ICED_ALLOW: ReadonlyArray<Rule<Disagreement>> = [
  {
    reason: 'INT n / INT3 / INT1 / INTO push the EFLAGS image and then clear TF, IF (interrupt gates), NT, RF, VM and ' +
      'AC (SDM Vol. 2 "INT n/INTO/INT3/INT1", Operation). iced reports no flag access; a liveness pass needs ' +
      'the read (else flag updates before an INT would be dropped), so we keep r:all and the cleared flags.',
    match: (d) => d.what.startsWith('flags:') && /^(int|int3|int1|into) /.test(d.ours),
  },
  {
    reason: '0F 18 /6, /7 are reserved-NOP hint space (SDM Vol. 2 "NOP", Table A-3 note); a CPU without ' +
      'PREFETCHI executes PREFETCHIT0/1 as NOP, which is what we decode (we do not implement PREFETCHI).',
    match: (d) => d.what === 'decoded-unsupported' && d.ours.startsWith('nop') && /^prefetchit[01]$/.test(icedMnemonic(d)),
  },
  {
    reason: 'RDSSPD/RDSSPQ (F3 0F 1E /1, reserved-NOP space) and INCSSPD/INCSSPQ (F3 0F AE /5, LFENCE space) ' +
      'do nothing without CET shadow stacks, which we do not implement (SDM Vol. 1 §18.3: "these instructions ' +
      'are NOPs when CET is not enabled"); we decode them as NOP.',
    match: (d) => d.what === 'decoded-unsupported' && d.ours.startsWith('nop') && /^(rdssp|incssp)[dq]$/.test(icedMnemonic(d)),
  },
  {
    reason: 'AMD APM Vol. 3 "VMGEXIT": F3 0F 01 D9 outside an SEV-ES guest behaves as VMMCALL, which is what ' +
      'we decode; iced reports the SEV-ES name.',
    match: (d) => d.what === 'decoded-unsupported' && d.ours.startsWith('vmmcall') && icedMnemonic(d) === 'vmgexit',
  },
];

const objMn = (d: ObjdumpDisagreement): string => {
  const words = d.objdump.replace(/^\d+: /, '').split(/\s+/);
  return words.find((w) => !/^(lock|rep[nz]*|data16|data32|addr16|addr32|[cdefgs]s|rex(\.[WRXB]+)?|bnd|notrack)$/.test(w)) ?? '';
};

export const OBJDUMP_ALLOW: ReadonlyArray<Rule<ObjdumpDisagreement>> = [
  {
    reason: 'objdump prints each REX prefix that is followed by another prefix as its own one-byte ' +
      'pseudo-instruction ("rex.W"); the CPU ignores such a REX and decodes one instruction ' +
      '(SDM Vol. 2 §2.2.1 "REX prefixes ... must immediately precede the opcode ... other placements are ignored"). ' +
      'iced agrees with us.',
    match: (d) => d.what === 'length' && /^\d+: (([cdefgs]s|data16|addr32|addr16|repz|repnz|lock) )*rex(\.[WRXB]+)?$/.test(d.objdump),
  },
  {
    reason: 'Undocumented x87 aliases (DD C8+i FXCH, DF D0+i/D8+i FSTP, DC D0+i/D8+i FCOM/FCOMP, DE D0+i FCOMP, ' +
      'D9 D8+i FSTPNCE, DF C0+i FFREEP) and SALC (D6) execute on every x86 CPU; objdump prints (bad). iced agrees with us.',
    match: (d) => d.what === 'mnemonic' && objMn(d) === '(bad)' &&
      /^(fxch|fstp|fcom|fcomp|fstpnce|ffreep|salc)\b/.test(d.ours),
  },
  {
    reason: 'MPX is not implemented (and removed from current CPUs): 0F 1A/0F 1B are then reserved NOPs ' +
      '(SDM Vol. 2 Table A-3 "NOP"); objdump always decodes BND* instructions.',
    match: (d) => (d.what === 'mnemonic' || d.what === 'length') && /^bnd/.test(objMn(d)),
  },
  {
    reason: 'AMD APM Vol. 3 "UD0": 0F FF has no ModRM byte on AMD (the vendor we follow); objdump decodes ' +
      'the Intel form with a ModRM byte. Either way it raises #UD.',
    match: (d) => d.what === 'length' && objMn(d) === 'ud0',
  },
  {
    reason: 'objdump names the 8087/287-only no-ops "fneni(8087 only)", "fndisi(8087 only)", "fnsetpm(287 only)"; ' +
      'same instruction (a NOP on 387 and later).',
    match: (d) => d.what === 'mnemonic' && /^fn(eni|disi|setpm)\((8087|287)/.test(objMn(d)),
  },
  {
    reason: 'objdump shows the pseudo-op name of VCMPPD/VCMPPS with an immediate predicate (vcmpneq_ospd); ' +
      'same instruction and length.',
    match: (d) => d.what === 'mnemonic' && /^v?cmp[a-z_]+(ps|pd|ss|sd)$/.test(objMn(d)) && /^v?cmp(ps|pd|ss|sd)\b/.test(d.ours),
  },
  {
    reason: 'objdump prints F3 90 with REX.B as "rex.B pause"/"xchg"; iced and we follow the SDM (PAUSE ignores REX.B, ' +
      'see "PAUSE"), and 66 90 as "xchg ax,ax" where we say nop (same operation).',
    match: (d) => d.what === 'mnemonic' && ((objMn(d) === 'xchg' && d.ours.startsWith('nop')) ||
      (objMn(d) === 'pause' && d.ours.startsWith('xchg'))),
  },
  {
    reason: 'objdump rejects F2/F3 prefixes on some 0F opcodes (BSF/BSR with F2, PREFETCH/PREFETCHW reg forms, the ' +
      'fence opcodes with a non-canonical rm in 16-bit code); CPUs ignore the prefix or the rm field there ' +
      '(SDM Vol. 2 §2.1.1: F2/F3 are ignored where not defined; LFENCE/MFENCE/SFENCE ignore ModRM.rm). iced agrees with us.',
    match: (d) => (d.what === 'length' && /\(bad\)/.test(d.objdump) &&
      /^(bsf|bsr|nop|lfence|mfence|sfence|prefetch)/.test(d.ours.replace(/^\d+: /, ''))) ||
      (d.what === 'mnemonic' && objMn(d) === '(bad)' && /^wbinvd/.test(d.ours)) ||
      // 66 0F 01 D9: objdump rejects the operand-size prefix on VMMCALL; iced (AMD mode) and we ignore it, as
      // the CPU ignores 66 on instructions without operands (SDM Vol. 2 §2.1.1).
      (d.what === 'length' && /\(bad\)/.test(d.objdump) && /^\d+: vmmcall$/.test(d.ours) && /66/.test(d.bytes.slice(0, 8))),
  },
  {
    reason: 'CET shadow-stack instructions in NOP/LFENCE space (RDSSP, INCSSP) are NOPs without CET, which we ' +
      'do not implement; objdump names the CET instruction.',
    match: (d) => d.what === 'mnemonic' && /^(rdssp|incssp)[dq]$/.test(objMn(d)) && d.ours.startsWith('nop'),
  },
  {
    reason: 'objdump decodes 0F 0D with a register operand as PREFETCH (bad); iced and we decode the reserved-NOP form.',
    match: (d) => d.what === 'length' && /^prefetch/.test(objMn(d)) && /: nop/.test(d.ours),
  },
];

export function allowIced(d: Disagreement, _ins: IcedInstruction | null): boolean {
  return ICED_ALLOW.some((r) => r.match(d));
}

export function allowObjdump(d: ObjdumpDisagreement): boolean {
  return OBJDUMP_ALLOW.some((r) => r.match(d));
}
