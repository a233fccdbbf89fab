/**
 * A pure page walker: linear address -> physical address with the access
 * rights and the exact #PF error code, for 32-bit paging (4 KiB / 4 MiB with
 * CR4.PSE, PSE-36), PAE paging, and 4-level paging (4 KiB / 2 MiB / 1 GiB).
 *
 * Intel SDM vol. 3A chapter 4: 4.3 (32-bit), 4.4 (PAE), 4.5 (4-level), 4.6
 * (access rights incl. WP, SMEP, SMAP, NX), 4.7 (#PF error code), 4.8
 * (accessed and dirty flags).
 *
 * Choices (documented because the SDM allows several):
 * - Accessed flags are set on each non-leaf entry as the walk uses it (after
 *   its reserved-bit check), even if a lower level then faults; the leaf's A
 *   (and D for writes) only when the access is allowed. This is what QEMU TCG
 *   does (checked in tests/unit/cpu/paging-qemu-oracle.test.ts), so lockstep
 *   comparisons with TCG see the same page-table bytes. Updates are atomic ORs
 *   so concurrent vCPUs never lose each other's bits.
 * - PAE PDPTEs are read at walk time (hardware caches them at MOV CR3; the JIT
 *   should check PDPTE reserved bits at MOV CR3 and raise #GP there).
 * - 5-level paging (CR4.LA57) is not supported (LA57 is never reported).
 * - Canonical checks belong to the caller (a non-canonical address is #GP/#SS,
 *   not #PF); the walker only uses bits 47:0.
 */

export const CR0_WP = 1n << 16n;
export const CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const CR4_PGE = 1n << 7n;
export const CR4_PCIDE = 1n << 17n;
export const CR4_SMEP = 1n << 20n;
export const CR4_SMAP = 1n << 21n;
export const EFER_NXE = 1n << 11n;
export const EFER_LMA = 1n << 10n;

// Paging-structure entry bits (SDM Tables 4-14 .. 4-20)
export const PTE_P = 1n << 0n;
export const PTE_RW = 1n << 1n;
export const PTE_US = 1n << 2n;
export const PTE_PWT = 1n << 3n;
export const PTE_PCD = 1n << 4n;
export const PTE_A = 1n << 5n;
export const PTE_D = 1n << 6n;
export const PTE_PS = 1n << 7n;
export const PTE_G = 1n << 8n;
export const PTE_XD = 1n << 63n;

// #PF error code (SDM 4.7)
export const PFEC_P = 1 << 0;
export const PFEC_W = 1 << 1;
export const PFEC_U = 1 << 2;
export const PFEC_RSVD = 1 << 3;
export const PFEC_I = 1 << 4;

export const PAGE_4K = 0x1000;
export const PAGE_2M = 0x200000;
export const PAGE_4M = 0x400000;
export const PAGE_1G = 0x40000000;
export type PageSize = typeof PAGE_4K | typeof PAGE_2M | typeof PAGE_4M | typeof PAGE_1G;

export interface PagingRegs { cr0: bigint; cr3: bigint; cr4: bigint; efer: bigint }

export interface PageAccess {
  write: boolean;
  fetch: boolean;
  /** CPL = 3 (a user-mode access) and not an implicit supervisor access. */
  user: boolean;
  /**
   * Implicit supervisor access (GDT/IDT/TSS reads, even from CPL 3): rights
   * checked as supervisor, error code U/S = 0, SMAP applies regardless of AC.
   */
  implicitSupervisor?: boolean;
  /** RFLAGS.AC (SMAP: explicit supervisor data accesses to user pages are allowed when AC = 1). */
  ac?: boolean;
}

/** Physical memory as the walker sees it. Reads of non-RAM return what the bus returns. */
export interface PagingMemory {
  read32(gpa: bigint): number;
  read64(gpa: bigint): bigint;
  /** Atomically OR `bits` into the 32-bit entry at `gpa` (A/D updates, 32-bit paging). */
  orU32(gpa: bigint, bits: number): void;
  /** Atomically OR `bits` into the 64-bit entry at `gpa` (A/D updates, PAE and 4-level). */
  orU64(gpa: bigint, bits: bigint): void;
}

