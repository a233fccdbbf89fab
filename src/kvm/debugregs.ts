/**
 * Hardware breakpoints and watchpoints as x86 debug registers (Intel SDM
 * Vol. 3B 19.2 "Debug Registers"): DR0-DR3 hold linear addresses, DR7 holds
 * per-slot local enables (L0..L3, bits 0,2,4,6), R/W fields (bits 16+4i:
 * 00 execute, 01 write, 11 read/write) and LEN fields (bits 18+4i: 00 one
 * byte, 01 two, 11 four, 10 eight). KVM_SET_GUEST_DEBUG takes them in
 * debugreg[0..3] and debugreg[7].
 */
export type HwSlotKind = 'exec' | 'write' | 'access';

export interface HwSlot { kind: HwSlotKind; gva: bigint; len: 1 | 2 | 4 | 8 }

export const DR7_RW: Record<HwSlotKind, bigint> = { exec: 0n, write: 1n, access: 3n };
export const DR7_LEN: Record<1 | 2 | 4 | 8, bigint> = { 1: 0n, 2: 1n, 4: 3n, 8: 2n };
/** DR7 bit 10 reads as 1. */
export const DR7_FIXED_1 = 1n << 10n;
export const MAX_HW_SLOTS = 4;

/** Whether a slot can be programmed: an aligned length; execution breakpoints have length 1. */
export function validHwSlot(s: HwSlot): boolean {
  if (s.kind === 'exec' && s.len !== 1) return false;
  if (s.len !== 1 && s.len !== 2 && s.len !== 4 && s.len !== 8) return false;
  return s.gva >= 0n && s.gva < 1n << 64n && s.gva % BigInt(s.len) === 0n;
}

/** debugreg[0..7] for up to four slots (DR6 left 0). */
export function encodeDebugRegs(slots: readonly HwSlot[]): bigint[] {
  if (slots.length > MAX_HW_SLOTS) throw new RangeError('at most 4 hardware slots');
  const dr = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
  let dr7 = slots.length > 0 ? DR7_FIXED_1 : 0n;
  slots.forEach((s, i) => {
    const n = BigInt(i);
    dr[i] = s.gva;
    dr7 |= 1n << (2n * n);
    dr7 |= DR7_RW[s.kind] << (16n + 4n * n);
    dr7 |= DR7_LEN[s.len] << (18n + 4n * n);
  });
  dr[7] = dr7;
  return dr;
}
