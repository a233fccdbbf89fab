/*
 * Starting the application processors the way TamaGo's amd64/smp.go does:
 * relocate the trampoline to 0x4000, write the AP GDT/GDTR/CR3 words, then
 * for each AP an INIT IPI, 10 ms, and one SIPI with vector 0x04; then wait
 * up to 1 s for the semaphore at 0x6020 to count every AP.
 */
#include "seq.h"
#include "tamago.h"
#include "../lib/io.h"
#include "../lib/lapic.h"
#include "../lib/print.h"
#include "../lib/spinlock.h"
#include "../lib/trap.h"

extern const char apinit_start[], apinit_end[];
extern void apstart(void);

struct task {
	uint64_t sp;
	uint64_t gp;
	uint64_t pc;
};

#define TASK ((volatile struct task *)TASK_ADDRESS)
#define SEMAPHORE ((volatile uint32_t *)TASK_ADDRESS)

volatile uint32_t smp_tasks_done;

static void write64(uint64_t addr, uint64_t v) { *(volatile uint64_t *)(uintptr_t)addr = v; }
static void write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)(uintptr_t)addr = v; }
static void write16(uint64_t addr, uint16_t v) { *(volatile uint16_t *)(uintptr_t)addr = v; }

void smp_reset_task(void)
{
	write64(TASK_ADDRESS + 0x00, 0);
	write64(TASK_ADDRESS + 0x08, 0);
	write64(TASK_ADDRESS + 0x10, 0);
}

/* TamaGo's handleNMI: EOI, return. NMIs wake idle APs for CPU.Task. */
static void nmi_handler(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
}

void ap_main(uint32_t ticket) __attribute__((noreturn));

void ap_main(uint32_t ticket)
{
	(void)ticket;
	kprintf("cpu %u online\n", lapic_id());
	/* the semaphore the BSP waits on (TamaGo: LOCK XADDL in ·apstart) */
	atomic_fetch_add32(SEMAPHORE, 1);

	/* TamaGo's idle loop: wait for the NMI from CPU.Task, then run the task */
	for (;;) {
		cli();
		hlt();
		uint64_t pc = TASK->pc;
		if (!pc)
			continue;
		uint64_t gp = TASK->gp;
		TASK->sp = 0;
		TASK->gp = 0;
		TASK->pc = 0;
		lapic_write(LAPIC_SVR, SVR_ENABLE); /* TamaGo: enable LAPIC (spurious vector 0) */
		sti();
		((void (*)(uint64_t))(uintptr_t)pc)(gp);
	}
}

static void ap_task(uint64_t arg)
{
	kprintf("cpu %u task %lu (woken by NMI)\n", lapic_id(), arg);
	atomic_fetch_add32(&smp_tasks_done, 1);
}

struct smp_result smp_init(unsigned ncpu, int cap)
{
	struct smp_result r = { 1, 1, 0, 0, 0 };

	if (cap == 0 || cap == 1 || ncpu <= 1)
		return r;
	trap_set_handler(2, nmi_handler);

	/* copy apinit to a 16-bit address reachable in real mode; apstart pointer */
	size_t len = (size_t)(apinit_end - apinit_start);
	volatile char *dst = (volatile char *)(uintptr_t)APINIT_ADDRESS;
	for (size_t i = 0; i < len; i++)
		dst[i] = apinit_start[i];
	write64(APSTART_ADDRESS, (uint64_t)(uintptr_t)apstart);

	/* AP GDT: null, code (x/r), data (r/w); GDTR; CR3 */
	write64(GDT_ADDRESS + 0x00, 0x0000000000000000ull);
	write64(GDT_ADDRESS + 0x08, 0x00209a00000fffffull);
	write64(GDT_ADDRESS + 0x10, 0x00009200000fffffull);
	write16(GDTR_ADDRESS + 0x00, 3 * 8 - 1);
	write32(GDTR_ADDRESS + 0x02, GDT_ADDRESS);
	write32(CR3_ADDRESS, (uint32_t)read_cr3());

	unsigned i;
	for (i = 1; i < ncpu; i++) {
		if (cap > 0 && i == (unsigned)cap)
			break;
		/* AMD64 APM vol. 2, 15.27.8: the vector is the upper 8 bits of a 20-bit address */
		uint8_t vector = APINIT_ADDRESS >> 12;
		if (!lapic_ipi(i, vector, ICR_LEVEL_ASSERT | ICR_DLV_INIT))
			r.ipi_timeouts++;
		delay_ms(10);
		if (!lapic_ipi(i, vector, ICR_LEVEL_ASSERT | ICR_DLV_SIPI))
			r.ipi_timeouts++;
	}
	r.requested = i;

	/* TamaGo's GOMAXPROCS: all i-1 APs at their idle state within 1 s, or stay at 1 */
	uint64_t t0 = rdtsc(), limit = 1000 * tsc_per_ms();
	while (*SEMAPHORE != i - 1 && rdtsc() - t0 < limit)
		cpu_relax();
	r.wait_ms = (rdtsc() - t0) / tsc_per_ms();
	r.semaphore = *SEMAPHORE;
	if (r.semaphore == i - 1)
		r.online = i;
	return r;
}

bool smp_run_task(uint32_t apic_id, uint64_t arg)
{
	uint32_t before = smp_tasks_done;

	/* TamaGo's CPU.Task: write {sp, gp, pc} at 0x6020, then an NMI to the AP */
	TASK->sp = 1; /* unused by our APs; TamaGo refuses a zero sp */
	TASK->gp = arg;
	TASK->pc = (uint64_t)(uintptr_t)ap_task;
	lapic_ipi(apic_id, 0, ICR_DLV_NMI);

	uint64_t t0 = rdtsc(), limit = 1000 * tsc_per_ms();
	while (smp_tasks_done == before && rdtsc() - t0 < limit)
		cpu_relax();
	return smp_tasks_done != before;
}
