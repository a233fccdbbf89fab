// The session state machine and the command handler against a fake target,
// with packets as gdb writes them (GDB manual E.2-E.4).
import { describe, expect, test } from 'vitest';
import { GdbSession } from '../../../src/gdbstub/protocol/session.js';
import { asciiBytes, bytesToAscii, encodePacket, escapeBinary, toHex } from '../../../src/gdbstub/protocol/packet.js';
import {
  GdbTargetError, type GdbTarget, type RegisterBytes, type ThreadAction, type WatchKind,
} from '../../../src/gdbstub/protocol/target.js';

class FakeTarget implements GdbTarget {
  mem = new Uint8Array(0x100);
  regs = Uint8Array.from({ length: 8 }, (_, i) => i + 1);
  log: string[] = [];
  resumed: Array<Map<number, ThreadAction>> = [];
  breakpoints = new Set<bigint>();
  watches: Array<[WatchKind, bigint, number]> = [];
  threads(): number[] { return [1, 2]; }
  readRegisters(thread: number): RegisterBytes {
    this.log.push(`g${thread}`);
    const unavailable = new Uint8Array(8);
    unavailable[7] = 1;
    return { bytes: this.regs, unavailable };
  }
  writeRegisters(_t: number, data: Uint8Array): void { this.regs = data.slice(); }
  readRegister(thread: number, regno: number): RegisterBytes | undefined {
    this.log.push(`p${thread}.${regno}`);
    return regno < 2 ? { bytes: this.regs.subarray(regno * 4, regno * 4 + 4) } : undefined;
  }
  writeRegister(_t: number, regno: number, data: Uint8Array): boolean {
    if (regno >= 2 || data.length !== 4) return false;
    this.regs.set(data, regno * 4);
    return true;
  }
  readMemory(_t: number, addr: bigint, len: number): Uint8Array {
    if (addr >= 0x100n) throw new GdbTargetError(0x0e);
    return this.mem.slice(Number(addr), Math.min(0x100, Number(addr) + len));
  }
  writeMemory(_t: number, addr: bigint, data: Uint8Array): boolean {
    if (addr + BigInt(data.length) > 0x100n) return false;
    this.mem.set(data, Number(addr));
    return true;
  }
  resume(actions: ReadonlyMap<number, ThreadAction>): void { this.resumed.push(new Map(actions)); }
  interrupt(): void { this.log.push('interrupt'); }
  detach(): void { this.log.push('detach'); }
  kill(): void { this.log.push('kill'); }
  features = (annex: string): string | undefined => (annex === 'target.xml' ? '<target>' + 'x'.repeat(100) + '#$}*</target>' : undefined);
  swBreakpoints = {
    add: (addr: bigint): boolean => { this.breakpoints.add(addr); return true; },
    remove: (addr: bigint): boolean => this.breakpoints.delete(addr),
  };
  watchpoints = {
    add: (k: WatchKind, a: bigint, l: number): boolean => { this.watches.push([k, a, l]); return l <= 8; },
    remove: (): boolean => true,
  };
  monitor = (cmd: string, out: (s: string) => void): void => { out(`you said ${cmd}\n`); };
  threadExtraInfo = (t: number): string => `vCPU ${t - 1}`;
}

/** A session and helpers: `ask` sends one packet and returns the reply payloads that came back. */
function setup(target: GdbTarget = new FakeTarget(), opts: ConstructorParameters<typeof GdbSession>[2] = {}) {
  const sent: string[] = [];
  const session = new GdbSession(target, (d) => sent.push(bytesToAscii(d)), { runLength: false, ...opts });
  const packets = (): string[] => sent.filter((s) => s.startsWith('$')).map((s) => s.slice(1, -3));
  const ask = async (payload: string | Uint8Array): Promise<string[]> => {
    const before = packets().length;
    session.receive(encodePacket(typeof payload === 'string' ? asciiBytes(payload) : payload));
    await session.idle();
    return packets().slice(before);
  };
  return { session, sent, ask, packets };
}

describe('acknowledgements', () => {
  test('every good packet is acked with +, a bad checksum with -, and a - makes us retransmit', async () => {
    const { session, sent } = setup();
    session.receive(asciiBytes('$?#3f'));
    await session.idle();
    expect(sent).toEqual(['+', '$T05thread:1;#d7']);
    session.receive(asciiBytes('-'));
    expect(sent.at(-1)).toBe('$T05thread:1;#d7');
    session.receive(asciiBytes('$?#00'));
    await session.idle();
    expect(sent.at(-1)).toBe('-');
    expect(session.stats.badPackets).toBe(1);
  });
  test('QStartNoAckMode: OK is acked, later packets are not', async () => {
    const { session, sent, ask } = setup();
    expect(await ask('QStartNoAckMode')).toEqual(['OK']);
    session.receive(asciiBytes('+'));
    const n = sent.length;
    expect(await ask('?')).toEqual(['T05thread:1;']);
    expect(sent.slice(n)).toEqual(['$T05thread:1;#d7']);
  });
});

