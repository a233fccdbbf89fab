import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend } from '../../../src/chardev/file.js';
import { CharBackendError } from '../../../src/chardev/backend.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'microvm-ts-chardev-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('file backend (QEMU char-file.c)', () => {
  test('creates the file and writes guest output', async () => {
    const path = join(dir, 'serial.log');
    const be = new FileBackend(path);
    be.write(Buffer.from('hello '));
    be.write(Buffer.from('world\n'));
    // Written synchronously: visible before close.
    expect(readFileSync(path, 'utf8')).toBe('hello world\n');
    await be.close();
  });

  test('truncates an existing file (append=off is the default)', async () => {
    const path = join(dir, 'old.log');
    writeFileSync(path, 'previous run output that must go\n');
    const be = new FileBackend(path);
    be.write(Buffer.from('new'));
    await be.close();
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  test('append=on keeps existing content', async () => {
    const path = join(dir, 'app.log');
    writeFileSync(path, 'a');
    const be = new FileBackend(path, { append: true });
    be.write(Buffer.from('b'));
    await be.close();
    expect(readFileSync(path, 'utf8')).toBe('ab');
  });

  test('an unopenable path fails with FILE_OPEN naming the path', () => {
    const path = join(dir, 'no', 'such', 'dir', 'x.log');
    let err: unknown;
    try {
      new FileBackend(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CharBackendError);
    expect((err as CharBackendError).code).toBe('FILE_OPEN');
    expect((err as Error).message).toContain(path);
  });

  test('writes after close are ignored, close is idempotent', async () => {
    const path = join(dir, 'c.log');
    const be = new FileBackend(path);
    await be.close();
    be.write(Buffer.from('late'));
    await be.close();
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
