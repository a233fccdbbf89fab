/**
 * scripts/build-firmware.mjs runs on every `npm install`: without a usable
 * compiler it must warn and succeed; with one it must leave every guest
 * built and do nothing when nothing changed.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { GUESTS, REPO_ROOT, buildFirmware, guestPath } from './expectations.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'build-firmware.mjs');

function runScript(env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('build-firmware.mjs', () => {
  test('without an x86-64 gcc it warns clearly and exits 0', () => {
    const r = runScript({ FIRMWARE_CC: '/nonexistent/gcc' });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/WARNING: no gcc targeting x86_64 found/);
    expect(r.out).toMatch(/apt-get install build-essential/);
  });

  test('a second run rebuilds nothing', () => {
    buildFirmware();
    const before = GUESTS.map((g) => statSync(guestPath(g)).mtimeMs);
    const r = runScript({});
    expect(r.status).toBe(0);
    expect(r.out).toContain('firmware: guests up to date in firmware/out/');
    expect(r.out).not.toMatch(/^ {2}(CC|LD)\t/m);
    expect(GUESTS.map((g) => statSync(guestPath(g)).mtimeMs)).toEqual(before);
  });
});
