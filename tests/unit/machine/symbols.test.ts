// parseElfSymbols against binutils' nm on our firmware images (the oracle),
// and against malformed images (every read is bounds-checked).
import { describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseElfSymbols, SymbolError } from '../../../src/machine/symbols.js';

const image = new URL('../../../firmware/out/console.elf', import.meta.url).pathname;
let nm: string | undefined;
try {
  nm = existsSync(image) ? execFileSync('nm', ['--defined-only', image], { encoding: 'utf8' }) : undefined;
} catch {
  nm = undefined;
}

describe('ELF symbols', () => {
  test.skipIf(nm === undefined)('every function nm lists has the same address', () => {
    const table = parseElfSymbols(new Uint8Array(readFileSync(image)));
    const funcs = nm!.split('\n').map((l) => l.split(' ')).filter((p) => p.length === 3 && /^[Tt]$/.test(p[1]!));
    expect(funcs.length).toBeGreaterThan(20);
    for (const [addr, , name] of funcs) {
      expect({ name, addr: table.get(name!)?.address }).toEqual({ name, addr: BigInt(`0x${addr}`) });
    }
    expect(table.address('guest_main')).toBe(0x100780n);
    expect(table.get('guest_main')).toMatchObject({ type: 'func', binding: 1 });
    // Inside a function: its name and the offset.
    const at = table.at(0x100785n);
    expect(at?.symbol.name).toBe('guest_main');
    expect(at?.offset).toBe(5n);
    expect(table.at(0n)).toBeUndefined();
    expect(() => table.address('missing')).toThrow(SymbolError);
  });

  test('malformed images are refused, not read out of bounds', () => {
    expect(() => parseElfSymbols(new Uint8Array(10))).toThrow(/not a little-endian ELF64/);
    const h = new Uint8Array(64);
    h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1], 0);
    const dv = new DataView(h.buffer);
    dv.setBigUint64(0x28, 0x1000n, true); // e_shoff past the end
    dv.setUint16(0x3a, 64, true);
    dv.setUint16(0x3c, 3, true);
    expect(() => parseElfSymbols(h)).toThrow(/section header table outside the image/);
    dv.setUint16(0x3c, 0, true);
    dv.setBigUint64(0x28, 64n, true);
    expect(() => parseElfSymbols(h)).toThrow(/no \.symtab/);
  });

  test('a .symtab whose entries point past its string table is refused', () => {
    // ELF header + 3 section headers (null, symtab, strtab) + 1 symbol + strtab.
    const shoff = 64;
    const symOff = shoff + 3 * 64;
    const strOff = symOff + 48;
    const img = new Uint8Array(strOff + 8);
    const dv = new DataView(img.buffer);
    img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1], 0);
    dv.setBigUint64(0x28, BigInt(shoff), true);
    dv.setUint16(0x3a, 64, true);
    dv.setUint16(0x3c, 3, true);
    const sh = (i: number, type: number, off: number, size: number, link: number): void => {
      const at = shoff + i * 64;
      dv.setUint32(at + 4, type, true);
      dv.setBigUint64(at + 0x18, BigInt(off), true);
      dv.setBigUint64(at + 0x20, BigInt(size), true);
      dv.setUint32(at + 0x28, link, true);
      dv.setBigUint64(at + 0x38, 24n, true);
    };
    sh(1, 2, symOff, 48, 2);
    sh(2, 3, strOff, 8, 0);
    img.set(Buffer.from('\0start\0\0'), strOff);
    // Symbol 0: name 1 ("start"), FUNC GLOBAL, section 1, value 0x1000.
    dv.setUint32(symOff, 1, true);
    img[symOff + 4] = 0x12;
    dv.setUint16(symOff + 6, 1, true);
    dv.setBigUint64(symOff + 8, 0x1000n, true);
    // Symbol 1: name offset past the string table: skipped.
    dv.setUint32(symOff + 24, 999, true);
    dv.setUint16(symOff + 30, 1, true);
    const t = parseElfSymbols(img);
    expect(t.symbols.map((s) => s.name)).toEqual(['start']);
    expect(t.address('start')).toBe(0x1000n);
    sh(2, 3, strOff, 800, 0);
    expect(() => parseElfSymbols(img)).toThrow(/outside the image/);
  });
});
