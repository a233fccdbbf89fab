/*
 * Interrupt and exception handling shared by the guests. The IDT points
 * every vector into a table of 5-byte CALL instructions, the way TamaGo's
 * amd64/exception.s does: the handler finds the vector from the return
 * address the CALL pushed (vector 2, NMI, is a JMP, as in TamaGo).
 */
#ifndef FW_TRAP_H
#define FW_TRAP_H

#include <stdint.h>

/* Saved by lib/idt.S; lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code; /* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

typedef void (*irq_handler_fn)(struct trap_frame *f);

/* Fill the IDT (interrupt gates, selector 0x08) and LIDT it on this CPU. */
void idt_init(void);
/* LIDT the already filled IDT (application processors). */
void idt_load(void);
/* Handler for vector (32..255, or 2 for NMI). The handler must send EOI itself. */
void trap_set_handler(unsigned vector, irq_handler_fn fn);

/* Value left in RAX when an instruction listed in the fixup table faults. */
#define TRAP_FIXUP_RAX(vector) (0xffffffffdead0000ull | (vector))

/*
 * Run one instruction that may fault (#UD, #GP): "1:" is the instruction,
 * "2:" where to resume. On a fault RAX = TRAP_FIXUP_RAX(vector).
 */
#define TRAP_FIXUP_ENTRY(from, to) \
	".pushsection .fixup_table, \"a\"\n\t.balign 8\n\t.quad " from ", " to "\n\t.popsection\n\t"

/* Number of unexpected interrupts (vectors with no handler), for reports. */
extern volatile uint32_t trap_unexpected_irqs;

#endif
