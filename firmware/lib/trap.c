#include "trap.h"
#include "io.h"
#include "lapic.h"
#include "print.h"
#include "exit.h"

/* 64-bit interrupt gate (AMD64 APM vol. 2, 4.8.4 "Gate Descriptors"). */
struct gate_desc {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t attributes;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct gate_desc) == 16, "gate descriptors are 16 bytes");

#define GATE_INTERRUPT 0x8e /* P=1, DPL=0, type 0xE (TamaGo's InterruptGate) */
#define KERNEL_CS 0x08

struct idt_register {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const char idt_stubs[];
extern const uint64_t __fixup_table_start[], __fixup_table_end[];

static struct gate_desc idt[256] __attribute__((aligned(16)));
/* Named after TamaGo's ·idtptr: its Fault() zeroes this before the triple fault. */
struct idt_register idtptr;
static irq_handler_fn handlers[256];
volatile uint32_t trap_unexpected_irqs;
static volatile uint32_t exception_depth;

void idt_load(void)
{
	__asm__ volatile("lidt %0" : : "m"(idtptr) : "memory");
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = (uint64_t)(uintptr_t)(idt_stubs + 5 * v);
		idt[v].offset_lo = (uint16_t)off;
		idt[v].selector = KERNEL_CS;
		idt[v].ist = 0;
		idt[v].attributes = GATE_INTERRUPT;
		idt[v].offset_mid = (uint16_t)(off >> 16);
		idt[v].offset_hi = (uint32_t)(off >> 32);
		idt[v].reserved = 0;
	}
	idtptr.limit = sizeof(idt) - 1;
	idtptr.base = (uint64_t)(uintptr_t)idt;
	idt_load();
}

void trap_set_handler(unsigned vector, irq_handler_fn fn)
{
	if (vector < 256)
		handlers[vector] = fn;
}

static const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 floating point", "#AC alignment check",
	"#MC machine check", "#XM SIMD floating point", "#VE virtualization",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

void trap_exception(struct trap_frame *f);
void trap_interrupt(struct trap_frame *f);

void trap_exception(struct trap_frame *f)
{
	/* An instruction that was expected to possibly fault: resume after it. */
	for (const uint64_t *e = __fixup_table_start; e + 1 < __fixup_table_end; e += 2) {
		if (e[0] == f->rip && (f->vector == 6 || f->vector == 13)) {
			f->rip = e[1];
			f->rax = TRAP_FIXUP_RAX(f->vector);
			return;
		}
	}

	if (exception_depth++ > 0)
		triple_fault(); /* a fault while reporting a fault */

	uint64_t cr2 = read_cr2();
	const char *name = f->vector < 32 ? exception_names[f->vector] : "?";
	kprintf_force("\nEXCEPTION: vector %u (%s) error=0x%lx rip=0x%lx cs=0x%lx rflags=0x%lx rsp=0x%lx cr2=0x%lx apic_id=%u\n",
		      (unsigned)f->vector, name, f->error_code, f->rip, f->cs, f->rflags, f->rsp, cr2,
		      lapic_id());
	guest_exit(GUEST_EXIT_EXCEPTION);
}

void trap_interrupt(struct trap_frame *f)
{
	irq_handler_fn fn = handlers[f->vector & 0xff];
	if (fn) {
		fn(f);
		return;
	}
	trap_unexpected_irqs++;
	if (f->vector != 2)
		lapic_eoi();
}
