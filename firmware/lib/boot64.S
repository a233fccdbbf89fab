/*
 * Generic PVH entry for hello, exit-code, demo and bench-cpu: identity-map
 * the low 4 GiB with 2 MiB pages (no 1 GiB pages: PVM's KVM cannot run
 * them), enter long mode and call lib_start(start_info) in crt.c.
 *
 * Entry state (PVH, Xen docs/misc/pvh.pandoc): 32-bit protected mode,
 * paging off, flat CS/DS/ES/SS, EBX = hvm_start_info physical address.
 */
#include "pvh-note.h"

	PVH_NOTE pvh_start32

#define CR0_PE		(1 << 0)
#define CR0_MP		(1 << 1)
#define CR0_EM		(1 << 2)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define CR4_PGE		(1 << 7)
#define CR4_OSFXSR	(1 << 9)
#define CR4_OSXMMEXCPT	(1 << 10)
#define EFER_LME	(1 << 8)
#define MSR_EFER	0xc0000080

#define PTE_P		(1 << 0)
#define PTE_RW		(1 << 1)
#define PTE_PCD		(1 << 4)
#define PTE_PS		(1 << 7)

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov	%ebx, %esi			/* keep hvm_start_info */

	/* zero .bss (the page tables and the stack live there) */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$2, %ecx
	xor	%eax, %eax
	rep stosl

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3 */
	movl	$(boot_pdpt + PTE_RW + PTE_P), boot_pml4
	mov	$boot_pdpt, %edi
	mov	$(boot_pd + PTE_RW + PTE_P), %eax
	mov	$4, %ecx
1:	mov	%eax, (%edi)
	add	$4096, %eax
	add	$8, %edi
	loop	1b

	/* PD entries: 2048 x 2 MiB identity pages; 3..4 GiB (MMIO) uncached */
	mov	$boot_pd, %edi
	mov	$(PTE_PS + PTE_RW + PTE_P), %eax
	mov	$2048, %ecx
2:	cmp	$0xc0000000 + PTE_PS + PTE_RW + PTE_P, %eax
	jb	3f
	or	$PTE_PCD, %eax
3:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	2b

	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$(CR4_PAE | CR4_PGE), %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0			/* IA-32e compatibility mode */

	lgdt	boot_gdtr
	ljmp	$0x08, $long_mode		/* CS.L = 1: 64-bit mode */

	.code64
long_mode:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$boot_stack_top, %rsp

	/* SSE on, as TamaGo's sse_enable: CR0.EM=0, CR0.MP=1, CR4.OSFXSR|OSXMMEXCPT */
	mov	%cr0, %rax
	and	$~CR0_EM, %eax
	or	$CR0_MP, %eax
	mov	%rax, %cr0
	mov	%cr4, %rax
	or	$(CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov	%rax, %cr4

	mov	%esi, %edi			/* lib_start(start_info) */
	xor	%ebp, %ebp
	call	lib_start
4:	cli
	hlt
	jmp	4b

	.section .rodata
	.balign 16
boot_gdt:
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf92000000ffff		/* 0x10: data, 4 GiB */
boot_gdt_end:
	.balign 4
	.word	0
boot_gdtr:
	.word	boot_gdt_end - boot_gdt - 1
	.long	boot_gdt

	.section .bss
	.balign 4096
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096
	.balign 16
boot_stack:	.skip 32768
	.globl boot_stack_top
boot_stack_top:
