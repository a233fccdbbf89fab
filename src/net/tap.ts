/**
 * The `tap` netdev: `-netdev tap,id=ID,ifname=NAME,script=no,downscript=no`.
 * Opens /dev/net/tun with TUNSETIFF (IFF_TAP | IFF_NO_PI) through the
 * native addon (packages/kvm-bindings-napi/src/tap.cc; Node has no ioctl),
 * which also runs a reader thread so the event loop never blocks. One
 * read() is one frame; frames to the host are written with one write()
 * each (a tap fd takes one frame per write; never writev several).
 * Needs CAP_NET_ADMIN (or a persistent tap owned by the user).
 */
import { closeSync, writeSync } from 'node:fs';
import { loadKvmBindings } from '../kvm/bindings.js';
import { NetdevBase } from './netdev.js';
import { NetdevConfigError } from './socket.js';

interface TapBindings {
  open(ifname: string): { fd: number; ifname: string };
  TapReader: new (fd: number, onFrame: (b: Buffer) => void) => { stop(): void };
}

function tapBindings(): TapBindings | string {
  const r = loadKvmBindings();
  if (!r.ok) return r.reason;
  const tap = (r.bindings as unknown as { tap?: TapBindings }).tap;
  return tap ?? 'the native addon has no tap support (rebuild it: npm run build)';
}

/** Whether tap devices can be opened here (the addon exists; privileges are checked on open). */
export function tapAvailability(): { ok: true } | { ok: false; reason: string } {
  const b = tapBindings();
  return typeof b === 'string' ? { ok: false, reason: b } : { ok: true };
}

export class TapNetdev extends NetdevBase {
  readonly ifname: string;
  private fd: number | undefined;
  private reader: { stop(): void } | undefined;

  constructor(id: string, ifname = '') {
    super(id);
    const b = tapBindings();
    if (typeof b === 'string') throw new NetdevConfigError('NO_NATIVE', `netdev ${id}: ${b}`);
    let opened: { fd: number; ifname: string };
    try {
      opened = b.open(ifname);
    } catch (e) {
      throw new NetdevConfigError('OPEN_FAILED', `netdev ${id}: could not open tap '${ifname}': ${(e as Error).message}`);
    }
    this.fd = opened.fd;
    this.ifname = opened.ifname;
    this.reader = new b.TapReader(opened.fd, (buf) => {
      // While the guest has no buffers, frames wait in the netdev queue (bounded; beyond it they are counted drops).
      this.deliver(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    });
  }

  protected transmit(frame: Uint8Array): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, frame);
    } catch {
      // EAGAIN (the kernel queue is full) or the interface is down: a lost frame, as on a wire.
      this.stats.txDropped++;
    }
  }

  override async close(): Promise<void> {
    await super.close();
    this.reader?.stop();
    this.reader = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
