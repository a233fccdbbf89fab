/**
 * `-serial null`: output is discarded, no input ever arrives (QEMU char-null.c).
 * Also stands in for `-serial none`, although with `none` QEMU creates no
 * serial device at all (see `serialDevicePresent` in index.ts).
 */
import { BackendBase, type CharBackend } from './backend.js';

export class NullBackend extends BackendBase implements CharBackend {
  readonly ready: Promise<void> = Promise.resolve();
  /** Bytes the guest wrote (and we dropped). */
  discardedBytes = 0;

  write(bytes: Uint8Array): void {
    this.discardedBytes += bytes.length;
  }

  pauseInput(): void {
    this.paused = true;
  }

  resumeInput(): void {
    this.paused = false;
  }

  async close(): Promise<void> {}
}