export interface WalkOptions {
  /** MAXPHYADDR (CPUID 0x80000008 EAX[7:0]). */
  maxPhysAddr: number;
  /** CPUID PDPE1GB: 1 GiB pages allowed (PS in a PDPTE is reserved otherwise). */
  pdpe1gb: boolean;
  /** Do not set A/D bits (debugger translations). */
  noUpdate?: boolean;
}

export type WalkResult =
  | {
    ok: true;
    gpa: bigint;
    pageSize: PageSize;
    /** Combined rights along the walk (R/W and U/S ANDed, XD ORed). */
    writable: boolean;
    user: boolean;
    nx: boolean;
    /** Leaf G bit with CR4.PGE (TLB entries that survive CR3 reloads). */
    global: boolean;
    /** Leaf D bit after this access (a write sets it). */
    dirty: boolean;
  }
  | { ok: false; errorCode: number; cr2: bigint };

export type PagingMode = 'none' | '32bit' | 'pae' | '4level';

export function pagingMode(regs: PagingRegs): PagingMode {
  if ((regs.cr0 & CR0_PG) === 0n) return 'none';
  if ((regs.cr4 & CR4_PAE) === 0n) return '32bit';
  return (regs.efer & EFER_LMA) !== 0n ? '4level' : 'pae';
}

interface Level { entryGpa: bigint; entry: bigint; wide: boolean }

/**
 * Translate `gva` for `access`. Pure apart from the A/D updates through `mem`.
 */
