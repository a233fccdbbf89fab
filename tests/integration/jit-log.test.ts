// `-d in_asm,int -D file` through the CLI on the JIT: the log holds QEMU-style
// "IN: " blocks with the guest's instructions and the interrupts delivered.
// hello.elf ends with UD2 and no IDT: #UD, then #GP(6*8+2+EXT = 0x33) for the
// missing gate (SDM Vol. 3 6.13), then #DF, then the triple fault.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { fw, haveFirmware } from './library-helpers.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void { this.text += chunk.toString(); cb(); }
}

describe.skipIf(!haveFirmware)('-d on the JIT', () => {
  test('-d in_asm,int,unimp -D file: disassembly and interrupts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mvm-log-'));
    try {
      const file = join(dir, 'qemu.log');
      const err = new Sink();
      await main(['-m', '64M', '-nographic', '-no-reboot', '-kernel', fw('hello.elf'), '-d', 'in_asm,int,unimp', '-D', file], new Sink(), err);
      expect(err.text).not.toContain('not supported');
      const log = readFileSync(file, 'utf8');
      // Blocks: a separator, "IN: ", then "0x<16 hex digits>:  <Intel syntax>".
      expect(log).toMatch(/^----------------\nIN: \n0x[0-9a-f]{16}: {2}\S/m);
      expect(log.match(/^IN: $/gm)!.length).toBeGreaterThan(10);
      expect(log).toMatch(/^0x[0-9a-f]{16}: {2}(rd|wr)msr$/m);
      expect(log).toContain('check_exception old: 0xffffffff new 0x6\n');
      expect(log).toMatch(/^ {5}0: v=06 e=0000 i=0 cpl=0 IP=0008:[0-9a-f]{16} pc=[0-9a-f]{16} SP=0010:[0-9a-f]{16}/m);
      expect(log).toContain('check_exception old: 0x6 new 0xd\n');
      expect(log).toMatch(/^ {5}1: v=0d e=0033 i=0 cpl=0 /m);
      expect(log).toContain('check_exception old: 0xd new 0x8\n');
      // UD2 is the guest's own #UD, not an unimplemented instruction.
      expect(log).not.toContain('unimplemented');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('-d exec,cpu: a trace line and a register dump at block entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mvm-log-'));
    try {
      const file = join(dir, 'qemu.log');
      await main(['-m', '64M', '-nographic', '-no-reboot', '-kernel', fw('hello.elf'), '-d', 'exec,cpu', '-D', file], new Sink(), new Sink());
      const log = readFileSync(file, 'utf8');
      expect(log).toMatch(/^Trace 0: 0x[0-9a-f]+ \[[0-9a-f]{8}\/[0-9a-f]{16}\/[0-9a-f]{8}\/[0-9a-f]{8}\] \nRAX=[0-9a-f]{16} RBX=/m);
      expect(log).toMatch(/^CS =0008 0000000000000000 [0-9a-f]{8} [0-9a-f]{8}$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
