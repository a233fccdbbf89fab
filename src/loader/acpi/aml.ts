/**
 * A small AML encoder: just the terms a static DSDT needs (ACPI 6.5 §20.2,
 * "AML Grammar Definition"). Each function returns the encoded bytes.
 */

/** §20.2.4 PkgLength: the length counts the PkgLength bytes themselves. */
export function pkgLength(contentLength: number): number[] {
  for (let n = 1; n <= 4; n++) {
    const total = contentLength + n;
    if (n === 1 && total < 0x40) return [total];
    if (n > 1 && total < 1 << (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0xf)];
      for (let i = 1; i < n; i++) out.push((total >>> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new RangeError(`AML package too large: ${contentLength} bytes`);
}

function withPkg(op: number[], body: number[]): number[] {
  return [...op, ...pkgLength(body.length), ...body];
}

/** §20.2.2 NameSeg: four characters [A-Z_][A-Z0-9_]{3}, padded with '_'. */
export function nameSeg(seg: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new RangeError(`invalid AML NameSeg "${seg}"`);
  return [...seg.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

/** §20.2.2 NameString: "\" (root), "\_SB", "_HID", or "\_SB.COM1" style paths. */
export function nameString(name: string): number[] {
  let out: number[] = [];
  let rest = name;
  if (rest.startsWith('\\')) { out.push(0x5c); rest = rest.slice(1); }
  if (rest === '') return [...out, 0x00]; // NullName
  const segs = rest.split('.');
  if (segs.length === 2) out.push(0x2e); // DualNamePrefix
  else if (segs.length > 2) out.push(0x2f, segs.length); // MultiNamePrefix
  for (const s of segs) out = out.concat(nameSeg(s));
  return out;
}

/** §20.2.3 integer constants, the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
export function integer(v: number | bigint): number[] {
  const b = BigInt(v);
  if (b < 0n || b > 0xffffffffffffffffn) throw new RangeError(`AML integer out of range: ${v}`);
  if (b === 0n) return [0x00];
  if (b === 1n) return [0x01];
  const bytes = (n: number): number[] => Array.from({ length: n }, (_, i) => Number((b >> BigInt(8 * i)) & 0xffn));
  if (b <= 0xffn) return [0x0a, ...bytes(1)];
  if (b <= 0xffffn) return [0x0b, ...bytes(2)];
  if (b <= 0xffffffffn) return [0x0c, ...bytes(4)];
  return [0x0e, ...bytes(8)];
}

/** §20.2.3 String: StringPrefix AsciiCharList NullChar. */
export function string(s: string): number[] {
  const out = [0x0d];
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 0x01 || code > 0x7f) throw new RangeError(`AML strings are ASCII: ${JSON.stringify(s)}`);
    out.push(code);
  }
  out.push(0x00);
  return out;
}

/**
 * EISAID("PNP0501"): the compressed 32-bit EISA id (§19.6.35 EISAID macro):
 * three letters of 5 bits each and four hex digits, stored big-endian.
 */
export function eisaId(id: string): number[] {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`invalid EISA id "${id}"`);
  const v = ((id.charCodeAt(0) - 0x40) << 10) | ((id.charCodeAt(1) - 0x40) << 5) | (id.charCodeAt(2) - 0x40);
  const p = parseInt(id.slice(3), 16);
  return [0x0c, (v >> 8) & 0xff, v & 0xff, (p >> 8) & 0xff, p & 0xff];
}

/** DefName := NameOp NameString DataRefObject */
export function name(n: string, data: number[]): number[] {
  return [0x08, ...nameString(n), ...data];
}

/** DefScope := ScopeOp PkgLength NameString TermList */
export function scope(n: string, ...terms: number[][]): number[] {
  return withPkg([0x10], [...nameString(n), ...terms.flat()]);
}

/** DefDevice := ExtOpPrefix DeviceOp PkgLength NameString TermList */
export function device(n: string, ...terms: number[][]): number[] {
  return withPkg([0x5b, 0x82], [...nameString(n), ...terms.flat()]);
}

/** DefBuffer := BufferOp PkgLength BufferSize ByteList */
export function buffer(bytes: number[]): number[] {
  return withPkg([0x11], [...integer(bytes.length), ...bytes]);
}

/** DefPackage := PackageOp PkgLength NumElements PackageElementList */
export function pkg(elements: number[][]): number[] {
  if (elements.length > 255) throw new RangeError('AML package has more than 255 elements');
  return withPkg([0x12], [elements.length, ...elements.flat()]);
}

// Resource descriptors (ACPI 6.5 §6.4).

/** §6.4.2.5 I/O Port Descriptor (Decode16). */
export function ioPort(min: number, max: number, align: number, length: number): number[] {
  return [0x47, 0x01, min & 0xff, min >> 8, max & 0xff, max >> 8, align, length];
}

/** §6.4.2.1 IRQ Descriptor without the information byte (IRQNoFlags: edge, active high). */
export function irqNoFlags(irq: number): number[] {
  if (irq < 0 || irq > 15) throw new RangeError(`IRQNoFlags takes IRQ 0-15, got ${irq}`);
  const mask = 1 << irq;
  return [0x22, mask & 0xff, mask >> 8];
}

/** §6.4.3.4 32-Bit Fixed Memory Range Descriptor. */
export function memory32Fixed(base: number, length: number, writable: boolean): number[] {
  const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  return [0x86, 0x09, 0x00, writable ? 1 : 0, ...le32(base), ...le32(length)];
}

export interface InterruptFlags {
  consumer: boolean;
  edge: boolean;
  activeLow: boolean;
  shared: boolean;
}

/** §6.4.3.6 Extended Interrupt Descriptor (Interrupt(...) {gsi, ...}). */
export function extendedInterrupt(f: InterruptFlags, gsis: number[]): number[] {
  const flags = (f.consumer ? 1 : 0) | (f.edge ? 2 : 0) | (f.activeLow ? 4 : 0) | (f.shared ? 8 : 0);
  const len = 2 + 4 * gsis.length;
  const out = [0x89, len & 0xff, len >> 8, flags, gsis.length];
  for (const g of gsis) out.push(g & 0xff, (g >>> 8) & 0xff, (g >>> 16) & 0xff, (g >>> 24) & 0xff);
  return out;
}

/** ResourceTemplate(): a Buffer of descriptors closed by the End Tag (§6.4.2.9, checksum 0 = "not computed"). */
export function resourceTemplate(...descriptors: number[][]): number[] {
  return buffer([...descriptors.flat(), 0x79, 0x00]);
}