export function walk(mem: PagingMemory, regs: PagingRegs, gva: bigint, access: PageAccess, opts: WalkOptions): WalkResult {
  const mode = pagingMode(regs);
  const userAccess = access.user && !access.implicitSupervisor;
  const nxe = mode !== '32bit' && (regs.efer & EFER_NXE) !== 0n;
  const smep = (regs.cr4 & CR4_SMEP) !== 0n;
  const baseCode = (access.write ? PFEC_W : 0) | (userAccess ? PFEC_U : 0) | (access.fetch && (nxe || smep) ? PFEC_I : 0);
  const fault = (code: number): WalkResult => ({ ok: false, errorCode: code | baseCode, cr2: gva });

  if (mode === 'none') {
    return { ok: true, gpa: BigInt.asUintN(32, gva), pageSize: PAGE_4K, writable: true, user: true, nx: false, global: false, dirty: true };
  }

  const M = BigInt(Math.min(Math.max(opts.maxPhysAddr, 32), 52));
  const physMask = (1n << M) - 1n;
  // Reserved address bits: 51:M in 4-level paging (62:52 are ignored there,
  // SDM Table 4-15..4-20), but 62:M in PAE paging (SDM Tables 4-8..4-11).
  const rsvdHigh = (mode === 'pae' ? (1n << 63n) - 1n : (1n << 52n) - 1n) & ~physMask;
  const xdRsvd = nxe ? 0n : PTE_XD;

  const levels: Level[] = [];
  let writable = true;
  let user = true;
  let nx = false;
  let leaf: bigint;
  let pageSize: PageSize;
  let frame: bigint;

  if (mode === '32bit') {
    const lin = BigInt.asUintN(32, gva);
    const pdeGpa = (regs.cr3 & 0xfffff000n) | ((lin >> 22n) << 2n);
    const pde = BigInt(mem.read32(pdeGpa) >>> 0);
    if ((pde & PTE_P) === 0n) return fault(0);
    levels.push({ entryGpa: pdeGpa, entry: pde, wide: false });
    writable &&= (pde & PTE_RW) !== 0n;
    user &&= (pde & PTE_US) !== 0n;
    if ((pde & PTE_PS) !== 0n && (regs.cr4 & CR4_PSE) !== 0n) {
      // 4 MiB page with PSE-36: PA[39:32] in bits 20:13 (M-32 bits), bit 21 reserved (SDM Table 4-4).
      const highBits = M > 32n ? M - 32n : 0n;
      const rsvd = (1n << 21n) | (((1n << 8n) - 1n) & ~((1n << highBits) - 1n)) << 13n;
      if ((pde & rsvd) !== 0n) return fault(PFEC_P | PFEC_RSVD);
      leaf = pde;
      pageSize = PAGE_4M;
      frame = (pde & 0xffc00000n) | (((pde >> 13n) & 0xffn) << 32n);
    } else {
      if (!opts.noUpdate && (pde & PTE_A) === 0n) mem.orU32(pdeGpa, Number(PTE_A));
      const pteGpa = (pde & 0xfffff000n) | (((lin >> 12n) & 0x3ffn) << 2n);
      const pte = BigInt(mem.read32(pteGpa) >>> 0);
      if ((pte & PTE_P) === 0n) return fault(0);
      levels.push({ entryGpa: pteGpa, entry: pte, wide: false });
      writable &&= (pte & PTE_RW) !== 0n;
      user &&= (pte & PTE_US) !== 0n;
      leaf = pte;
      pageSize = PAGE_4K;
      frame = pte & 0xfffff000n;
    }
  } else {
    let tableGpa: bigint;
    let shift: bigint;
    let depth: number;
    if (mode === 'pae') {
      const lin = BigInt.asUintN(32, gva);
      // PDPTE (SDM Table 4-8): bits 2:1, 8:5, 63 and 51:M reserved; no R/W, U/S or XD at this level.
      const pdpteGpa = (regs.cr3 & 0xffffffe0n) | ((lin >> 30n) << 3n);
      const pdpte = mem.read64(pdpteGpa);
      if ((pdpte & PTE_P) === 0n) return fault(0);
      if ((pdpte & (0x1e6n | PTE_XD | rsvdHigh)) !== 0n) return fault(PFEC_P | PFEC_RSVD);
      tableGpa = pdpte & physMask & ~0xfffn;
      shift = 21n;
      depth = 2;
    } else {
      // CR3: with CR4.PCIDE, bits 11:0 are the PCID; bit 63 (no-flush) is not part of the base.
      tableGpa = regs.cr3 & physMask & ~0xfffn;
      shift = 39n;
      depth = 4;
    }
    const lin = mode === 'pae' ? BigInt.asUintN(32, gva) : BigInt.asUintN(48, gva);
    for (let level = depth; ; level--, shift -= 9n) {
      const entryGpa = tableGpa + (((lin >> shift) & 0x1ffn) << 3n);
      const e = mem.read64(entryGpa);
      if ((e & PTE_P) === 0n) return fault(0);
      let rsvd = rsvdHigh | xdRsvd;
      const ps = (e & PTE_PS) !== 0n;
      if (level === 4 && ps) rsvd |= PTE_PS; // PS is reserved in a PML4E
      if (level === 3 && ps) rsvd |= opts.pdpe1gb ? 0x3fffe000n : PTE_PS; // 1 GiB page: bits 29:13 reserved
      if (level === 2 && ps) rsvd |= 0x1fe000n; // 2 MiB page: bits 20:13 reserved
      if ((e & rsvd) !== 0n) return fault(PFEC_P | PFEC_RSVD);
      levels.push({ entryGpa, entry: e, wide: true });
      writable &&= (e & PTE_RW) !== 0n;
      user &&= (e & PTE_US) !== 0n;
      nx ||= nxe && (e & PTE_XD) !== 0n;
      if (level === 1 || ((level === 2 || level === 3) && ps)) {
        leaf = e;
        if (level === 1) { pageSize = PAGE_4K; frame = e & physMask & ~0xfffn; }
        else if (level === 2) { pageSize = PAGE_2M; frame = e & physMask & ~0x1fffffn; }
        else { pageSize = PAGE_1G; frame = e & physMask & ~0x3fffffffn; }
        break;
      }
      if (!opts.noUpdate && (e & PTE_A) === 0n) mem.orU64(entryGpa, PTE_A); // non-leaf entry used
      tableGpa = e & physMask & ~0xfffn;
    }
  }

  // Access rights (SDM 4.6.1).
  if (userAccess) {
    if (!user) return fault(PFEC_P);
    if (access.write && !writable) return fault(PFEC_P);
  } else {
    if (access.write && !writable && (regs.cr0 & CR0_WP) !== 0n) return fault(PFEC_P);
    if (access.fetch && user && smep) return fault(PFEC_P);
    const smap = (regs.cr4 & CR4_SMAP) !== 0n;
    if (!access.fetch && user && smap && (access.implicitSupervisor || !access.ac)) return fault(PFEC_P);
  }
  if (access.fetch && nx) return fault(PFEC_P);

  // Accessed and dirty flags of the leaf (SDM 4.8); non-leaf A flags were set during the walk.
  let dirty = (leaf & PTE_D) !== 0n;
  if (!opts.noUpdate) {
    const l = levels[levels.length - 1]!;
    let bits = (l.entry & PTE_A) === 0n ? PTE_A : 0n;
    if (access.write && !dirty) bits |= PTE_D;
    if (bits !== 0n) {
      if (l.wide) mem.orU64(l.entryGpa, bits);
      else mem.orU32(l.entryGpa, Number(bits));
    }
    if (access.write) dirty = true;
  }

  const offsetMask = BigInt(pageSize) - 1n;
  return {
    ok: true,
    gpa: frame | (gva & offsetMask),
    pageSize,
    writable,
    user,
    nx,
    global: (leaf & PTE_G) !== 0n && (regs.cr4 & CR4_PGE) !== 0n,
    dirty,
  };
}

