/**
 * `-d item,...` logging produced by the JIT (Accelerator.setLogging; the
 * machine's share is src/machine/log.ts). Formats follow QEMU's x86 target so
 * that logs can be compared side by side:
 * - in_asm: each translated block's guest code (accel/tcg/translator.c
 *   "IN: " + one line per instruction, Intel syntax from decoder/disasm.ts).
 * - int: each exception and interrupt delivered (target/i386/tcg/seg_helper.c
 *   do_interrupt_all "%6d: v=%02x e=%04x i=%d cpl=%d IP=%04x:%016x pc=%016x
 *   SP=%04x:%016x" + CR2 or EAX, and excp_helper.c "check_exception old: 0x%x
 *   new 0x%x").
 * - exec: a "Trace" line at every block entry (cpu-exec.c); cpu: the register
 *   dump (x86_cpu_dump_state) at every block entry. Both translate every
 *   instruction through the executor (engine.noInline) so that the first
 *   instruction of each block can carry the trace; nothing is checked on the
 *   hot path when they are off.
 * - unimp: #UD raised for an instruction this JIT does not implement (the
 *   decoder knows it with every feature, or the executor lacks it): mnemonic
 *   and bytes.
 * - guest_errors (CPU part): #GP from RDMSR/WRMSR of an MSR that is not modelled.
 */
import { decode } from './decoder/decoder.js';
import { formatInstruction } from './decoder/disasm.js';
import { Mn, type CpuMode } from './decoder/types.js';
import type { BlockInsn } from './translate/block.js';
import type { Engine } from './runtime/engine.js';
import type { Vcpu } from './runtime/vcpu.js';
import { S } from './state.js';

export const JIT_LOG_ITEMS: ReadonlySet<string> = new Set(['in_asm', 'int', 'exec', 'cpu', 'unimp', 'guest_errors']);

export interface LogTarget {
  readonly vcpus: readonly Vcpu[];
  readonly engine: Engine<Vcpu>;
}

const hex = (v: bigint | number, w: number): string => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(w, '0');

/** The guest bytes of an instruction, "0f 0b". */
function bytesOf(v: Vcpu, lin: bigint, len: number): Uint8Array | undefined {
  const f = v.mmu.fetch(lin, len, v.cpl);
  return f?.bytes.subarray(0, len);
}

/** QEMU's x86_cpu_dump_state (64-bit form), the lines -d cpu prints. */
export function cpuDump(v: Vcpu): string {
  const st = v.st;
  const g = (i: number): string => hex(st.gpr(i), 16);
  const fl = v.rflags();
  const flagChars = ['D', 'O', 'S', 'Z', 'A', 'P', 'C'].map((c, k) => ((fl >> BigInt([10, 11, 7, 6, 4, 2, 0][k]!)) & 1n ? c : '-'));
  // QEMU prints [ODITSZAPC]-style as "[-------]" with D O S Z A P C in that order.
  const lines = [
    `RAX=${g(0)} RBX=${g(3)} RCX=${g(1)} RDX=${g(2)}`,
    `RSI=${g(6)} RDI=${g(7)} RBP=${g(5)} RSP=${g(4)}`,
    `R8 =${g(8)} R9 =${g(9)} R10=${g(10)} R11=${g(11)}`,
    `R12=${g(12)} R13=${g(13)} R14=${g(14)} R15=${g(15)}`,
    `RIP=${hex(st.rip, 16)} RFL=${hex(fl, 8)} [${flagChars.join('')}] CPL=${v.cpl} II=${v.shadow ? 1 : 0} A20=1 SMM=0 HLT=${v.runState === 'halted' ? 1 : 0}`,
  ];
  const names = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDT', 'TR'];
  names.forEach((n, i) => {
    const s = st.seg(i);
    // QEMU prints the descriptor's flags word (attr << 8 in its layout).
    lines.push(`${n.padEnd(3)}=${hex(s.selector, 4)} ${hex(s.base, 16)} ${hex(s.limit, 8)} ${hex((s.attr & 0xf0ff) << 8, 8)}`);
  });
  lines.push(`GDT=     ${hex(st.u64(S.GDTR_BASE), 16)} ${hex(st.u32(S.GDTR_LIMIT), 8)}`);
  lines.push(`IDT=     ${hex(st.u64(S.IDTR_BASE), 16)} ${hex(st.u32(S.IDTR_LIMIT), 8)}`);
  lines.push(`CR0=${hex(st.cr0, 8)} CR2=${hex(st.cr2, 16)} CR3=${hex(st.cr3, 16)} CR4=${hex(st.cr4, 8)}`);
  lines.push(`EFER=${hex(st.efer, 16)}`);
  return lines.join('\n');
}

/**
 * Enable the JIT's share of `items`; returns the items it does not implement.
 * Call once, after init() and before resume().
 */
