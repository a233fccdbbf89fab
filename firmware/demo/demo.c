/*
 * demo: the guest `npx microvm-ts` boots when given no arguments. A short
 * tour of what the virtual machine looks like from inside, then a clean
 * end: isa-debug-exit value 0 if that device exists (host status 1), else
 * a triple fault, which ends the VM with status 0 under -no-reboot.
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "cpu.h"
#include "rtc.h"
#include "kvmclock.h"
#include "exit.h"

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

static const char *memmap_type(uint32_t t)
{
	switch (t) {
	case 1: return "RAM";
	case 2: return "reserved";
	case 3: return "ACPI";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	default: return "other";
	}
}

static void show_cpu(void)
{
	char vendor[13], brand[49], hv[13];
	cpu_vendor(vendor);
	cpu_brand(brand);
	struct cpuid_regs r1 = cpuid(1, 0);
	struct cpuid_regs r81 = cpuid_checked(0x80000001u, 0);
	struct cpuid_regs r87 = cpuid_checked(0x80000007u, 0);

	kprintf("  CPU        %s%s%s\n", vendor, brand[0] ? ", " : "", brand);
	if (r1.ecx & CPUID1_ECX_HYPERVISOR) {
		struct cpuid_regs h = cpuid(0x40000000u, 0);
		for (int i = 0; i < 4; i++) {
			hv[i] = (char)(h.ebx >> (8 * i));
			hv[4 + i] = (char)(h.ecx >> (8 * i));
			hv[8 + i] = (char)(h.edx >> (8 * i));
		}
		hv[12] = '\0';
		kprintf("  hypervisor \"%s\"\n", hv);
	} else {
		kprintf("  hypervisor none reported\n");
	}
	unsigned n = cpu_count();
	if (n)
		kprintf("  CPUs       %u (from CPUID topology, as TamaGo counts them)\n", n);
	else
		kprintf("  CPUs       unknown (vendor is neither Intel nor AMD)\n");
	kprintf("  features   long mode %s, 1 GiB pages %s, TSC-deadline %s, invariant TSC %s, RDRAND %s\n",
		yes_no(r81.edx & CPUID81_EDX_LM), yes_no(r81.edx & CPUID81_EDX_PDPE1GB),
		yes_no(r1.ecx & CPUID1_ECX_TSC_DEADLINE), yes_no(r87.edx & CPUID87_EDX_INVTSC),
		yes_no(r1.ecx & CPUID1_ECX_RDRAND));
}

static void show_memory(void)
{
	const struct hvm_start_info *si = pvh_start_info();
	if (!si) {
		kprintf("  memory     unknown (no hvm_start_info)\n");
		return;
	}
	uint64_t ram = pvh_ram_bytes();
	if (!ram) {
		kprintf("  memory     unknown (hvm_start_info version %u has no memory map)\n", si->version);
		return;
	}
	kprintf("  memory     %lu MiB of RAM; memory map from hvm_start_info:\n", ram >> 20);
	const struct hvm_memmap_table_entry *e =
		(const struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr;
	uint32_t count = si->memmap_entries > 32 ? 32 : si->memmap_entries;
	for (uint32_t i = 0; i < count; i++)
		if (e[i].size)
			kprintf("             0x%012lx-0x%012lx %s\n", e[i].addr, e[i].addr + e[i].size - 1,
				memmap_type(e[i].type));
}

/* Prints the kvmclock line; returns the TSC kHz its scale implies (0 if none). */
static uint32_t show_kvmclock(void)
{
	struct kvm_info kvm = kvm_detect();
	if (!kvm.clock_msr) {
		kprintf("  kvmclock   not available%s\n", kvm.present ? "" : " (no KVM paravirt interface)");
		return 0;
	}
	if (!kvmclock_enable(0, kvm.clock_msr)) {
		kprintf("  kvmclock   MSR 0x%x refused the write\n", kvm.clock_msr);
		return 0;
	}
	struct kvmclock_sample s = kvmclock_read(0);
	if (!s.valid) {
		kprintf("  kvmclock   MSR 0x%x accepted, but the host never filled the record\n", kvm.clock_msr);
		return 0;
	}
	kprintf("  kvmclock   %lu.%06lu s since the VM started (MSR 0x%x, TSC stable: %s)\n",
		s.ns / 1000000000u, (s.ns / 1000u) % 1000000u, kvm.clock_msr, yes_no(s.flags & 1));
	volatile struct pvclock_vcpu_time_info *r = kvmclock_record(0);
	return tsc_khz_from_pvclock(r->tsc_to_system_mul, r->tsc_shift);
}

static void show_time(void)
{
	struct rtc_time t;
	const char *err = rtc_read(&t);
	if (err)
		kprintf("  RTC        unavailable: %s\n", err);
	else
		kprintf("  RTC        %04u-%02u-%02u %02u:%02u:%02u (%s, %s)\n", t.year, t.month, t.day,
			t.hour, t.minute, t.second, t.binary ? "binary" : "BCD", t.h24 ? "24h" : "12h");

	uint32_t pvclock_khz = show_kvmclock();
	/* no clock-pairing hypercall here: it never returns on PVM's KVM */
	struct tsc_freq f = tsc_detect(false);
	if (f.khz)
		kprintf("  TSC        %u kHz (from %s)\n", f.khz, f.source);
	else if (pvclock_khz)
		kprintf("  TSC        about %u kHz (from the kvmclock scale)\n", pvclock_khz);
	else
		kprintf("  TSC        frequency not reported\n");
}

int guest_main(void)
{
	kprintf("\n");
	kprintf("Hello from microvm-ts guest: the demo\n");
	kprintf("=====================================\n");
	kprintf("This is a small x86-64 program (firmware/demo in the microvm-ts package),\n");
	kprintf("booted like QEMU's `-machine microvm -kernel`: PVH entry, long mode, COM1.\n");
	kprintf("What it sees:\n");
	show_cpu();
	show_memory();
	show_time();
	kprintf("  cmdline    \"%s\"\n", pvh_cmdline());
	kprintf("\n");
	kprintf("Boot your own PVH kernel the way you would with QEMU, for example:\n");
	kprintf("  npx microvm-ts -machine microvm,pit=off,pic=off,rtc=on -m 512M \\\n");
	kprintf("      -nographic -no-reboot -kernel your-kernel.elf -append \"...\"\n");
	kprintf("Add -enable-kvm to use KVM, -smp N for more CPUs, -S -s to wait for gdb.\n");
	kprintf("The demo ends now (isa-debug-exit if present, else a triple fault).\n");
	return GUEST_EXIT_SUCCESS;
}
