/*
 * tamago-seq: a guest that walks TamaGo's boot path on microvm
 * (board/qemu/microvm, amd64, kvm/pvclock, kvm/clock, soc/intel/rtc) and
 * checks what it finds, so the machine contract is tested without Go.
 *
 * Order, as TamaGo's microvm.Init and init(): CPU features, TSC frequency,
 * SMP task reset, exceptions (IDT), timer, APs, kvmclock; plus our checks.
 *
 * Command line (all optional):
 *   ticks=N       LAPIC timer interrupts to wait for (default 5, max 1000)
 *   smp=N         TamaGo's InitSMP(N): cap on CPUs (default: all; 1 = none)
 *   pairing=off   skip KVM_HC_CLOCK_PAIRING (default on, guarded by a
 *                 watchdog: on PVM's KVM the hypercall never completes)
 *   rdrand=off    skip RDRAND even if CPUID reports it
 *   trace=1       print "trace: <step>" before each step
 *   fault=null    read address 0 at the end (the null page is unmapped, as
 *                 in TamaGo): expect an EXCEPTION report and host status 5
 *
 * Output ends with "TAMAGO-SEQ OK" and isa-debug-exit value 0 (host status
 * 1) or "TAMAGO-SEQ FAIL <reasons>" and value 1 (status 3); without the
 * debug-exit device it triple-faults as TamaGo does (status 0, -no-reboot).
 */
#include "seq.h"
#include "tamago.h"
#include "../lib/io.h"
#include "../lib/cpu.h"
#include "../lib/exit.h"
#include "../lib/kvmclock.h"
#include "../lib/lapic.h"
#include "../lib/print.h"
#include "../lib/pvh.h"
#include "../lib/rtc.h"
#include "../lib/serial.h"
#include "../lib/trap.h"

#ifdef PAGES_1G
#define VARIANT "1 GiB pages"
#else
#define VARIANT "2 MiB pages"
#endif

#define SPURIOUS_VECTOR 0xef
#define RTC_MIN_YEAR 2024
#define UNIX_2024 1704067200ll

extern const char __image_start[];

/* --- failure reasons --- */

static char fail_reasons[512];
static size_t fail_len;

static void fail(const char *reason)
{
	size_t n = 0;
	while (reason[n])
		n++;
	if (fail_len + n + 2 >= sizeof(fail_reasons))
		return;
	if (fail_len)
		fail_reasons[fail_len++] = ' ';
	for (size_t i = 0; i < n; i++)
		fail_reasons[fail_len++] = reason[i];
	fail_reasons[fail_len] = '\0';
}

/* --- time --- */

static uint64_t tsc_khz;        /* 0: unknown */
static uint64_t assumed_per_ms = 1000000; /* 1 GHz when nothing tells us */
static bool timer_works;
static bool tsc_deadline;

uint64_t tsc_per_ms(void)
{
	return tsc_khz ? tsc_khz : assumed_per_ms;
}

/* --- LAPIC timer (vector IRQ_WAKEUP, as TamaGo's SetAlarm) --- */

static volatile uint32_t timer_ticks;
static volatile uint32_t spurious_irqs;

/* watchdog: a hypercall that never returns is skipped by the timer handler */
extern const char pairing_vmmcall_insn[], pairing_vmcall_insn[], pairing_resume[];
static volatile uint64_t watchdog_rip;
static volatile bool watchdog_fired;
#define WATCHDOG_RAX 0xffffffffdeadd06dull
#define PAIRING_WATCHDOG_MS 50

static void timer_handler(struct trap_frame *f)
{
	if (watchdog_rip && f->rip == watchdog_rip) {
		f->rip = (uint64_t)(uintptr_t)pairing_resume;
		f->rax = WATCHDOG_RAX;
		watchdog_fired = true;
		watchdog_rip = 0;
	} else {
		timer_ticks++;
	}
	lapic_eoi();
}

static void spurious_handler(struct trap_frame *f)
{
	(void)f;
	spurious_irqs++; /* no EOI for spurious interrupts (Intel SDM vol. 3A 11.9) */
}

static void timer_arm_ms(unsigned ms)
{
	if (tsc_deadline) {
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + ms * tsc_per_ms());
	} else {
		/* one-shot: QEMU counts the APIC timer at 1 GHz with divide-by-1 */
		lapic_write(LAPIC_TIMER_ICR, ms * 1000000u);
	}
}

