// -d / -D: machine-level log items, and items no accelerator implements are reported.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Microvm } from '../../../src/machine/microvm.js';
import { resolveConfig } from '../../../src/machine/defaults.js';
import { kvmAvailability } from '../../../src/kvm/accelerator.js';

const hello = new URL('../../../firmware/out/hello.elf', import.meta.url).pathname;

describe('-d guest_errors', () => {
  test('unassigned port and MMIO accesses are logged to the -D file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mvm-log-')), 'log.txt');
    const m = new Microvm(resolveConfig({ kernel: hello, memory: 64 << 20, serial: { kind: 'null' }, log: { items: ['guest_errors'], file } }));
    expect(m.pio.read(0xb008, 4)).toBe(0xffffffff);
    m.pio.write(0x64, 1, 0xfe);
    m.mmio.write(0xfed00000, 4, 0x12345678);
    await m.stop();
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('pio: unassigned read at 0xb008 size 4');
    expect(text).toContain('pio: unassigned write at 0x64 size 1 value 0xfe');
    expect(text).toContain('mmio: unassigned write at 0xfed00000 size 4 value 0x12345678');
  });

  test('without -d nothing is logged and accesses still read all ones', async () => {
    const m = new Microvm(resolveConfig({ kernel: hello, memory: 64 << 20, serial: { kind: 'null' } }));
    expect(m.log).toBeUndefined();
    expect(m.pio.read(0xb008, 2)).toBe(0xffff);
    await m.stop();
  });
});

const kvm = kvmAvailability();
describe.skipIf(!kvm.ok)('-d items the accelerator does not implement', () => {
  test('are reported as warnings, not dropped', async () => {
    const m = new Microvm(resolveConfig({
      kernel: hello, memory: 64 << 20, accel: 'kvm', cpu: { model: 'host' }, serial: { kind: 'null' },
      log: { items: ['mmu', 'guest_errors'], file: join(mkdtempSync(join(tmpdir(), 'mvm-log-')), 'l') },
    }));
    const warnings: string[] = [];
    m.on('warning', (w: string) => warnings.push(w));
    await m.start();
    await m.exited;
    expect(warnings.filter((w) => w.startsWith('-d '))).toEqual(['-d mmu: not implemented by the kvm accelerator; nothing will be logged for it']);
  });
});
