/**
 * Public types of the x86 instruction decoder (src/cpu/decoder).
 *
 * # API
 *
 * ```ts
 * // Allocation-free hot path (the JIT): fill a reusable Instruction.
 * decodeInto(out: Instruction, bytes: Uint8Array, offset: number, end: number,
 *            mode: CpuMode, features?: FeatureSet): number
 *   // returns the length (1..15) on success, or DECODE_UD / DECODE_GP / DECODE_MORE
 *   // (negative); on failure `out.length` is the #UD length (0 = unknown) or the
 *   // number of bytes needed, and `out.failure` says why.
 *
 * // Convenience (tests, tools, the GDB stub): allocates a fresh Instruction.
 * decode(bytes: Uint8Array, offset: number, mode: CpuMode, features?: FeatureSet)
 *   : Instruction | DecodeFailure
 * ```
 * (both in decoder.ts; `formatInstruction(insn, { rip })` in disasm.ts).
 *
 * # Failures
 * - `ud`: the bytes are not a valid instruction in this mode with these features
 *   (undefined opcode, LOCK on a non-lockable form, VEX/EVEX not supported, an
 *   instruction invalid in 64-bit mode, a disabled feature, ...). `length` is the
 *   length the instruction would have had when that is known (VEX/EVEX, ModRM
 *   consumed), else absent. The CPU raises #UD at the instruction's first byte.
 * - `gp`: the instruction would be longer than 15 bytes (SDM Vol. 2 §2.3.11:
 *   "exceed the instruction length limit of 15 bytes ... #GP(0)"). Hardware
 *   raises #GP(0); we report it as soon as byte 16 would be needed, even if the
 *   encoding is also undefined (the limit check comes first on real CPUs).
 * - `more`: `bytes` ended (at `end`) before the instruction did; `needed` is the
 *   total number of bytes from `offset` known to be required so far (call again
 *   with at least that many; the answer may then be `more` again with a larger
 *   number). Never more than 15. A JIT fetching across a page boundary uses this
 *   to decide whether the next page must be fetched (and may #PF).
 *
 * # Instruction representation
 * `Instruction` is a class with a fixed shape (monomorphic for V8) that the
 * decoder overwrites in place. Fields not meaningful for an instruction keep
 * stale values: read only what `opCount`/`implicitCount`/`kind` say is valid.
 * Operands are the five preallocated `Operand` objects in `ops` (explicit, in
 * Intel order: destination first) and four in `implicit` (registers and memory
 * the instruction touches that the encoding does not name, e.g. RAX/RDX of MUL,
 * RSP of PUSH/POP/CALL/RET/ENTER/LEAVE/INT/IRET (sized 8 in 64-bit mode, else 4: SS.B
 * decides between ESP and SP at run time), RSI/RDI/RCX of string instructions
 * (address-size; RCX only matters with a REP prefix), RCX/R11 of SYSCALL).
 *
 * ## Operands (`Operand`)
 * - `kind`: OpKind.REG | MEM | IMM | REL | FAR.
 * - REG: `regClass` (RegClass.GPR/SEG/CR/DR/MMX/XMM/YMM/ST), `reg` (index; GPR
 *   0..15 = RAX,RCX,RDX,RBX,RSP,RBP,RSI,RDI,R8..R15; SEG 0..5 = ES,CS,SS,DS,FS,GS;
 *   ST i = ST(i)), `size` in bytes (1,2,4,8,10,16,32), `highByte`: true for
 *   AH,CH,DH,BH, then `reg` is 0..3 (the register whose bits 15:8 are meant).
 *   With any REX prefix, byte registers 4..7 are SPL,BPL,SIL,DIL (highByte false).
 * - MEM: `seg` (the segment-override prefix, else SS for RSP/RBP/BP bases, else
 *   DS; always ES for string destinations. In 64-bit mode an ES/CS/SS/DS override
 *   is reported as written but has base 0 like the default, and it does not
 *   replace an earlier FS/GS override), `base` (GPR 0..15, BASE_RIP, or NO_REG),
 *   `index` (GPR 0..15 or NO_REG; XMM/YMM register number for VSIB when
 *   `vsib` is 16/32), `scale` (1,2,4,8), `disp` / `dispHi`, `addrSize` (16/32/64
 *   bits), `size` = the operand's size in bytes (6/10 for m16:32/m16:64 far
 *   pointers, 10 for m80, 512 for FXSAVE, 0 for LEA and for XSAVE* whose size
 *   is run-time state); `access` 0 means the instruction computes the address
 *   but does not access memory there (LEA, NOP Ev, PREFETCH*, CLFLUSH, INVLPG).
 *   The 64-bit displacement is `(BigInt(dispHi >>> 0) << 32n) | BigInt(disp >>> 0)`;
 *   for ordinary displacements `disp` is the sign-extended int32 value and
 *   `dispHi` its sign (0 or -1); the effective address is taken modulo
 *   2^addrSize. The moffs of A0-A3 is an unsigned absolute offset: `disp` holds
 *   it zero-extended (and `dispHi` the high half of a moffs64). For RIP-relative operands `disp` is relative to the
 *   address of the next instruction. 16-bit addressing: disp is the sign-extended
 *   disp8/disp16, the effective address wraps at 64 KiB (`addrSize` = 16).
 * - IMM: `imm` / `immHi`, `size` = operand size in bytes after extension.
 *   The 64-bit value after extension is always
 *   `(BigInt(immHi >>> 0) << 32n) | BigInt(imm >>> 0)`; also `imm` alone is the
 *   exact value for every form except MOV r64, imm64: immediates sign-extended
 *   from a narrower encoding (Ib in `add ecx, -1`, Id in 64-bit ops, PUSH Ib) are
 *   negative when their sign bit is set; immediates as wide as the operand or
 *   zero-extended by definition (IN/OUT/INT Ib, ENTER, RET Iw, shift counts, SSE
 *   imm8, `mov al, 0xff`, `mov eax, 0xffffffff`) are non-negative. So `imm | 0` is
 *   always the low 32 bits. MOV r64, imm64 puts the low 32 bits in `imm` and the
 *   high 32 bits in `immHi`. The implicit 1 of D0/D1/D2/D3 shifts is an IMM
 *   operand of value 1 and size 1.
 * - REL: `imm` = signed branch displacement (rel8/16/32 sign-extended) from the
 *   next instruction; the target wraps to the operand size (16-bit: IP & 0xffff).
 *   See `relTarget()` in decoder.ts.
 * - FAR (EA/9A ptr16:16/32): `sel` = selector, `imm` = offset (unsigned).
 * - `access`: Access bits (READ, WRITE, COND) of the operand.
 *
 * ## Flags
 * `flagsRead`, `flagsWritten`, `flagsUndefined` are RFLAGS bit masks (FLAG_CF ...,
 * the architectural bit positions). `flagsWritten` contains every flag the
 * instruction may change (including the undefined ones, which are also in
 * `flagsUndefined`). An instruction that leaves a flag unchanged in some cases
 * (shifts/rotates by a count that may be 0, REP CMPS/SCAS with RCX = 0, BSF/BSR
 * source 0 on AMD ZF-only...) lists that flag in BOTH `flagsRead` and
 * `flagsWritten`, so a liveness pass treating written-as-killed stays correct.
 *
 * ## Control flow and attributes
 * `flow` (Flow.*) classifies block ends; `attrs` (ATTR_*) bits say privileged
 * (CPL 0 only), IOPL-sensitive, serializing, lockable, protected-mode-only, ...
 *
 * ## Identity
 * `mn` (Mn.*, mnemonics.ts) names the operation; `form` is the index of the
 * matched entry of the decoder's instruction table (FORMS in table.ts: opcode
 * pattern, operand specs, metadata): a JIT may switch on either. `cond` is the
 * condition code 0..15 (SDM Vol. 1 App. B order: O,NO,B,AE,E,NE,BE,A,S,NS,P,NP,
 * L,GE,LE,G) for Jcc/SETcc/CMOVcc/FCMOVcc (FCMOVcc uses B,E,BE,P and negations)
 * and -1 otherwise.
 */