/** What `pagingMemoryOf` needs from GuestMemory. */
export interface PagingRam {
  regionOf(gpa: number, len?: number): { gpa: number; buffer: SharedArrayBuffer | ArrayBuffer; offset: number } | undefined;
  readU32(gpa: number): number;
  readU64(gpa: number): bigint;
}

/**
 * A PagingMemory over GuestMemory. Entries outside RAM read as all ones (an
 * unassigned bus), which fails the walk with a reserved-bit fault. A/D updates
 * are atomic ORs on the shared buffer (entries are naturally aligned), so
 * vCPUs on other threads never lose each other's bits (SDM 4.8: the
 * processor sets them with a locked operation).
 */
export function pagingMemoryOf(m: PagingRam): PagingMemory {
  const u32 = new WeakMap<object, Uint32Array>();
  const u64 = new WeakMap<object, BigUint64Array>();
  const where = (gpa: bigint, len: number): { r: { buffer: SharedArrayBuffer | ArrayBuffer }; byte: number; n: number } | undefined => {
    if (gpa > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const n = Number(gpa);
    const r = m.regionOf(n, len);
    if (!r) return undefined;
    return { r, byte: r.offset + (n - r.gpa), n };
  };
  return {
    read32: (gpa) => { const w = where(gpa, 4); return w === undefined ? 0xffffffff : m.readU32(w.n); },
    read64: (gpa) => { const w = where(gpa, 8); return w === undefined ? 0xffffffffffffffffn : m.readU64(w.n); },
    orU32: (gpa, bits) => {
      const w = where(gpa, 4);
      if (!w || w.byte % 4 !== 0) return;
      let a = u32.get(w.r.buffer);
      if (!a) { a = new Uint32Array(w.r.buffer); u32.set(w.r.buffer, a); }
      Atomics.or(a, w.byte / 4, bits >>> 0);
    },
    orU64: (gpa, bits) => {
      const w = where(gpa, 8);
      if (!w || w.byte % 8 !== 0) return;
      let a = u64.get(w.r.buffer);
      if (!a) { a = new BigUint64Array(w.r.buffer); u64.set(w.r.buffer, a); }
      Atomics.or(a, w.byte / 8, BigInt.asUintN(64, bits));
    },
  };
}
