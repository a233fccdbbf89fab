// The user-mode network (src/net/user.ts) with the test as the guest:
// frames in, frames out, checked against RFC 826 / 2131 / 792 / 768 / 793.
import { afterEach, describe, expect, test } from 'vitest';
import { createServer, connect, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { UserNetdev } from '../../../src/net/user.js';
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN,
  buildArp, buildEth, buildIcmp, buildTcp, buildUdp, parseArp, parseEth, parseIcmp, parseIpv4, parseTcp, parseUdp,
  type TcpSegment,
} from '../../../src/net/packet.js';

const GUEST_MAC = new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
const GW_MAC = new Uint8Array([0x52, 0x55, 10, 0, 2, 2]);
const GUEST = 0x0a00020f;
const GW = 0x0a000202;
const DNS = 0x0a000203;

class Guest {
  readonly frames: Uint8Array[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly net: UserNetdev) {
    net.attach({
      receive: (f) => {
        // Answer ARP for our address, as a guest stack does (the backend asks before its first frame to us).
        const e = parseEth(f);
        const arp = e?.type === ETHERTYPE_ARP ? parseArp(e.payload) : undefined;
        if (arp?.op === 1 && arp.tpa === GUEST) {
          queueMicrotask(() => net.send(buildEth(arp.sha, GUEST_MAC, ETHERTYPE_ARP, buildArp(2, GUEST_MAC, GUEST, arp.sha, arp.spa))));
          return true;
        }
        this.frames.push(f);
        for (const w of this.waiters.splice(0)) w();
        return true;
      },
    });
  }
  sendIp(ip: Uint8Array): void { this.net.send(buildEth(GW_MAC, GUEST_MAC, ETHERTYPE_IPV4, ip)); }
  /** The next frame (from the start of the backlog) that `pick` accepts; removes it. */
  async next<T>(pick: (f: Uint8Array) => T | undefined, timeoutMs = 5000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.frames.length; i++) {
        const v = pick(this.frames[i]!);
        if (v !== undefined) { this.frames.splice(i, 1); return v; }
      }
      if (Date.now() > end) throw new Error('no matching frame');
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }
}