import type { Mn } from './mnemonics.js';
export { Mn, MN_NAMES } from './mnemonics.js';

/** Code-segment default size: 16 (real mode, vm86, 16-bit PM), 32 (CS.D), 64 (long mode CS.L). */
export type CpuMode = 16 | 32 | 64;

// ---- decodeInto status ---------------------------------------------------
/** decodeInto: invalid opcode -> #UD. */
export const DECODE_UD = -1;
/** decodeInto: longer than 15 bytes -> #GP(0). */
export const DECODE_GP = -2;
/** decodeInto: the buffer ended first; `out.length` = bytes needed. */
export const DECODE_MORE = -3;

/** Why an instruction is #UD (diagnostics only). */
export const UdReason = {
  NONE: 0,
  /** No instruction has this encoding (or a reserved ModRM.reg/mod). */
  OPCODE: 1,
  /** Valid encoding, but not in this CPU mode (e.g. PUSH ES, AAA in 64-bit mode). */
  MODE: 2,
  /** LOCK prefix on an instruction or form that does not allow it. */
  LOCK: 3,
  /** The FeatureSet does not include the required CPU feature. */
  FEATURE: 4,
  /** EVEX / XOP / 3DNow! / MVEX: recognised, not supported. */
  UNSUPPORTED: 5,
  /** VEX with a legacy 66/F2/F3/REX prefix, or VEX.vvvv/L must-be-1/0 violated. */
  VEX: 6,
} as const;
export type UdReason = (typeof UdReason)[keyof typeof UdReason];

