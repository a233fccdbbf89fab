/*
 * Interrupt entry points (AMD64 APM vol. 2, 8.9.3 "Interrupt Stack Frame").
 *
 * idt_stubs holds 256 five-byte instructions; IDT entry v points at
 * idt_stubs + 5*v. Like TamaGo's irqHandler table, each is a CALL, so the
 * common code computes v = (return address - idt_stubs) / 5 - 1; vector 2
 * (NMI) is a JMP. The common code normalises the frame to
 * {vector, error code, RIP, CS, RFLAGS, RSP, SS}, saves the GPRs and calls C.
 */
	.section .text.idt, "ax"
	.code64

	/* Vectors that push an error code (AMD64 APM vol. 2, table 8-1). */
	.set ERRCODE_MASK, (1<<8)|(1<<10)|(1<<11)|(1<<12)|(1<<13)|(1<<14)|(1<<17)|(1<<21)|(1<<29)|(1<<30)

	.balign 16
	.globl idt_stubs
idt_stubs:
	.set vec, 0
	.rept 256
	.if vec == 2
	.byte 0xe9				/* jmp rel32 */
	.long nmi_entry - (. + 4)
	.elseif vec < 32
	call exception_entry
	.else
	call interrupt_entry
	.endif
	.set vec, vec + 1
	.endr
	.globl idt_stubs_end
idt_stubs_end:

/* rax = vector for the stub whose return address is in rax */
.macro STUB_VECTOR
	subq	$(idt_stubs + 5), %rax
	imull	$52429, %eax, %eax		/* x/5 = (x * 52429) >> 18 for x < 81920 */
	shrl	$18, %eax
.endm

.macro SAVE_GPRS
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
.endm

.macro RESTORE_GPRS
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
.endm

/* Call C with the frame in %rdi on a 16-byte aligned stack. */
.macro CALL_C fn
	mov	%rsp, %rdi
	mov	%rsp, %rbx
	and	$-16, %rsp
	cld
	call	\fn
	mov	%rbx, %rsp
.endm

exception_entry:
	/* [rsp] = stub return, then the error code if the vector has one */
	push	%rax
	push	%rdx
	mov	16(%rsp), %rax
	STUB_VECTOR
	mov	$ERRCODE_MASK, %edx
	bt	%eax, %edx
	jc	1f
	/* no error code: make room for a zero one below the return slot */
	sub	$8, %rsp
	mov	8(%rsp), %rdx
	mov	%rdx, 0(%rsp)			/* saved rdx */
	mov	16(%rsp), %rdx
	mov	%rdx, 8(%rsp)			/* saved rax */
	mov	%rax, 16(%rsp)			/* vector */
	movq	$0, 24(%rsp)			/* error code */
	jmp	2f
1:	mov	%rax, 16(%rsp)			/* vector replaces the stub return */
2:	pop	%rdx
	pop	%rax
	SAVE_GPRS
	CALL_C	trap_exception
	RESTORE_GPRS
	add	$16, %rsp			/* vector, error code */
	iretq

interrupt_entry:
	/* [rsp] = stub return; external interrupts push no error code */
	push	%rax				/* [0] = rax, [8] = stub return, [16] = rip */
	mov	8(%rsp), %rax
	STUB_VECTOR
	movq	$0, 8(%rsp)			/* the return slot becomes the error code */
	xchg	%rax, (%rsp)			/* [0] = vector, rax restored */
	jmp	irq_common

nmi_entry:
	push	$0				/* error code */
	push	$2				/* vector */
	/* fall through */
irq_common:
	SAVE_GPRS
	CALL_C	trap_interrupt
	RESTORE_GPRS
	add	$16, %rsp
	iretq