describe('queries', () => {
  test('qSupported lists what the target has', async () => {
    const { ask } = setup();
    const [r] = await ask('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386');
    expect(r!.split(';')).toEqual(['PacketSize=4000', 'QStartNoAckMode+', 'vContSupported+', 'qXfer:features:read+', 'swbreak+', 'hwbreak+']);
  });
  test('qSupported without the optional parts', async () => {
    const t = new FakeTarget() as Partial<FakeTarget>;
    delete t.features; delete t.swBreakpoints; delete t.watchpoints;
    const { ask } = setup(Object.assign(Object.create(FakeTarget.prototype) as FakeTarget, t));
    expect(await ask('qSupported')).toEqual(['PacketSize=4000;QStartNoAckMode+;vContSupported+']);
    expect(await ask('Z0,1000,1')).toEqual(['']);
    expect(await ask('Z2,1000,4')).toEqual(['']);
  });
  test('qXfer:features:read in chunks, binary-escaped, m then l', async () => {
    const { ask } = setup();
    const doc = '<target>' + 'x'.repeat(100) + '#$}*</target>';
    const first = await ask('qXfer:features:read:target.xml:0,28');
    expect(first).toEqual(['m' + doc.slice(0, 40)]);
    const rest = await ask('qXfer:features:read:target.xml:28,c8');
    expect(rest).toEqual(['l' + bytesToAscii(escapeBinary(asciiBytes(doc.slice(40))))]);
    expect(await ask(`qXfer:features:read:target.xml:${doc.length.toString(16)},10`)).toEqual(['l']);
    expect(await ask('qXfer:features:read:other.xml:0,10')).toEqual(['E01']);
    expect(await ask('qXfer:features:read:target.xml:zz,10')).toEqual(['E16']);
    expect(await ask('qXfer:libraries:read::0,10')).toEqual(['']);
  });
  test('threads: qfThreadInfo, qsThreadInfo, qC, T, qThreadExtraInfo, H', async () => {
    const { ask } = setup();
    expect(await ask('qfThreadInfo')).toEqual(['m1,2']);
    expect(await ask('qsThreadInfo')).toEqual(['l']);
    expect(await ask('qC')).toEqual(['QC1']);
    expect(await ask('T2')).toEqual(['OK']);
    expect(await ask('T3')).toEqual(['E02']);
    expect(await ask('qThreadExtraInfo,2')).toEqual([toHex(asciiBytes('vCPU 1'))]);
    expect(await ask('Hg3')).toEqual(['E02']);
    expect(await ask('Hg2')).toEqual(['OK']);
    expect(await ask('Hc-1')).toEqual(['OK']);
  });
  test('qAttached, qOffsets, qSymbol, unknown packets', async () => {
    const { ask } = setup();
    expect(await ask('qAttached:1')).toEqual(['1']);
    expect(await ask('qOffsets')).toEqual(['Text=0;Data=0;Bss=0']);
    expect(await ask('qSymbol::')).toEqual(['OK']);
    expect(await ask('vMustReplyEmpty')).toEqual(['']);
    expect(await ask('qTStatus')).toEqual(['']);
    expect(await ask('!')).toEqual(['']);
  });
  test('qRcmd: output as O packets (hex), then OK', async () => {
    const { ask } = setup();
    expect(await ask('qRcmd,' + toHex(asciiBytes('info registers')))).toEqual(['O' + toHex(asciiBytes('you said info registers\n')), 'OK']);
    expect(await ask('qRcmd,zz')).toEqual(['E16']);
  });
});