export type DecodeFailure =
  | { readonly kind: 'ud'; readonly length?: number; readonly reason: UdReason }
  | { readonly kind: 'gp'; readonly length: 15 }
  | { readonly kind: 'more'; readonly needed: number };

// ---- operands -------------------------------------------------------------
export const OpKind = { NONE: 0, REG: 1, MEM: 2, IMM: 3, REL: 4, FAR: 5 } as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

export const RegClass = {
  NONE: 0,
  /** General-purpose: 0..15 (RAX..R15); size 1/2/4/8; highByte for AH..BH. */
  GPR: 1,
  /** Segment: 0..5 = ES, CS, SS, DS, FS, GS. */
  SEG: 2,
  /** Control: CR0..CR15 (CR8 = TPR in 64-bit mode; LOCK MOV CR0 = CR8 on AMD). */
  CR: 3,
  /** Debug: DR0..DR15. */
  DR: 4,
  /** x87 stack: ST(0)..ST(7), relative to TOP. */
  ST: 5,
  /** MMX: MM0..MM7. */
  MMX: 6,
  /** XMM0..XMM15 (16 bytes). */
  XMM: 7,
  /** YMM0..YMM15 (32 bytes). */
  YMM: 8,
} as const;
export type RegClass = (typeof RegClass)[keyof typeof RegClass];

/** GPR numbers (SDM Vol. 2 Table 2-1 order). */
export const Gpr = {
  RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7,
  R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
} as const;
/** Segment register numbers (Sreg encoding, SDM Vol. 2 Table 3-6... ModRM.reg of MOV Sreg). */
export const Seg = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;
/** `base` of a RIP-relative memory operand. */
export const BASE_RIP = 16;
/** `base`/`index`/`segPrefix` when absent. */
export const NO_REG = -1;

/** Operand access bits. */
export const ACCESS_READ = 1;
export const ACCESS_WRITE = 2;
/** The access happens only in some cases: the register destination of CMOVcc (in 64-bit mode a 32-bit CMOVcc zero-extends even when false), the store of MASKMOVQ/MASKMOVDQU/VMASKMOV, the destination of CMPXCHG's accumulator. REP with count 0 is not flagged. */
export const ACCESS_COND = 4;

/** One operand. All fields exist on every operand (fixed shape); see the module comment for which are valid per `kind`. */
export class Operand {
  kind: OpKind = OpKind.NONE;
  /** Size in bytes (register width, memory access size, immediate size after extension). */
  size = 0;
  access = 0;
  // REG
  regClass: RegClass = RegClass.NONE;
  reg = 0;
  highByte = false;
  // MEM
  seg = 0;
  base = NO_REG;
  index = NO_REG;
  scale = 1;
  disp = 0;
  dispHi = 0;
  addrSize: 16 | 32 | 64 = 64;
  /** VSIB (AVX2 gathers): 0 = not VSIB; 16 = `index` is XMM register `index`; 32 = YMM. `scale` applies per
   * element; `size` is then the element size. */
  vsib: 0 | 16 | 32 = 0;
  // IMM / REL / FAR
  imm = 0;
  immHi = 0;
  sel = 0;
}

