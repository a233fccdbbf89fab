// The split virtqueue (virtio 1.2 §2.7): chain walking, indirect tables,
// validation of hostile values, and notification suppression (EVENT_IDX).
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../../src/memory/guest-memory.js';
import {
  Virtqueue, isQueueError, vringNeedEvent, legacyRingLayout, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
  type DescriptorChain, type QueueError,
} from '../../../src/virtio/virtqueue.js';

const RAM = 1024 * 1024;
function setup(size = 8, features = { indirect: true, eventIdx: false }) {
  const mem = new GuestMemory(RAM);
  const q = new Virtqueue(mem, 256);
  Object.assign(q.s, { size, descAddr: 0x1000, availAddr: 0x2000, usedAddr: 0x3000 });
  q.features = features;
  expect(q.activate()).toBeUndefined();
  let avail = 0;
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next = 0): void => {
    mem.writeU64(table + 16 * i, BigInt(addr));
    mem.writeU32(table + 16 * i + 8, len);
    mem.writeU16(table + 16 * i + 12, flags);
    mem.writeU16(table + 16 * i + 14, next);
  };
  const publish = (head: number): void => {
    mem.writeU16(0x2004 + 2 * (avail % size), head);
    avail = (avail + 1) & 0xffff;
    mem.writeU16(0x2002, avail);
  };
  return { mem, q, desc, publish };
}

function chain(x: DescriptorChain | QueueError | undefined): DescriptorChain {
  if (x === undefined || isQueueError(x)) throw new Error(`expected a chain, got ${JSON.stringify(x)}`);
  return x;
}
function error(x: DescriptorChain | QueueError | undefined): string {
  if (!isQueueError(x)) throw new Error(`expected an error, got ${JSON.stringify(x)}`);
  return x.code;
}

describe('chains', () => {
  test('readable then writable descriptors, in order, with totals', () => {
    const { q, desc, publish } = setup();
    desc(0x1000, 3, 0x10000, 10, VIRTQ_DESC_F_NEXT, 5);
    desc(0x1000, 5, 0x11000, 20, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc(0x1000, 1, 0x12000, 30, VIRTQ_DESC_F_WRITE);
    publish(3);
    const c = chain(q.pop());
    expect(c.head).toBe(3);
    expect(c.readable).toEqual([{ gpa: 0x10000, len: 10 }]);
    expect(c.writable).toEqual([{ gpa: 0x11000, len: 20 }, { gpa: 0x12000, len: 30 }]);
    expect([c.readableBytes, c.writableBytes]).toEqual([10, 50]);
    expect(q.pop()).toBeUndefined();
  });
  test('indirect table (VIRTIO_F_INDIRECT_DESC)', () => {
    const { q, desc, publish } = setup();
    desc(0x8000, 0, 0x10000, 12, VIRTQ_DESC_F_NEXT, 1);
    desc(0x8000, 1, 0x11000, 100, VIRTQ_DESC_F_WRITE);
    desc(0x1000, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT);
    publish(0);
    const c = chain(q.pop());
    expect(c.readable).toEqual([{ gpa: 0x10000, len: 12 }]);
    expect(c.writable).toEqual([{ gpa: 0x11000, len: 100 }]);
  });
  const bad: Array<{ name: string; code: string; build: (d: ReturnType<typeof setup>['desc']) => number; features?: { indirect: boolean; eventIdx: boolean } }> = [
    { name: 'a loop', code: 'CHAIN_LOOP', build: (d) => { d(0x1000, 0, 0x10000, 1, VIRTQ_DESC_F_NEXT, 1); d(0x1000, 1, 0x10000, 1, VIRTQ_DESC_F_NEXT, 0); return 0; } },
    { name: 'next outside the table', code: 'BAD_NEXT', build: (d) => { d(0x1000, 0, 0x10000, 1, VIRTQ_DESC_F_NEXT, 8); return 0; } },
    { name: 'buffer beyond RAM', code: 'BUFFER_NOT_RAM', build: (d) => { d(0x1000, 0, RAM - 4, 8, 0); return 0; } },
    { name: 'buffer at 2^63', code: 'BUFFER_NOT_RAM', build: (d) => { d(0x1000, 0, 0, 8, 0); return 0; } },
    { name: 'readable after writable', code: 'WRITE_BEFORE_READ', build: (d) => { d(0x1000, 0, 0x10000, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1); d(0x1000, 1, 0x10000, 1, 0); return 0; } },
    { name: 'indirect without the feature', code: 'BAD_INDIRECT', features: { indirect: false, eventIdx: false }, build: (d) => { d(0x1000, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT); return 0; } },
    { name: 'indirect with NEXT', code: 'BAD_INDIRECT', build: (d) => { d(0x1000, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1); return 0; } },
    { name: 'indirect length not a multiple of 16', code: 'BAD_INDIRECT', build: (d) => { d(0x1000, 0, 0x8000, 24, VIRTQ_DESC_F_INDIRECT); return 0; } },
    { name: 'nested indirect', code: 'BAD_INDIRECT', build: (d) => { d(0x8000, 0, 0x9000, 16, VIRTQ_DESC_F_INDIRECT); d(0x1000, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT); return 0; } },
    { name: 'indirect table beyond RAM', code: 'BUFFER_NOT_RAM', build: (d) => { d(0x1000, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT); return 0; } },
    { name: 'loop inside an indirect table', code: 'CHAIN_LOOP', build: (d) => { d(0x8000, 0, 0x10000, 1, VIRTQ_DESC_F_NEXT, 1); d(0x8000, 1, 0x10000, 1, VIRTQ_DESC_F_NEXT, 0); d(0x1000, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT); return 0; } },
  ];
  for (const c of bad) {
    test(`refuses ${c.name}: ${c.code}`, () => {
      const s = setup(8, c.features ?? { indirect: true, eventIdx: false });
      if (c.name === 'buffer at 2^63') s.mem.writeU64(0x1000, 1n << 63n);
      const head = c.build(s.desc);
      if (c.name === 'buffer at 2^63') s.mem.writeU64(0x1000, 1n << 63n);
      s.publish(head);
      expect(error(s.q.pop())).toBe(c.code);
    });
  }
  test('head index outside the queue', () => {
    const { q, publish } = setup();
    publish(9);
    expect(error(q.pop())).toBe('BAD_HEAD');
  });
  test('avail idx more than size ahead', () => {
    const { q, mem } = setup();
    mem.writeU16(0x2002, 9);
    expect(error(q.pop())).toBe('AVAIL_IDX_AHEAD');
  });
  test('avail idx wraps at 2^16', () => {
    const { q, mem, desc } = setup();
    q.s.lastAvailIdx = 0xffff;
    desc(0x1000, 2, 0x10000, 4, 0);
    mem.writeU16(0x2004 + 2 * (0xffff % 8), 2);
    mem.writeU16(0x2002, 0);
    expect(chain(q.pop()).head).toBe(2);
    expect(q.s.lastAvailIdx).toBe(0);
  });
});

describe('activation', () => {
  const cases: Array<{ name: string; s: Partial<Virtqueue['s']>; code: string }> = [
    { name: 'size 0', s: { size: 0 }, code: 'BAD_SIZE' },
    { name: 'size 12', s: { size: 12 }, code: 'BAD_SIZE' },
    { name: 'size above max', s: { size: 512 }, code: 'BAD_SIZE' },
    { name: 'misaligned desc', s: { descAddr: 0x1008 }, code: 'BAD_ALIGNMENT' },
    { name: 'misaligned used', s: { usedAddr: 0x3002 }, code: 'BAD_ALIGNMENT' },
    { name: 'used ring past RAM', s: { usedAddr: RAM - 16 }, code: 'RING_NOT_RAM' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const q = new Virtqueue(new GuestMemory(RAM), 256);
      Object.assign(q.s, { size: 8, descAddr: 0x1000, availAddr: 0x2000, usedAddr: 0x3000 }, c.s);
      expect(q.activate()?.code).toBe(c.code);
      expect(q.ready).toBe(false);
    });
  }
  test('legacy layout: used ring at the next QueueAlign boundary (virtio 0.9.5 vring_size)', () => {
    // 256 entries: desc 4096 bytes, avail 4 + 512 + 2 = 518 -> used at base + 8192 with 4096 alignment.
    expect(legacyRingLayout(0x10000, 256, 4096)).toEqual({ desc: 0x10000, avail: 0x11000, used: 0x12000 });
  });
});

