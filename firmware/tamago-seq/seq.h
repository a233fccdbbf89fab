/* Shared between main.c and smp.c of tamago-seq. */
#ifndef TAMAGO_SEQ_H
#define TAMAGO_SEQ_H

#include <stdint.h>
#include <stdbool.h>

/* Busy-wait or sleep (TSC-deadline + HLT once the timer works) for ms milliseconds. */
void delay_ms(unsigned ms);
/* TSC ticks per millisecond (measured, reported or assumed). */
uint64_t tsc_per_ms(void);

struct smp_result {
	unsigned requested;   /* CPUs the loop tried to start, BSP included */
	unsigned online;      /* semaphore value + 1 once all arrived, else 1 (TamaGo's GOMAXPROCS) */
	uint32_t semaphore;   /* final value at TASK_ADDRESS */
	unsigned ipi_timeouts;
	uint64_t wait_ms;     /* how long the BSP waited for the semaphore */
};

/* TamaGo's CPU.Init: clear the task/semaphore words at 0x6020. */
void smp_reset_task(void);
/* TamaGo's InitSMP(cap) for ncpu CPUs (cap < 0: all). */
struct smp_result smp_init(unsigned ncpu, int cap);
/* TamaGo's CPU.Task: hand a task to the AP with this APIC ID through NMI; waits up to 1 s. */
bool smp_run_task(uint32_t apic_id, uint64_t arg);
extern volatile uint32_t smp_tasks_done;

#endif
