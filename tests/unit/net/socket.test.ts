// The socket netdev's wire format (QEMU net/socket.c: 4-byte big-endian
// length per frame on a stream; one datagram per frame on UDP), two
// netdevs wired together, and pcap capture.
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder, SocketNetdev, encodeFrame, parseHostPort, SOCKET_MAX_FRAME } from '../../../src/net/socket.js';
import { PcapWriter, readPcap } from '../../../src/net/pcap.js';
import { FramePort, StreamNetdev } from '../../../src/net/stream.js';
import { createNetdev } from '../../../src/net/index.js';
import type { Netdev } from '../../../src/net/netdev.js';

const closers: Netdev[] = [];
afterEach(async () => { for (const n of closers.splice(0)) await n.close(); });

function collect(n: Netdev): Uint8Array[] {
  const got: Uint8Array[] = [];
  n.attach({ receive: (f) => { got.push(f); return true; } });
  return got;
}
const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('stream framing', () => {
  test('encodeFrame: 4-byte big-endian length then the bytes', () => {
    expect([...encodeFrame(new Uint8Array([9, 8, 7]))]).toEqual([0, 0, 0, 3, 9, 8, 7]);
  });
  test('the decoder reassembles frames split and merged arbitrarily', () => {
    const frames = [new Uint8Array(60).fill(1), new Uint8Array(1514).fill(2), new Uint8Array(0), new Uint8Array(3).fill(3)];
    const wire = Buffer.concat(frames.map(encodeFrame));
    for (const cut of [1, 3, 5, 64, 999]) {
      const got: Uint8Array[] = [];
      const d = new FrameDecoder((f) => got.push(f));
      for (let i = 0; i < wire.length; i += cut) expect(d.push(wire.subarray(i, i + cut))).toBe(true);
      expect(got).toEqual(frames);
    }
  });
  test('a length above NET_BUFSIZE is a corrupt stream', () => {
    const d = new FrameDecoder(() => {});
    const b = Buffer.alloc(4);
    b.writeUInt32BE(SOCKET_MAX_FRAME + 1);
    expect(d.push(b)).toBe(false);
  });
  test('host:port parsing', () => {
    expect(parseHostPort(':1234', '0.0.0.0')).toEqual({ host: '0.0.0.0', port: 1234 });
    expect(parseHostPort('localhost:5', '0.0.0.0')).toEqual({ host: 'localhost', port: 5 });
    expect(() => parseHostPort('nohost', 'x')).toThrow(/host:port/);
    expect(() => parseHostPort('a:70000', 'x')).toThrow(/port/);
  });
});

describe('two socket netdevs', () => {
  test('listen= / connect=: frames both ways, in order', async () => {
    const a = new SocketNetdev('a', { listen: '127.0.0.1:0' });
    closers.push(a);
    await a.ready;
    const b = new SocketNetdev('b', { connect: `127.0.0.1:${a.listenPort}` });
    closers.push(b);
    await b.ready;
    const atA = collect(a);
    const atB = collect(b);
    const frames = Array.from({ length: 50 }, (_, i) => new Uint8Array(60 + i).fill(i));
    // The accept on A's side may lag B's connect: warm up until a frame gets through, then let stragglers land.
    const hello = new Uint8Array([0xee]);
    await until(() => (b.send(hello), atA.length > 0));
    await new Promise((r) => setTimeout(r, 100));
    atA.length = 0;
    for (const f of frames) b.send(f);
    for (const f of frames) a.send(f);
    await until(() => atA.length === 50 && atB.length === 50);
    expect(atA).toEqual(frames);
    expect(atB).toEqual(frames);
  });
  test('udp= / localaddr=: one datagram per frame', async () => {
    const base = 30000 + (process.pid % 10000);
    const a = new SocketNetdev('a', { udp: `127.0.0.1:${base + 1}`, localaddr: `127.0.0.1:${base}` });
    const b = new SocketNetdev('b', { udp: `127.0.0.1:${base}`, localaddr: `127.0.0.1:${base + 1}` });
    closers.push(a, b);
    await Promise.all([a.ready, b.ready]);
    const atA = collect(a);
    b.send(new Uint8Array([1, 2, 3]));
    b.send(new Uint8Array(1514).fill(7));
    await until(() => atA.length === 2);
    expect(atA[0]).toEqual(new Uint8Array([1, 2, 3]));
    expect(atA[1]!.length).toBe(1514);
  });
  test('exactly one of listen/connect/udp', () => {
    expect(() => new SocketNetdev('x', {})).toThrow(/exactly one/);
    expect(() => new SocketNetdev('x', { udp: '127.0.0.1:1' })).toThrow(/localaddr/);
  });
});

describe('stream netdev and pcap', () => {
  test('FramePort: frames before the netdev exists are kept; nextFrame filters', async () => {
    const port = new FramePort();
    port.send(new Uint8Array([1]));
    const nd = new StreamNetdev('s', port);
    const got = collect(nd);
    expect(got).toEqual([new Uint8Array([1])]);
    const p = port.nextFrame((f) => f[0] === 2, 1000);
    nd.send(new Uint8Array([1]));
    nd.send(new Uint8Array([2]));
    expect(await p).toEqual(new Uint8Array([2]));
  });
  test('filter-dump: a pcap file with both directions, little-endian magic, LINKTYPE_ETHERNET', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mvts-pcap-')), 'n.pcap');
    const { netdev } = createNetdev({ kind: 'stream', id: 's' });
    const w = new PcapWriter(file, 64, () => 1_700_000_000_123);
    netdev.addObserver(w.observer());
    collect(netdev);
    netdev.send(new Uint8Array(100).fill(0xaa)); // guest -> host
    (netdev as StreamNetdev).port.send(new Uint8Array(20).fill(0xbb)); // host -> guest
    w.close();
    const raw = readFileSync(file);
    expect(raw.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect([raw.readUInt16LE(4), raw.readUInt16LE(6)]).toEqual([2, 4]);
    expect(raw.readUInt32LE(16)).toBe(64); // snaplen
    expect(raw.readUInt32LE(20)).toBe(1);
    expect(raw.readUInt32LE(24)).toBe(1_700_000_000); // ts_sec
    expect(raw.readUInt32LE(28)).toBe(123_000); // ts_usec
    expect([raw.readUInt32LE(32), raw.readUInt32LE(36)]).toEqual([64, 100]); // incl_len (snapped), orig_len
    const frames = readPcap(raw);
    expect(frames.map((f) => f.length)).toEqual([64, 20]);
    expect(frames[1]![0]).toBe(0xbb);
  });
});
