/**
 * `-d item[,item]` / `-D file`: QEMU-style diagnostic logging. The machine
 * logs what it sees itself (guest_errors: accesses to unassigned ports and
 * MMIO; cpu_reset: vCPU state at reset); the accelerator logs what happens
 * inside the CPU (in_asm, int, exec, cpu, ...) through `setLogging`. An item
 * nobody implements is reported to the user, never silently dropped.
 */
import { openSync, writeSync, closeSync } from 'node:fs';

/** Items the machine itself produces, whatever the accelerator. */
export const MACHINE_LOG_ITEMS: ReadonlySet<string> = new Set(['guest_errors', 'cpu_reset']);

export class MachineLog {
  private fd: number | undefined;
  readonly items: ReadonlySet<string>;

  constructor(items: readonly string[], file?: string) {
    this.items = new Set(items);
    // -D: QEMU truncates the log file.
    if (file !== undefined) this.fd = openSync(file, 'w');
  }

  enabled(item: string): boolean {
    return this.items.has(item);
  }

  readonly write = (line: string): void => {
    const text = line.endsWith('\n') ? line : `${line}\n`;
    if (this.fd !== undefined) writeSync(this.fd, text);
    else process.stderr.write(text);
  };

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
