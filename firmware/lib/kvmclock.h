/*
 * kvmclock and the KVM clock-pairing hypercall
 * (Documentation/virt/kvm/x86/msr.rst, hypercalls.rst).
 */
#ifndef FW_KVMCLOCK_H
#define FW_KVMCLOCK_H

#include <stdint.h>
#include <stdbool.h>

struct pvclock_vcpu_time_info {
	uint32_t version;          /* odd while the host updates the record */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;      /* ns at tsc_timestamp */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;             /* bit 0: PVCLOCK_TSC_STABLE_BIT */
	uint8_t pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

struct kvm_clock_pairing {
	int64_t sec;
	int64_t nsec;
	uint64_t tsc;
	uint32_t flags;
	uint32_t pad[9];
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock record is 32 bytes");
_Static_assert(sizeof(struct kvm_clock_pairing) == 64, "clock pairing record is 64 bytes");

#define KVM_MAX_CLOCK_CPUS 16
#define KVM_HC_CLOCK_PAIRING 9
#define KVM_CLOCK_PAIRING_WALLCLOCK 0
#define KVM_ENOSYS 1000
#define KVM_EOPNOTSUPP 95

/* Point msr (0x4b564d01 or 0x12) at this CPU's record (slot < KVM_MAX_CLOCK_CPUS). */
bool kvmclock_enable(unsigned slot, uint32_t msr);
/* The record of a slot (host-written). */
volatile struct pvclock_vcpu_time_info *kvmclock_record(unsigned slot);

struct kvmclock_sample {
	uint64_t ns;          /* system_time + scaled TSC delta */
	uint64_t tsc;         /* the TSC the ns value belongs to */
	uint32_t version;
	uint8_t flags;
	bool valid;           /* false: never got an even, unchanged version */
};
/* Read the record (retrying while version is odd or changes) and compute ns. */
struct kvmclock_sample kvmclock_read(unsigned slot);

/* Wall clock at system_time 0 via msr (0x4b564d00 or 0x11). */
bool kvm_wallclock_read(uint32_t msr, struct pvclock_wall_clock *out);

/*
 * KVM_HC_CLOCK_PAIRING with VMMCALL (as TamaGo) or VMCALL. Returns RAX:
 * 0 on success, -KVM_ENOSYS / -KVM_EOPNOTSUPP from the host, or
 * TRAP_FIXUP_RAX(6) if the instruction raised #UD.
 */
int64_t kvm_clock_pairing(struct kvm_clock_pairing *out, bool use_vmcall);

#endif