static void timer_setup(void)
{
	lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	if (tsc_deadline) {
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | IRQ_WAKEUP);
	} else {
		lapic_write(LAPIC_TIMER_DCR, 0xb); /* divide by 1 */
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_ONE_SHOT | IRQ_WAKEUP);
	}
	/* the LVT write must reach the APIC before the deadline MSR (SDM 11.5.4.1) */
	(void)lapic_read(LAPIC_LVT_TIMER);
}

void delay_ms(unsigned ms)
{
	uint64_t t0 = rdtsc(), limit = ms * tsc_per_ms();

	if (timer_works) {
		/*
		 * TamaGo's idle governor: SetAlarm, then wfi (STI; HLT). Interrupts
		 * stay off from arming to HLT, so an early expiry stays pending and
		 * STI's one-instruction shadow delivers it to the HLT (no lost wake-up).
		 */
		cli();
		for (;;) {
			/* one TSC read per round: a second read may already be past the limit */
			uint64_t elapsed = rdtsc() - t0;
			if (elapsed >= limit)
				break;
			uint64_t left = limit - elapsed;
			uint64_t left_ms = left / tsc_per_ms();
			timer_arm_ms(left_ms ? (unsigned)left_ms : 1);
			sti_hlt();
			cli();
		}
		sti();
		return;
	}
	while (rdtsc() - t0 < limit)
		cpu_relax();
}

/* Wait for N timer interrupts; returns the number seen. */
static uint32_t count_ticks(uint32_t wanted, uint64_t *msr_after)
{
	uint32_t start = timer_ticks;
	*msr_after = ~0ull;

	timer_arm_ms(1);
	sti();
	/* first tick: polled with a 1 s bound, so a dead timer cannot hang us */
	uint64_t t0 = rdtsc(), limit = 1000 * tsc_per_ms();
	while (timer_ticks == start && rdtsc() - t0 < limit)
		cpu_relax();
	if (timer_ticks == start)
		return 0;
	if (tsc_deadline)
		*msr_after = rdmsr(MSR_TSC_DEADLINE); /* SDM: cleared when the timer fires */
	timer_works = true;
	/* the rest: HLT, woken by the timer (checked with interrupts off: no lost wake-up) */
	while (timer_ticks - start < wanted) {
		cli();
		uint32_t before = timer_ticks;
		timer_arm_ms(1);
		while (timer_ticks == before) {
			sti_hlt();
			cli();
		}
		sti();
	}
	return timer_ticks - start;
}

/* --- RDRAND (TamaGo's crypto/rand uses it unconditionally) --- */

static int rdrand64(uint64_t *v)
{
	uint64_t rax;
	uint8_t ok;
	__asm__ volatile("1: rdrand %0\n\tsetc %1\n2:\n\t" TRAP_FIXUP_ENTRY("1b", "2b")
			 : "=a"(rax), "=qm"(ok) : : "cc", "memory");
	if (rax == TRAP_FIXUP_RAX(6))
		return -1;
	*v = rax;
	return ok;
}

/* --- KVM clock pairing --- */

int64_t pairing_call(struct kvm_clock_pairing *result, int use_vmcall);

static struct kvm_clock_pairing pairing_buf __attribute__((aligned(64)));

static const char *pairing_result(int64_t rc)
{
	switch (rc) {
	case 0: return "ok";
	case -KVM_ENOSYS: return "-1000 (KVM_ENOSYS: not supported by this host)";
	case -KVM_EOPNOTSUPP: return "-95 (KVM_EOPNOTSUPP: host clocksource is not the TSC)";
	default: break;
	}
	if ((uint64_t)rc == TRAP_FIXUP_RAX(6))
		return "#UD (instruction not handled by the hypervisor)";
	if ((uint64_t)rc == WATCHDOG_RAX)
		return "never completed (skipped by the timer watchdog)";
	return "unexpected value";
}