const ipv4 = (f: Uint8Array, proto: number) => {
  const e = parseEth(f);
  if (e?.type !== ETHERTYPE_IPV4) return undefined;
  const ip = parseIpv4(e.payload);
  return ip?.proto === proto ? ip : undefined;
};
const tcpFrom = (sport: number, dport: number) => (f: Uint8Array): (TcpSegment & { src: number }) | undefined => {
  const ip = ipv4(f, IPPROTO_TCP);
  const t = ip && parseTcp(ip);
  return t && t.sport === sport && t.dport === dport ? { ...t, src: ip.src } : undefined;
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0)) await c(); });
function user(opts: ConstructorParameters<typeof UserNetdev>[1] = {}): { net: UserNetdev; g: Guest } {
  const net = new UserNetdev('u', opts);
  cleanups.push(() => net.close());
  return { net, g: new Guest(net) };
}
function listen(server: Server): Promise<number> {
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

describe('ARP, DHCP, ICMP', () => {
  test('ARP: the gateway and DNS answer with 52:55 + their address (libslirp special_ethaddr)', async () => {
    const { net, g } = user();
    for (const target of [GW, DNS]) {
      net.send(buildEth(new Uint8Array(6).fill(255), GUEST_MAC, ETHERTYPE_ARP, buildArp(1, GUEST_MAC, GUEST, new Uint8Array(6), target)));
      const arp = await g.next((f) => { const e = parseEth(f); return e?.type === ETHERTYPE_ARP ? parseArp(e.payload) : undefined; });
      expect(arp.op).toBe(2);
      expect(arp.spa).toBe(target);
      expect([...arp.sha]).toEqual([0x52, 0x55, 10, 0, 2, target & 255]);
      expect(arp.tpa).toBe(GUEST);
    }
  });
  test('DHCP: DISCOVER -> OFFER 10.0.2.15, REQUEST -> ACK, with mask, router, DNS, lease', async () => {
    const { net, g } = user();
    for (const [type, want] of [[1, 2], [3, 5]] as const) {
      const p = new Uint8Array(300);
      const dv = new DataView(p.buffer);
      p.set([1, 1, 6, 0], 0);
      dv.setUint32(4, 0xdeadbeef);
      p.set(GUEST_MAC, 28);
      dv.setUint32(236, 0x63825363);
      p.set([53, 1, type, 255], 240);
      net.send(buildEth(new Uint8Array(6).fill(255), GUEST_MAC, ETHERTYPE_IPV4, buildUdp(0, 0xffffffff, 68, 67, p)));
      const r = await g.next((f) => { const ip = ipv4(f, IPPROTO_UDP); const u = ip && parseUdp(ip); return u?.dport === 68 ? u : undefined; });
      const rv = new DataView(r.payload.buffer, r.payload.byteOffset);
      expect(r.payload[0]).toBe(2);
      expect(rv.getUint32(4)).toBe(0xdeadbeef);
      expect(rv.getUint32(16)).toBe(GUEST);
      const opts = new Map<number, number[]>();
      for (let i = 240; r.payload[i] !== 255;) { opts.set(r.payload[i]!, [...r.payload.subarray(i + 2, i + 2 + r.payload[i + 1]!)]); i += 2 + r.payload[i + 1]!; }
      expect(opts.get(53)).toEqual([want]);
      expect(opts.get(1)).toEqual([255, 255, 255, 0]);
      expect(opts.get(3)).toEqual([10, 0, 2, 2]);
      expect(opts.get(6)).toEqual([10, 0, 2, 3]);
      expect(opts.get(51)).toEqual([0, 1, 0x51, 0x80]);
    }
    expect(net.counters.dhcpAcks).toBe(1);
  });
  test('ICMP echo to the gateway is answered with the same identifier, sequence and data', async () => {
    const { g } = user();
    const rest = new Uint8Array([0, 1, 0, 9, ...new TextEncoder().encode('ping!')]);
    g.sendIp(buildIcmp(GUEST, GW, 8, 0, rest));
    const r = await g.next((f) => { const ip = ipv4(f, IPPROTO_ICMP); return ip ? { ip, m: parseIcmp(ip)! } : undefined; });
    expect([r.ip.src, r.ip.dst, r.m.type]).toEqual([GW, GUEST, 0]);
    expect([...r.m.rest]).toEqual([...rest]);
  });
  test('custom net=192.168.76.0/24: gateway .2', async () => {
    const { net, g } = user({ net: '192.168.76.0/24' });
    expect(net.gatewayIp).toBe(0xc0a84c02);
    g.sendIp(buildIcmp(0xc0a84c0f, 0xc0a84c02, 8, 0, new Uint8Array(4)));
    await g.next((f) => ipv4(f, IPPROTO_ICMP));
  });
});

describe('UDP', () => {
  test('outbound to 10.0.2.2 reaches the host loopback; the reply comes back from 10.0.2.2', async () => {
    const { g } = user();
    const srv = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    srv.on('message', (m, ri) => srv.send(Buffer.from(`re:${m}`), ri.port, ri.address));
    const port = await new Promise<number>((r) => srv.bind(0, '127.0.0.1', () => r(srv.address().port)));
    g.sendIp(buildUdp(GUEST, GW, 5555, port, new TextEncoder().encode('abc')));
    const u = await g.next((f) => { const ip = ipv4(f, IPPROTO_UDP); const d = ip && parseUdp(ip); return d && d.dport === 5555 ? { ip, d } : undefined; });
    expect([u.ip.src, u.d.sport]).toEqual([GW, port]);
    expect(new TextDecoder().decode(u.d.payload)).toBe('re:abc');
  });
  test('hostfwd=udp: a host datagram reaches the guest port; the guest reply goes back to the host sender', async () => {
    const { net, g } = user({ hostfwd: [{ proto: 'udp', hostPort: 0, guestPort: 7 }] });
    await net.ready;
    const c = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => c.close(() => r())));
    const reply = new Promise<string>((r) => c.on('message', (m) => r(m.toString())));
    c.send('to-guest', net.boundPorts[0]!, '127.0.0.1');
    const u = await g.next((f) => { const ip = ipv4(f, IPPROTO_UDP); const d = ip && parseUdp(ip); return d && d.dport === 7 ? { ip, d } : undefined; });
    expect(u.ip.dst).toBe(GUEST);
    expect(u.ip.src).toBe(GW);
    g.sendIp(buildUdp(GUEST, GW, 7, u.d.sport, new TextEncoder().encode('from-guest')));
    expect(await reply).toBe('from-guest');
  });
});

/** The guest side of one TCP connection, driven by hand. */
class GuestTcp {
  seq = 1000;
  ack = 0;
  constructor(readonly g: Guest, readonly lport: number, readonly rip: number, readonly rport: number) {}
  send(flags: number, payload?: Uint8Array, window = 65535): void {
    this.g.sendIp(buildTcp(GUEST, this.rip, { sport: this.lport, dport: this.rport, seq: this.seq, ack: this.ack, flags, window, mss: flags & TCP_SYN ? 1460 : undefined, ...(payload ? { payload } : {}) }));
    this.seq = (this.seq + (payload?.length ?? 0) + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
  }
  next(timeoutMs?: number) { return this.g.next(tcpFrom(this.rport, this.lport), timeoutMs); }
  /** Read `n` bytes of data, ACKing every segment (in-order only). */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const s = await this.next();
      if (s.payload.length && s.seq === this.ack) {
        parts.push(Buffer.from(s.payload));
        got += s.payload.length;
        this.ack = (this.ack + s.payload.length) >>> 0;
      }
      this.send(TCP_ACK);
    }
    return Buffer.concat(parts);
  }
}

