/**
 * virtio-net (virtio 1.2 §5.1): queue 0 receiveq, queue 1 transmitq.
 *
 * Features offered: MAC, STATUS, MTU, CSUM, GUEST_CSUM, MRG_RXBUF, plus the
 * transport's INDIRECT_DESC, EVENT_IDX (and VERSION_1, RING_RESET on a
 * modern transport; ANY_LAYOUT on legacy). No control queue, no offloads
 * beyond checksums (no TSO/UFO): every frame is at most MTU + 14 bytes.
 * - CSUM: the guest may send frames with VIRTIO_NET_HDR_F_NEEDS_CSUM; the
 *   device completes the checksum before the frame leaves (§5.1.6.2.1).
 * - GUEST_CSUM: accepted but unused: received frames always carry full
 *   checksums and header flags 0, which is what a device without it sends.
 *
 * Header (§5.1.6): 12 bytes with VERSION_1 or MRG_RXBUF, else 10 (legacy).
 * Receive: a frame goes to the guest only when it has buffers; otherwise
 * `receive` returns false and the backend keeps it (backpressure) until the
 * guest adds buffers (notify on queue 0). With MRG_RXBUF a frame may span
 * several chains (num_buffers); without it, a chain too small for the frame
 * drops the frame (counted as rxTooSmall), as QEMU does.
 */
import {
  VIRTIO_F_ANY_LAYOUT, VIRTIO_F_VERSION_1, bit, hasFeature,
  type VirtioDevice, type VirtioTransportContext,
} from './device.js';
import { transportFeatures } from './mmio.js';
import { isQueueError, type DescriptorChain, type Virtqueue } from './virtqueue.js';
import type { NetClient, Netdev } from '../net/netdev.js';

// virtio 1.2 §5.1.3: feature bits.
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MTU = 3;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
// §5.1.4: config.status
export const VIRTIO_NET_S_LINK_UP = 1;
// §5.1.6: header flags
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_GSO_NONE = 0;

export const VIRTIO_ID_NET = 1;
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
/** QEMU's default rx_queue_size / tx_queue_size. */
export const NET_QUEUE_SIZE = 256;
export const DEFAULT_MTU = 1500;
const ETH_HLEN = 14;
/** Chains processed per transmit kick before re-checking notifications. */
const TX_BURST = 256;

export interface VirtioNetOptions {
  mac: Uint8Array;
  mtu?: number;
}

export interface VirtioNetCounters {
  txFrames: number;
  rxFrames: number;
  /** Frames the backend offered while the guest had no buffers (they waited in the backend). */
  rxNoBuffers: number;
  /** Frames dropped because a (non-mergeable) receive chain was too small. */
  rxTooSmall: number;
  /** Transmit chains with a bad header or length (dropped, returned to the guest). */
  txErrors: number;
}

