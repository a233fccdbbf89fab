/**
 * A boot plan: every range the boot will occupy in guest memory, checked
 * against RAM and against each other, plus the bytes to put there. Nothing
 * touches guest memory until `commit()`, so a bad image or option fails with
 * a LoaderError and leaves memory as it was ("never a partial boot").
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { LoaderError, type LoaderErrorCode, hex } from './errors.js';
import { checkedAdd } from './bytes.js';

export type ClaimKind = 'kernel' | 'initrd' | 'module' | 'boot-data' | 'acpi';

export interface Claim {
  readonly kind: ClaimKind;
  /** What occupies the range, for messages ("PT_LOAD segment 1", "hvm_start_info"). */
  readonly what: string;
  readonly gpa: number;
  readonly size: number;
}

type Write = { gpa: number; data: Uint8Array } | { gpa: number; zero: number };

function outsideRamCode(kind: ClaimKind): LoaderErrorCode {
  switch (kind) {
    case 'kernel': return 'SEGMENT_OUTSIDE_RAM';
    case 'initrd':
    case 'module': return 'INITRD_TOO_LARGE';
    case 'boot-data':
    case 'acpi': return 'RAM_TOO_SMALL';
    default: { const k: never = kind; return k; }
  }
}

function overlapCode(a: ClaimKind, b: ClaimKind): LoaderErrorCode {
  if (a === 'kernel' && b === 'kernel') return 'SEGMENTS_OVERLAP';
  const data = (k: ClaimKind): boolean => k === 'boot-data' || k === 'acpi';
  if (data(a) || data(b)) return 'BOOT_DATA_OVERLAP';
  return 'INITRD_OVERLAPS_KERNEL';
}

function range(gpa: number, size: number): string {
  return `[${hex(gpa)}, ${hex(gpa + size)})`;
}

export class BootPlan {
  private readonly claimList: Claim[] = [];
  private readonly writes: Write[] = [];

  constructor(readonly mem: GuestMemory) {}

  get claims(): readonly Claim[] { return this.claimList; }

  /**
   * Reserve [gpa, gpa+size) for `what`. Throws when the range is not wholly
   * RAM or overlaps an earlier claim. Empty ranges are not recorded.
   */
  claim(kind: ClaimKind, what: string, gpa: number, size: number): void {
    if (size === 0) return;
    const end = checkedAdd(gpa, size);
    if (end === undefined || gpa < 0 || size < 0 || !this.mem.isRangeRam(gpa, size)) {
      const shown = end === undefined ? `${hex(gpa)}+${hex(size)}` : range(gpa, size);
      throw new LoaderError(outsideRamCode(kind),
        `${what} ${shown} is not inside guest RAM (${this.ramDescription()})`);
    }
    for (const c of this.claimList) {
      if (gpa < c.gpa + c.size && c.gpa < end) {
        throw new LoaderError(overlapCode(c.kind, kind),
          `${what} ${range(gpa, size)} overlaps ${c.what} ${range(c.gpa, c.size)}`);
      }
    }
    this.claimList.push({ kind, what, gpa, size });
  }

  /** The first claim overlapping [gpa, gpa+size), if any (for placement decisions). */
  overlapping(gpa: number, size: number): Claim | undefined {
    return this.claimList.find((c) => gpa < c.gpa + c.size && c.gpa < gpa + size);
  }

  /** Queue bytes for [gpa, gpa+data.length); the range must lie inside one claim. */
  write(gpa: number, data: Uint8Array): void {
    this.assertClaimed(gpa, data.length);
    this.writes.push({ gpa, data });
  }

  /** Queue zeroing of [gpa, gpa+len) (ELF bss, padding). */
  zero(gpa: number, len: number): void {
    if (len === 0) return;
    this.assertClaimed(gpa, len);
    this.writes.push({ gpa, zero: len });
  }

  /** Write everything. Only RAM-checked ranges reach here, so this cannot fail halfway. */
  commit(): void {
    for (const w of this.writes) {
      if ('data' in w) this.mem.writeBytes(w.gpa, w.data);
      else this.mem.fill(w.gpa, w.zero, 0);
    }
    this.writes.length = 0;
  }

  private assertClaimed(gpa: number, len: number): void {
    if (len === 0) return;
    const ok = this.claimList.some((c) => gpa >= c.gpa && gpa + len <= c.gpa + c.size);
    // An internal invariant: planners claim before they write.
    if (!ok) throw new Error(`BootPlan: write ${range(gpa, len)} outside any claimed range`);
  }

  private ramDescription(): string {
    return 'RAM is ' + this.mem.regions.map((r) => range(r.gpa, r.size)).join(', ');
  }
}