static void do_pairing(int use_vmcall, const char *insn_name)
{
	const char *insn = use_vmcall ? pairing_vmcall_insn : pairing_vmmcall_insn;

	for (unsigned i = 0; i < sizeof(pairing_buf); i++)
		((volatile char *)&pairing_buf)[i] = 0;
	if (!timer_works) {
		/* no watchdog without a timer, and on PVM the call would never return */
		kprintf("clock pairing (%s): skipped (no working timer for the watchdog)\n", insn_name);
		return;
	}
	watchdog_fired = false;
	watchdog_rip = (uint64_t)(uintptr_t)insn;
	timer_arm_ms(PAIRING_WATCHDOG_MS);
	sti();
	uint64_t tsc_before = rdtsc();
	int64_t rc = pairing_call(&pairing_buf, use_vmcall);
	uint64_t tsc_after = rdtsc();
	watchdog_rip = 0;

	kprintf("clock pairing (%s): %s", insn_name, pairing_result(rc));
	if (rc == 0) {
		kprintf(", sec=%ld nsec=%ld tsc=%lu\n", pairing_buf.sec, pairing_buf.nsec, pairing_buf.tsc);
		if (pairing_buf.sec < UNIX_2024 || pairing_buf.nsec < 0 || pairing_buf.nsec >= 1000000000)
			fail("clock-pairing-time-bogus");
		/* the host samples the TSC while the hypercall runs */
		/* the lower bound saturates at 0: right after boot the TSC is below one second's ticks */
		uint64_t slack = 1000 * tsc_per_ms();
		uint64_t lower = tsc_before > slack ? tsc_before - slack : 0;
		if (pairing_buf.tsc < lower || pairing_buf.tsc > tsc_after + slack)
			fail("clock-pairing-tsc-bogus");
	} else {
		kprintf(" (rax=0x%lx)\n", (uint64_t)rc);
		if (rc != -KVM_ENOSYS && rc != -KVM_EOPNOTSUPP && (uint64_t)rc != TRAP_FIXUP_RAX(6) &&
		    (uint64_t)rc != WATCHDOG_RAX)
			fail("clock-pairing-unexpected-rax");
	}
}

/* --- helpers --- */

/* trace=1: a line before each step, to see where an emulator stops */
static bool tracing;
#define TRACE(step) do { if (tracing) kprintf("trace: %s\n", step); } while (0)

static bool cmdline_off(const char *key)
{
	char v[16];
	if (!cmdline_get(key, v, sizeof(v)))
		return false;
	return (v[0] == 'o' && v[1] == 'f' && v[2] == 'f' && !v[3]) || (v[0] == '0' && !v[1]);
}

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

void tamago_main(uint32_t start_info);

