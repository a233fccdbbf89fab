/* Assembly side of the trap fixup table (see trap.h, TRAP_FIXUP_ENTRY). */
#ifndef FW_TRAP_FIXUP_H
#define FW_TRAP_FIXUP_H

.macro FIXUP insn, resume
	.pushsection .fixup_table, "a"
	.balign 8
	.quad \insn, \resume
	.popsection
.endm

#endif
