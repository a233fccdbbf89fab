/*
 * net-echo: our own virtio-net driver on microvm's virtio-mmio transports
 * (legacy version 1 or modern version 2), and a minimal IPv4 host: answers
 * ARP for its address and ICMP echo, echoes UDP datagrams sent to its echo
 * port, and pings the gateway once at start.
 *
 * Command line (all optional):
 *   ip=10.0.2.15  gw=10.0.2.2   (QEMU user networking's defaults)
 *   port=7        UDP echo port
 *   mode=irq      interrupts (IOAPIC GSI 24+n, level, HLT when idle) or mode=poll
 *   ping=on       ARP + one ICMP echo to the gateway at start (ping=off skips)
 * A datagram whose payload is "quit" ends the guest: it prints its counters
 * and exits through isa-debug-exit value 0 (host status 1).
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "io.h"
#include "cpu.h"
#include "ioapic.h"
#include "lapic.h"
#include "trap.h"
#include "exit.h"
#include "virtio-mmio.h"

#define QSIZE_MAX   64u
#define RX_BUFS     32u
#define BUF_SIZE    2048u
#define NET_VECTOR  0x30
#define ETH_ALEN    6

/* --- little helpers --- */

static uint16_t htons(uint16_t v) { return (uint16_t)((v << 8) | (v >> 8)); }
#define ntohs htons
static uint32_t htonl(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}
#define ntohl htonl

static void copy(void *d, const void *s, size_t n) { __builtin_memcpy(d, s, n); }
static int same(const void *a, const void *b, size_t n) { return __builtin_memcmp(a, b, n) == 0; }

/* RFC 1071 Internet checksum */
static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)((p[0] << 8) | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static bool parse_ip(const char *s, uint32_t *out)
{
	uint32_t ip = 0;
	for (int part = 0; part < 4; part++) {
		uint32_t v = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (uint32_t)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255 || (part < 3 && *s++ != '.'))
			return false;
		ip = (ip << 8) | v;
	}
	*out = ip; /* host order */
	return *s == '\0';
}

