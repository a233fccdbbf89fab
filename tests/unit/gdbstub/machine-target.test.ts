// The Microvm adapter with a fake accelerator: breakpoints (debug registers
// first on KVM, then INT3 in guest memory, hidden from gdb's reads),
// watchpoints split into aligned pieces, memory through the vCPU's page
// tables and in physical mode, all-stop on a debug exit, detach.
import { afterEach, describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { Microvm } from '../../../src/machine/microvm.js';
import { resolveConfig } from '../../../src/machine/defaults.js';
import { MicrovmGdbTarget } from '../../../src/gdbstub/machine-target.js';
import { GdbSession } from '../../../src/gdbstub/protocol/session.js';
import { asciiBytes, bytesToAscii, encodePacket, toHex } from '../../../src/gdbstub/protocol/packet.js';
import type {
  Accelerator, AcceleratorDebug, AcceleratorHost, FpuState, VcpuState,
} from '../../../src/accel/types.js';

const hello = new URL('../../../firmware/out/hello.elf', import.meta.url).pathname;

class FakeAccel implements Accelerator {
  host!: AcceleratorHost;
  states = new Map<number, VcpuState>();
  running = false;
  pauses = 0;
  hw: bigint[] = [];
  sw = new Set<bigint>();
  steps = new Set<number>();
  watches: Array<[string, bigint, number]> = [];
  written: Array<[number, number]> = [];
  fpu: FpuState = {
    fpr: new Uint8Array(80), fcw: 0x37f, fsw: 0, ftwx: 0, lastOpcode: 0, lastIp: 0n, lastDp: 0n, xmm: new Uint8Array(256), mxcsr: 0x1f80,
  };
  readonly debug: AcceleratorDebug;
  constructor(readonly name: 'kvm' | 'jit', hwSlots = 4) {
    this.debug = {
      setSingleStep: (cpu, on) => { if (on) this.steps.add(cpu); else this.steps.delete(cpu); },
      addBreakpoint: (kind, gva) => {
        if (kind === 'sw') { this.sw.add(gva); return true; }
        if (this.hw.length + this.watches.length >= hwSlots) return false;
        this.hw.push(gva);
        return true;
      },
      removeBreakpoint: (kind, gva) => {
        if (kind === 'sw') return this.sw.delete(gva);
        const i = this.hw.indexOf(gva);
        if (i >= 0) this.hw.splice(i, 1);
        return i >= 0;
      },
      addWatchpoint: (kind, gva, len) => {
        if (this.hw.length + this.watches.length >= hwSlots) return false;
        this.watches.push([kind, gva, len]);
        return true;
      },
      removeWatchpoint: (kind, gva, len) => {
        const i = this.watches.findIndex((w) => w[0] === kind && w[1] === gva && w[2] === len);
        if (i >= 0) this.watches.splice(i, 1);
        return i >= 0;
      },
      translate: () => undefined,
      getFpu: () => structuredClone(this.fpu),
      setFpu: (_cpu, s) => { this.fpu = structuredClone(s); },
      memoryWritten: (gpa, len) => { this.written.push([gpa, len]); },
    };
  }
  async init(host: AcceleratorHost): Promise<void> { this.host = host; }
  setState(cpu: number, s: VcpuState): void { this.states.set(cpu, structuredClone(s)); }
  getState(cpu: number): VcpuState {
    if (this.running) throw new Error('running');
    return structuredClone(this.states.get(cpu) ?? this.states.get(0)!);
  }
  resume(): void { this.running = true; }
  async pause(): Promise<void> { this.pauses++; this.running = false; }
  deliverInterrupt(): void {}
  reset(): void {}
  async destroy(): Promise<void> {}
}

let machine: Microvm | undefined;
afterEach(async () => { await machine?.stop(); machine = undefined; });

async function boot(accel: FakeAccel, cpus = 2): Promise<{ m: Microvm; t: MicrovmGdbTarget; ask: (p: string) => Promise<string[]>; session: GdbSession; packets: () => string[] }> {
  const m = new Microvm(resolveConfig({
    kernel: hello, memory: 32 * 2 ** 20, cpus, serial: { kind: 'none' }, startPaused: true, accel: accel.name,
  }), { accelerator: accel });
  machine = m;
  await m.start();
  const t = new MicrovmGdbTarget(m);
  await t.stopForDebugger();
  const sent: string[] = [];
  const session = new GdbSession(t, (d) => sent.push(bytesToAscii(d)), { runLength: false });
  t.setSession(session);
  const packets = (): string[] => sent.filter((s) => s.startsWith('$')).map((s) => s.slice(1, -3));
  const ask = async (p: string): Promise<string[]> => {
    const n = packets().length;
    session.receive(encodePacket(asciiBytes(p)));
    await session.idle();
    return packets().slice(n);
  };
  await ask('QStartNoAckMode');
  await ask('qSupported:swbreak+;hwbreak+');
  return { m, t, ask, session, packets };
}

/** A 4-level page table mapping gva 0xffffffff80000000 -> gpa 0x200000 (2 MiB page) and identity for the first 2 MiB. */
function pagedState(m: Microvm, base: VcpuState): VcpuState {
  const pml4 = 0x10000, pdptLow = 0x11000, pdptHigh = 0x12000, pdLow = 0x13000, pdHigh = 0x14000;
  m.memory.writeU64(pml4, BigInt(pdptLow) | 3n);
  m.memory.writeU64(pml4 + 511 * 8, BigInt(pdptHigh) | 3n);
  m.memory.writeU64(pdptLow, BigInt(pdLow) | 3n);
  m.memory.writeU64(pdptHigh + 510 * 8, BigInt(pdHigh) | 3n);
  m.memory.writeU64(pdLow, 0x83n); // 0 -> 0, 2 MiB
  m.memory.writeU64(pdHigh, 0x200000n | 0x83n);
  const s = structuredClone(base);
  s.sregs.cr0 = 0x80000011n;
  s.sregs.cr4 = 0x20n;
  s.sregs.efer = 0x500n;
  s.sregs.cr3 = BigInt(pml4);
  return s;
}

describe.skipIf(!existsSync(hello))('MicrovmGdbTarget', () => {
  test('attach pauses the machine; threads are vCPUs; the registers are the vCPU state', async () => {
    const accel = new FakeAccel('kvm');
    const { ask } = await boot(accel);
    expect(accel.pauses).toBeGreaterThan(0);
    expect(await ask('qfThreadInfo')).toEqual(['m1,2']);
    const [g] = await ask('g');
    const rip = accel.getState(0).regs.rip;
    const ripHex = toHex(Uint8Array.from({ length: 8 }, (_, i) => Number((rip >> BigInt(8 * i)) & 0xffn)));
    expect(g!.slice(16 * 16, 17 * 16)).toBe(ripHex);
    expect(g!.length).toBe(816 * 2);
    expect(g!.slice(0, 560 * 2)).not.toContain('x'); // FPU state comes from getFpu
    expect(g!.slice(560 * 2)).toBe('x'.repeat(256 * 2)); // ymm0h..ymm15h: this FpuState (like KVM's) has no AVX state
    expect(await ask('qXfer:features:read:target.xml:0,ffff')).toEqual([expect.stringMatching(/^l<\?xml.*i386:x86-64/s)]);
    expect(await ask('qThreadExtraInfo,1')).toEqual([toHex(asciiBytes('vCPU 0 [32-bit protected]'))]);
  });

  test('P writes a register through setState; xmm through setFpu', async () => {
    const accel = new FakeAccel('kvm');
    const { ask } = await boot(accel);
    expect(await ask('P0=efbeadde00000000')).toEqual(['OK']);
    expect(accel.states.get(0)!.regs.gpr[0]).toBe(0xdeadbeefn);
    expect(await ask('P28=' + '11'.repeat(16))).toEqual(['OK']); // xmm0 = regnum 40
    expect(accel.fpu.xmm[0]).toBe(0x11);
  });

  test('memory through the page tables, and physical mode', async () => {
    const accel = new FakeAccel('kvm');
    const { m, ask } = await boot(accel);
    accel.setState(0, pagedState(m, accel.getState(0)));
    m.memory.writeBytes(0x200010, Uint8Array.of(1, 2, 3, 4));
    const monitor = async (cmd: string): Promise<string[]> => ask('qRcmd,' + toHex(asciiBytes(cmd)));
    expect(await ask('mffffffff80000010,4')).toEqual(['01020304']);
    expect(await ask('mffffffff00000000,4')).toEqual(['E0e']); // not mapped
    expect(await ask('Mffffffff80000012,2:aabb')).toEqual(['OK']);
    expect([...m.memory.readBytes(0x200010, 4)]).toEqual([1, 2, 0xaa, 0xbb]);
    expect(accel.written).toContainEqual([0x200012, 2]);
    expect((await monitor('phys on'))[0]).toBe('O' + toHex(asciiBytes('memory access: physical addresses\n')));
    expect(await ask('m200010,4')).toEqual(['0102aabb']);
    expect(await ask('m80000000,4')).toEqual(['E0e']); // beyond RAM
    await monitor('phys off');
    expect(await ask('m200010,4')).toEqual(['E0e']); // virtual 0x200010 is not mapped
  });

  test('Z0 on KVM: debug registers first, then INT3 in memory (hidden from reads), removed on z0', async () => {
    const accel = new FakeAccel('kvm', 1);
    const { m, ask } = await boot(accel);
    m.memory.writeBytes(0x300000, Uint8Array.of(0x55, 0x48, 0x89, 0xe5));
    expect(await ask('Z0,300000,1')).toEqual(['OK']);
    expect(accel.hw).toEqual([0x300000n]);
    expect(await ask('Z0,300001,1')).toEqual(['OK']);
    expect(accel.sw.has(0x300001n)).toBe(true);
    expect(m.memory.readU8(0x300001)).toBe(0xcc);
    expect(await ask('m300000,4')).toEqual(['554889e5']);
    // A write over the breakpoint updates the saved byte and keeps the INT3.
    expect(await ask('M300001,1:90')).toEqual(['OK']);
    expect(m.memory.readU8(0x300001)).toBe(0xcc);
    expect(await ask('z0,300001,1')).toEqual(['OK']);
    expect(m.memory.readU8(0x300001)).toBe(0x90);
    expect(await ask('z0,300000,1')).toEqual(['OK']);
    expect(accel.hw).toEqual([]);
  });

  test('Z0 on the JIT: guest memory untouched', async () => {
    const accel = new FakeAccel('jit', 0);
    const { m, ask } = await boot(accel);
    m.memory.writeU8(0x300000, 0x55);
    expect(await ask('Z0,300000,1')).toEqual(['OK']);
    expect(accel.sw.has(0x300000n)).toBe(true);
    expect(m.memory.readU8(0x300000)).toBe(0x55);
  });

  test('Z2 of an unaligned range uses aligned pieces; all or nothing', async () => {
    const accel = new FakeAccel('kvm', 2);
    const { ask } = await boot(accel);
    expect(await ask('Z2,1001,3')).toEqual(['OK']);
    expect(accel.watches).toEqual([['write', 0x1001n, 1], ['write', 0x1002n, 2]]);
    expect(await ask('Z4,2000,8')).toEqual(['E01']); // no slot left
    expect(accel.watches.length).toBe(2);
    expect(await ask('z2,1001,3')).toEqual(['OK']);
    expect(accel.watches).toEqual([]);
  });

  test('a debug exit on vCPU 1 stops everything and reports thread 2 with the reason', async () => {
    const accel = new FakeAccel('kvm');
    const { m, ask, packets } = await boot(accel);
    await ask('Z1,100710,1');
    expect(await ask('vCont;c')).toEqual([]);
    expect(accel.running).toBe(true);
    const pausesBefore = accel.pauses;
    accel.host.onStop({ kind: 'debug', cpu: 1, reason: 'breakpoint', address: 0x100710n });
    await new Promise((r) => setTimeout(r, 10));
    expect(accel.pauses).toBe(pausesBefore + 1);
    expect(packets().at(-1)).toBe('T05thread:2;hwbreak:;');
    // Single-step of thread 2 only; stepping is switched off at the stop.
    await ask('vCont;s:2;c');
    expect([...accel.steps]).toEqual([1]);
    accel.host.onStop({ kind: 'debug', cpu: 1, reason: 'single-step', address: 0x100711n });
    await new Promise((r) => setTimeout(r, 10));
    expect(packets().at(-1)).toBe('T05thread:2;');
    expect([...accel.steps]).toEqual([]);
    // A watchpoint with the accelerator's data address.
    await ask('Z3,113020,8');
    await ask('c');
    accel.host.onStop({ kind: 'debug', cpu: 0, reason: 'watchpoint', address: 0x101000n, dataAddress: 0x113020n });
    await new Promise((r) => setTimeout(r, 10));
    expect(packets().at(-1)).toBe('T05thread:1;rwatch:113020;');
    expect(m.state).toBe('paused');
  });

  test('Ctrl-C pauses and reports SIGINT; detach removes everything and resumes', async () => {
    const accel = new FakeAccel('kvm', 1);
    const { m, ask, session, packets } = await boot(accel);
    m.memory.writeU8(0x300001, 0x90);
    await ask('Z0,300000,1');
    await ask('Z0,300001,1');
    await ask('c');
    session.receive(Uint8Array.of(3));
    await session.idle();
    expect(packets().at(-1)).toBe('T02thread:1;');
    expect(accel.running).toBe(false);
    expect(await ask('D')).toEqual(['OK']);
    expect(accel.hw).toEqual([]);
    expect(accel.sw.size).toBe(0);
    expect(m.memory.readU8(0x300001)).toBe(0x90);
    expect(accel.running).toBe(true);
    expect(m.state).toBe('running');
  });

  test('monitor info registers prints QEMU-style lines; unknown commands print help', async () => {
    const accel = new FakeAccel('kvm');
    const { ask } = await boot(accel);
    const out = await ask('qRcmd,' + toHex(asciiBytes('info registers')));
    const text = bytesToAscii(Uint8Array.from(Buffer.from(out[0]!.slice(1), 'hex')));
    expect(text).toMatch(/^CPU#0\nRAX=[0-9a-f]{16} RBX=/);
    expect(text).toMatch(/\nCS =[0-9a-f]{4} [0-9a-f]{16} [0-9a-f]{8} [0-9a-f]{8}\n/);
    expect(out[1]).toBe('OK');
    const unk = await ask('qRcmd,' + toHex(asciiBytes('frobnicate')));
    expect(bytesToAscii(Uint8Array.from(Buffer.from(unk[0]!.slice(1), 'hex')))).toContain('unknown command: frobnicate');
  });
});
