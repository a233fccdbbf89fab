import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  createCharBackend, serialDevicePresent, FileBackend, NullBackend, StdioBackend, StreamBackend, TcpBackend, CharBackendError,
} from '../../../src/chardev/index.js';
import type { SerialConfig } from '../../../src/machine/config.js';

describe('createCharBackend', () => {
  test('each SerialConfig kind builds its backend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'microvm-ts-factory-'));
    try {
      const cases: Array<{ cfg: SerialConfig; type: new (...args: never[]) => unknown }> = [
        { cfg: { kind: 'none' }, type: NullBackend },
        { cfg: { kind: 'null' }, type: NullBackend },
        { cfg: { kind: 'file', path: join(dir, 'out') }, type: FileBackend },
        { cfg: { kind: 'stream' }, type: StreamBackend },
        { cfg: { kind: 'tcp', host: '127.0.0.1', port: 0, server: true, wait: false }, type: TcpBackend },
      ];
      for (const c of cases) {
        const be = createCharBackend(c.cfg);
        expect(be).toBeInstanceOf(c.type);
        await be.ready;
        await be.close();
      }
      const stdin = Object.assign(new PassThrough(), { isTTY: false });
      const stdio = createCharBackend({ kind: 'stdio' }, { stdin, stdout: new PassThrough(), onQuit: () => {} });
      expect(stdio).toBeInstanceOf(StdioBackend);
      await stdio.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an empty file path is a config error', () => {
    expect(() => createCharBackend({ kind: 'file', path: '' })).toThrow(CharBackendError);
  });

  test('-serial none means no serial device at all (QEMU)', () => {
    expect(serialDevicePresent({ kind: 'none' })).toBe(false);
    expect(serialDevicePresent({ kind: 'null' })).toBe(true);
    expect(serialDevicePresent({ kind: 'stdio' })).toBe(true);
  });
});