static void fmt_ip(char *buf, uint32_t ip)
{
	ksnprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

static void fmt_mac(char *buf, const uint8_t *m)
{
	ksnprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* --- virtqueues (virtio 1.2, 2.7 "Split Virtqueues") --- */

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct virtq_avail { uint16_t flags; uint16_t idx; uint16_t ring[QSIZE_MAX]; uint16_t used_event; };
struct virtq_used_elem { uint32_t id; uint32_t len; };
struct virtq_used { uint16_t flags; uint16_t idx; struct virtq_used_elem ring[QSIZE_MAX]; uint16_t avail_event; };

/*
 * One queue's memory: the legacy layout (2.7.2, "Legacy Interfaces"):
 * descriptors and available ring in the first page, used ring on the next
 * 4096-aligned page; the modern interface takes the three addresses as is.
 */
struct vq_mem {
	struct virtq_desc desc[QSIZE_MAX];
	struct virtq_avail avail;
	uint8_t pad[4096 - sizeof(struct virtq_desc) * QSIZE_MAX - sizeof(struct virtq_avail)];
	struct virtq_used used;
} __attribute__((aligned(4096)));

_Static_assert(__builtin_offsetof(struct vq_mem, used) == 4096, "legacy used ring on the second page");

struct vq {
	volatile struct vq_mem *m;
	uint16_t size;
	uint16_t last_used;
	uint16_t free_head; /* tx: next descriptor to use (round robin) */
};

static struct vq_mem rxq_mem, txq_mem;
static uint8_t rx_bufs[RX_BUFS][BUF_SIZE] __attribute__((aligned(64)));
static uint8_t tx_bufs[QSIZE_MAX][BUF_SIZE] __attribute__((aligned(64)));
static struct vq rxq, txq;

static uint64_t base;      /* transport MMIO base */
static uint32_t version;   /* 1 legacy, 2 modern */
static unsigned hdr_len;   /* 10 (legacy) or 12 (VERSION_1) */
static uint8_t mac[ETH_ALEN];
static uint32_t my_ip, gw_ip;
static uint16_t echo_port = 7;
static bool irq_mode = true;

static volatile uint32_t net_irqs;
static uint32_t rx_frames, tx_frames, arp_replies, icmp_replies, udp_echoes, dropped;

static uint32_t rd(uint32_t off) { return mmio_read32(base + off); }
static void wr(uint32_t off, uint32_t v) { mmio_write32(base + off, v); }

static bool setup_queue(struct vq *q, unsigned index, struct vq_mem *mem)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, index);
	if (version == 2 && rd(VIRTIO_MMIO_QUEUE_READY))
		return false;
	uint32_t max = rd(VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max)
		return false;
	if (version == 1 && max < QSIZE_MAX)
		return false; /* our fixed legacy layout assumes QSIZE_MAX entries */
	q->m = mem;
	q->size = (uint16_t)(max < QSIZE_MAX ? max : QSIZE_MAX);
	q->last_used = 0;
	q->free_head = 0;
	wr(VIRTIO_MMIO_QUEUE_NUM, q->size);
	uint64_t desc = (uint64_t)(uintptr_t)mem->desc;
	uint64_t avail = (uint64_t)(uintptr_t)&mem->avail;
	uint64_t used = (uint64_t)(uintptr_t)&mem->used;
	if (version == 1) {
		/* the legacy layout puts the used ring at the next QueueAlign boundary after avail */
		wr(VIRTIO_MMIO_QUEUE_ALIGN, 4096);
		wr(VIRTIO_MMIO_QUEUE_PFN, (uint32_t)(desc >> 12));
	} else {
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
		wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
		wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
		wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
		wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
		wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	return true;
}

static void rx_post(uint16_t id)
{
	volatile struct vq_mem *m = rxq.m;
	m->desc[id].addr = (uint64_t)(uintptr_t)rx_bufs[id];
	m->desc[id].len = BUF_SIZE;
	m->desc[id].flags = VIRTQ_DESC_F_WRITE;
	m->desc[id].next = 0;
	m->avail.ring[m->avail.idx % rxq.size] = id;
	barrier(); /* ring entry before idx (2.7.13) */
	m->avail.idx++;
}

static void tx_send(const uint8_t *frame, size_t len)
{
	if (len + hdr_len > BUF_SIZE)
		return;
	volatile struct vq_mem *m = txq.m;
	uint16_t id = txq.free_head;
	txq.free_head = (uint16_t)((id + 1) % txq.size);
	uint8_t *buf = tx_bufs[id];
	for (unsigned i = 0; i < hdr_len; i++)
		buf[i] = 0; /* virtio_net_hdr: no offloads */
	copy(buf + hdr_len, frame, len);
	m->desc[id].addr = (uint64_t)(uintptr_t)buf;
	m->desc[id].len = (uint32_t)(len + hdr_len);
	m->desc[id].flags = 0;
	m->desc[id].next = 0;
	m->avail.ring[m->avail.idx % txq.size] = id;
	barrier();
	m->avail.idx++;
	barrier();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	tx_frames++;
}

/* --- protocols --- */

struct eth_hdr { uint8_t dst[6], src[6]; uint16_t type; } __attribute__((packed));
struct arp_pkt {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t oper;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
} __attribute__((packed));
struct ip_hdr {
	uint8_t ver_ihl, tos;
	uint16_t len, id, frag;
	uint8_t ttl, proto;
	uint16_t csum;
	uint32_t src, dst;
} __attribute__((packed));
struct icmp_hdr { uint8_t type, code; uint16_t csum, id, seq; } __attribute__((packed));
struct udp_hdr { uint16_t sport, dport, len, csum; } __attribute__((packed));

#define ETH_P_IP  0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_UDP 17

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint8_t gw_mac[6];
static bool gw_known;
static bool ping_replied;
static bool quit;
static uint16_t ip_id;

static void send_arp(uint16_t oper, const uint8_t *tha, uint32_t tpa, const uint8_t *dst)
{
	uint8_t f[sizeof(struct eth_hdr) + sizeof(struct arp_pkt)];
	struct eth_hdr *e = (struct eth_hdr *)f;
	struct arp_pkt *a = (struct arp_pkt *)(f + sizeof(*e));
	copy(e->dst, dst, 6);
	copy(e->src, mac, 6);
	e->type = htons(ETH_P_ARP);
	a->htype = htons(1);
	a->ptype = htons(ETH_P_IP);
	a->hlen = 6;
	a->plen = 4;
	a->oper = htons(oper);
	copy(a->sha, mac, 6);
	a->spa = htonl(my_ip);
	copy(a->tha, tha, 6);
	a->tpa = htonl(tpa);
	tx_send(f, sizeof(f));
}

/* IPv4 datagram to dst_mac/dst_ip with payload (already containing the L4 header). */
static void send_ip(const uint8_t *dst_mac, uint32_t dst_ip, uint8_t proto, const uint8_t *payload, size_t len)
{
	static uint8_t f[BUF_SIZE];
	if (sizeof(struct eth_hdr) + sizeof(struct ip_hdr) + len > 1514)
		return;
	struct eth_hdr *e = (struct eth_hdr *)f;
	struct ip_hdr *ip = (struct ip_hdr *)(f + sizeof(*e));
	copy(e->dst, dst_mac, 6);
	copy(e->src, mac, 6);
	e->type = htons(ETH_P_IP);
	ip->ver_ihl = 0x45;
	ip->tos = 0;
	ip->len = htons((uint16_t)(sizeof(*ip) + len));
	ip->id = htons(ip_id++);
	ip->frag = 0;
	ip->ttl = 64;
	ip->proto = proto;
	ip->csum = 0;
	ip->src = htonl(my_ip);
	ip->dst = htonl(dst_ip);
	ip->csum = csum(ip, sizeof(*ip), 0);
	copy(f + sizeof(*e) + sizeof(*ip), payload, len);
	tx_send(f, sizeof(*e) + sizeof(*ip) + len);
}

static void handle_arp(const uint8_t *f, size_t len)
{
	if (len < sizeof(struct eth_hdr) + sizeof(struct arp_pkt))
		return;
	const struct arp_pkt *a = (const struct arp_pkt *)(f + sizeof(struct eth_hdr));
	if (ntohs(a->htype) != 1 || ntohs(a->ptype) != ETH_P_IP || a->hlen != 6 || a->plen != 4)
		return;
	uint32_t spa = ntohl(a->spa), tpa = ntohl(a->tpa);
	if (spa == gw_ip) {
		copy(gw_mac, a->sha, 6);
		gw_known = true;
	}
	if (ntohs(a->oper) == 1 && tpa == my_ip) {
		send_arp(2, a->sha, spa, a->sha);
		arp_replies++;
	}
}

static void handle_ip(const uint8_t *f, size_t len)
{
	const struct eth_hdr *e = (const struct eth_hdr *)f;
	if (len < sizeof(*e) + sizeof(struct ip_hdr))
		return;
	const struct ip_hdr *ip = (const struct ip_hdr *)(f + sizeof(*e));
	size_t ihl = (size_t)(ip->ver_ihl & 0xf) * 4;
	size_t total = ntohs(ip->len);
	if ((ip->ver_ihl >> 4) != 4 || ihl < 20 || total < ihl || sizeof(*e) + total > len)
		return;
	if (ntohl(ip->dst) != my_ip || (ntohs(ip->frag) & 0x3fff))
		return; /* not ours, or a fragment */
	const uint8_t *l4 = (const uint8_t *)ip + ihl;
	size_t l4len = total - ihl;
	uint32_t src = ntohl(ip->src);

	if (ip->proto == IPPROTO_ICMP && l4len >= sizeof(struct icmp_hdr)) {
		const struct icmp_hdr *ic = (const struct icmp_hdr *)l4;
		if (ic->type == 8 && ic->code == 0) { /* echo request -> reply (RFC 792) */
			static uint8_t reply[1500];
			copy(reply, l4, l4len);
			struct icmp_hdr *r = (struct icmp_hdr *)reply;
			r->type = 0;
			r->csum = 0;
			r->csum = csum(reply, l4len, 0);
			send_ip(e->src, src, IPPROTO_ICMP, reply, l4len);
			icmp_replies++;
		} else if (ic->type == 0 && src == gw_ip) {
			ping_replied = true;
		}
	} else if (ip->proto == IPPROTO_UDP && l4len >= sizeof(struct udp_hdr)) {
		const struct udp_hdr *u = (const struct udp_hdr *)l4;
		size_t ulen = ntohs(u->len);
		if (ntohs(u->dport) != echo_port || ulen < sizeof(*u) || ulen > l4len)
			return;
		const uint8_t *data = l4 + sizeof(*u);
		size_t dlen = ulen - sizeof(*u);
		static uint8_t reply[1500];
		struct udp_hdr *r = (struct udp_hdr *)reply;
		r->sport = u->dport;
		r->dport = u->sport;
		r->len = u->len;
		r->csum = 0; /* optional over IPv4 (RFC 768) */
		copy(reply + sizeof(*r), data, dlen);
		send_ip(e->src, src, IPPROTO_UDP, reply, ulen);
		udp_echoes++;
		if (dlen >= 4 && same(data, "quit", 4))
			quit = true;
	}
}

static void handle_frame(const uint8_t *f, size_t len)
{
	rx_frames++;
	if (len < sizeof(struct eth_hdr)) {
		dropped++;
		return;
	}
	const struct eth_hdr *e = (const struct eth_hdr *)f;
	if (!same(e->dst, mac, 6) && !same(e->dst, broadcast, 6)) {
		dropped++;
		return;
	}
	switch (ntohs(e->type)) {
	case ETH_P_ARP: handle_arp(f, len); break;
	case ETH_P_IP: handle_ip(f, len); break;
	default: dropped++; break;
	}
}

/* Process used rx buffers; returns how many. */
static unsigned poll_rx(void)
{
	volatile struct vq_mem *m = rxq.m;
	unsigned n = 0;
	while (rxq.last_used != m->used.idx) {
		barrier();
		volatile struct virtq_used_elem *u = &m->used.ring[rxq.last_used % rxq.size];
		uint32_t id = u->id, len = u->len;
		rxq.last_used++;
		if (id < RX_BUFS && len >= hdr_len && len <= BUF_SIZE)
			handle_frame(rx_bufs[id] + hdr_len, len - hdr_len);
		else
			dropped++;
		if (id < RX_BUFS)
			rx_post((uint16_t)id);
		n++;
	}
	if (n) {
		barrier();
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	/* tx completions need no work: buffers are reused round robin */
	txq.last_used = txq.m->used.idx;
	return n;
}

static void net_irq(struct trap_frame *f)
{
	(void)f;
	net_irqs++;
	uint32_t isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, isr); /* lowers the level-triggered line */
	lapic_eoi();
}

/* Wait for work: with interrupts, check the used ring with IF=0 and HLT with STI's shadow. */
static unsigned poll_or_wait(void)
{
	if (!irq_mode) {
		unsigned n = poll_rx();
		if (!n)
			cpu_relax();
		return n;
	}
	cli();
	unsigned n = poll_rx();
	if (!n)
		sti_hlt();
	else
		sti();
	return n;
}

static uint64_t ms_to_tsc(unsigned ms)
{
	static uint64_t per_ms;
	if (!per_ms) {
		struct tsc_freq fr = tsc_detect(false);
		per_ms = fr.khz ? fr.khz : 1000000; /* assume 1 GHz if unknown */
	}
	return ms * per_ms;
}

/* Poll (never HLT: the reply may never come) until cond or timeout. */
static bool wait_for(volatile bool *cond, unsigned ms)
{
	uint64_t t0 = rdtsc(), lim = ms_to_tsc(ms);
	while (!*cond && rdtsc() - t0 < lim) {
		poll_rx();
		cpu_relax();
	}
	return *cond;
}

static bool find_device(unsigned *index)
{
	/* QEMU fills transports from the top: the first device is on transport 23 */
	for (int n = MICROVM_VIRTIO_COUNT - 1; n >= 0; n--) {
		uint64_t b = MICROVM_VIRTIO_BASE + (uint64_t)n * MICROVM_VIRTIO_STRIDE;
		if (mmio_read32(b + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
			continue;
		if (mmio_read32(b + VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_NET)
			continue;
		base = b;
		*index = (unsigned)n;
		return true;
	}
	return false;
}

static bool device_init(void)
{
	version = rd(VIRTIO_MMIO_VERSION);
	if (version != 1 && version != 2)
		return false;
	/* 3.1.1 Driver Requirements: Device Initialization */
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f0 = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint32_t f1 = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	uint32_t want0 = f0 & (1u << VIRTIO_NET_F_MAC);
	uint32_t want1 = version == 2 ? (f1 & (1u << (VIRTIO_F_VERSION_1 - 32))) : 0;
	if (version == 2 && !want1)
		return false; /* a modern transport must offer VERSION_1 */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, want0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, want1);
	uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	if (version == 2) {
		status |= VIRTIO_STATUS_FEATURES_OK;
		wr(VIRTIO_MMIO_STATUS, status);
		if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
			return false;
	} else {
		wr(VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
	}
	/* virtio_net_hdr: 12 bytes with VERSION_1 (num_buffers always present), else 10 */
	hdr_len = want1 ? 12 : 10;
	if (want0) {
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)(mmio_read32(base + VIRTIO_MMIO_CONFIG + (uint32_t)(i & ~3)) >> (8 * (i & 3)));
	} else {
		static const uint8_t fallback[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
		copy(mac, fallback, 6);
	}
	if (!setup_queue(&rxq, 0, &rxq_mem) || !setup_queue(&txq, 1, &txq_mem))
		return false;
	for (uint16_t i = 0; i < RX_BUFS && i < rxq.size; i++)
		rx_post(i);
	wr(VIRTIO_MMIO_STATUS, status | VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	return true;
}

int guest_main(void)
{
	char v[32], ipbuf[16], gwbuf[16], macbuf[18];
	my_ip = 0x0a00020f; /* 10.0.2.15 */
	gw_ip = 0x0a000202; /* 10.0.2.2 */
	if (cmdline_get("ip", v, sizeof(v)) && !parse_ip(v, &my_ip))
		kprintf("net-echo: bad ip=%s, using 10.0.2.15\n", v);
	if (cmdline_get("gw", v, sizeof(v)) && !parse_ip(v, &gw_ip))
		kprintf("net-echo: bad gw=%s, using 10.0.2.2\n", v);
	echo_port = (uint16_t)cmdline_u64("port", 7);
	if (cmdline_get("mode", v, sizeof(v)) && v[0] == 'p')
		irq_mode = false;
	bool do_ping = !(cmdline_get("ping", v, sizeof(v)) && (v[0] == 'o' && v[1] == 'f'));

	unsigned index;
	if (!find_device(&index)) {
		kprintf("net-echo: no virtio-net device found\n");
		return GUEST_EXIT_FAILURE;
	}
	unsigned gsi = MICROVM_VIRTIO_GSI + index;
	kprintf("net-echo: virtio-net at 0x%lx (transport %u, GSI %u), virtio-mmio version %u, mode %s\n",
		base, index, gsi, rd(VIRTIO_MMIO_VERSION), irq_mode ? "irq" : "poll");
	if (!device_init()) {
		kprintf("net-echo: device initialisation failed (status 0x%x)\n", rd(VIRTIO_MMIO_STATUS));
		return GUEST_EXIT_FAILURE;
	}
	if (irq_mode) {
		lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_ENABLE | 0xff);
		trap_set_handler(NET_VECTOR, net_irq);
		/* virtio-mmio raises a level-triggered, active-high line */
		ioapic_route(gsi, NET_VECTOR, lapic_id(), IOAPIC_REDIR_LEVEL);
		sti();
	}
	fmt_ip(ipbuf, my_ip);
	fmt_ip(gwbuf, gw_ip);
	fmt_mac(macbuf, mac);
	kprintf("net-echo: mac %s ip %s gateway %s, queues rx=%u tx=%u, header %u bytes\n", macbuf, ipbuf, gwbuf,
		rxq.size, txq.size, hdr_len);

	if (do_ping) {
		send_arp(1, (const uint8_t[6]){ 0 }, gw_ip, broadcast);
		if (!wait_for((volatile bool *)&gw_known, 2000)) {
			kprintf("net-echo: no ARP reply from %s\n", gwbuf);
		} else {
			fmt_mac(macbuf, gw_mac);
			kprintf("net-echo: %s is at %s\n", gwbuf, macbuf);
			uint8_t echo[sizeof(struct icmp_hdr) + 32];
			struct icmp_hdr *ic = (struct icmp_hdr *)echo;
			ic->type = 8;
			ic->code = 0;
			ic->csum = 0;
			ic->id = htons(0x4d56); /* "MV" */
			ic->seq = htons(1);
			for (unsigned i = sizeof(*ic); i < sizeof(echo); i++)
				echo[i] = (uint8_t)i;
			ic->csum = csum(echo, sizeof(echo), 0);
			send_ip(gw_mac, gw_ip, IPPROTO_ICMP, echo, sizeof(echo));
			if (wait_for((volatile bool *)&ping_replied, 2000))
				kprintf("net-echo: ping %s: reply seq=1\n", gwbuf);
			else
				kprintf("net-echo: ping %s: no reply\n", gwbuf);
		}
	}

	kprintf("net-echo: ready, UDP echo on port %u\n", echo_port);
	while (!quit)
		poll_or_wait();
	/* let the device send the last echo before we go */
	uint64_t t0 = rdtsc(), lim = ms_to_tsc(200);
	while (txq.m->used.idx != txq.m->avail.idx && rdtsc() - t0 < lim)
		cpu_relax();
	kprintf("net-echo: quit after rx=%u tx=%u arp_replies=%u icmp_replies=%u udp_echoes=%u dropped=%u irqs=%u\n",
		rx_frames, tx_frames, arp_replies, icmp_replies, udp_echoes, dropped, net_irqs);
	return GUEST_EXIT_SUCCESS;
}