// ---- flags (RFLAGS bit positions, SDM Vol. 1 §3.4.3) ---------------------
export const FLAG_CF = 1 << 0;
export const FLAG_PF = 1 << 2;
export const FLAG_AF = 1 << 4;
export const FLAG_ZF = 1 << 6;
export const FLAG_SF = 1 << 7;
export const FLAG_TF = 1 << 8;
export const FLAG_IF = 1 << 9;
export const FLAG_DF = 1 << 10;
export const FLAG_OF = 1 << 11;
export const FLAG_IOPL = 3 << 12;
export const FLAG_NT = 1 << 14;
export const FLAG_RF = 1 << 16;
export const FLAG_VM = 1 << 17;
export const FLAG_AC = 1 << 18;
export const FLAG_VIF = 1 << 19;
export const FLAG_VIP = 1 << 20;
export const FLAG_ID = 1 << 21;
/** The six arithmetic status flags. */
export const FLAGS_STATUS = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;
/** Everything POPF/IRET may write (subject to CPL/IOPL at run time). */
export const FLAGS_ALL = 0x3f7fd5;

// ---- control flow -----------------------------------------------------------
export const Flow = {
  /** Falls through to the next instruction. */
  NONE: 0,
  /** JMP rel. */
  JMP: 1,
  /** JMP r/m (near indirect). */
  JMP_IND: 2,
  /** Jcc, LOOP/LOOPcc, JCXZ/JECXZ/JRCXZ, XBEGIN: taken or falls through. */
  JCC: 3,
  /** CALL rel. */
  CALL: 4,
  /** CALL r/m (near indirect). */
  CALL_IND: 5,
  /** RET, RET Iw (near). */
  RET: 6,
  /** JMP ptr16:x / JMP m16:x (far: loads CS). */
  JMP_FAR: 7,
  /** CALL ptr16:x / CALL m16:x. */
  CALL_FAR: 8,
  /** RETF, RETF Iw. */
  RET_FAR: 9,
  /** IRET/IRETD/IRETQ. */
  IRET: 10,
  /** INT n, INT3, INTO (conditional), INT1. */
  INT: 11,
  /** SYSCALL, SYSENTER. */
  SYSCALL: 12,
  /** SYSRET, SYSEXIT. */
  SYSRET: 13,
  /** HLT, MWAIT (waits for an event). */
  HLT: 14,
  /** UD0/UD1/UD2 (always #UD). */
  UD: 15,
  /** Changes execution state so that following code must be re-decoded/re-translated (MOV CR0/CR4/CR3, WRMSR, LMSW, CLTS?, RSM, XSETBV, VM*). */
  MODE_CHANGE: 16,
} as const;
export type Flow = (typeof Flow)[keyof typeof Flow];

// ---- attributes (Instruction.attrs) ------------------------------------------
/** #GP(0) unless CPL = 0 (HLT, LGDT, MOV CRn, WRMSR, INVLPG, ...). */
export const ATTR_PRIVILEGED = 1 << 0;
/** Checks IOPL (CLI, STI, IN, OUT, INS, OUTS: also the I/O bitmap). */
export const ATTR_IOPL = 1 << 1;
/** Serializing (SDM Vol. 3 §9.3): CPUID, IRET, MOV CRn, WRMSR, LGDT, INVD, ... */
export const ATTR_SERIALIZING = 1 << 2;
/** This form accepts LOCK (memory destination of ADD..XOR, BTx, XCHG, XADD, CMPXCHG*, INC/DEC/NOT/NEG). */
export const ATTR_LOCKABLE = 1 << 3;
/** The LOCK prefix is present (only ever set together with ATTR_LOCKABLE; XCHG with memory is locked even without it). */
export const ATTR_LOCKED = 1 << 4;
/** #UD in real mode and vm86 (ARPL, LAR, LSL, VERR, VERW, SLDT, STR, LLDT, LTR). */
export const ATTR_PROTECTED_ONLY = 1 << 5;
/** A string instruction (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS). */
export const ATTR_STRING = 1 << 6;
/** REP applies: the string op repeats RCX times (MOVS/STOS/LODS/INS/OUTS) when `rep` is nonzero; F2 acts like F3
 * here (both CPU vendors repeat; only CMPS/SCAS distinguish REPE from REPNE). */
