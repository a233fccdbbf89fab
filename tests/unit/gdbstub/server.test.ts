// The TCP listener: one debugger at a time, packets across chunk boundaries,
// a dropped connection ends the session.
import { describe, expect, test } from 'vitest';
import { connect, type Socket } from 'node:net';
import { listenGdb } from '../../../src/gdbstub/protocol/server.js';
import type { GdbTarget } from '../../../src/gdbstub/protocol/target.js';

const target: GdbTarget = {
  threads: () => [1],
  readRegisters: () => ({ bytes: Uint8Array.of(1, 2) }),
  writeRegisters: () => {},
  readRegister: () => undefined,
  writeRegister: () => false,
  readMemory: () => new Uint8Array(0),
  writeMemory: () => false,
  resume: () => {},
  interrupt: () => {},
  detach: () => {},
  kill: () => {},
};

function open(port: number): Promise<{ s: Socket; data: () => string; closed: Promise<void> }> {
  return new Promise((resolve) => {
    let buf = '';
    const s = connect(port, '127.0.0.1', () => resolve({ s, data: () => buf, closed }));
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.on('data', (d) => { buf += d.toString('latin1'); });
    s.on('error', () => {});
  });
}

const until = async (f: () => boolean, ms = 2000): Promise<void> => {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('listenGdb', () => {
  test('serves one connection, refuses a second, ends the session when the socket closes', async () => {
    const ended: string[] = [];
    const l = await listenGdb({ host: '127.0.0.1', port: 0 }, async () => ({ target, ended: (w) => ended.push(w) }));
    try {
      const a = await open(l.port);
      // One packet split over two writes.
      a.s.write('+$?#');
      await new Promise((r) => setTimeout(r, 20));
      a.s.write('3f');
      await until(() => a.data().includes('$T05thread:1;#d7'));
      expect(a.data()).toBe('+$T05thread:1;#d7');
      const b = await open(l.port);
      await b.closed;
      expect(l.session).toBeDefined();
      a.s.write('+$g#67');
      await until(() => a.data().includes('$0102#'));
      a.s.destroy();
      await until(() => ended.length > 0);
      expect(ended).toEqual(['closed']);
      // A new debugger may connect after the first one left.
      const c = await open(l.port);
      c.s.write('$D#44');
      await c.closed;
      expect(c.data()).toBe('+$OK#9a');
      expect(ended).toEqual(['closed', 'detach']);
    } finally {
      await l.close();
    }
  });
});