export function enableJitLogging(t: LogTarget, items: ReadonlySet<string>, write: (line: string) => void): string[] {
  const engine = t.engine;
  const inAsm = items.has('in_asm'), exec = items.has('exec'), cpu = items.has('cpu');
  if (inAsm || exec || cpu) {
    if (exec || cpu) { engine.noInline = true; engine.flushAll(); }
    engine.onTranslate = (insns: readonly BlockInsn[], mode: CpuMode): void => {
      if (insns.length === 0) return;
      if (inAsm) {
        const lines = ['----------------', 'IN: '];
        for (const { insn, rip } of insns) lines.push(`0x${hex(rip, 16)}:  ${formatInstruction(insn, { rip })}`);
        lines.push('');
        write(lines.join('\n'));
      }
      if (exec || cpu) {
        // With noInline every instruction has a helper: the first one's traces the block entry.
        const first = insns[0]!;
        const orig = engine.helpers[first.helper];
        if (first.helper < 0 || !orig) return;
        const pc = first.rip;
        engine.helpers[first.helper] = (v: Vcpu): number => {
          if (exec) write(`Trace ${v.index}: 0x${hex(first.helper, 12)} [${hex(v.st.segBase(1), 8)}/${hex(pc, 16)}/${hex(v.modeKey(), 8)}/${hex(mode, 8)}] `);
          if (cpu) write(cpuDump(v));
          return orig(v);
        };
      }
    };
  }

  const intLog = items.has('int'), unimp = items.has('unimp');
  if (intLog || unimp) {
    let count = 0;
    for (const v of t.vcpus) {
      const deliver = v.deliver.bind(v);
      // The exception whose delivery faulted (QEMU's env->old_exception), -1 when none.
      let old = -1;
      v.deliver = (vector, error, kind, next): boolean => {
        const st = v.st;
        if (unimp && vector === 6 && kind === 'exception') logUnimplemented(v, write);
        if (intLog) {
          if (kind === 'exception') write(`check_exception old: 0x${(old >>> 0).toString(16)} new 0x${vector.toString(16)}`);
          if ((st.cr0 & 1n) !== 0n) {
            const isInt = kind === 'soft' || kind === 'soft-exception' ? 1 : 0;
            // pc: the linear address of the instruction that raised it (RIP is the return address here).
            const pc = v.mode === 64 ? st.rip : st.rip + st.segBase(1);
            let line = `${String(count).padStart(6)}: v=${hex(vector, 2)} e=${hex(error < 0 ? 0 : error, 4)} i=${isInt} cpl=${v.cpl} ` +
              `IP=${hex(st.seg(1).selector, 4)}:${hex(st.rip, 16)} pc=${hex(pc, 16)} SP=${hex(st.seg(2).selector, 4)}:${hex(st.gpr(4), 16)}`;
            line += vector === 14 ? ` CR2=${hex(st.cr2, 16)}` : ` env->regs[R_EAX]=${hex(st.gpr(0), 16)}`;
            write(line);
          } else {
            write(`${String(count).padStart(6)}: v=${hex(vector, 2)} real mode IP=${hex(st.seg(1).selector, 4)}:${hex(st.rip, 4)}`);
          }
          count++;
        }
        const ok = deliver(vector, error, kind, next);
        old = ok ? -1 : vector;
        return ok;
      };
    }
  }

  if (items.has('guest_errors')) {
    for (const v of t.vcpus) {
      const rdmsr = v.rdmsr.bind(v), wrmsr = v.wrmsr.bind(v);
      v.rdmsr = (): number => {
        const r = rdmsr();
        if (v.st.i32(S.EXC_VECTOR) === 13) write(`CPU ${v.index}: rdmsr of unimplemented MSR 0x${v.st.gpr32(1).toString(16)} (#GP) at RIP 0x${hex(v.st.rip, 16)}`);
        return r;
      };
      v.wrmsr = (next: bigint): number => {
        const r = wrmsr(next);
        if (v.st.i32(S.EXC_VECTOR) === 13) {
          write(`CPU ${v.index}: wrmsr 0x${v.st.gpr32(1).toString(16)} <- 0x${hex((BigInt(v.st.gpr32(2)) << 32n) | BigInt(v.st.gpr32(0)), 16)} refused (#GP) at RIP 0x${hex(v.st.rip, 16)}`);
        }
        return r;
      };
    }
  }
  return [...items].filter((i) => !JIT_LOG_ITEMS.has(i));
}

/**
 * #UD at CS:RIP: if the decoder knows the instruction with every feature
 * enabled, or the executor failed on it, this JIT does not implement it.
 */
function logUnimplemented(v: Vcpu, write: (line: string) => void): void {
  const st = v.st;
  const mode = v.mode;
  const lin = mode === 64 ? st.rip : (st.rip + st.segBase(1)) & 0xffffffffn;
  const bytes = bytesOf(v, lin, 15) ?? bytesOf(v, lin, 1);
  if (!bytes) return;
  const insn = decode(bytes, 0, mode);
  const executorError = v.lastError?.startsWith('executor error') ? v.lastError : undefined;
  if ('kind' in insn && executorError === undefined) return; // architecturally invalid: a real #UD
  if (!('kind' in insn) && (insn.mn === Mn.UD0 || insn.mn === Mn.UD1 || insn.mn === Mn.UD2) && executorError === undefined) return;
  const len = 'kind' in insn ? Math.min(bytes.length, 15) : insn.length;
  const text = [...bytes.subarray(0, len)].map((b) => hex(b, 2)).join(' ');
  const what = 'kind' in insn ? '(undecodable)' : formatInstruction(insn, { rip: st.rip });
  write(`unimplemented instruction at 0x${hex(lin, 16)}: ${what} [${text}]${executorError ? ` (${executorError})` : ''}`);
  v.lastError = undefined;
}
