/**
 * Minimal Ethernet / ARP / IPv4 / ICMP / UDP / TCP encoders and decoders
 * (RFC 826, 791, 792, 768, 793) for the user-mode network and the tests.
 * Decoders take untrusted bytes and return undefined for anything malformed.
 */
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function parseIp(s: string): number | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  let v = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    v = v * 256 + Number(x);
  }
  return v >>> 0;
}

/** RFC 1071 checksum over several byte ranges, as if concatenated (each range even-length except the last). */
export function checksum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const b of parts) {
    let i = 0;
    for (; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (i < b.length) sum += b[i]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface EthFrame { dst: Uint8Array; src: Uint8Array; type: number; payload: Uint8Array }

export function parseEth(f: Uint8Array): EthFrame | undefined {
  if (f.length < 14) return undefined;
  return { dst: f.subarray(0, 6), src: f.subarray(6, 12), type: (f[12]! << 8) | f[13]!, payload: f.subarray(14) };
}

export function buildEth(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

export interface ArpPacket { op: number; sha: Uint8Array; spa: number; tha: Uint8Array; tpa: number }

export function parseArp(p: Uint8Array): ArpPacket | undefined {
  if (p.length < 28) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4
  if (dv.getUint16(0) !== 1 || dv.getUint16(2) !== ETHERTYPE_IPV4 || p[4] !== 6 || p[5] !== 4) return undefined;
  return { op: dv.getUint16(6), sha: p.slice(8, 14), spa: dv.getUint32(14), tha: p.slice(18, 24), tpa: dv.getUint32(24) };
}

export function buildArp(op: number, sha: Uint8Array, spa: number, tha: Uint8Array, tpa: number): Uint8Array {
  const p = new Uint8Array(28);
  const dv = new DataView(p.buffer);
  dv.setUint16(0, 1);
  dv.setUint16(2, ETHERTYPE_IPV4);
  p[4] = 6;
  p[5] = 4;
  dv.setUint16(6, op);
  p.set(sha, 8);
  dv.setUint32(14, spa);
  p.set(tha, 18);
  dv.setUint32(24, tpa);
  return p;
}

export interface Ipv4Packet { src: number; dst: number; proto: number; ttl: number; id: number; payload: Uint8Array; fragmented: boolean }

export function parseIpv4(p: Uint8Array): Ipv4Packet | undefined {
  if (p.length < 20 || p[0]! >> 4 !== 4) return undefined;
  const ihl = (p[0]! & 0xf) * 4;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const total = dv.getUint16(2);
  if (ihl < 20 || total < ihl || total > p.length) return undefined;
  if (checksum([p.subarray(0, ihl)]) !== 0) return undefined;
  const frag = dv.getUint16(6);
  return {
    src: dv.getUint32(12), dst: dv.getUint32(16), proto: p[9]!, ttl: p[8]!, id: dv.getUint16(4),
    payload: p.subarray(ihl, total), fragmented: (frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0,
  };
}

let ipId = 1;
export function buildIpv4(src: number, dst: number, proto: number, payload: Uint8Array, ttl = 64): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, ipId++ & 0xffff);
  dv.setUint16(6, 0x4000); // DF
  p[8] = ttl;
  p[9] = proto;
  dv.setUint32(12, src);
  dv.setUint32(16, dst);
  dv.setUint16(10, checksum([p.subarray(0, 20)]));
  p.set(payload, 20);
  return p;
}

function pseudoHeader(src: number, dst: number, proto: number, len: number): Uint8Array {
  const h = new Uint8Array(12);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, src);
  dv.setUint32(4, dst);
  h[9] = proto;
  dv.setUint16(10, len);
  return h;
}

export interface UdpDatagram { sport: number; dport: number; payload: Uint8Array }

export function parseUdp(ip: Ipv4Packet): UdpDatagram | undefined {
  const p = ip.payload;
  if (p.length < 8) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const len = dv.getUint16(4);
  if (len < 8 || len > p.length) return undefined;
  const sum = dv.getUint16(6);
  if (sum !== 0 && checksum([pseudoHeader(ip.src, ip.dst, IPPROTO_UDP, len), p.subarray(0, len)]) !== 0) return undefined;
  return { sport: dv.getUint16(0), dport: dv.getUint16(2), payload: p.subarray(8, len) };
}

export function buildUdp(src: number, dst: number, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, u.length);
  u.set(payload, 8);
  const sum = checksum([pseudoHeader(src, dst, IPPROTO_UDP, u.length), u]);
  dv.setUint16(6, sum === 0 ? 0xffff : sum);
  return buildIpv4(src, dst, IPPROTO_UDP, u);
}

export interface IcmpMessage { type: number; code: number; rest: Uint8Array }

export function parseIcmp(ip: Ipv4Packet): IcmpMessage | undefined {
  const p = ip.payload;
  if (p.length < 8 || checksum([p]) !== 0) return undefined;
  return { type: p[0]!, code: p[1]!, rest: p.subarray(4) };
}

/** ICMP message (type, code, then `rest` = identifier/sequence/data for echo). */
export function buildIcmp(src: number, dst: number, type: number, code: number, rest: Uint8Array): Uint8Array {
  const m = new Uint8Array(4 + rest.length);
  m[0] = type;
  m[1] = code;
  m.set(rest, 4);
  const sum = checksum([m]);
  m[2] = sum >> 8;
  m[3] = sum & 0xff;
  return buildIpv4(src, dst, IPPROTO_ICMP, m);
}

export interface TcpSegment {
  sport: number; dport: number; seq: number; ack: number; flags: number; window: number;
  mss: number | undefined; payload: Uint8Array;
}

export function parseTcp(ip: Ipv4Packet): TcpSegment | undefined {
  const p = ip.payload;
  if (p.length < 20) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const off = (p[12]! >> 4) * 4;
  if (off < 20 || off > p.length) return undefined;
  if (checksum([pseudoHeader(ip.src, ip.dst, IPPROTO_TCP, p.length), p]) !== 0) return undefined;
  let mss: number | undefined;
  for (let i = 20; i < off;) {
    const kind = p[i]!;
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    const len = p[i + 1] ?? 0;
    if (len < 2 || i + len > off) break;
    if (kind === 2 && len === 4) mss = dv.getUint16(i + 2);
    i += len;
  }
  return {
    sport: dv.getUint16(0), dport: dv.getUint16(2), seq: dv.getUint32(4), ack: dv.getUint32(8),
    flags: p[13]! & 0x3f, window: dv.getUint16(14), mss, payload: p.subarray(off),
  };
}

export function buildTcp(src: number, dst: number, s: Omit<TcpSegment, 'payload'> & { payload?: Uint8Array }): Uint8Array {
  const opt = s.mss !== undefined ? 4 : 0;
  const payload = s.payload ?? new Uint8Array(0);
  const t = new Uint8Array(20 + opt + payload.length);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, s.sport);
  dv.setUint16(2, s.dport);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, s.ack >>> 0);
  t[12] = ((20 + opt) / 4) << 4;
  t[13] = s.flags;
  dv.setUint16(14, s.window);
  if (s.mss !== undefined) {
    t[20] = 2;
    t[21] = 4;
    dv.setUint16(22, s.mss);
  }
  t.set(payload, 20 + opt);
  dv.setUint16(16, checksum([pseudoHeader(src, dst, IPPROTO_TCP, t.length), t]));
  return buildIpv4(src, dst, IPPROTO_TCP, t);
}
