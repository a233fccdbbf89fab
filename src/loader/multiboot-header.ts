/**
 * Multiboot v1 header (Multiboot Specification 0.6.96 §3.1): found 4-byte
 * aligned in the first 8192 bytes of the image, magic 0x1BADB002, and
 * magic + flags + checksum == 0 (mod 2^32). QEMU scans offsets
 * 0 .. 8192-48 (hw/i386/multiboot.c load_multiboot); so do we.
 */
import { LoaderError, hex } from './errors.js';
import { ImageReader } from './bytes.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_SEARCH = 8192;
/** Header flag bits (§3.1.2). */
export const MULTIBOOT_PAGE_ALIGN = 1 << 0;
export const MULTIBOOT_MEMORY_INFO = 1 << 1;
export const MULTIBOOT_VIDEO_MODE = 1 << 2;
export const MULTIBOOT_AOUT_KLUDGE = 1 << 16;

export interface MultibootHeader {
  /** File offset of the magic. */
  readonly offset: number;
  readonly flags: number;
  /** Present when MULTIBOOT_AOUT_KLUDGE is set (§3.1.3). */
  readonly aout?: {
    readonly headerAddr: number;
    readonly loadAddr: number;
    readonly loadEndAddr: number;
    readonly bssEndAddr: number;
    readonly entryAddr: number;
  };
}

/** The first valid multiboot header, or undefined. Candidates with a bad checksum are skipped, as QEMU does. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let i = 0; i < MULTIBOOT_SEARCH - 48 && i + 12 <= image.length; i += 4) {
    if (dv.getUint32(i, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(i + 4, true);
    const checksum = dv.getUint32(i + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) continue;
    if (!(flags & MULTIBOOT_AOUT_KLUDGE)) return { offset: i, flags };
    const r = new ImageReader(image, 'MULTIBOOT_TRUNCATED', 'multiboot image');
    r.need(i, 32, `the multiboot header's address fields (flag 16 set)`);
    return {
      offset: i, flags,
      aout: {
        headerAddr: r.u32(i + 12, 'header_addr'),
        loadAddr: r.u32(i + 16, 'load_addr'),
        loadEndAddr: r.u32(i + 20, 'load_end_addr'),
        bssEndAddr: r.u32(i + 24, 'bss_end_addr'),
        entryAddr: r.u32(i + 28, 'entry_addr'),
      },
    };
  }
  return undefined;
}

export interface AoutLayout {
  readonly fileOffset: number;
  readonly loadAddr: number;
  readonly loadSize: number;
  /** load + bss. */
  readonly memSize: number;
  readonly entry: number;
}

/** The a.out-kludge load layout (§3.1.3), validated as QEMU validates it and against the file. */
export function aoutLayout(image: Uint8Array, h: MultibootHeader): AoutLayout {
  const a = h.aout;
  if (!a) throw new Error('aoutLayout: header has no address fields');
  if (a.headerAddr < a.loadAddr) {
    throw new LoaderError('MULTIBOOT_BAD_HEADER', `multiboot header_addr ${hex(a.headerAddr)} is below load_addr ${hex(a.loadAddr)}`);
  }
  const textOffset = h.offset - (a.headerAddr - a.loadAddr);
  if (textOffset < 0) {
    throw new LoaderError('MULTIBOOT_BAD_HEADER',
      `multiboot header_addr - load_addr (${hex(a.headerAddr - a.loadAddr)}) is larger than the header's file offset ${hex(h.offset)}`);
  }
  let loadSize: number;
  if (a.loadEndAddr !== 0) {
    if (a.loadEndAddr < a.loadAddr) {
      throw new LoaderError('MULTIBOOT_BAD_HEADER', `multiboot load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
    }
    loadSize = a.loadEndAddr - a.loadAddr;
  } else {
    loadSize = image.length - textOffset; // §3.1.3: 0 means "to the end of the file"
  }
  if (textOffset + loadSize > image.length) {
    throw new LoaderError('MULTIBOOT_TRUNCATED',
      `multiboot image truncated: load_addr..load_end_addr needs file bytes [${hex(textOffset)}, ${hex(textOffset + loadSize)}) but the file has ${image.length} bytes`);
  }
  let memSize = loadSize;
  if (a.bssEndAddr !== 0) {
    if (a.bssEndAddr < a.loadAddr + loadSize) {
      throw new LoaderError('MULTIBOOT_BAD_HEADER',
        `multiboot bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(a.loadAddr + loadSize)}`);
    }
    memSize = a.bssEndAddr - a.loadAddr;
  }
  return { fileOffset: textOffset, loadAddr: a.loadAddr, loadSize, memSize, entry: a.entryAddr };
}
