/*
 * The application-processor path of TamaGo's amd64/smp.s, re-expressed:
 * apinit is copied to 0x4000 and entered by SIPI vector 0x04 in 16-bit
 * real mode (CS = 0x0400, IP = 0). With operand/address-size prefixes it
 * loads CR3 from 0x6028, sets CR4.PGE|PAE, EFER.LME|NXE and CR0.PG|MP|PE
 * directly from real mode, loads the GDT at 0x6000 through a CS override,
 * reloads the data segments and far-returns into 64-bit code. It must not
 * use IP-relative addressing: it runs at a different address than linked.
 */
#include "tamago.h"

	.section .text, "ax"
	.code16
	.globl apinit_start
apinit_start:
	cli

	/* apply fresh CR3 (as a cpuinit override might have replaced ours) */
	movl	$CR3_ADDRESS, %eax
	/* we might not have a valid stack pointer: SP = the CR3 value (0x9000) */
	addr32 movl (%eax), %esp
	mov	%esp, %cr3

	/* DS = CS (0x0400) */
	.byte	0x8c, 0xc8			/* mov %cs, %ax */
	.byte	0x8e, 0xd8			/* mov %ax, %ds */

	/* 16-bit real mode to 64-bit long mode */
	mov	%cr4, %eax
	orl	$((1 << 7) | (1 << 5)), %eax	/* CR4.PGE|PAE */
	mov	%eax, %cr4

	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$((1 << 8) | (1 << 11)), %eax	/* EFER.LME|NXE */
	wrmsr

	mov	%cr0, %eax
	orl	$((1 << 31) | (1 << 1) | (1 << 0)), %eax /* CR0.PG|MP|PE */
	mov	%eax, %cr0

	/* GDT: linear GDTR_ADDRESS as an offset from CS base 0x4000, CS override */
	movl	$GDTR_ADDRESS, %eax
	subl	$APINIT_ADDRESS, %eax
	addr32 lgdtl %cs:(%eax)

	/* data segments = GDT entry 2 (0x10), with TamaGo's 0x66 prefixes */
	movl	$0x10, %eax
	.byte	0x66, 0x8e, 0xc0		/* mov %eax, %es */
	.byte	0x66, 0x8e, 0xd0		/* mov %eax, %ss */
	.byte	0x66, 0x8e, 0xd8		/* mov %eax, %ds */
	.byte	0x66, 0x8e, 0xe0		/* mov %eax, %fs */
	.byte	0x66, 0x8e, 0xe8		/* mov %eax, %gs */

	/* far return target, as an absolute address */
	movl	$(APINIT_ADDRESS + (apinit_done - apinit_start)), %eax

	/*
	 * TamaGo's "PUSHQ $0x08; PUSHQ AX; RETFQ" bytes, here executed with
	 * 16-bit operand size: 6a 08 pushes a word, 50 pushes AX, 48 is
	 * DEC AX, cb is a 16-bit RETF: IP = done, CS = 0x08 (L=1): 64-bit mode.
	 */
	.byte	0x6a, 0x08
	.byte	0x50
	.byte	0x48, 0xcb

	.code64
apinit_done:
	/* update GDT limits (code and data descriptor limit 15:0 = 0) */
	mov	$GDT_ADDRESS, %rax
	add	$0x08, %rax
	movw	$0x0000, (%rax)
	add	$0x08, %rax
	movw	$0x0000, (%rax)

	/*
	 * "reload GDT": as in TamaGo this loads GDTR from GDT_ADDRESS itself
	 * (the null descriptor: limit 0, base 0). Nothing uses a selector
	 * before apstart loads the real GDT.
	 */
	sub	$0x10, %rax
	lgdt	(%rax)

	/* call apstart through the pointer at APSTART_ADDRESS (no RIP-relative addressing) */
	mov	$APSTART_ADDRESS, %rax
	call	*(%rax)
	.globl apinit_end
apinit_end:

/*
 * apstart (TamaGo: ·apstart) runs from its link address. Differences from
 * TamaGo, for C code on several CPUs: a LOCK XADD ticket first picks a
 * private stack (TamaGo's APs share the one below 0x9000 until Go gives
 * them one), and the SMP semaphore is incremented by ap_main after it has
 * printed, so the BSP's summary comes after every AP's line.
 */
	.section .text
	.globl apstart
apstart:
	mov	$1, %eax
	lock xaddl %eax, ap_ticket
	cmp	$AP_MAX, %eax
	jae	ap_no_stack
	mov	%eax, %edi			/* ap_main(ticket) */
	inc	%eax
	imul	$AP_STACK_SIZE, %eax, %eax
	lea	ap_stacks(%rax), %rsp

	call	sse_enable

	/* apply BSP GDT and IDT */
	mov	$gdtptr, %rax
	lgdt	(%rax)
	mov	$idtptr, %rax
	lidt	(%rax)

	/* restore GDT limits for the next apinit */
	mov	$GDT_ADDRESS, %rax
	add	$0x08, %rax
	movw	$0xffff, (%rax)
	add	$0x08, %rax
	movw	$0xffff, (%rax)

	xor	%ebp, %ebp
	call	ap_main				/* never returns */
ap_no_stack:
	/* more APs than stacks: count it as TamaGo would, then stay idle */
	mov	$TASK_ADDRESS, %rbx
	mov	$1, %eax
	lock xaddl %eax, (%rbx)
1:	cli
	hlt
	jmp	1b

	.section .bss
	.balign 4
	.globl ap_ticket
ap_ticket:
	.long	0
	.balign 16
ap_stacks:
	.skip	AP_MAX * AP_STACK_SIZE
