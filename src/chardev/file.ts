/**
 * `-serial file:PATH`: guest output to a file. Like QEMU's file chardev
 * (chardev/char-file.c, `append=off` by default) the file is created or
 * truncated when the machine starts. There is no input.
 *
 * The file is opened synchronously so a bad path fails machine creation with
 * a clear error, and written with synchronous writes so nothing is lost when
 * the process exits right after the guest's last byte (isa-debug-exit).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { BackendBase, CharBackendError, type CharBackend } from './backend.js';

export interface FileBackendOptions {
  /** Append instead of truncating (QEMU's `append=on`). */
  append?: boolean;
}

export class FileBackend extends BackendBase implements CharBackend {
  readonly ready: Promise<void> = Promise.resolve();
  private fd: number | undefined;
  /** Bytes that could not be written (disk full, ...); the guest never notices. */
  writeErrors = 0;

  constructor(readonly path: string, opts: FileBackendOptions = {}) {
    super();
    try {
      this.fd = openSync(path, opts.append ? 'a' : 'w', 0o666);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new CharBackendError('FILE_OPEN', `-serial file:${path}: cannot open: ${msg}`, { cause: e });
    }
  }

  write(bytes: Uint8Array): void {
    if (this.fd === undefined) return;
    let off = 0;
    // Bounded: writeSync on a regular file makes progress or throws.
    for (let tries = 0; off < bytes.length && tries < 64; tries++) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch {
        this.writeErrors++;
        return;
      }
    }
  }

  pauseInput(): void {}
  resumeInput(): void {}

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}
