/**
 * `-d item[,item...]` log items: QEMU's system-emulation names
 * (util/log.c qemu_log_items), described as our JIT produces them.
 */
export const LOG_ITEMS = {
  'out_asm': 'show the generated WebAssembly for each translated block',
  'in_asm': 'show target assembly code for each translated block',
  'int': 'show interrupts/exceptions in short format',
  'exec': 'show trace before each executed block (lots of logs)',
  'cpu': 'show CPU registers before entering a block (lots of logs)',
  'fpu': "include FPU registers in the 'cpu' logging",
  'mmu': 'log MMU-related activities',
  'pcall': 'x86 only: show protected mode far calls/returns/exceptions',
  'cpu_reset': 'show CPU state before CPU resets',
  'unimp': 'log unimplemented functionality',
  'guest_errors': 'log when the guest OS does something invalid (eg accessing a non-existent register)',
  'nochain': 'do not chain translated blocks so that "exec" and "cpu" show complete traces',
} as const;

export type LogItem = keyof typeof LOG_ITEMS;

export function isLogItem(s: string): s is LogItem {
  return Object.prototype.hasOwnProperty.call(LOG_ITEMS, s);
}

export function logHelpText(): string {
  const lines = ['Log items (comma separated):'];
  for (const [k, v] of Object.entries(LOG_ITEMS)) lines.push(`${k.padEnd(15)} ${v}`);
  lines.push(`${'all'.padEnd(15)} every item above`);
  return lines.join('\n');
}
