/*
 * The PVH entry note (Xen public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY = 18):
 * name "Xen", type 18, desc = the 32-bit physical address of the entry
 * point. QEMU (hw/i386/x86.c, read_pvh_start_addr) and microvm-ts find it
 * through the PT_NOTE program header and enter there in 32-bit protected
 * mode with paging off and EBX = the physical address of hvm_start_info.
 */
#ifndef FW_PVH_NOTE_H
#define FW_PVH_NOTE_H

#define XEN_ELFNOTE_PHYS32_ENTRY 18

.macro PVH_NOTE entry
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.long \entry
	.balign 4
	.popsection
.endm

#endif
