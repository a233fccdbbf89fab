/**
 * The `user` netdev: user-mode networking in the spirit of QEMU's slirp,
 * in TypeScript, without privileges or native code.
 *
 * The guest sees a virtual network (default 10.0.2.0/24): gateway 10.0.2.2
 * (the host; 10.0.2.2 maps to the host's 127.0.0.1), DNS 10.0.2.3 (forwarded
 * to the host's first resolver), DHCP handing out 10.0.2.15. Implemented:
 * ARP; DHCP (DISCOVER/OFFER, REQUEST/ACK); ICMP echo to the gateway and DNS
 * addresses; outbound UDP and TCP through host sockets; inbound
 * `hostfwd=tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport`. TCP towards
 * the guest is a small state machine (handshake, in-order data, cumulative
 * ACKs, go-back-N retransmission, FIN/RST). Not implemented: ICMP to hosts
 * other than the gateway (Node has no ICMP sockets), IP fragments, IPv6,
 * TFTP/SMB, guestfwd.
 *
 * Why TypeScript and not libslirp: no native dependency (libslirp would
 * need the addon and a poll loop bridged to the event loop); every packet
 * stays on the event loop that already owns the device; and the parts a
 * test needs (DHCP, ARP, ping the gateway, forwarding) are small.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { NetdevBase } from './netdev.js';
import { NetdevConfigError } from './socket.js';
import {
  BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, buildArp, buildEth, buildIcmp, buildTcp, buildUdp,
  ipToString, parseArp, parseEth, parseIcmp, parseIpv4, parseIp, parseTcp, parseUdp,
  type Ipv4Packet, type TcpSegment,
} from './packet.js';

export interface HostForward {
  proto: 'tcp' | 'udp';
  hostAddr?: string;
  hostPort: number;
  guestAddr?: string;
  guestPort: number;
}

export interface UserNetdevOptions {
  /** "10.0.2.0/24" (QEMU's default). */
  net?: string;
  hostfwd?: HostForward[];
  /** Host resolver for DNS forwarding (default: first nameserver in /etc/resolv.conf). */
  dnsServer?: string;
}

const DHCP_SERVER_PORT = 67;
const DHCP_CLIENT_PORT = 68;
const DHCP_MAGIC = 0x63825363;
const DHCP_LEASE_SECONDS = 86400;
const TCP_MSS = 1460;
const TCP_WINDOW = 65535;
const TCP_RTO_MS = 250;
const TCP_MAX_RETRIES = 12;
/** Host-side bytes buffered for the guest before the host socket is paused. */
const TCP_HOST_BUFFER = 256 * 1024;
const UDP_IDLE_MS = 240_000;

const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;

/** libslirp's special_ethaddr: 52:55 then the IPv4 address of the virtual host. */
function specialMac(ip: number): Uint8Array {
  return new Uint8Array([0x52, 0x55, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255]);
}

function firstResolver(): string {
  try {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'));
    if (m) return m[1]!;
  } catch { /* no resolv.conf */ }
  return '127.0.0.1';
}

interface TcpConn {
  key: string;
  guestIp: number;
  guestPort: number;
  /** The peer as the guest sees it. */
  remoteIp: number;
  remotePort: number;
  sock: Socket | undefined;
  state: 'connecting' | 'syn-sent' | 'syn-rcvd' | 'established' | 'closed';
  iss: number;
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;
  guestWnd: number;
  mss: number;
  /** Host bytes from sndUna on (in flight, then unsent). */
  out: Buffer;
  hostEnded: boolean;
  finSent: boolean;
  guestFin: boolean;
  retries: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  paused: boolean;
}

interface UdpSession {
  sock: UdpSocket;
  guestIp: number;
  guestPort: number;
  /** host "addr:port" -> what the guest sees as the source */
  virt: Map<string, { ip: number; port: number }>;
  idle: ReturnType<typeof setTimeout> | undefined;
}

export class UserNetdev extends NetdevBase {
  readonly netAddr: number;
  readonly prefix: number;
  readonly gatewayIp: number;
  readonly dnsIp: number;
  readonly dhcpStart: number;
  private readonly gatewayMac: Uint8Array;
  private guestMac: Uint8Array | undefined;
  private guestIp: number;
  private readonly dnsServer: string;
  private readonly tcp = new Map<string, TcpConn>();
  private readonly udp = new Map<string, UdpSession>();
  private readonly udpFwdByVport = new Map<number, { sock: UdpSocket; addr: string; port: number; guestPort: number; guestIp: number }>();
  private readonly servers: Array<Server | UdpSocket> = [];
  private readonly pendingArp: Uint8Array[] = [];
  private nextPort = 49152;
  /** Resolves once every hostfwd listener is bound. */
  readonly ready: Promise<void>;
  /** Host ports actually bound, in hostfwd order (hostPort 0 picks one). */
  readonly boundPorts: number[] = [];
  readonly counters = { arpReplies: 0, dhcpAcks: 0, icmpEchoReplies: 0, unsupported: 0, badPackets: 0 };

