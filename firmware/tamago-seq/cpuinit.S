/*
 * tamago-seq entry: TamaGo's amd64/init.s boot sequence, re-expressed in
 * GNU assembler (the facts, not the code): PVH 32-bit entry, page tables
 * at 0x9000..0xcfff, CR4.PAE|PGE, EFER.LME, CR0.PG|PE, LGDT, a far return
 * into 64-bit code, SSE, the 4 KiB null-page table, then C.
 *
 * Built twice: with PAGES_1G exactly TamaGo's layout (1 GiB pages for
 * 1..4 GiB and 4..6 GiB, for the JIT); without it the 1..4 GiB range uses
 * 2 MiB pages from three extra page directories in .bss and 4..6 GiB is
 * not mapped (PVM's KVM triple-faults on 1 GiB pages).
 */
#include "../lib/pvh-note.h"
#include "tamago.h"

	PVH_NOTE cpuinit

#define PTE_P	(1 << 0)
#define PTE_RW	(1 << 1)
#define PTE_PCD	(1 << 4)
#define PTE_PS	(1 << 7)

	.section .text.entry, "ax"
	.code32
	.globl cpuinit
cpuinit:
	cli					/* disable interrupts */
	mov	%ebx, %esi			/* hvm_start_info (ours: TamaGo ignores it) */

	/* we might not have a valid stack pointer for CALLs */
	mov	$PML4T, %esp

	/* clear tables: 0x4000 bytes from PML4T; CR3 = PML4T */
	xor	%eax, %eax
	mov	$PML4T, %edi
	mov	$0x4000, %ecx
	mov	%edi, %cr3
	rep stosb

	/* ours: zero .bss (TamaGo's Go runtime needs none; our C does) */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$2, %ecx
	rep stosl

	/* PML4T[0] = PDPT */
	mov	$PML4T, %edi
	movl	$(PDPT | PTE_RW | PTE_P), (%edi)

	/* PDPT[0] = PDT */
	mov	$PDPT, %edi
	movl	$(PDT | PTE_RW | PTE_P), (%edi)

#ifdef PAGES_1G
	/* PDPT[1]: 0x40000000 - 0x7fffffff, 1 GiB page */
	add	$8, %edi
	movl	$(1 << 30 | PTE_PS | PTE_RW | PTE_P), (%edi)
	/* PDPT[2]: 0x80000000 - 0xbfffffff, 1 GiB page */
	add	$8, %edi
	movl	$(2 << 30 | PTE_PS | PTE_RW | PTE_P), (%edi)
	/* PDPT[3]: 0xc0000000 - 0xffffffff, 1 GiB page, uncacheable (MMIO) */
	add	$8, %edi
	movl	$(3 << 30 | PTE_PS | PTE_PCD | PTE_RW | PTE_P), (%edi)
#else
	/* PDPT[1..3] = extra_pd[0..2]: 1..4 GiB with 2 MiB pages, 3..4 GiB uncacheable */
	mov	$extra_pd, %eax
	or	$(PTE_RW | PTE_P), %eax
	mov	%eax, 8(%edi)
	add	$4096, %eax
	mov	%eax, 16(%edi)
	add	$4096, %eax
	mov	%eax, 24(%edi)
	mov	$extra_pd, %edi
	mov	$(1 << 30), %eax
add_extra_pd_entries:
	cmp	$0xc0000000, %eax
	jb	1f
	or	$PTE_PCD, %eax
1:	or	$(PTE_PS | PTE_RW | PTE_P), %eax
	mov	%eax, (%edi)
	and	$~0xfff, %eax
	add	$(2 << 20), %eax
	add	$8, %edi
	test	%eax, %eax			/* wrapped past 4 GiB */
	jnz	add_extra_pd_entries
#endif

	/* PDT[..]: 0x00000000 - 0x3fffffff with 2 MiB pages */
	mov	$PDT, %edi
	mov	$0, %eax
add_pdt_entries:
	cmp	$(1 << 30), %eax
	jae	check_long_mode
	or	$(PTE_PS | PTE_RW | PTE_P), %eax
	mov	%eax, (%edi)
	add	$(2 << 20), %eax
	add	$8, %edi
	jmp	add_pdt_entries

check_long_mode:
	/*
	 * TamaGo checks CR4.PGE|PAE to detect an already-enabled long mode
	 * (UEFI entry) and then only reloads the GDT in 64-bit code. A PVH
	 * entry always has CR4 = 0: that path cannot be taken here.
	 */
	mov	%cr4, %eax
	and	$((1 << 7) | (1 << 5)), %eax
	jbe	enable_long_mode
	ud2

