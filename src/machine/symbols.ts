/**
 * Symbols of an ELF64 kernel image: the `.symtab` section (SHT_SYMTAB) and
 * the string table it links to, so a test can say `vm.symbol('main')` or
 * `vm.breakpoint('main.main')` instead of an address.
 *
 * Layout from the System V ABI, "Object Files" (ELF-64 Object File Format
 * 1.5): section header 64 bytes (sh_name u32, sh_type u32, sh_flags u64,
 * sh_addr u64, sh_offset u64, sh_size u64, sh_link u32, sh_info u32,
 * sh_addralign u64, sh_entsize u64); symbol 24 bytes (st_name u32, st_info
 * u8, st_other u8, st_shndx u16, st_value u64, st_size u64).
 * Everything read is bounds-checked: an image is untrusted input.
 */

const SHT_SYMTAB = 2;
const SHN_UNDEF = 0;
const ELF64_SHDR_SIZE = 64;
const ELF64_SYM_SIZE = 24;

/** st_info's low nibble (STT_*). */
export type SymbolType = 'notype' | 'object' | 'func' | 'section' | 'file' | 'common' | 'tls' | 'other';
const TYPES: readonly SymbolType[] = ['notype', 'object', 'func', 'section', 'file', 'common', 'tls'];

/** One defined symbol of the image's `.symtab`. */
export interface ElfSymbol {
  name: string;
  /** st_value: the symbol's virtual address for an executable. */
  address: bigint;
  size: bigint;
  type: SymbolType;
  /** st_info's high nibble: 0 local, 1 global, 2 weak. */
  binding: number;
}

/** No symbol table, a malformed one, or an unknown name. */
export class SymbolError extends Error {
  override readonly name = 'SymbolError';
  constructor(readonly code: 'NOT_ELF64' | 'NO_SYMTAB' | 'BAD_SYMTAB' | 'UNKNOWN_SYMBOL', msg: string) {
    super(msg);
  }
}

/** A kernel's symbol table: lookups by name and by address. */
export class SymbolTable {
  private readonly byName = new Map<string, ElfSymbol>();
  /** Functions and objects with a size, sorted by address (for `at`). */
  private readonly sized: ElfSymbol[];

  constructor(readonly symbols: readonly ElfSymbol[]) {
    // Globals win over locals of the same name; otherwise the first one.
    for (const s of symbols) {
      const had = this.byName.get(s.name);
      if (!had || (had.binding === 0 && s.binding !== 0)) this.byName.set(s.name, s);
    }
    this.sized = symbols.filter((s) => s.size > 0n && (s.type === 'func' || s.type === 'object'))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** The symbol called `name`, or undefined. */
  get(name: string): ElfSymbol | undefined {
    return this.byName.get(name);
  }

  /** The address of `name`; throws SymbolError('UNKNOWN_SYMBOL') when there is none. */
  address(name: string): bigint {
    const s = this.byName.get(name);
    if (!s) throw new SymbolError('UNKNOWN_SYMBOL', `no symbol '${name}' in the kernel's .symtab`);
    return s.address;
  }

  /** The function or object containing `address` (and the offset into it), or undefined. */
  at(address: bigint): { symbol: ElfSymbol; offset: bigint } | undefined {
    let lo = 0;
    let hi = this.sized.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.sized[mid]!;
      if (address < s.address) hi = mid - 1;
      else if (address >= s.address + s.size) lo = mid + 1;
      else return { symbol: s, offset: address - s.address };
    }
    return undefined;
  }
}

/** Parse the `.symtab` of an ELF64 little-endian image. Throws SymbolError. */
export function parseElfSymbols(image: Uint8Array): SymbolTable {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 64 || dv.getUint32(0, true) !== 0x464c457f || image[4] !== 2 || image[5] !== 1) {
    throw new SymbolError('NOT_ELF64', 'not a little-endian ELF64 image');
  }
  const shoff = toSafe(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  if (shoff === undefined || shentsize < ELF64_SHDR_SIZE || shoff + shnum * shentsize > image.length) {
    throw new SymbolError('BAD_SYMTAB', 'section header table outside the image');
  }
  const section = (i: number): { type: number; offset: number | undefined; size: number | undefined; link: number; entsize: number } => {
    const at = shoff + i * shentsize;
    return {
      type: dv.getUint32(at + 4, true),
      offset: toSafe(dv.getBigUint64(at + 0x18, true)),
      size: toSafe(dv.getBigUint64(at + 0x20, true)),
      link: dv.getUint32(at + 0x28, true),
      entsize: toSafe(dv.getBigUint64(at + 0x38, true)) ?? 0,
    };
  };
  for (let i = 0; i < shnum; i++) {
    const sh = section(i);
    if (sh.type !== SHT_SYMTAB) continue;
    if (sh.link >= shnum) throw new SymbolError('BAD_SYMTAB', '.symtab links to no string table');
    const str = section(sh.link);
    const entsize = sh.entsize || ELF64_SYM_SIZE;
    if (sh.offset === undefined || sh.size === undefined || str.offset === undefined || str.size === undefined ||
        entsize < ELF64_SYM_SIZE || sh.offset + sh.size > image.length || str.offset + str.size > image.length) {
      throw new SymbolError('BAD_SYMTAB', '.symtab or its string table lies outside the image');
    }
    const strtab = image.subarray(str.offset, str.offset + str.size);
    const symbols: ElfSymbol[] = [];
    for (let at = sh.offset; at + ELF64_SYM_SIZE <= sh.offset + sh.size; at += entsize) {
      const nameOff = dv.getUint32(at, true);
      const info = dv.getUint8(at + 4);
      const shndx = dv.getUint16(at + 6, true);
      if (nameOff === 0 || shndx === SHN_UNDEF || nameOff >= strtab.length) continue;
      let end = nameOff;
      while (end < strtab.length && strtab[end] !== 0) end++;
      symbols.push({
        name: Buffer.from(strtab.subarray(nameOff, end)).toString('utf8'),
        address: dv.getBigUint64(at + 8, true),
        size: dv.getBigUint64(at + 16, true),
        type: TYPES[info & 0xf] ?? 'other',
        binding: info >> 4,
      });
    }
    return new SymbolTable(symbols);
  }
  throw new SymbolError('NO_SYMTAB', 'the image has no .symtab (stripped?)');
}

function toSafe(v: bigint): number | undefined {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}
