/**
 * The netdev interface: a host-side network backend (QEMU's `-netdev`)
 * exchanging Ethernet frames with one guest NIC (its "peer").
 *
 * Frames from the host side go to the NIC through `deliver`: when the NIC
 * has no receive buffers the frame waits in a bounded queue (as QEMU's
 * NetQueue does) and the backend is told to stop reading its source;
 * `rxReady()` from the NIC flushes the queue. Only when that queue is full
 * is a frame dropped, and counted.
 */

/** The NIC as a backend sees it. */
export interface NetClient {
  /** Take one frame (no virtio header); false if there is no room now (the backend keeps it). */
  receive(frame: Uint8Array): boolean;
}

export interface NetdevStats {
  /** Frames from the guest handed to the host side. */
  txFrames: number;
  txBytes: number;
  /** Frames delivered to the guest. */
  rxFrames: number;
  rxBytes: number;
  /** Frames dropped because the queue towards the guest was full. */
  rxDropped: number;
  /** Frames the host side could not send (socket closed, write error). */
  txDropped: number;
}

export interface Netdev {
  readonly id: string;
  readonly stats: NetdevStats;
  /** Connect the NIC. Frames queued before it was attached are delivered when it has room. */
  attach(client: NetClient): void;
  /** A frame the guest sent. */
  send(frame: Uint8Array): void;
  /** The NIC has receive buffers again. */
  rxReady(): void;
  /** Add a tap on both directions (pcap capture). */
  addObserver(o: FrameObserver): void;
  close(): Promise<void>;
}

/** Sees every frame in both directions ('tx' guest -> host, 'rx' host -> guest). */
export type FrameObserver = (dir: 'tx' | 'rx', frame: Uint8Array) => void;

/** Frames kept for a NIC without buffers before dropping (QEMU's NET_QUEUE default is 10000 packets; a smaller bound keeps memory low). */
export const DEFAULT_RX_QUEUE_LIMIT = 1024;

export abstract class NetdevBase implements Netdev {
  readonly stats: NetdevStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, txDropped: 0 };
  private client: NetClient | undefined;
  private readonly queue: Uint8Array[] = [];
  private readonly observers: FrameObserver[] = [];
  private throttled = false;
  protected closed = false;

  constructor(readonly id: string, private readonly queueLimit = DEFAULT_RX_QUEUE_LIMIT) {}

  attach(client: NetClient): void {
    this.client = client;
    this.rxReady();
  }

  addObserver(o: FrameObserver): void {
    this.observers.push(o);
  }

  /** The guest sent `frame`: count, observe, hand to the backend. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    for (const o of this.observers) o('tx', frame);
    this.transmit(frame);
  }

  /** Backend-specific: put a guest frame on the host side. */
  protected abstract transmit(frame: Uint8Array): void;

  /** A frame for the guest. Returns false if it was dropped. */
  protected deliver(frame: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.queue.length === 0 && this.client && this.client.receive(frame)) {
      this.delivered(frame);
      return true;
    }
    if (this.queue.length >= this.queueLimit) {
      this.stats.rxDropped++;
      return false;
    }
    this.queue.push(frame);
    if (!this.throttled) {
      this.throttled = true;
      this.setThrottled(true);
    }
    return true;
  }

  rxReady(): void {
    const client = this.client;
    if (!client) return;
    while (this.queue.length > 0) {
      const f = this.queue[0]!;
      if (!client.receive(f)) return;
      this.queue.shift();
      this.delivered(f);
    }
    if (this.throttled) {
      this.throttled = false;
      this.setThrottled(false);
    }
  }

  /** Frames waiting for guest buffers. */
  get queued(): number { return this.queue.length; }

  private delivered(frame: Uint8Array): void {
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    for (const o of this.observers) o('rx', frame);
  }

  /** Backends that read from a source pause it while the guest has no buffers. */
  protected setThrottled(_paused: boolean): void {}

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
  }
}
