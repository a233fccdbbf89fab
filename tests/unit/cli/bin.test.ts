/**
 * `npx microvm-ts` runs package.json's bin (dist/cli/main.js) through the
 * shell: it must be executable with a node shebang. npm makes bins
 * executable when it links them, but not when `npx` runs the package's own
 * bin from a tree whose node_modules lock is out of date, and tsc writes
 * 0644: the build sets the mode.
 */
import { statSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string> };

describe('the microvm-ts bin', () => {
  const bin = `${root}${pkg.bin['microvm-ts']}`;
  it('is executable and starts with a node shebang', () => {
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });
  it('runs directly (as npx runs it): --version', () => {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    expect(out).toMatch(/microvm-ts/i);
  });
});
