#include "cpu.h"
#include "trap.h"
#include "kvmclock.h"

uint32_t cpu_max_leaf(void) { return cpuid(0, 0).eax; }
uint32_t cpu_max_ext_leaf(void) { return cpuid(0x80000000u, 0).eax; }

struct cpuid_regs cpuid_checked(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs zero = { 0, 0, 0, 0 };
	uint32_t max;

	if (leaf >= 0x80000000u)
		max = cpu_max_ext_leaf();
	else if (leaf >= 0x40000000u)
		max = 0x4fffffffu; /* hypervisor range: callers check the KVM maximum */
	else
		max = cpu_max_leaf();
	if (leaf > max)
		return zero;
	return cpuid(leaf, subleaf);
}

static void put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

void cpu_vendor(char out[13])
{
	struct cpuid_regs r = cpuid(0, 0);
	put32(out, r.ebx);
	put32(out + 4, r.edx);
	put32(out + 8, r.ecx);
	out[12] = '\0';
}

void cpu_brand(char out[49])
{
	out[0] = '\0';
	if (cpu_max_ext_leaf() < 0x80000004u)
		return;
	for (uint32_t i = 0; i < 3; i++) {
		struct cpuid_regs r = cpuid(0x80000002u + i, 0);
		put32(out + 16 * i, r.eax);
		put32(out + 16 * i + 4, r.ebx);
		put32(out + 16 * i + 8, r.ecx);
		put32(out + 16 * i + 12, r.edx);
	}
	out[48] = '\0';
	/* trim leading and trailing spaces */
	int start = 0, end = 48;
	while (out[start] == ' ')
		start++;
	while (end > start && (out[end - 1] == ' ' || out[end - 1] == '\0'))
		end--;
	int j = 0;
	for (int i = start; i < end; i++)
		out[j++] = out[i];
	out[j] = '\0';
}

unsigned cpu_count(void)
{
	uint32_t vendor = cpuid(0, 0).ecx;

	if (vendor == CPUID_VENDOR_ECX_AMD)
		return (cpuid_checked(0x80000008u, 0).ecx & 0xff) + 1;
	if (vendor == CPUID_VENDOR_ECX_INTEL)
		return cpuid_checked(0xb, 1).ebx & 0xffff;
	return 0;
}

struct kvm_info kvm_detect(void)
{
	struct kvm_info k = { false, 0, 0, 0, 0 };
	struct cpuid_regs r = cpuid(0x40000000u, 0);

	if (r.ebx != KVM_SIGNATURE_EBX)
		return k;
	k.present = true;
	k.max_leaf = r.eax ? r.eax : 0x40000001u;
	k.features = cpuid(0x40000001u, 0).eax;
	/* TamaGo prefers the new MSR (KVM_FEATURE_CLOCKSOURCE2) when both exist */
	if (k.features & KVM_FEATURE_CLOCKSOURCE) {
		k.clock_msr = MSR_KVM_SYSTEM_TIME;
		k.wall_msr = MSR_KVM_WALL_CLOCK;
	}
	if (k.features & KVM_FEATURE_CLOCKSOURCE2) {
		k.clock_msr = MSR_KVM_SYSTEM_TIME_NEW;
		k.wall_msr = MSR_KVM_WALL_CLOCK_NEW;
	}
	return k;
}

#define ACPI_PM_TIMER_PORT 0xb008
#define ACPI_PM_FREQ 3579545u

/* As TamaGo's calibrateByTimer: an absent port reads all ones. */
static uint32_t calibrate_by_pm_timer(void)
{
	const uint32_t mask = 0xffffff, loop = ACPI_PM_FREQ / 100;
	uint32_t a = inl(ACPI_PM_TIMER_PORT), b = a;
	uint64_t tsc_a = rdtsc(), tsc_b = tsc_a;

	if (a & ~mask)
		return 0;
	for (unsigned spins = 0; spins < 10000000; spins++) {
		b = inl(ACPI_PM_TIMER_PORT);
		if (((b - a) & mask) > loop) {
			tsc_b = rdtsc();
			break;
		}
	}
	uint32_t ticks = (b - a) & mask;
	if (!ticks || tsc_b == tsc_a)
		return 0;
	return (uint32_t)((tsc_b - tsc_a) * ACPI_PM_FREQ / ticks / 1000);
}

struct tsc_freq tsc_detect(bool allow_pairing)
{
	struct tsc_freq f = { 0, "none" };

	/* CPUID 0x15: TSC/crystal ratio EBX/EAX, crystal Hz in ECX */
	struct cpuid_regs r15 = cpuid_checked(0x15, 0);
	if (r15.eax && r15.ebx) {
		uint64_t crystal = r15.ecx;
		if (!crystal) {
			uint32_t base_mhz = cpuid_checked(0x16, 0).eax;
			crystal = (uint64_t)base_mhz * 1000000u * r15.eax / r15.ebx;
		}
		uint64_t hz = crystal * r15.ebx / r15.eax;
		if (hz) {
			f.khz = (uint32_t)(hz / 1000);
			f.source = "cpuid.15h";
		}
	}

	struct kvm_info kvm = kvm_detect();
	if (kvm.present) {
		uint32_t khz = kvm.max_leaf >= 0x40000010u ? cpuid(0x40000010u, 0).eax : 0;
		if (khz) {
			f.khz = khz;
			f.source = "cpuid.40000010h";
		} else {
			struct kvm_clock_pairing a, b;
			if (allow_pairing && kvm_clock_pairing(&a, false) == 0 && kvm_clock_pairing(&b, false) == 0) {
				int64_t dns = (b.sec - a.sec) * 1000000000ll + (b.nsec - a.nsec);
				if (dns > 0 && b.tsc > a.tsc) {
					f.khz = (uint32_t)((b.tsc - a.tsc) * 1000000ull / (uint64_t)dns);
					f.source = "kvm-clock-pairing";
				}
			}
			if (!f.khz && (f.khz = calibrate_by_pm_timer()))
				f.source = "acpi-pm-timer";
		}
	}
	return f;
}

bool rdmsr_safe(uint32_t msr, uint64_t *value)
{
	uint64_t rax;
	uint32_t hi;
	__asm__ volatile("1: rdmsr\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
			 : "=a"(rax), "=d"(hi) : "c"(msr) : "memory");
	if (rax == TRAP_FIXUP_RAX(13))
		return false;
	*value = ((uint64_t)hi << 32) | (uint32_t)rax;
	return true;
}

bool wrmsr_safe(uint32_t msr, uint64_t value)
{
	uint64_t rax = (uint32_t)value;
	__asm__ volatile("1: wrmsr\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
			 : "+a"(rax) : "c"(msr), "d"((uint32_t)(value >> 32)) : "memory");
	return rax != TRAP_FIXUP_RAX(13);
}

uint32_t tsc_khz_from_pvclock(uint32_t mul, int8_t shift)
{
	if (!mul || shift < -10 || shift > 31)
		return 0;
	/* ns = (tsc << shift) * mul >> 32, so kHz = 10^6 * 2^32 / (mul << shift); fits in 64 bits */
	uint64_t num = 1000000ull << 32;
	uint64_t den = mul;
	if (shift >= 0)
		den <<= shift;
	else
		num <<= -shift;
	return (uint32_t)(num / den);
}