describe('registers and memory', () => {
  test('g with unavailable bytes as xx; p; P; G', async () => {
    const { ask } = setup();
    expect(await ask('Hg2')).toEqual(['OK']);
    expect(await ask('g')).toEqual(['01020304050607xx']);
    expect(await ask('p1')).toEqual(['05060708']);
    expect(await ask('p9')).toEqual(['E16']);
    expect(await ask('P0=aabbccdd')).toEqual(['OK']);
    expect(await ask('p0')).toEqual(['aabbccdd']);
    expect(await ask('P0=aabb')).toEqual(['E16']);
    expect(await ask('G0000000000000000')).toEqual(['OK']);
    expect(await ask('p1')).toEqual(['00000000']);
  });
  test('the general thread follows Hg and the last stop', async () => {
    const t = new FakeTarget();
    const { ask, session } = setup(t);
    await ask('Hg2');
    await ask('p0');
    await ask('c');
    session.reportStop({ kind: 'signal', signal: 5, thread: 1 });
    await ask('p0');
    expect(t.log).toEqual(['p2.0', 'p1.0']);
  });
  test('m, M, X (binary with escapes), partial and failed reads', async () => {
    const t = new FakeTarget();
    const { ask } = setup(t);
    expect(await ask('M10,4:deadbeef')).toEqual(['OK']);
    expect(await ask('m10,4')).toEqual(['deadbeef']);
    expect(await ask('mfe,4')).toEqual(['0000']); // partial: two bytes left
    expect(await ask('m100,4')).toEqual(['E0e']);
    expect(await ask('m10,0')).toEqual(['']);
    const data = Uint8Array.of(0x23, 0x7d, 0x00, 0x2a, 0x24);
    const x = new Uint8Array([...asciiBytes('X20,5:'), ...escapeBinary(data)]);
    expect(await ask(x)).toEqual(['OK']);
    expect([...t.mem.subarray(0x20, 0x25)]).toEqual([...data]);
    expect(await ask('X20,0:')).toEqual(['OK']);
    expect(await ask('Mfe,4:00000000')).toEqual(['E0e']);
  });
});

describe('breakpoints', () => {
  test('Z0/z0 and Z2 through the target; unknown Z types unsupported', async () => {
    const t = new FakeTarget();
    const { ask } = setup(t);
    expect(await ask('Z0,401000,1')).toEqual(['OK']);
    expect([...t.breakpoints]).toEqual([0x401000n]);
    expect(await ask('z0,401000,1')).toEqual(['OK']);
    expect(await ask('z0,401000,1')).toEqual(['E01']);
    expect(await ask('Z2,2000,4')).toEqual(['OK']);
    expect(await ask('Z3,2000,10')).toEqual(['E01']);
    expect(t.watches).toEqual([['write', 0x2000n, 4], ['read', 0x2000n, 16]]);
    expect(await ask('Z1,1000,1')).toEqual(['']); // no hwBreakpoints on this target
    expect(await ask('Z9,1000,1')).toEqual(['']);
    expect(await ask('Z0,1000,1;X2,aa')).toEqual(['OK']); // conditions ignored
  });
});

