/**
 * `monitor CMD` (qRcmd) for microvm guests: a few of QEMU's HMP commands
 * with QEMU's output format, plus `phys on|off` for physical memory access.
 */
import type { SegmentState, VcpuState } from '../accel/types.js';
import type { MicrovmGdbTarget } from './machine-target.js';

const HELP = `monitor commands:
  info registers   the selected vCPU's registers (as QEMU prints them)
  info cpus        every vCPU and its instruction pointer
  system_reset     reset the machine (the guest boots again)
  quit             end the emulator
  phys on|off      memory access by guest physical (on) or virtual (off) address
  help             this text
`;

export async function runMonitorCommand(t: MicrovmGdbTarget, command: string, out: (text: string) => void): Promise<void> {
  const words = command.trim().split(/\s+/).filter((w) => w !== '');
  const [first, second] = words;
  switch (first) {
    case undefined:
      return;
    case 'help':
    case '?':
      out(HELP);
      return;
    case 'info':
      if (second === 'registers' || second === 'r') { out(formatRegisters(t.vcpuState(t.currentCpu), t.currentCpu)); return; }
      if (second === 'cpus') {
        const lines = t.threads().map((th) => {
          const cpu = th - 1;
          const s = t.vcpuState(cpu);
          return `${cpu === t.currentCpu ? '*' : ' '} CPU #${cpu}: pc=0x${s.regs.rip.toString(16).padStart(16, '0')}\n`;
        });
        out(lines.join(''));
        return;
      }
      out(`unknown info command: ${second ?? ''}\n${HELP}`);
      return;
    case 'system_reset':
      await t.machine.reset();
      return;
    case 'quit':
    case 'q':
      // As QEMU: the emulator ends and gdb sees the connection close (after our OK).
      t.quitAfterReply();
      return;
    case 'phys':
      if (second === 'on' || second === 'off') t.physicalMode = second === 'on';
      else if (second !== undefined) { out('usage: phys on|off\n'); return; }
      out(`memory access: ${t.physicalMode ? 'physical' : 'virtual'} addresses\n`);
      return;
    default:
      out(`unknown command: ${command.trim()}\n${HELP}`);
  }
}

const hex = (v: bigint | number, digits: number): string => BigInt.asUintN(digits * 4, BigInt(v)).toString(16).padStart(digits, '0');

/** QEMU's descriptor attribute word (x86_cpu_dump_seg_cache): bits 8-23 of the descriptor's high dword. */
function segFlags(s: SegmentState): number {
  return ((s.type & 0xf) << 8) | (s.s ? 1 << 12 : 0) | ((s.dpl & 3) << 13) | (s.present ? 1 << 15 : 0)
    | (s.avl ? 1 << 20 : 0) | (s.l ? 1 << 21 : 0) | (s.db ? 1 << 22 : 0) | (s.g ? 1 << 23 : 0);
}

/** RFLAGS as QEMU shows it: [D O I T S Z A P C] letters, '-' when clear. */
function flagLetters(rflags: bigint): string {
  const bits: Array<[string, number]> = [['D', 10], ['O', 11], ['I', 9], ['T', 8], ['S', 7], ['Z', 6], ['A', 4], ['P', 2], ['C', 0]];
  return bits.map(([c, b]) => ((rflags >> BigInt(b)) & 1n ? c : '-')).join('');
}

/** `info registers` in QEMU's 64-bit layout (target/i386/cpu-dump.c). */
export function formatRegisters(s: VcpuState, cpu: number): string {
  const g = s.regs.gpr.map((v) => hex(v, 16));
  const r = s.sregs;
  const cpl = r.cs.dpl;
  let o = `CPU#${cpu}\n`;
  o += `RAX=${g[0]} RBX=${g[3]} RCX=${g[1]} RDX=${g[2]}\n`;
  o += `RSI=${g[6]} RDI=${g[7]} RBP=${g[5]} RSP=${g[4]}\n`;
  o += `R8 =${g[8]} R9 =${g[9]} R10=${g[10]} R11=${g[11]}\n`;
  o += `R12=${g[12]} R13=${g[13]} R14=${g[14]} R15=${g[15]}\n`;
  o += `RIP=${hex(s.regs.rip, 16)} RFL=${hex(s.regs.rflags, 8)} [${flagLetters(s.regs.rflags)}] CPL=${cpl}\n`;
  for (const name of ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const) {
    const seg = r[name];
    o += `${name.toUpperCase()} =${hex(seg.selector, 4)} ${hex(seg.base, 16)} ${hex(seg.limit, 8)} ${hex(segFlags(seg), 8)}\n`;
  }
  o += `LDT=${hex(r.ldt.selector, 4)} ${hex(r.ldt.base, 16)} ${hex(r.ldt.limit, 8)} ${hex(segFlags(r.ldt), 8)}\n`;
  o += `TR =${hex(r.tr.selector, 4)} ${hex(r.tr.base, 16)} ${hex(r.tr.limit, 8)} ${hex(segFlags(r.tr), 8)}\n`;
  o += `GDT=     ${hex(r.gdt.base, 16)} ${hex(r.gdt.limit, 8)}\n`;
  o += `IDT=     ${hex(r.idt.base, 16)} ${hex(r.idt.limit, 8)}\n`;
  o += `CR0=${hex(r.cr0, 8)} CR2=${hex(r.cr2, 16)} CR3=${hex(r.cr3, 16)} CR4=${hex(r.cr4, 8)}\n`;
  o += `EFER=${hex(r.efer, 16)}\n`;
  return o;
}
