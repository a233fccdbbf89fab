#include "kvmclock.h"
#include "cpu.h"
#include "trap.h"

/* One 32-byte record per vCPU; 64-byte aligned so none crosses a page. */
static struct pvclock_vcpu_time_info records[KVM_MAX_CLOCK_CPUS] __attribute__((aligned(64)));
static struct pvclock_wall_clock wall __attribute__((aligned(64)));
static struct kvm_clock_pairing pairing __attribute__((aligned(64)));

volatile struct pvclock_vcpu_time_info *kvmclock_record(unsigned slot)
{
	return &records[slot % KVM_MAX_CLOCK_CPUS];
}

bool kvmclock_enable(unsigned slot, uint32_t msr)
{
	if (slot >= KVM_MAX_CLOCK_CPUS || !msr)
		return false;
	/* bit 0 enables; the GPA is 4-byte aligned (msr.rst, MSR_KVM_SYSTEM_TIME_NEW) */
	return wrmsr_safe(msr, (uint64_t)(uintptr_t)&records[slot] | 1);
}

/* (delta << shift or >> -shift) * mul >> 32, as pvclock_scale_delta does. */
static uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

struct kvmclock_sample kvmclock_read(unsigned slot)
{
	volatile struct pvclock_vcpu_time_info *r = kvmclock_record(slot);
	struct kvmclock_sample s = { 0, 0, 0, 0, false };

	for (unsigned tries = 0; tries < 1000; tries++) {
		uint32_t v1 = r->version;
		barrier();
		if (v1 & 1)
			continue;
		uint64_t tsc_ts = r->tsc_timestamp;
		uint64_t sys = r->system_time;
		uint32_t mul = r->tsc_to_system_mul;
		int8_t shift = r->tsc_shift;
		uint8_t flags = r->flags;
		uint64_t tsc = rdtsc();
		barrier();
		if (r->version != v1)
			continue;
		if (!v1 && !tsc_ts && !sys && !mul)
			return s; /* never written by the host */
		s.tsc = tsc;
		s.ns = sys + scale_delta(tsc - tsc_ts, mul, shift);
		s.version = v1;
		s.flags = flags;
		s.valid = true;
		return s;
	}
	return s;
}

bool kvm_wallclock_read(uint32_t msr, struct pvclock_wall_clock *out)
{
	if (!msr || !wrmsr_safe(msr, (uint64_t)(uintptr_t)&wall))
		return false;
	for (unsigned tries = 0; tries < 1000; tries++) {
		uint32_t v1 = wall.version;
		barrier();
		if (v1 & 1)
			continue;
		out->version = v1;
		out->sec = wall.sec;
		out->nsec = wall.nsec;
		barrier();
		if (wall.version == v1)
			return v1 != 0 || out->sec != 0;
	}
	return false;
}

int64_t kvm_clock_pairing(struct kvm_clock_pairing *out, bool use_vmcall)
{
	uint64_t rax = KVM_HC_CLOCK_PAIRING;

	if (use_vmcall)
		__asm__ volatile("1: vmcall\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
				 : "+a"(rax) : "b"(&pairing), "c"(KVM_CLOCK_PAIRING_WALLCLOCK) : "memory");
	else
		__asm__ volatile("1: vmmcall\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
				 : "+a"(rax) : "b"(&pairing), "c"(KVM_CLOCK_PAIRING_WALLCLOCK) : "memory");
	*out = pairing;
	return (int64_t)rax;
}