  constructor(id: string, opts: UserNetdevOptions = {}) {
    super(id);
    const [addrS, prefixS] = (opts.net ?? '10.0.2.0/24').split('/');
    const addr = parseIp(addrS ?? '');
    const prefix = prefixS === undefined ? 24 : Number(prefixS);
    if (addr === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
      throw new NetdevConfigError('BAD_OPTIONS', `netdev ${id}: bad net=${opts.net}`);
    }
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.netAddr = (addr & mask) >>> 0;
    this.prefix = prefix;
    this.gatewayIp = this.netAddr + 2;
    this.dnsIp = this.netAddr + 3;
    this.dhcpStart = this.netAddr + 15;
    this.guestIp = this.dhcpStart;
    this.gatewayMac = specialMac(this.gatewayIp);
    this.dnsServer = opts.dnsServer ?? firstResolver();
    this.ready = Promise.all((opts.hostfwd ?? []).map((f, i) => this.startForward(f, i))).then(() => {});
    this.ready.catch(() => {});
  }

  get mask(): number { return (0xffffffff << (32 - this.prefix)) >>> 0; }

  // --- guest -> host ---

  protected transmit(frame: Uint8Array): void {
    const eth = parseEth(frame);
    if (!eth) return void this.counters.badPackets++;
    if (eth.type === ETHERTYPE_ARP) return this.onArp(eth.src, eth.payload);
    if (eth.type !== ETHERTYPE_IPV4) return void this.counters.unsupported++;
    const ip = parseIpv4(eth.payload);
    if (!ip) return void this.counters.badPackets++;
    if (ip.fragmented) return void this.counters.unsupported++;
    this.guestMac = eth.src.slice();
    switch (ip.proto) {
      case IPPROTO_ICMP: return this.onIcmp(ip);
      case IPPROTO_UDP: return this.onUdp(ip);
      case IPPROTO_TCP: return this.onTcp(ip);
      default: this.counters.unsupported++;
    }
  }

  private inNet(ip: number): boolean { return ((ip & this.mask) >>> 0) === this.netAddr; }

  private onArp(srcMac: Uint8Array, payload: Uint8Array): void {
    const arp = parseArp(payload);
    if (!arp) return void this.counters.badPackets++;
    if (arp.spa !== 0 && this.inNet(arp.spa)) {
      this.guestMac = arp.sha;
      if (arp.spa !== this.gatewayIp && arp.spa !== this.dnsIp) this.guestIp = arp.spa;
      this.flushArpQueue();
    }
    // Answer for every virtual host of the network except the guest itself (as slirp does).
    if (arp.op === 1 && this.inNet(arp.tpa) && arp.tpa !== arp.spa && arp.tpa !== this.guestIp) {
      this.counters.arpReplies++;
      const mac = specialMac(arp.tpa);
      this.deliver(buildEth(srcMac, mac, ETHERTYPE_ARP, buildArp(2, mac, arp.tpa, arp.sha, arp.spa)));
    }
  }

  private onIcmp(ip: Ipv4Packet): void {
    const m = parseIcmp(ip);
    if (!m) return void this.counters.badPackets++;
    if (m.type === 8 && (ip.dst === this.gatewayIp || ip.dst === this.dnsIp)) {
      this.counters.icmpEchoReplies++;
      this.toGuest(buildIcmp(ip.dst, ip.src, 0, 0, m.rest));
      return;
    }
    this.counters.unsupported++;
  }

  /** Send an IPv4 packet to the guest (ARP first if its MAC is not known yet). */
  private toGuest(ipPacket: Uint8Array): void {
    if (!this.guestMac) {
      this.pendingArp.push(ipPacket);
      if (this.pendingArp.length > 64) this.pendingArp.shift();
      this.deliver(buildEth(BROADCAST_MAC, this.gatewayMac, ETHERTYPE_ARP,
        buildArp(1, this.gatewayMac, this.gatewayIp, new Uint8Array(6), this.guestIp)));
      return;
    }
    this.deliver(buildEth(this.guestMac, this.gatewayMac, ETHERTYPE_IPV4, ipPacket));
  }

