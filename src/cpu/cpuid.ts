/**
 * CPUID policy shared by both accelerators. (Placeholder interface: the full
 * model with named CPU models and feature flags is built in this module.)
 */
export interface CpuidResult { eax: number; ebx: number; ecx: number; edx: number }

export interface CpuidPolicy {
  /** The CPUID result vCPU `cpu` sees for (leaf, subleaf). Unknown leaves follow Intel/AMD rules. */
  lookup(cpu: number, leaf: number, subleaf: number): CpuidResult;
  /** TSC frequency advertised to the guest, in kHz (leaf 0x40000010). */
  readonly tscKhz: number;
}
