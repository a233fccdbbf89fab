/*
 * KVM_HC_CLOCK_PAIRING (Documentation/virt/kvm/x86/hypercalls.rst):
 * RAX = 9, RBX = GPA of the result, RCX = KVM_CLOCK_PAIRING_WALLCLOCK.
 * TamaGo (kvm/clock/pairing.s) issues it with VMMCALL (0f 01 d9).
 *
 * int64_t pairing_call(void *result, int use_vmcall)
 *
 * The instruction addresses are global so that main.c can recover from
 * a #UD (fixup table) or from a hypercall that never completes (its
 * watchdog timer moves RIP to pairing_resume).
 */
#include "../lib/trap-fixup.h"

	.section .text
	.globl pairing_call, pairing_vmmcall_insn, pairing_vmcall_insn, pairing_resume
pairing_call:
	push	%rbx
	mov	%rdi, %rbx
	mov	$9, %eax			/* KVM_HC_CLOCK_PAIRING */
	test	%esi, %esi
	mov	$0, %ecx			/* KVM_CLOCK_PAIRING_WALLCLOCK */
	jnz	pairing_vmcall_insn
pairing_vmmcall_insn:
	vmmcall
	jmp	pairing_resume
pairing_vmcall_insn:
	vmcall
pairing_resume:
	pop	%rbx
	ret

	FIXUP pairing_vmmcall_insn, pairing_resume
	FIXUP pairing_vmcall_insn, pairing_resume
