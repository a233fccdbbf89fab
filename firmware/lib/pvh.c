#include "pvh.h"

static const struct hvm_start_info *start_info;
static char cmdline_copy[PVH_CMDLINE_MAX];

void pvh_set_start_info(uint64_t paddr)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)paddr;

	start_info = 0;
	cmdline_copy[0] = '\0';
	if (!paddr || si->magic != XEN_HVM_START_MAGIC_VALUE)
		return;
	start_info = si;

	/* Copy the command line now: some guests (tamago-seq) reuse low memory later. */
	if (si->cmdline_paddr) {
		const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
		size_t i = 0;
		for (; i + 1 < sizeof(cmdline_copy) && src[i]; i++)
			cmdline_copy[i] = src[i];
		cmdline_copy[i] = '\0';
	}
}

const struct hvm_start_info *pvh_start_info(void)
{
	return start_info;
}

const char *pvh_cmdline(void)
{
	return cmdline_copy;
}

bool cmdline_get(const char *key, char *value, size_t size)
{
	const char *p = cmdline_copy;
	size_t klen = 0;

	while (key[klen])
		klen++;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		size_t wlen = (size_t)(p - word);
		if (wlen < klen)
			continue;
		size_t i = 0;
		while (i < klen && word[i] == key[i])
			i++;
		if (i != klen || (wlen > klen && word[klen] != '='))
			continue;
		const char *v = wlen > klen ? word + klen + 1 : word + wlen;
		size_t vlen = (size_t)(p - v);
		if (size) {
			size_t n = vlen < size - 1 ? vlen : size - 1;
			for (size_t j = 0; j < n; j++)
				value[j] = v[j];
			value[n] = '\0';
		}
		return true;
	}
	return false;
}

uint64_t cmdline_u64(const char *key, uint64_t fallback)
{
	char buf[32];
	if (!cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return fallback;

	const char *p = buf;
	unsigned base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return fallback;
	}
	uint64_t v = 0;
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return fallback;
		if (d >= base)
			return fallback;
		v = v * base + d;
	}
	return v;
}

static const struct hvm_memmap_table_entry *memmap(uint32_t *count)
{
	*count = 0;
	if (!start_info || start_info->version < 1 || !start_info->memmap_paddr)
		return 0;
	*count = start_info->memmap_entries;
	if (*count > 128)
		*count = 128; /* a bound on what we trust */
	return (const struct hvm_memmap_table_entry *)(uintptr_t)start_info->memmap_paddr;
}

uint64_t pvh_ram_bytes(void)
{
	uint32_t n;
	const struct hvm_memmap_table_entry *e = memmap(&n);
	uint64_t total = 0;
	for (uint32_t i = 0; i < n; i++)
		if (e[i].type == HVM_MEMMAP_TYPE_RAM)
			total += e[i].size;
	return total;
}

uint64_t pvh_ram_end_containing(uint64_t addr)
{
	uint32_t n;
	const struct hvm_memmap_table_entry *e = memmap(&n);
	for (uint32_t i = 0; i < n; i++)
		if (e[i].type == HVM_MEMMAP_TYPE_RAM && addr >= e[i].addr && addr - e[i].addr < e[i].size)
			return e[i].addr + e[i].size;
	return 0;
}