describe('TCP', () => {
  test('outbound: handshake, data both ways, FIN both ways', async () => {
    const { net, g } = user();
    const server = createServer((s) => {
      s.on('data', (d) => s.write(d.toString().toUpperCase()));
      s.on('end', () => s.end());
    });
    const port = await listen(server);
    const c = new GuestTcp(g, 40001, GW, port);
    c.send(TCP_SYN);
    const synack = await c.next();
    expect(synack.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synack.ack).toBe(1001);
    expect(synack.mss).toBe(1460);
    c.ack = (synack.seq + 1) >>> 0;
    c.send(TCP_ACK);
    c.send(TCP_ACK | TCP_PSH, new TextEncoder().encode('hello'));
    expect((await c.read(5)).toString()).toBe('HELLO');
    c.send(TCP_FIN | TCP_ACK);
    // the host closes too: its FIN arrives (possibly after a bare ACK)
    const fin = await c.g.next((f) => { const t = tcpFrom(port, 40001)(f); return t && t.flags & TCP_FIN ? t : undefined; });
    expect(fin.ack).toBe(c.seq);
    c.ack = (fin.seq + 1) >>> 0;
    c.send(TCP_ACK);
    await new Promise((r) => setTimeout(r, 50));
    expect(net.tcpConnections).toBe(0);
  });
  test('outbound to a closed port: RST|ACK', async () => {
    const { g } = user();
    const server = createServer();
    const port = await listen(server);
    await new Promise<void>((r) => server.close(() => r()));
    const c = new GuestTcp(g, 40002, GW, port);
    c.send(TCP_SYN);
    const r = await c.next();
    expect(r.flags & TCP_RST).toBe(TCP_RST);
    expect(r.ack).toBe(1001);
  });
  test('a 300 KB host stream arrives intact within the guest window; an unacknowledged segment is retransmitted', async () => {
    const { g } = user();
    const data = Buffer.alloc(300_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const server = createServer((s) => s.end(data));
    const port = await listen(server);
    const c = new GuestTcp(g, 40003, GW, port);
    c.send(TCP_SYN, undefined, 8192);
    const synack = await c.next();
    c.ack = (synack.seq + 1) >>> 0;
    c.send(TCP_ACK, undefined, 8192);
    // Ignore the first data segment once (as if lost): it must come again after the RTO.
    const first = await c.next();
    expect(first.payload.length).toBeGreaterThan(0);
    expect(first.payload.length).toBeLessThanOrEqual(1460);
    // everything in flight fits the advertised 8 KiB window
    await new Promise((r) => setTimeout(r, 20));
    const inflight = g.frames.map(tcpFrom(port, 40003)).filter((t) => t && t.payload.length).reduce((a, t) => a + t!.payload.length, 0);
    expect(first.payload.length + inflight).toBeLessThanOrEqual(8192);
    g.frames.length = 0;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < data.length) {
      const s = await c.next(3000);
      if (s.payload.length && s.seq === c.ack) {
        parts.push(Buffer.from(s.payload));
        got += s.payload.length;
        c.ack = (c.ack + s.payload.length) >>> 0;
      }
      c.send(TCP_ACK, undefined, 8192);
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
  test('hostfwd=tcp: a host connection becomes a SYN to the guest port; data flows both ways', async () => {
    const { net, g } = user({ hostfwd: [{ proto: 'tcp', hostPort: 0, guestPort: 80 }] });
    await net.ready;
    const sock = connect(net.boundPorts[0]!, '127.0.0.1');
    cleanups.push(() => { sock.destroy(); });
    const syn = await g.next((f) => { const ip = ipv4(f, IPPROTO_TCP); const t = ip && parseTcp(ip); return t && t.dport === 80 ? { ip, t } : undefined; });
    expect(syn.t.flags).toBe(TCP_SYN);
    expect(syn.ip.dst).toBe(GUEST);
    expect(syn.ip.src).toBe(GW);
    const c = new GuestTcp(g, 80, GW, syn.t.sport);
    c.ack = (syn.t.seq + 1) >>> 0;
    c.send(TCP_SYN | TCP_ACK);
    const ack = await c.next();
    expect(ack.flags & TCP_ACK).toBe(TCP_ACK);
    expect(ack.ack).toBe(c.seq);
    const hostGot = new Promise<string>((r) => sock.once('data', (d) => r(d.toString())));
    c.send(TCP_ACK | TCP_PSH, new TextEncoder().encode('HTTP/1.0 200 OK\r\n'));
    expect(await hostGot).toBe('HTTP/1.0 200 OK\r\n');
    sock.write('GET /');
    expect((await c.read(5)).toString()).toBe('GET /');
  });
});
