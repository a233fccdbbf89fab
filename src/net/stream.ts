/**
 * The `stream` netdev, for library users and tests: Ethernet frames from
 * the guest come out of a `FramePort` ('frame' events, or an async
 * iterator), and frames the test sends go to the guest.
 *
 * ```ts
 * const port = new FramePort();
 * const vm = await startVm({ ..., netdevs: [{ kind: 'stream', id: 'n0', port }],
 *   devices: [{ driver: 'virtio-net-device', netdev: 'n0' }] });
 * port.send(arpRequest);
 * const reply = await port.nextFrame((f) => f[12] === 0x08 && f[13] === 0x06);
 * ```
 */
import { EventEmitter, on } from 'node:events';
import { NetdevBase } from './netdev.js';

export class FrameTimeoutError extends Error {
  override readonly name = 'FrameTimeoutError';
}

export class FramePort extends EventEmitter<{ frame: [Uint8Array] }> {
  private sink: ((frame: Uint8Array) => boolean) | undefined;
  private readonly early: Uint8Array[] = [];

  /** @internal the netdev this port is bound to */
  bind(sink: (frame: Uint8Array) => boolean): void {
    this.sink = sink;
    for (const f of this.early.splice(0)) sink(f);
  }

  /** Send a frame to the guest. False if it was dropped (queue towards the guest full). */
  send(frame: Uint8Array): boolean {
    if (!this.sink) {
      this.early.push(frame);
      return true;
    }
    return this.sink(frame);
  }

  /** Every frame the guest sends, as an async iterator. */
  frames(signal?: AbortSignal): AsyncIterableIterator<Uint8Array> {
    const it = on(this, 'frame', signal ? { signal } : {}) as AsyncIterableIterator<[Uint8Array]>;
    return (async function* () {
      for await (const [f] of it) yield f;
    })();
  }

  /** The next guest frame that satisfies `match` (default: any), or reject after `timeoutMs`. */
  nextFrame(match: (f: Uint8Array) => boolean = () => true, timeoutMs = 30_000): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const onFrame = (f: Uint8Array): void => {
        if (!match(f)) return;
        clearTimeout(timer);
        this.off('frame', onFrame);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.off('frame', onFrame);
        reject(new FrameTimeoutError(`no matching frame from the guest within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('frame', onFrame);
    });
  }
}

export class StreamNetdev extends NetdevBase {
  constructor(id: string, readonly port: FramePort = new FramePort()) {
    super(id);
    port.bind((f) => this.deliver(f));
  }

  protected transmit(frame: Uint8Array): void {
    this.port.emit('frame', frame);
  }
}