describe('resume and stop replies', () => {
  test('vCont? and vCont with per-thread actions (leftmost wins, default for the rest)', async () => {
    const t = new FakeTarget();
    const { ask, session } = setup(t);
    expect(await ask('vCont?')).toEqual(['vCont;c;C;s;S;t']);
    expect(await ask('vCont;s:2;c')).toEqual([]);
    expect(session.state).toBe('running');
    expect([...t.resumed[0]!]).toEqual([[1, { kind: 'continue' }], [2, { kind: 'step' }]]);
    session.reportStop({ kind: 'signal', signal: 5, thread: 2 });
    expect(session.state).toBe('stopped');
    await ask('vCont;s:1');
    expect([...t.resumed[1]!]).toEqual([[1, { kind: 'step' }], [2, { kind: 'stop' }]]);
    session.reportStop({ kind: 'signal', signal: 5, thread: 1 });
    await ask('vCont;C0b:2;c:-1');
    expect([...t.resumed[2]!]).toEqual([[1, { kind: 'continue' }], [2, { kind: 'continue', signal: 11 }]]);
  });
  test('malformed vCont and resume packets are errors, not resumes', async () => {
    const t = new FakeTarget();
    const { ask, session } = setup(t);
    for (const p of ['vCont;x', 'vCont;s:zz', 'vCont;Cxyz', 'vCont;t', 'Czz', 'c1000', 'sqq']) {
      expect((await ask(p))[0]).toMatch(/^E/);
    }
    expect(t.resumed).toEqual([]);
    expect(session.state).toBe('stopped');
  });
  test('c and s: c continues every thread, s steps the Hc thread', async () => {
    const t = new FakeTarget();
    const { ask, session } = setup(t);
    await ask('c');
    expect([...t.resumed[0]!.values()].map((a) => a.kind)).toEqual(['continue', 'continue']);
    session.reportStop({ kind: 'signal', signal: 5, thread: 1 });
    await ask('Hc2');
    await ask('s');
    expect([...t.resumed[1]!]).toEqual([[1, { kind: 'stop' }], [2, { kind: 'step' }]]);
  });
  test('stop replies carry thread, swbreak/hwbreak only when gdb supports them, watch addresses', async () => {
    const { ask, session, packets } = setup();
    await ask('c');
    session.reportStop({ kind: 'signal', signal: 5, thread: 2, reason: { kind: 'swbreak' } });
    expect(packets().at(-1)).toBe('T05thread:2;');
    await ask('qSupported:swbreak+;hwbreak+');
    await ask('c');
    session.reportStop({ kind: 'signal', signal: 5, thread: 2, reason: { kind: 'swbreak' } });
    expect(packets().at(-1)).toBe('T05thread:2;swbreak:;');
    await ask('c');
    session.reportStop({ kind: 'signal', signal: 5, thread: 1, reason: { kind: 'awatch', address: 0x1234n } });
    expect(packets().at(-1)).toBe('T05thread:1;awatch:1234;');
    expect(await ask('?')).toEqual(['T05thread:1;awatch:1234;']);
    expect(await ask('qC')).toEqual(['QC1']);
  });
  test('a stop while nobody waits is remembered but not sent', async () => {
    const { session, packets, ask } = setup();
    session.reportStop({ kind: 'signal', signal: 2, thread: 2 });
    expect(packets()).toEqual([]);
    expect(await ask('?')).toEqual(['T02thread:2;']);
  });
  test('Ctrl-C while running interrupts the target; while stopped it is ignored', async () => {
    const t = new FakeTarget();
    const { session, ask } = setup(t);
    session.receive(Uint8Array.of(3));
    await session.idle();
    expect(t.log).toEqual([]);
    await ask('c');
    session.receive(Uint8Array.of(3));
    await session.idle();
    expect(t.log).toEqual(['interrupt']);
  });
  test('Ctrl-C right behind a c packet in the same chunk still interrupts', async () => {
    const t = new FakeTarget();
    const { session } = setup(t);
    session.receive(new Uint8Array([...encodePacket(asciiBytes('c')), 3]));
    await session.idle();
    expect(t.log).toEqual(['interrupt']);
  });
  test('exit: W reply and the session closes; D detaches with OK; k kills without a reply', async () => {
    const a = setup();
    await a.ask('c');
    a.session.reportStop({ kind: 'exited', status: 1 });
    expect(a.packets().at(-1)).toBe('W01');
    expect(a.session.state).toBe('closed');

    const t = new FakeTarget();
    const closes: string[] = [];
    const b = setup(t, { onClose: (w) => closes.push(w) });
    expect(await b.ask('D;1')).toEqual(['OK']);
    expect(t.log).toEqual(['detach']);
    expect(b.session.state).toBe('closed');
    expect(await b.ask('g')).toEqual([]);

    const t2 = new FakeTarget();
    const c = setup(t2, { onClose: (w) => closes.push(w) });
    expect(await c.ask('k')).toEqual([]);
    expect(t2.log).toEqual(['kill']);
    expect(closes).toEqual(['detach', 'kill']);
  });
});

describe('malformed packets: error replies, never a crash', () => {
  const bad = ['m', 'mxyz', 'm10', 'm10,', 'm,4', 'm10,ffffffff', 'M10,4:zz', 'M10,4:00', 'X10,4:', 'X10', 'Z', 'Z0', 'Z0,zz,1',
    'P', 'Pzz=00', 'P0=', 'G0', 'Gzz', 'pzz', 'p', 'H', 'Hx1', 'Hgzz', 'T', 'Tzz', 'qThreadExtraInfo,zz', 'gextra'];
  for (const p of bad) {
    test(JSON.stringify(p), async () => {
      const { ask, session } = setup();
      const r = await ask(p);
      expect(r.length).toBe(1);
      expect(r[0]).toMatch(/^E[0-9a-f]{2}$/);
      expect(session.state).toBe('stopped');
    });
  }
  test('a target that throws a plain Error gives E01 and the session goes on', async () => {
    const t = new FakeTarget();
    t.readRegisters = () => { throw new Error('boom'); };
    const logs: string[] = [];
    const { ask } = setup(t, { log: (m) => logs.push(m) });
    expect(await ask('g')).toEqual(['E01']);
    expect(await ask('?')).toEqual(['T05thread:1;']);
    expect(logs.join()).toContain('boom');
  });
  test('random packets never throw or hang', async () => {
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const alphabet = 'mMXgGpPZzcsCSHTvqQDk?,:;=-0123456789abcdefxyz#$}*';
    const t = new FakeTarget();
    const { ask, session } = setup(t);
    for (let i = 0; i < 2000; i++) {
      const len = rnd(24);
      let p = '';
      for (let k = 0; k < len; k++) p += alphabet[rnd(alphabet.length)];
      if (/^[Dk]|^vKill|^vCont;[^?]/.test(p) || /^[cCsS]/.test(p)) continue; // those end or resume the session
      await ask(p);
      expect(session.state).toBe('stopped');
    }
  });
});