enable_long_mode:
	mov	$((1 << 7) | (1 << 5)), %eax	/* CR4.PGE|PAE */
	mov	%eax, %cr4

	mov	$MSR_EFER, %ecx
	rdmsr
	or	$(1 << 8), %eax			/* EFER.LME */
	wrmsr

	mov	%cr0, %eax
	or	$((1 << 31) | (1 << 0)), %eax	/* CR0.PG|PE: now IA-32e compatibility mode */
	mov	%eax, %cr0

	/*
	 * TamaGo finds gdtptr relative to the PC with ·getPC (POP, then CALL
	 * through the register: the stack keeps one extra word). Same here.
	 */
	call	get_pc
1:	add	$(gdtptr - 1b), %eax
	lgdt	(%eax)

	call	get_pc
2:	add	$(start - 2b), %eax

	/*
	 * Jump to 64-bit code with the bytes TamaGo's "PUSHQ $0x08; PUSHQ AX;
	 * RETFQ" assemble to, executed in compatibility mode: 6a 08 (push 8,
	 * 4 bytes), 50 (push eax), 48 (DEC EAX: 0x48 is not REX here), cb
	 * (32-bit RETF: pops EIP, then CS = 0x08 with L=1).
	 */
	.byte	0x6a, 0x08
	.byte	0x50
	.byte	0x48, 0xcb

get_pc:
	pop	%eax
	call	*%eax

	.code64
start:
	call	sse_enable

	/* PT[0]: 0x00000000 - 0x00000fff inaccessible (zero page) */
	mov	$PT, %edi
	andl	$~(PTE_RW | PTE_P), (%rdi)

	/* PT[..]: 0x00001000 - 0x001fffff with 4 KiB pages */
	add	$8, %edi
	mov	$(4 << 10), %eax
add_pt_entries:
	cmp	$(1 << 21), %eax
	jae	add_ext_entries
	or	$(PTE_RW | PTE_P), %eax
	mov	%eax, (%rdi)
	add	$(4 << 10), %eax
	add	$8, %edi
	jmp	add_pt_entries

add_ext_entries:
	/* PDT[0] = PT */
	mov	$PDT, %edi
	movl	$(PT | PTE_RW | PTE_P), (%rdi)

#ifdef PAGES_1G
	/* PDPT[4]: 0x100000000 - 0x13fffffff, 1 GiB page, uncacheable */
	mov	$PDPT, %edi
	add	$(8 * 4), %edi
	mov	$((4 << 30) | PTE_PS | PTE_PCD | PTE_RW | PTE_P), %rax
	mov	%rax, (%rdi)
	/* PDPT[5]: 0x140000000 - 0x17fffffff, 1 GiB page, uncacheable */
	add	$8, %edi
	mov	$((5 << 30) | PTE_PS | PTE_PCD | PTE_RW | PTE_P), %rax
	mov	%rax, (%rdi)
#endif

	/* flush TLBs */
	mov	$PML4T, %edi
	mov	%rdi, %cr3

	/* set stack pointer (TamaGo: RamStart + RamSize - RamStackOffset; ours: .bss) */
	mov	$bsp_stack_top, %rsp
	xor	%ebp, %ebp

	sti					/* TamaGo: "required for ·wfi" */
	mov	%esi, %edi
	call	tamago_main
3:	cli
	hlt
	jmp	3b

/* TamaGo's sse_enable (amd64/features.s): CR0.EM=0, CR0.MP=1, CR4.OSFXSR|OSXMMEXCPT */
	.globl sse_enable
sse_enable:
	mov	%cr0, %rax
	mov	%cr4, %rbx
	and	$~(1 << 2), %eax
	or	$(1 << 1), %eax
	or	$((1 << 10) | (1 << 9)), %ebx
	mov	%rax, %cr0
	mov	%rbx, %cr4
	ret

/*
 * TamaGo's Fault (amd64/amd64.s), the microvm exit path: zero the IDT
 * register image, load it, then CALL address 0. The zero page is not
 * mapped, so the #PF cannot be delivered (IDT limit 0): triple fault.
 */
	.globl triple_fault
triple_fault:
	cli
	mov	$idtptr, %rax
	movq	$0, (%rax)
	lidt	(%rax)
	mov	$0, %eax
	call	*%rax
4:	hlt
	jmp	4b

	.section .rodata
	.balign 16
/* TamaGo's GDT (amd64/amd64.s): null, 64-bit code (x/r), data (r/w) */
	.globl gdt
gdt:
	.quad	0x0000000000000000
	.quad	0x00209a0000000000
	.quad	0x0000920000000000
	.balign 8
	.globl gdtptr
gdtptr:
	.word	3 * 8 - 1
	.quad	gdt

	.section .bss
	.balign 4096
#ifndef PAGES_1G
extra_pd:
	.skip	3 * 4096
#endif
	.balign 16
bsp_stack:
	.skip	32768
bsp_stack_top:
