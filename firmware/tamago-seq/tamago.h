/*
 * Fixed low-memory addresses of TamaGo's amd64 package (amd64/amd64.h,
 * amd64/smp.go), shared by the assembly and C of tamago-seq.
 */
#ifndef TAMAGO_H
#define TAMAGO_H

#define PML4T 0x9000 /* Page Map Level 4 Table (512 GiB entries) */
#define PDPT  0xa000 /* Page Directory Pointer Table (1 GiB entries) */
#define PDT   0xb000 /* Page Directory Table (2 MiB entries) */
#define PT    0xc000 /* Page Table (4 KiB entries) */

#define APINIT_ADDRESS  0x4000 /* 16-bit AP trampoline; SIPI vector 0x04 */
#define APSTART_ADDRESS 0x5000 /* pointer to apstart */
#define GDT_ADDRESS     0x6000 /* AP GDT */
#define GDTR_ADDRESS    0x6018 /* AP GDTR */
#define TASK_ADDRESS    0x6020 /* AP task {sp, gp, pc}; its first u32 is the SMP semaphore */
#define CR3_ADDRESS     0x6028 /* CR3 for the APs (overlaps task.gp, as in TamaGo) */

#ifndef MSR_EFER
#define MSR_EFER 0xc0000080
#endif

/* Stacks for the APs once they reach apstart (ours; TamaGo's come from Go). */
#define AP_MAX       15
#define AP_STACK_SIZE 8192

/* TamaGo's IRQ_WAKEUP: the vector of the TSC-deadline timer and of wake-up IPIs. */
#define IRQ_WAKEUP 255

#endif
