/* CPUID-derived facts, read the way TamaGo's amd64 package reads them. */
#ifndef FW_CPU_H
#define FW_CPU_H

#include <stdint.h>
#include <stdbool.h>
#include "io.h"

/* CPUID.1:ECX */
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_RDRAND       (1u << 30)
#define CPUID1_ECX_HYPERVISOR   (1u << 31)
/* CPUID.0x80000001:EDX */
#define CPUID81_EDX_PDPE1GB     (1u << 26)
#define CPUID81_EDX_LM          (1u << 29)
/* CPUID.0x80000007:EDX */
#define CPUID87_EDX_INVTSC      (1u << 8)
/* CPUID.0x40000001:EAX (Documentation/virt/kvm/x86/cpuid.rst) */
#define KVM_FEATURE_CLOCKSOURCE  (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

#define CPUID_VENDOR_ECX_INTEL 0x6c65746eu /* "ntel" of GenuineIntel */
#define CPUID_VENDOR_ECX_AMD   0x444d4163u /* "cAMD" of AuthenticAMD */
#define KVM_SIGNATURE_EBX      0x4b4d564bu /* "KVMK" */

uint32_t cpu_max_leaf(void);
uint32_t cpu_max_ext_leaf(void);
/* CPUID leaf, or all zeros if leaf is above the maximum of its range. */
struct cpuid_regs cpuid_checked(uint32_t leaf, uint32_t subleaf);

void cpu_vendor(char out[13]);
/* Brand string from 0x80000002..4 (trimmed), "" if not reported. */
void cpu_brand(char out[49]);

/*
 * Logical CPUs per TamaGo's amd64.NumCPU: AMD: CPUID.0x80000008:ECX[7:0]+1;
 * Intel: CPUID.0xB.1:EBX[15:0]; 0 for other vendors (TamaGo then uses
 * runtime.NumCPU()).
 */
unsigned cpu_count(void);

struct kvm_info {
	bool present;       /* 0x40000000 EBX = "KVMK" */
	uint32_t max_leaf;  /* 0x40000000 EAX (0 means 0x40000001) */
	uint32_t features;  /* 0x40000001 EAX */
	uint32_t clock_msr; /* kvmclock system-time MSR TamaGo would use, 0 if none */
	uint32_t wall_msr;
};
struct kvm_info kvm_detect(void);

/*
 * TSC frequency, following TamaGo's detectCoreFrequency: CPUID 0x15 (and
 * 0x16), then under KVM CPUID 0x40000010, else KVM clock pairing, else the
 * ACPI PM timer at port 0xb008. khz = 0 if nothing worked.
 * allow_pairing = false skips the hypercall: on PVM's KVM it never returns.
 */
struct tsc_freq {
	uint32_t khz;
	const char *source;
};
struct tsc_freq tsc_detect(bool allow_pairing);
/* TSC kHz implied by a kvmclock record: 10^6 * 2^32 / (mul * 2^shift); 0 if mul is 0. */
uint32_t tsc_khz_from_pvclock(uint32_t mul, int8_t shift);

/* MSR access that survives #GP (via the trap fixup table); false on #GP. */
bool rdmsr_safe(uint32_t msr, uint64_t *value);
bool wrmsr_safe(uint32_t msr, uint64_t value);

#endif