describe('used ring and notifications', () => {
  test('push writes id/len then idx', () => {
    const { q, mem } = setup();
    q.push(5, 1234);
    q.push(6, 1);
    expect(mem.readU16(0x3002)).toBe(2);
    expect([mem.readU32(0x3004), mem.readU32(0x3008), mem.readU32(0x300c), mem.readU32(0x3010)]).toEqual([5, 1234, 6, 1]);
  });
  test('without EVENT_IDX: avail.flags NO_INTERRUPT suppresses; setNotification writes used.flags', () => {
    const { q, mem } = setup();
    q.push(0, 0);
    expect(q.needsInterrupt()).toBe(true);
    mem.writeU16(0x2000, 1);
    q.push(0, 0);
    expect(q.needsInterrupt()).toBe(false);
    q.setNotification(false);
    expect(mem.readU16(0x3000)).toBe(1);
    q.setNotification(true);
    expect(mem.readU16(0x3000)).toBe(0);
  });
  test('with EVENT_IDX: interrupt only when used_event is crossed; avail_event follows lastAvailIdx', () => {
    const { q, mem, desc, publish } = setup(8, { indirect: false, eventIdx: true });
    const usedEventAt = 0x2004 + 2 * 8;
    const availEventAt = 0x3004 + 8 * 8;
    q.push(0, 0);
    expect(q.needsInterrupt()).toBe(true); // first decision: always
    mem.writeU16(usedEventAt, 3); // interrupt when used idx passes 3
    q.push(0, 0); // idx 2
    expect(q.needsInterrupt()).toBe(false);
    q.push(0, 0); // idx 3
    expect(q.needsInterrupt()).toBe(false);
    q.push(0, 0); // idx 4: crossed 3
    expect(q.needsInterrupt()).toBe(true);
    desc(0x1000, 0, 0x10000, 4, 0);
    publish(0);
    chain(q.pop());
    expect(mem.readU16(availEventAt)).toBe(1);
  });
  test('vring_need_event matches the spec formula across wrap-around', () => {
    expect(vringNeedEvent(0, 1, 0)).toBe(true);
    expect(vringNeedEvent(5, 5, 4)).toBe(false);
    expect(vringNeedEvent(4, 5, 4)).toBe(true);
    expect(vringNeedEvent(0xffff, 1, 0xfffe)).toBe(true);
    expect(vringNeedEvent(2, 1, 0xfffe)).toBe(false);
  });
});