  private flushArpQueue(): void {
    for (const p of this.pendingArp.splice(0)) this.toGuest(p);
  }

  // --- UDP ---

  private onUdp(ip: Ipv4Packet): void {
    const u = parseUdp(ip);
    if (!u) return void this.counters.badPackets++;
    if (u.dport === DHCP_SERVER_PORT) return this.onDhcp(u.payload);
    // A reply to an inbound forward?
    const fwd = ip.dst === this.gatewayIp ? this.udpFwdByVport.get(u.dport) : undefined;
    if (fwd && fwd.guestPort === u.sport) {
      fwd.sock.send(u.payload, fwd.port, fwd.addr);
      return;
    }
    let host: string;
    if (ip.dst === this.dnsIp && u.dport === 53) host = this.dnsServer;
    else if (ip.dst === this.gatewayIp) host = '127.0.0.1';
    else if (this.inNet(ip.dst) || ip.dst === 0xffffffff) return void this.counters.unsupported++;
    else host = ipToString(ip.dst);
    const s = this.udpSession(ip.src, u.sport);
    s.virt.set(`${host}:${u.dport}`, { ip: ip.dst, port: u.dport });
    s.sock.send(u.payload, u.dport, host);
    this.touchUdp(s, `${ip.src}:${u.sport}`);
  }

  private udpSession(guestIp: number, guestPort: number): UdpSession {
    const key = `${guestIp}:${guestPort}`;
    let s = this.udp.get(key);
    if (s) return s;
    const sock = createSocket('udp4');
    const session: UdpSession = { sock, guestIp, guestPort, virt: new Map(), idle: undefined };
    sock.on('message', (msg, rinfo) => {
      const v = session.virt.get(`${rinfo.address}:${rinfo.port}`)
        ?? { ip: rinfo.address === '127.0.0.1' ? this.gatewayIp : parseIp(rinfo.address) ?? this.gatewayIp, port: rinfo.port };
      this.toGuest(buildUdp(v.ip, guestIp, v.port, guestPort, new Uint8Array(msg)));
      this.touchUdp(session, key);
    });
    sock.on('error', () => { this.stats.txDropped++; });
    sock.bind(0);
    sock.unref();
    s = session;
    this.udp.set(key, s);
    return s;
  }

  private touchUdp(s: UdpSession, key: string): void {
    if (s.idle) clearTimeout(s.idle);
    s.idle = setTimeout(() => {
      s.sock.close();
      this.udp.delete(key);
    }, UDP_IDLE_MS);
    s.idle.unref();
  }

  // --- DHCP (RFC 2131 / RFC 2132) ---

  private onDhcp(p: Uint8Array): void {
    if (p.length < 240 || p[0] !== 1) return void this.counters.badPackets++;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (dv.getUint32(236) !== DHCP_MAGIC) return void this.counters.badPackets++;
    let type = 0;
    for (let i = 240; i < p.length;) {
      const code = p[i]!;
      if (code === 255) break;
      if (code === 0) { i++; continue; }
      const len = p[i + 1] ?? 0;
      if (code === 53 && len >= 1) type = p[i + 2] ?? 0;
      i += 2 + len;
    }
    // DISCOVER -> OFFER, REQUEST -> ACK (one guest, one address: .15).
    const reply = type === 1 ? 2 : type === 3 ? 5 : 0;
    if (!reply) return;
    const chaddr = p.slice(28, 34);
    const out = new Uint8Array(300);
    const o = new DataView(out.buffer);
    out[0] = 2; // BOOTREPLY
    out[1] = 1;
    out[2] = 6;
    out.set(p.subarray(4, 8), 4); // xid
    out.set(p.subarray(10, 12), 10); // flags
    o.setUint32(16, this.dhcpStart); // yiaddr
    o.setUint32(20, this.gatewayIp); // siaddr
    out.set(p.subarray(28, 44), 28); // chaddr
    o.setUint32(236, DHCP_MAGIC);
    let i = 240;
    const opt = (code: number, bytes: number[]): void => {
      out[i++] = code;
      out[i++] = bytes.length;
      for (const b of bytes) out[i++] = b;
    };
    const be = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    opt(53, [reply]);
    opt(54, be(this.gatewayIp));
    opt(51, be(DHCP_LEASE_SECONDS));
    opt(1, be(this.mask));
    opt(3, be(this.gatewayIp));
    opt(6, be(this.dnsIp));
    out[i++] = 255;
    if (reply === 5) {
      this.counters.dhcpAcks++;
      this.guestIp = this.dhcpStart;
    }
    this.guestMac = chaddr;
    const udp = buildUdp(this.gatewayIp, 0xffffffff, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, out.subarray(0, Math.max(i, 300)));
    this.deliver(buildEth(chaddr, this.gatewayMac, ETHERTYPE_IPV4, udp));
  }