void tamago_main(uint32_t start_info)
{
	pvh_set_start_info(start_info);
	serial_init();
	tracing = cmdline_u64("trace", 0) != 0;
	kprintf("tamago-seq: TamaGo boot sequence (%s), image at %p\n", VARIANT, (void *)__image_start);
	kprintf("paging: PML4 at 0x%x, CR0=0x%lx CR4=0x%lx EFER=0x%lx\n", PML4T, read_cr0(), read_cr4(),
		rdmsr(MSR_EFER));
	if (pvh_start_info())
		kprintf("hvm_start_info at 0x%x, cmdline \"%s\"\n", start_info, pvh_cmdline());
	else
		kprintf("hvm_start_info at 0x%x: bad magic (inside the area TamaGo clears?)\n", start_info);

	/* --- amd64.CPU.Init: features --- */
	TRACE("features");
	struct cpuid_regs r1 = cpuid(1, 0);
	struct cpuid_regs r87 = cpuid_checked(0x80000007u, 0);
	bool invtsc = r87.edx & CPUID87_EDX_INVTSC;
	tsc_deadline = r1.ecx & CPUID1_ECX_TSC_DEADLINE;
	struct kvm_info kvm = kvm_detect();
	char vendor[13];
	cpu_vendor(vendor);
	kprintf("cpu: vendor %s, hypervisor bit %u, tsc-deadline %u, invariant tsc %u, rdrand %u\n", vendor,
		!!(r1.ecx & CPUID1_ECX_HYPERVISOR), tsc_deadline, invtsc, !!(r1.ecx & CPUID1_ECX_RDRAND));
	if (kvm.present)
		kprintf("kvm: max leaf 0x%x, features 0x%x, clock msr 0x%x\n", kvm.max_leaf, kvm.features,
			kvm.clock_msr);
	else
		kprintf("kvm: no KVM signature at CPUID 0x40000000\n");

	/* --- amd64.CPU.initTimers: TSC frequency (pairing deferred until the IDT exists) --- */
	TRACE("tsc-frequency");
	struct tsc_freq freq = tsc_detect(false);
	tsc_khz = freq.khz;

	/* --- reset SMP semaphore/task; EnableExceptions --- */
	TRACE("idt");
	smp_reset_task();
	idt_init();
	trap_set_handler(IRQ_WAKEUP, timer_handler);
	trap_set_handler(SPURIOUS_VECTOR, spurious_handler);

	/* --- LAPIC timer --- */
	TRACE("lapic-timer");
	uint32_t bsp_id = lapic_id();
	kprintf("lapic: id %u, version 0x%x\n", bsp_id, lapic_read(LAPIC_VER));
	timer_setup();
	uint64_t tsc_for_rate = rdtsc();
	uint64_t wanted = cmdline_u64("ticks", 5);
	if (wanted < 1 || wanted > 1000)
		wanted = 5;
	uint64_t deadline_msr = 0;
	uint32_t ticks = count_ticks((uint32_t)wanted, &deadline_msr);
	kprintf("timer: %s mode, vector %u, %u ticks\n", tsc_deadline ? "TSC-deadline" : "one-shot", IRQ_WAKEUP, ticks);
	if (!tsc_deadline)
		fail("no-tsc-deadline");
	if (!ticks)
		fail("timer-did-not-fire");
	if (tsc_deadline && ticks && deadline_msr != 0)
		fail("tsc-deadline-msr-not-cleared");

	/* --- the TSC frequency fallbacks: clock pairing (as TamaGo), then kvmclock's scale --- */
	TRACE("clock-pairing");
	bool do_pair = kvm.present && !cmdline_off("pairing");
	if (do_pair)
		do_pairing(0, "vmmcall");
	if (!tsc_khz && do_pair && pairing_buf.sec) {
		struct kvm_clock_pairing a = pairing_buf;
		if (pairing_call(&pairing_buf, 0) == 0) {
			int64_t dns = (pairing_buf.sec - a.sec) * 1000000000ll + (pairing_buf.nsec - a.nsec);
			if (dns > 0 && pairing_buf.tsc > a.tsc) {
				tsc_khz = (pairing_buf.tsc - a.tsc) * 1000000ull / (uint64_t)dns;
				freq.source = "kvm-clock-pairing";
			}
		}
	}

	/* --- pvclock.Init: kvmclock --- */
	TRACE("kvmclock");
	struct kvmclock_sample k1 = { 0, 0, 0, 0, false };
	bool kvmclock_ok = false;
	if (kvm.clock_msr) {
		if (!kvmclock_enable(0, kvm.clock_msr)) {
			fail("kvmclock-msr-gp");
		} else {
			k1 = kvmclock_read(0);
			kvmclock_ok = k1.valid;
			if (!k1.valid)
				fail("kvmclock-record-not-filled");
		}
	}
	if (!tsc_khz && kvmclock_ok) {
		volatile struct pvclock_vcpu_time_info *rec = kvmclock_record(0);
		tsc_khz = tsc_khz_from_pvclock(rec->tsc_to_system_mul, rec->tsc_shift);
		freq.source = "kvmclock-scale";
	}
	kprintf("tsc: %lu kHz (%s)\n", tsc_khz, tsc_khz ? freq.source : "unknown; 1 GHz assumed for timeouts");
	if (!tsc_khz)
		fail("tsc-frequency-unknown");
	/* TamaGo's pvclock.Init panics "could not set system timer" in this case */
	if (!invtsc && !kvm.clock_msr)
		fail("could-not-set-system-timer(no-invtsc-no-kvmclock)");
	if (do_pair)
		do_pairing(1, "vmcall");
	(void)tsc_for_rate;

	/* --- RTC (soc/intel/rtc) --- */
	TRACE("rtc");
	struct rtc_time rtc;
	const char *rtc_err = rtc_read(&rtc);
	if (rtc_err) {
		kprintf("rtc: %s\n", rtc_err);
		fail("rtc-unreadable");
	} else if (rtc.year < RTC_MIN_YEAR) {
		fail("rtc-year-before-2024");
	}

	/* --- RDRAND --- */
	TRACE("rdrand");
	if ((r1.ecx & CPUID1_ECX_RDRAND) && !cmdline_off("rdrand")) {
		uint64_t a = 0, b = 0;
		int ra = rdrand64(&a), rb = rdrand64(&b);
		kprintf("rdrand: %s\n", ra < 0 || rb < 0 ? "#UD" : (ra && rb && a != b) ? "ok" : "no entropy");
		if (ra < 0 || rb < 0)
			fail("rdrand-reported-but-ud");
		else if (!(ra && rb && a != b))
			fail("rdrand-no-entropy");
	}

	/* --- InitSMP --- */
	TRACE("smp");
	unsigned ncpu = cpu_count();
	if (!ncpu)
		ncpu = 1; /* TamaGo: runtime.NumCPU() */
	uint64_t cap = cmdline_u64("smp", ~0ull);
	struct smp_result smp = smp_init(ncpu, cap == ~0ull ? -1 : (int)cap);
	kprintf("smp: %u CPUs by CPUID, started %u, semaphore %u after %lu ms\n", ncpu, smp.requested,
		smp.semaphore, smp.wait_ms);
	if (smp.online != smp.requested)
		fail("aps-not-online");
	if (smp.ipi_timeouts)
		fail("ipi-delivery-status-stuck");
	unsigned tasks = 0;
	TRACE("nmi-tasks");
	for (unsigned i = 1; i < smp.online; i++)
		tasks += smp_run_task(i, i);
	if (tasks != smp.online - 1)
		fail("nmi-task-not-run");

	/* --- kvmclock consistency --- */
	TRACE("kvmclock-consistency");
	struct kvmclock_sample k2 = kvmclock_ok ? kvmclock_read(0) : k1;
	if (kvmclock_ok) {
		if (!k2.valid || k2.ns <= k1.ns) {
			fail("kvmclock-not-advancing");
		} else if (tsc_khz) {
			int64_t dns = (int64_t)(k2.ns - k1.ns);
			int64_t tsc_ns = (int64_t)((k2.tsc - k1.tsc) * 1000000ull / tsc_khz);
			int64_t diff = abs64(dns - tsc_ns);
			kprintf("kvmclock: +%ld ns vs TSC +%ld ns, flags 0x%x\n", dns, tsc_ns, k2.flags);
			if (diff > tsc_ns / 20 + 2000000) /* 5% + 2 ms */
				fail("kvmclock-disagrees-with-tsc");
		}
		struct pvclock_wall_clock wc;
		if (kvm_wallclock_read(kvm.wall_msr, &wc)) {
			int64_t now = (int64_t)wc.sec + (int64_t)((wc.nsec + k2.ns) / 1000000000u);
			kprintf("wall clock: boot %u.%09u, now %ld", wc.sec, wc.nsec, now);
			if (!rtc_err) {
				int64_t d = now - rtc_to_unix(&rtc);
				kprintf(", RTC differs by %ld s", d);
				/*
				 * The wall clock is the time at kvmclock 0, so wall + kvmclock = now
				 * (msr.rst, MSR_KVM_WALL_CLOCK_NEW). An RTC kept in local time may be
				 * off by a time-zone offset (a multiple of 15 min, at most 14 h);
				 * anything else beyond 2 s of RTC granularity and reading skew is wrong.
				 */
				int64_t off = abs64(d);
				int64_t to_quarter = off % 900 < 450 ? off % 900 : 900 - off % 900;
				if (off > 14 * 3600 + 2 || to_quarter > 2)
					fail("wallclock-disagrees-with-rtc");
			}
			kprintf("\n");
		} else {
			fail("kvm-wallclock-unreadable");
		}
	}

	TRACE("summary");
	if (trap_unexpected_irqs)
		fail("unexpected-interrupts");

	kprintf("cpus=%u timer_ticks=%u tsc_khz=%lu kvmclock_ns=%lu rtc=%04u-%02u-%02u %02u:%02u:%02u\n",
		smp.online, ticks, tsc_khz, kvmclock_ok ? k2.ns : 0ul, rtc_err ? 0 : rtc.year,
		rtc_err ? 0 : rtc.month, rtc_err ? 0 : rtc.day, rtc_err ? 0 : rtc.hour, rtc_err ? 0 : rtc.minute,
		rtc_err ? 0 : rtc.second);

	char how[16];
	if (cmdline_get("fault", how, sizeof(how))) {
		kprintf("fault=%s: reading address 0 (unmapped null page)\n", how);
		(void)*(volatile uint64_t *)0;
	}

	if (fail_len) {
		kprintf("TAMAGO-SEQ FAIL %s\n", fail_reasons);
		guest_exit(GUEST_EXIT_FAILURE);
	}
	kprintf("TAMAGO-SEQ OK\n");
	guest_exit(GUEST_EXIT_SUCCESS);
}