/** Parse "52:54:00:12:34:56"; undefined if malformed. */
export function parseMac(s: string): Uint8Array | undefined {
  const parts = s.split(':');
  if (parts.length !== 6) return undefined;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{2}$/.test(p)) return undefined;
    out[i] = parseInt(p, 16);
  }
  return out;
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export class VirtioNet implements VirtioDevice, NetClient {
  readonly deviceId = VIRTIO_ID_NET;
  readonly queueMaxSizes = [NET_QUEUE_SIZE, NET_QUEUE_SIZE];
  readonly configSize = 12;
  readonly counters: VirtioNetCounters = { txFrames: 0, rxFrames: 0, rxNoBuffers: 0, rxTooSmall: 0, txErrors: 0 };
  private ctx!: VirtioTransportContext;
  private readonly config = new Uint8Array(12);
  private readonly mtu: number;
  private linkUp = true;

  constructor(private readonly netdev: Netdev, opts: VirtioNetOptions) {
    this.mtu = opts.mtu ?? DEFAULT_MTU;
    // §5.1.4: struct virtio_net_config { u8 mac[6]; le16 status; le16 max_virtqueue_pairs; le16 mtu; }
    this.config.set(opts.mac.subarray(0, 6), 0);
    this.writeStatusField();
    new DataView(this.config.buffer).setUint16(8, 1, true);
    new DataView(this.config.buffer).setUint16(10, this.mtu, true);
  }

  bind(ctx: VirtioTransportContext): void {
    this.ctx = ctx;
    this.netdev.attach(this);
  }

  deviceFeatures(modern: boolean): bigint {
    let f = transportFeatures(modern)
      | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_MTU)
      | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_MRG_RXBUF) | bit(VIRTIO_NET_F_STATUS);
    if (!modern) f |= bit(VIRTIO_F_ANY_LAYOUT);
    return f;
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.config[offset + i] ?? 0xff);
    return v >>> 0;
  }

  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    // §5.1.4: the mac is writable by a legacy driver (no VIRTIO_NET_F_CTRL_MAC_ADDR here); the rest is read-only.
    if (this.ctx.modern) return;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      if (at < 6) this.config[at] = (value >>> (8 * i)) & 0xff;
    }
  }

  /** Link status (§5.1.4 VIRTIO_NET_S_LINK_UP); a change raises a config interrupt. */
  setLinkUp(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.writeStatusField();
    this.ctx.configChanged();
  }

  private writeStatusField(): void {
    new DataView(this.config.buffer).setUint16(6, this.linkUp ? VIRTIO_NET_S_LINK_UP : 0, true);
  }

  saveState(): { version: 1; config: number[]; linkUp: boolean } {
    return { version: 1, config: [...this.config], linkUp: this.linkUp };
  }

  /** Restore from untrusted JSON; false (state unchanged) if malformed. */
  restoreState(x: unknown): boolean {
    if (typeof x !== 'object' || x === null) return false;
    const o = x as Record<string, unknown>;
    if (o.version !== 1 || typeof o.linkUp !== 'boolean' || !Array.isArray(o.config) || o.config.length !== this.config.length) return false;
    if (!o.config.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)) return false;
    this.config.set(o.config as number[]);
    this.linkUp = o.linkUp;
    this.writeStatusField();
    return true;
  }

  get mac(): Uint8Array { return this.config.slice(0, 6); }

  /** 12 with VERSION_1 or MRG_RXBUF, else 10 (§5.1.6, "Legacy Interface: Device Operation"). */
  private headerLen(): number {
    const f = this.ctx.driverFeatures;
    return hasFeature(f, VIRTIO_F_VERSION_1) || hasFeature(f, VIRTIO_NET_F_MRG_RXBUF) ? 12 : 10;
  }

  activate(): void {
    this.processTx();
    this.netdev.rxReady();
  }

  reset(): void {}

  queueNotify(queue: number): void {
    if (queue === TX_QUEUE) this.processTx();
    else if (queue === RX_QUEUE) this.netdev.rxReady();
  }

  // --- transmit ---

  private processTx(): void {
    const q = this.ctx.queue(TX_QUEUE);
    if (!q || !this.ctx.live || !q.ready) return;
    const hlen = this.headerLen();
    // §2.7.10: suppress notifications while we drain, then re-check for a race.
    for (let rounds = 0; rounds < 64; rounds++) {
      q.setNotification(false);
      let sent = 0;
      for (; sent < TX_BURST; sent++) {
        const chain = q.pop();
        if (chain === undefined) break;
        if (isQueueError(chain)) {
          this.ctx.needsReset(`transmitq: ${chain.message}`);
          return;
        }
        this.transmitChain(q, chain, hlen);
        if (!this.ctx.live) return;
      }
      if (sent > 0) this.ctx.usedBuffers(TX_QUEUE);
      q.setNotification(true);
      const more = q.pending();
      if (typeof more !== 'number') {
        this.ctx.needsReset(`transmitq: ${more.message}`);
        return;
      }
      if (more === 0) return;
    }
  }

  private transmitChain(q: Virtqueue, chain: DescriptorChain, hlen: number): void {
    const max = hlen + this.mtu + ETH_HLEN + 4; // + a VLAN tag
    if (chain.readableBytes < hlen + ETH_HLEN || chain.readableBytes > max) {
      this.counters.txErrors++;
      q.push(chain.head, 0);
      return;
    }
    const bytes = q.readChain(chain);
    const flags = bytes[0]!;
    const frame = bytes.slice(hlen);
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      const start = dv.getUint16(6, true);
      const off = dv.getUint16(8, true);
      // §5.1.6.2.1: checksum from csum_start to the end, stored at csum_start + csum_offset.
      if (start + off + 2 > frame.length) {
        this.counters.txErrors++;
        q.push(chain.head, 0);
        return;
      }
      const sum = internetChecksum(frame, start, frame.length - start);
      frame[start + off] = sum >> 8;
      frame[start + off + 1] = sum & 0xff;
    }
    q.push(chain.head, 0);
    this.counters.txFrames++;
    this.netdev.send(frame);
  }

  // --- receive (NetClient) ---

  receive(frame: Uint8Array): boolean {
    const q = this.ctx?.queue(RX_QUEUE);
    if (!q || !this.ctx.live || !q.ready) return false;
    try {
      return this.receiveInto(q, frame);
    } catch (e) {
      this.ctx.needsReset(`receiveq: internal error ${(e as Error).message}`);
      return false;
    }
  }

  private receiveInto(q: Virtqueue, frame: Uint8Array): boolean {
    const hlen = this.headerLen();
    const mergeable = hasFeature(this.ctx.driverFeatures, VIRTIO_NET_F_MRG_RXBUF);
    const total = hlen + frame.length;
    const hdr = new Uint8Array(hlen); // flags 0, gso_type NONE, num_buffers patched below
    const chains: DescriptorChain[] = [];
    const used: Array<{ head: number; len: number }> = [];
    let placed = 0;
    while (placed < total) {
      const chain = q.pop();
      if (isQueueError(chain)) {
        this.ctx.needsReset(`receiveq: ${chain.message}`);
        return false;
      }
      if (chain === undefined) {
        // Not enough buffers for the whole frame: give back what we took and wait.
        q.unpop(chains.length);
        this.counters.rxNoBuffers++;
        // Ask the driver to tell us when it adds buffers.
        q.setNotification(true);
        return false;
      }
      chains.push(chain);
      if (chain.writableBytes === 0) {
        // A chain with no writable part is useless for receiving (but legal): return it empty.
        used.push({ head: chain.head, len: 0 });
        continue;
      }
      if (!mergeable && chain.writableBytes < total) {
        this.counters.rxTooSmall++;
        used.push({ head: chain.head, len: 0 });
        q.pushMany(used);
        this.ctx.usedBuffers(RX_QUEUE);
        return true; // consumed (dropped), as QEMU drops a truncated non-mergeable packet
      }
      const n = Math.min(chain.writableBytes, total - placed);
      used.push({ head: chain.head, len: n });
      placed += n;
      if (!mergeable) break;
    }
    // Write the payload now that we know it fits.
    let pos = 0;
    // §5.1.6.4: num_buffers (12-byte header) is the number of chains used, so 1 without MRG_RXBUF.
    if (hlen === 12) new DataView(hdr.buffer).setUint16(10, used.filter((u) => u.len > 0).length, true);
    const whole = new Uint8Array(total);
    whole.set(hdr, 0);
    whole.set(frame, hlen);
    for (const c of chains) {
      if (c.writableBytes === 0) continue;
      const n = Math.min(c.writableBytes, total - pos);
      q.writeChain(c, whole.subarray(pos, pos + n));
      pos += n;
    }
    q.pushMany(used);
    this.counters.rxFrames++;
    this.ctx.usedBuffers(RX_QUEUE);
    return true;
  }
}

/** RFC 1071 ones'-complement checksum of bytes[start, start+len). */
export function internetChecksum(bytes: Uint8Array, start: number, len: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const end = start + len;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