export const ATTR_REP = 1 << 7;
/** REPE (F3) / REPNE (F2) apply (CMPS/SCAS): repeat while ZF=1 / ZF=0. See `rep`. */
export const ATTR_REPCC = 1 << 8;
/** Uses the stack implicitly (PUSH/POP/CALL/RET/ENTER/LEAVE/PUSHF/INT...). */
export const ATTR_STACK = 1 << 9;
/** x87 instruction (#NM when CR0.EM/TS; touches FPU state). */
export const ATTR_X87 = 1 << 10;
/** MMX instruction (x87 state aliasing, #NM rules). */
export const ATTR_MMX = 1 << 11;
/** SSE-family instruction (CR4.OSFXSR check, #NM on CR0.TS). */
export const ATTR_SSE = 1 << 12;
/** VEX-encoded (CR4.OSXSAVE + XCR0 check). */
export const ATTR_AVX = 1 << 13;
/** 16-byte aligned memory required (#GP otherwise): MOVAPS, MOVDQA, legacy SSE non-VEX memory operands of packed ops... */
export const ATTR_ALIGN16 = 1 << 14;
/** Loads a segment register / descriptor (MOV Sreg, POP Sreg, LDS.., far transfers, LLDT, LTR). */
export const ATTR_SEGLOAD = 1 << 15;
/** Reads or writes an MSR/TSC/PMC or other model state (RDMSR, WRMSR, RDTSC(P), RDPMC, RDPID, XGETBV, XSETBV, CPUID). */
export const ATTR_SYSTEM_STATE = 1 << 16;
/** Port I/O (IN, OUT, INS, OUTS). */
export const ATTR_IO = 1 << 17;
/** After this instruction interrupts are inhibited for one instruction (STI, MOV SS, POP SS). */
export const ATTR_INHIBIT_IRQ = 1 << 18;
/** Writes through a memory operand whose size depends on run-time state (XSAVE*, FXSAVE, FNSAVE, FNSTENV). */
export const ATTR_VARSIZE_MEM = 1 << 19;

// ---- prefixes (Instruction.prefixes) ------------------------------------------
export const PFX_LOCK = 1 << 0;
/** F3 present (REP/REPE, or mandatory prefix). */
export const PFX_REP = 1 << 1;
/** F2 present (REPNE, or mandatory prefix). */
export const PFX_REPNE = 1 << 2;
/** 66 present. */
export const PFX_OPSIZE = 1 << 3;
/** 67 present. */
export const PFX_ADDRSIZE = 1 << 4;
/** A segment-override prefix is present (`segPrefix`). */
export const PFX_SEG = 1 << 5;
/** A REX prefix is in effect (`rex`). */
export const PFX_REX = 1 << 6;
/** 2-byte VEX (C5). */
export const PFX_VEX2 = 1 << 7;
/** 3-byte VEX (C4). */
export const PFX_VEX3 = 1 << 8;
/** F2 and F3 both present: the last one wins as REP/mandatory prefix (`rep`). */
export const PFX_REP_CONFLICT = 1 << 9;
/** Branch hints: 2E (not taken) / 3E (taken) before Jcc; also the NOTRACK 3E before indirect JMP/CALL. */
export const PFX_HINT_NOT_TAKEN = 1 << 10;
export const PFX_HINT_TAKEN = 1 << 11;

/** Opcode maps. */
export const OpMap = { ONE_BYTE: 0, MAP_0F: 1, MAP_0F38: 2, MAP_0F3A: 3, X87: 4 } as const;
export type OpMap = (typeof OpMap)[keyof typeof OpMap];

/** The effective REP-type prefix of string instructions: 0 none, 0xF3 (REP/REPE), 0xF2 (REPNE). */
export type RepKind = 0 | 0xf2 | 0xf3;