  // --- inbound forwarding ---

  private startForward(f: HostForward, index: number): Promise<void> {
    const guestIp = f.guestAddr ? parseIp(f.guestAddr) : undefined;
    if (f.guestAddr && guestIp === undefined) throw new NetdevConfigError('BAD_OPTIONS', `netdev ${this.id}: bad guest address ${f.guestAddr}`);
    const target = (): number => guestIp ?? this.guestIp;
    const hostAddr = f.hostAddr && f.hostAddr !== '' ? f.hostAddr : '127.0.0.1';
    return new Promise((resolve, reject) => {
      if (f.proto === 'udp') {
        const sock = createSocket('udp4');
        this.servers.push(sock);
        sock.once('error', reject);
        sock.on('message', (msg, rinfo) => {
          let vport: number | undefined;
          for (const [vp, m] of this.udpFwdByVport) if (m.sock === sock && m.addr === rinfo.address && m.port === rinfo.port) vport = vp;
          if (vport === undefined) {
            vport = this.allocPort();
            this.udpFwdByVport.set(vport, { sock, addr: rinfo.address, port: rinfo.port, guestPort: f.guestPort, guestIp: target() });
          }
          this.toGuest(buildUdp(this.gatewayIp, target(), vport, f.guestPort, new Uint8Array(msg)));
        });
        sock.bind(f.hostPort, hostAddr, () => {
          this.boundPorts[index] = sock.address().port;
          sock.unref();
          resolve();
        });
      } else {
        const server = createServer({ pauseOnConnect: true }, (s) => this.inboundTcp(s, target(), f.guestPort));
        this.servers.push(server);
        server.once('error', reject);
        server.listen(f.hostPort, hostAddr, () => {
          const a = server.address();
          this.boundPorts[index] = typeof a === 'object' && a ? a.port : f.hostPort;
          server.unref();
          resolve();
        });
      }
    });
  }

  private allocPort(): number {
    const p = this.nextPort;
    this.nextPort = this.nextPort >= 65535 ? 49152 : this.nextPort + 1;
    return p;
  }

  // --- TCP ---

  private tcpKey(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): string {
    return `${guestIp}:${guestPort}-${remoteIp}:${remotePort}`;
  }

  private newConn(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): TcpConn {
    const iss = (Math.random() * 0x1_0000_0000) >>> 0;
    const c: TcpConn = {
      key: this.tcpKey(guestIp, guestPort, remoteIp, remotePort), guestIp, guestPort, remoteIp, remotePort,
      sock: undefined, state: 'connecting', iss, sndUna: iss, sndNxt: iss, rcvNxt: 0, guestWnd: TCP_WINDOW, mss: 536,
      out: Buffer.alloc(0), hostEnded: false, finSent: false, guestFin: false, retries: 0, timer: undefined, paused: false,
    };
    this.tcp.set(c.key, c);
    return c;
  }

  private sendSeg(c: TcpConn, flags: number, seq: number, payload?: Uint8Array, mss?: number): void {
    this.toGuest(buildTcp(c.remoteIp, c.guestIp, {
      sport: c.remotePort, dport: c.guestPort, seq, ack: flags & TCP_ACK ? c.rcvNxt : 0, flags,
      window: TCP_WINDOW, mss, ...(payload ? { payload } : {}),
    }));
  }

  private rst(ip: Ipv4Packet, t: TcpSegment): void {
    if (t.flags & TCP_RST) return;
    const seq = t.flags & TCP_ACK ? t.ack : 0;
    const ack = (t.seq + t.payload.length + (t.flags & TCP_SYN ? 1 : 0) + (t.flags & TCP_FIN ? 1 : 0)) >>> 0;
    this.toGuest(buildTcp(ip.dst, ip.src, { sport: t.dport, dport: t.sport, seq, ack, flags: TCP_RST | TCP_ACK, window: 0, mss: undefined }));
  }

