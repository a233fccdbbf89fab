/*
 * The PVH boot ABI (Xen: xen/include/public/arch-x86/hvm/start_info.h,
 * docs/misc/pvh.pandoc), as QEMU's microvm implements it.
 */
#ifndef FW_PVH_H
#define FW_PVH_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
	uint32_t magic;          /* 0x336ec578 */
	uint32_t version;        /* 1 when the memmap fields are valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;  /* struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;  /* NUL-terminated ASCII, 0 if none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[memmap_entries] (version >= 1) */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;           /* E820 types: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable */
	uint32_t reserved;
};

#define HVM_MEMMAP_TYPE_RAM 1

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");

/* The start_info the loader passed in EBX, or NULL if its magic is wrong. */
const struct hvm_start_info *pvh_start_info(void);
void pvh_set_start_info(uint64_t paddr);

/* The kernel command line ("" if none); at most PVH_CMDLINE_MAX bytes are used. */
#define PVH_CMDLINE_MAX 4096
const char *pvh_cmdline(void);

/*
 * Look up "key=value" among the space-separated words of the command line.
 * Returns true and copies the value (NUL-terminated, truncated to size) if
 * the key is present; a bare "key" gives an empty value.
 */
bool cmdline_get(const char *key, char *value, size_t size);
/* A decimal or 0x-prefixed hexadecimal number, or fallback if absent or malformed. */
uint64_t cmdline_u64(const char *key, uint64_t fallback);

/* Total bytes of RAM (type 1) in the memmap; 0 if the memmap is absent. */
uint64_t pvh_ram_bytes(void);
/* The end of the RAM region that contains addr, or 0 if none does. */
uint64_t pvh_ram_end_containing(uint64_t addr);

#endif