/** A decoded instruction. Reuse one with decodeInto; `decode` allocates one. */
export class Instruction {
  /** Total length in bytes (1..15). */
  length = 0;
  mode: CpuMode = 64;
  mn: Mn = 0 as Mn;
  /** Index into FORMS (table.ts). */
  form = 0;
  /** Effective operand-size attribute in bits: 8 for byte forms, else 16/32/64 (after 66, REX.W and the 64-bit defaults of PUSH/POP/near branches). */
  opSize: 8 | 16 | 32 | 64 = 32;
  /** Effective address-size attribute in bits (after 67). */
  addrSize: 16 | 32 | 64 = 64;
  /** PFX_* bits. */
  prefixes = 0;
  /** Last segment-override prefix as a Seg number, or NO_REG (the raw prefix: see Operand.seg for the effective segment). */
  segPrefix = NO_REG;
  /** Effective REP prefix (last of F2/F3 when both appear), 0 when none. */
  rep: RepKind = 0;
  /** REX byte in effect (0x40..0x4f) or 0 (a REX followed by a legacy prefix is ignored, SDM Vol. 2 §2.2.1). */
  rex = 0;
  /** VEX fields (valid when prefixes has PFX_VEX2/PFX_VEX3): L (0/1), vvvv as a register number (already inverted), W, pp (0 none,1 66,2 F3,3 F2), mmmmm (1 0F, 2 0F38, 3 0F3A). */
  vexL = 0;
  vexV = 0;
  vexW = 0;
  vexPp = 0;
  vexMmmmm = 0;
  /** Opcode map and the opcode byte within it. */
  map: OpMap = OpMap.ONE_BYTE;
  opcode = 0;
  /** ModRM byte, or -1. */
  modrm = -1;
  /** Condition code 0..15 for Jcc/SETcc/CMOVcc/FCMOVcc/LOOPcc-like forms, else -1. */
  cond = -1;
  /** Explicit operands, Intel order (destination first). */
  readonly ops: Operand[] = [new Operand(), new Operand(), new Operand(), new Operand(), new Operand()];
  opCount = 0;
  /** Implicit operands (registers/memory not named by the encoding). */
  readonly implicit: Operand[] = [new Operand(), new Operand(), new Operand(), new Operand()];
  implicitCount = 0;
  flagsRead = 0;
  flagsWritten = 0;
  flagsUndefined = 0;
  flow: Flow = Flow.NONE;
  /** ATTR_* bits. */
  attrs = 0;
  /** Failure detail after decodeInto returned < 0 (UdReason.NONE on success). */
  failure: UdReason = 0;
}

// ---- CPU features ------------------------------------------------------------------
/** Feature ids (bit numbers in a FeatureSet). Names follow CPUID flag names. */
export const Feature = {
  X87: 0, CMOV: 1, CX8: 2, CX16: 3, MMX: 4, SSE: 5, SSE2: 6, SSE3: 7, SSSE3: 8, SSE4_1: 9,
  SSE4_2: 10, POPCNT: 11, LZCNT: 12, AES: 13, PCLMULQDQ: 14, SHA: 15, AVX: 16, AVX2: 17,
  FMA: 18, F16C: 19, BMI1: 20, BMI2: 21, ADX: 22, MOVBE: 23, FXSR: 24, XSAVE: 25,
  XSAVEOPT: 26, XSAVEC: 27, XSAVES: 28, RDRAND: 29, RDSEED: 30, RDTSCP: 31,
  CLFSH: 32, CLFLUSHOPT: 33, CLWB: 34, FSGSBASE: 35, MONITOR: 36, INVPCID: 37, SMAP: 38,
  RDPID: 39, PKU: 40, LAHF_LM: 41, SYSCALL: 42, SYSENTER: 43, PREFETCHW: 44, SSE4A: 45,
  SVM: 46, VMX: 47, RTM: 48, CLZERO: 49, MONITORX: 50, RDPRU: 51, WBNOINVD: 52, SERIALIZE: 53,
  MOVDIRI: 54, MOVDIR64B: 55, CLDEMOTE: 56, WAITPKG: 57, CET_SS: 58, CET_IBT: 59, RDPMC: 60,
  FXSR_OPT: 61, PREFETCHWT1: 62, SMX: 63,
} as const;
export type Feature = (typeof Feature)[keyof typeof Feature];
export const FEATURE_COUNT = 64;

/** A set of CPU features; the decoder returns #UD (UdReason.FEATURE) for instructions whose feature is absent. Build with makeFeatureSet (decoder/features.ts). */
export interface FeatureSet {
  /** Bit f of word f >>> 5 set = feature f present. */
  readonly words: Uint32Array;
}