  private inboundTcp(sock: Socket, guestIp: number, guestPort: number): void {
    const c = this.newConn(guestIp, guestPort, this.gatewayIp, this.allocPort());
    c.sock = sock;
    c.state = 'syn-sent';
    this.hookSocket(c);
    c.sndNxt = (c.iss + 1) >>> 0;
    this.sendSeg(c, TCP_SYN, c.iss, undefined, TCP_MSS);
    this.armTimer(c);
  }

  private onTcp(ip: Ipv4Packet): void {
    const t = parseTcp(ip);
    if (!t) return void this.counters.badPackets++;
    const key = this.tcpKey(ip.src, t.sport, ip.dst, t.dport);
    const c = this.tcp.get(key);
    if (!c) {
      if ((t.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return this.rst(ip, t);
      return this.outboundTcp(ip, t);
    }
    if (t.flags & TCP_RST) return this.dropConn(c, false);
    if (t.mss !== undefined) c.mss = Math.min(t.mss, TCP_MSS);
    if (c.state === 'connecting') return; // still waiting for the host connect; the guest will retransmit its SYN
    if (t.flags & TCP_SYN) {
      if (c.state === 'syn-sent' && (t.flags & TCP_ACK) && t.ack === ((c.iss + 1) >>> 0)) {
        c.rcvNxt = (t.seq + 1) >>> 0;
        c.sndUna = t.ack;
        c.guestWnd = t.window;
        c.state = 'established';
        c.retries = 0;
        this.sendSeg(c, TCP_ACK, c.sndNxt);
        c.sock?.resume();
        this.trySend(c);
        return;
      }
      if (c.state === 'syn-rcvd') {
        // A retransmitted SYN: our SYN-ACK was lost.
        this.sendSeg(c, TCP_SYN | TCP_ACK, c.iss, undefined, TCP_MSS);
        return;
      }
      return this.sendSeg(c, TCP_ACK, c.sndNxt);
    }
    if (!(t.flags & TCP_ACK)) return;
    // ACK processing (RFC 793 §3.9, SEGMENT ARRIVES, fifth check).
    if (seqLt(c.sndUna, t.ack) && seqLe(t.ack, c.sndNxt)) {
      let acked = (t.ack - c.sndUna) >>> 0;
      if (c.state === 'syn-rcvd') {
        c.state = 'established';
        acked -= 1; // our SYN
      }
      const finAcked = c.finSent && t.ack === c.sndNxt;
      const dataAcked = Math.min(acked - (finAcked ? 1 : 0), c.out.length);
      c.out = c.out.subarray(Math.max(0, dataAcked));
      c.sndUna = t.ack;
      c.retries = 0;
      if (c.paused && c.out.length < TCP_HOST_BUFFER / 2) {
        c.paused = false;
        c.sock?.resume();
      }
      if (finAcked && c.guestFin) return this.dropConn(c, true);
    } else if (c.state === 'syn-rcvd') {
      return;
    }
    c.guestWnd = t.window;
    let ackNeeded = false;
    if (t.payload.length > 0) {
      if (t.seq === c.rcvNxt && !c.guestFin) {
        c.sock?.write(t.payload);
        c.rcvNxt = (c.rcvNxt + t.payload.length) >>> 0;
      }
      ackNeeded = true; // in order: ACK it; out of order: duplicate ACK
    }
    if ((t.flags & TCP_FIN) && ((t.seq + t.payload.length) >>> 0) === c.rcvNxt && !c.guestFin) {
      c.guestFin = true;
      c.rcvNxt = (c.rcvNxt + 1) >>> 0;
      c.sock?.end();
      ackNeeded = true;
    }
    if (ackNeeded) this.sendSeg(c, TCP_ACK, c.sndNxt);
    this.trySend(c);
    if (c.guestFin && c.finSent && c.sndUna === c.sndNxt) this.dropConn(c, true);
  }

  private outboundTcp(ip: Ipv4Packet, t: TcpSegment): void {
    let host: string;
    if (ip.dst === this.gatewayIp) host = '127.0.0.1';
    else if (this.inNet(ip.dst)) return this.rst(ip, t);
    else host = ipToString(ip.dst);
    const c = this.newConn(ip.src, t.sport, ip.dst, t.dport);
    c.rcvNxt = (t.seq + 1) >>> 0;
    c.guestWnd = t.window;
    c.mss = Math.min(t.mss ?? 536, TCP_MSS);
    const sock = tcpConnect(t.dport, host);
    c.sock = sock;
    sock.once('connect', () => {
      if (c.state !== 'connecting') return;
      c.state = 'syn-rcvd';
      c.sndNxt = (c.iss + 1) >>> 0;
      this.sendSeg(c, TCP_SYN | TCP_ACK, c.iss, undefined, TCP_MSS);
      this.armTimer(c);
    });
    this.hookSocket(c);
  }

  private hookSocket(c: TcpConn): void {
    const sock = c.sock!;
    sock.unref();
    sock.on('data', (d: Buffer) => {
      c.out = c.out.length === 0 ? d : Buffer.concat([c.out, d]);
      if (c.out.length > TCP_HOST_BUFFER && !c.paused) {
        c.paused = true;
        sock.pause();
      }
      this.trySend(c);
    });
    sock.on('end', () => {
      c.hostEnded = true;
      this.trySend(c);
    });
    sock.on('error', () => {
      if (c.state === 'connecting' || c.state === 'syn-sent') {
        // Refused: RST|ACK to the guest's SYN.
        if (c.state === 'connecting') this.sendSeg(c, TCP_RST | TCP_ACK, 0);
        this.dropConn(c, false);
        return;
      }
      this.sendSeg(c, TCP_RST | TCP_ACK, c.sndNxt);
      this.dropConn(c, false);
    });
  }

  /** Send what the guest's window allows; FIN once the host side ended and everything went out. */
  private trySend(c: TcpConn): void {
    if (c.state !== 'established') return;
    const inFlight = (c.sndNxt - c.sndUna) >>> 0;
    let offset = c.finSent ? c.out.length : inFlight;
    let seq = c.sndNxt;
    const wnd = Math.max(c.guestWnd, 0);
    while (offset < c.out.length && offset < wnd) {
      const n = Math.min(c.mss, c.out.length - offset, wnd - offset);
      if (n <= 0) break;
      this.sendSeg(c, TCP_ACK | TCP_PSH, seq, c.out.subarray(offset, offset + n));
      seq = (seq + n) >>> 0;
      offset += n;
    }
    c.sndNxt = seq;
    if (c.hostEnded && !c.finSent && offset >= c.out.length) {
      this.sendSeg(c, TCP_FIN | TCP_ACK, c.sndNxt);
      c.finSent = true;
      c.sndNxt = (c.sndNxt + 1) >>> 0;
    }
    if (c.sndNxt !== c.sndUna || (c.out.length > 0 && wnd === 0)) this.armTimer(c);
  }

  private armTimer(c: TcpConn): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = setTimeout(() => this.onRto(c), TCP_RTO_MS * Math.min(2 ** c.retries, 16));
    c.timer.unref();
  }

  /** Retransmission timeout: go back to the first unacknowledged byte (RFC 6298, simplified). */
  private onRto(c: TcpConn): void {
    c.timer = undefined;
    if (c.state === 'closed') return;
    if (++c.retries > TCP_MAX_RETRIES) {
      this.sendSeg(c, TCP_RST | TCP_ACK, c.sndNxt);
      return this.dropConn(c, false);
    }
    if (c.state === 'syn-sent') {
      this.sendSeg(c, TCP_SYN, c.iss, undefined, TCP_MSS);
      return this.armTimer(c);
    }
    if (c.state === 'syn-rcvd') {
      this.sendSeg(c, TCP_SYN | TCP_ACK, c.iss, undefined, TCP_MSS);
      return this.armTimer(c);
    }
    if (c.sndNxt === c.sndUna && c.out.length === 0) return;
    c.sndNxt = c.sndUna;
    if (c.finSent) c.finSent = false;
    if (c.guestWnd === 0) c.guestWnd = 1; // window probe
    this.trySend(c);
    this.armTimer(c);
  }

  private dropConn(c: TcpConn, graceful: boolean): void {
    c.state = 'closed';
    if (c.timer) clearTimeout(c.timer);
    if (graceful) c.sock?.end();
    else c.sock?.destroy();
    this.tcp.delete(c.key);
  }

  /** Open TCP connections (tests). */
  get tcpConnections(): number { return this.tcp.size; }

  override async close(): Promise<void> {
    await super.close();
    for (const c of this.tcp.values()) this.dropConn(c, false);
    for (const s of this.udp.values()) {
      if (s.idle) clearTimeout(s.idle);
      s.sock.close();
    }
    this.udp.clear();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => {
      if ('listen' in s) s.close(() => r());
      else s.close(() => r());
    })));
  }
}
