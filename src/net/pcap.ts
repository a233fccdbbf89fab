/**
 * pcap capture of a netdev, as QEMU's `-object filter-dump,id=,netdev=,file=[,maxlen=]`:
 * the classic libpcap format (magic 0xa1b2c3d4, version 2.4, LINKTYPE_ETHERNET),
 * one record per frame in either direction.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { FrameObserver } from './netdev.js';

const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
/** QEMU's filter-dump default maxlen. */
export const PCAP_DEFAULT_SNAPLEN = 65536;

export class PcapWriter {
  private fd: number | undefined;

  constructor(readonly file: string, private readonly snaplen = PCAP_DEFAULT_SNAPLEN, private readonly now: () => number = Date.now) {
    this.fd = openSync(file, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(PCAP_MAGIC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8); // thiszone
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    writeSync(this.fd, h);
  }

  /** An observer to add to a netdev. */
  observer(): FrameObserver {
    return (_dir, frame) => this.write(frame);
  }

  write(frame: Uint8Array): void {
    if (this.fd === undefined) return;
    const ms = this.now();
    const incl = Math.min(frame.length, this.snaplen);
    const rec = Buffer.alloc(16 + incl);
    rec.writeUInt32LE(Math.floor(ms / 1000) >>> 0, 0);
    rec.writeUInt32LE(Math.floor((ms % 1000) * 1000), 4);
    rec.writeUInt32LE(incl, 8);
    rec.writeUInt32LE(frame.length, 12);
    rec.set(frame.subarray(0, incl), 16);
    writeSync(this.fd, rec);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Parse a pcap file written by PcapWriter (tests and tools). */
export function readPcap(buf: Uint8Array): Uint8Array[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 24 || dv.getUint32(0, true) !== PCAP_MAGIC) throw new Error('not a little-endian pcap file');
  const out: Uint8Array[] = [];
  let at = 24;
  while (at + 16 <= buf.length) {
    const incl = dv.getUint32(at + 8, true);
    if (at + 16 + incl > buf.length) break;
    out.push(buf.slice(at + 16, at + 16 + incl));
    at += 16 + incl;
  }
  return out;
}
