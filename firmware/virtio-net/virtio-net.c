/*
 * virtio-net: our own virtio-net driver (virtio 1.2 §4.2 virtio-mmio,
 * §2.7 split virtqueues, §5.1 network device) in a tiny guest that answers
 * ARP, ICMP echo and a UDP echo port. Both transport versions: version 2
 * (modern, `-global virtio-mmio.force-legacy=false`) and version 1
 * (legacy, QueuePFN); interrupt driven (IOAPIC, level-triggered, HLT while
 * idle) or polling.
 *
 * Command line (all optional):
 *   virtio=irq|poll      completion handling (default irq)
 *   ip=A.B.C.D           our address (default 10.0.2.15)
 *   udp=N                UDP echo port (default 7)
 *   ping=A.B.C.D count=N ping that host N times (ARP first) and print replies
 *   base=0x.. gsi=N      transport address / GSI (default: scan from the top, GSI 24+n)
 *   quiet                do not print a line per packet
 *   nofeatures           (version 2) negotiate no feature bits, as TamaGo's driver does: 10-byte header
 *
 * Output (tests wait for these):
 *   virtio-net: transport 0x<base> version <1|2> gsi <n> mac <mac>
 *   virtio-net ready ip=<ip> udp=<port> mode=<irq|poll>
 *   arp: who-has <ip> from <ip>          (first few; not with quiet)
 *   icmp: echo request from <ip> seq <n> (idem)
 *   udp: echo <len> bytes to <ip>:<port> (idem)
 *   ping: reply from <ip> seq <n>
 *   ping: done <received>/<sent>
 * A UDP datagram "quit" to the echo port ends the guest (isa-debug-exit
 * value 0 if the device exists, then a triple fault):
 *   virtio-net: quit (rx <n> frames)
 */
#include "crt.h"
#include "print.h"
#include "pvh.h"
#include "io.h"
#include "ioapic.h"
#include "lapic.h"
#include "trap.h"
#include "exit.h"

/* lib/string.c provides these; the compiler builtins declare them */
#define memcpy __builtin_memcpy
#define memset __builtin_memset
#define memcmp __builtin_memcmp

/* virtio-mmio registers (virtio 1.2 §4.2.2) */
#define VM_MAGIC        0x000
#define VM_VERSION      0x004
#define VM_DEVICE_ID    0x008
#define VM_DEV_FEAT     0x010
#define VM_DEV_FEAT_SEL 0x014
#define VM_DRV_FEAT     0x020
#define VM_DRV_FEAT_SEL 0x024
#define VM_GUEST_PAGE_SIZE 0x028
#define VM_QUEUE_SEL    0x030
#define VM_QUEUE_NUM_MAX 0x034
#define VM_QUEUE_NUM    0x038
#define VM_QUEUE_ALIGN  0x03c
#define VM_QUEUE_PFN    0x040
#define VM_QUEUE_READY  0x044
#define VM_QUEUE_NOTIFY 0x050
#define VM_INT_STATUS   0x060
#define VM_INT_ACK      0x064
#define VM_STATUS       0x070
#define VM_QUEUE_DESC_LO 0x080
#define VM_QUEUE_DESC_HI 0x084
#define VM_QUEUE_AVAIL_LO 0x090
#define VM_QUEUE_AVAIL_HI 0x094
#define VM_QUEUE_USED_LO 0x0a0
#define VM_QUEUE_USED_HI 0x0a4
#define VM_CONFIG       0x100

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8

#define F_MAC 5          /* VIRTIO_NET_F_MAC */
#define F_VERSION_1 32

#define VIRTIO_MMIO_BASE 0xfeb00000u
#define VIRTIO_MMIO_STRIDE 0x200u
#define NET_VECTOR 0x31

#define QSIZE 16
#define BUFSZ 2048
#define RXQ 0
#define TXQ 1

struct vq_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct vq_avail { uint16_t flags; uint16_t idx; uint16_t ring[QSIZE]; uint16_t used_event; };
struct vq_used_elem { uint32_t id; uint32_t len; };
struct vq_used { uint16_t flags; uint16_t idx; struct vq_used_elem ring[QSIZE]; uint16_t avail_event; };

/*
 * One queue in two pages, laid out for legacy (used ring at the next
 * 4096-byte boundary, virtio 1.2 §2.7.2 legacy), which also satisfies the
 * modern alignment rules.
 */
struct vq_mem {
	struct vq_desc desc[QSIZE];
	struct vq_avail avail;
	uint8_t pad[4096 - sizeof(struct vq_desc) * QSIZE - sizeof(struct vq_avail)];
	struct vq_used used;
} __attribute__((aligned(4096)));

_Static_assert(__builtin_offsetof(struct vq_mem, used) == 4096, "used ring on the second page");

static struct vq_mem queues[2];
static uint8_t rxbuf[QSIZE][BUFSZ] __attribute__((aligned(64)));
static uint8_t txbuf[QSIZE][BUFSZ] __attribute__((aligned(64)));
static uint16_t last_used[2];
static uint16_t tx_next;      /* next tx descriptor/buffer to use */
static uint16_t tx_inflight;

static uint32_t base;
static unsigned hdr_len;
static uint8_t mac[6];
static uint32_t my_ip;
static uint16_t echo_port;
static bool quiet;
static volatile uint32_t irq_count;
static unsigned events_printed;
static unsigned rx_frames;

static inline uint32_t rd(uint32_t off) { return mmio_read32(base + off); }
static inline void wr(uint32_t off, uint32_t v) { mmio_write32(base + off, v); }

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff; }

static bool parse_ip(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		uint32_t n = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (uint32_t)(*s++ - '0');
			digits++;
		}
		if (!digits || n > 255)
			return false;
		v = v << 8 | n;
		if (part < 3 && *s++ != '.')
			return false;
	}
	*out = v;
	return true;
}

static void fmt_ip(char *b, uint32_t ip)
{
	ksnprintf(b, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* RFC 1071 */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- virtqueues ---- */

static void queue_setup(unsigned q, uint32_t version)
{
	struct vq_mem *m = &queues[q];
	memset(m, 0, sizeof(*m));
	wr(VM_QUEUE_SEL, q);
	uint32_t max = rd(VM_QUEUE_NUM_MAX);
	if (max < QSIZE) {
		kprintf("virtio-net: queue %u max size %u < %u\n", q, max, QSIZE);
		guest_exit(1);
	}
	wr(VM_QUEUE_NUM, QSIZE);
	uint64_t d = (uint64_t)(uintptr_t)m->desc, a = (uint64_t)(uintptr_t)&m->avail, u = (uint64_t)(uintptr_t)&m->used;
	if (version == 2) {
		wr(VM_QUEUE_DESC_LO, (uint32_t)d);
		wr(VM_QUEUE_DESC_HI, (uint32_t)(d >> 32));
		wr(VM_QUEUE_AVAIL_LO, (uint32_t)a);
		wr(VM_QUEUE_AVAIL_HI, (uint32_t)(a >> 32));
		wr(VM_QUEUE_USED_LO, (uint32_t)u);
		wr(VM_QUEUE_USED_HI, (uint32_t)(u >> 32));
		wr(VM_QUEUE_READY, 1);
	} else {
		wr(VM_QUEUE_ALIGN, 4096);
		wr(VM_QUEUE_PFN, (uint32_t)(d >> 12));
	}
}

static void rx_give(uint16_t i)
{
	struct vq_mem *m = &queues[RXQ];
	m->desc[i].addr = (uint64_t)(uintptr_t)rxbuf[i];
	m->desc[i].len = BUFSZ;
	m->desc[i].flags = 2; /* VIRTQ_DESC_F_WRITE */
	m->avail.ring[m->avail.idx % QSIZE] = i;
	barrier(); /* the entry before the index (x86 keeps stores in order) */
	m->avail.idx++;
}

/* Reclaim finished transmissions. */
static void tx_reap(void)
{
	struct vq_mem *m = &queues[TXQ];
	while (last_used[TXQ] != *(volatile uint16_t *)&m->used.idx) {
		last_used[TXQ]++;
		tx_inflight--;
	}
}

/* Queue one frame (without the virtio header) for transmission. */
static bool tx_frame(const uint8_t *frame, size_t len)
{
	if (len + hdr_len > BUFSZ)
		return false;
	for (unsigned spins = 0; tx_inflight >= QSIZE; spins++) {
		tx_reap();
		if (spins > 10000000)
			return false;
		cpu_relax();
	}
	struct vq_mem *m = &queues[TXQ];
	uint16_t i = tx_next;
	tx_next = (tx_next + 1) % QSIZE;
	memset(txbuf[i], 0, hdr_len); /* flags 0, GSO_NONE */
	memcpy(txbuf[i] + hdr_len, frame, len);
	m->desc[i].addr = (uint64_t)(uintptr_t)txbuf[i];
	m->desc[i].len = (uint32_t)(hdr_len + len);
	m->desc[i].flags = 0;
	m->avail.ring[m->avail.idx % QSIZE] = i;
	barrier();
	m->avail.idx++;
	tx_inflight++;
	barrier();
	wr(VM_QUEUE_NOTIFY, TXQ);
	return true;
}

/* ---- protocols ---- */

static uint8_t out[BUFSZ];

static bool for_me(const uint8_t *dst)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	return !memcmp(dst, mac, 6) || !memcmp(dst, bcast, 6);
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, type);
}

static void ip_header(uint8_t *p, uint32_t dst, uint8_t proto, size_t payload)
{
	static uint16_t id;
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + payload));
	put16(p + 4, ++id);
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, my_ip);
	put32(p + 16, dst);
	put16(p + 10, fold(sum16(p, 20, 0)));
}

static bool event_line(void)
{
	return !quiet && events_printed++ < 8;
}

/* ping client state */
static uint32_t ping_ip;
static uint8_t ping_mac[6];
static bool ping_mac_known;
static unsigned ping_received;
static uint16_t ping_waiting; /* sequence number of the outstanding echo request */

static void send_arp(uint16_t op, const uint8_t *tha, uint32_t tpa, const uint8_t *dst)
{
	eth_header(out, dst, 0x0806);
	uint8_t *a = out + 14;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, mac, 6);
	put32(a + 14, my_ip);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	tx_frame(out, 60); /* minimum Ethernet payload, zero padded */
}

static void on_arp(const uint8_t *f, size_t len)
{
	if (len < 14 + 28)
		return;
	const uint8_t *a = f + 14;
	if (be16(a) != 1 || be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return;
	uint16_t op = be16(a + 6);
	uint32_t spa = be32(a + 14), tpa = be32(a + 24);
	if (ping_ip && spa == ping_ip) {
		memcpy(ping_mac, a + 8, 6);
		ping_mac_known = true;
	}
	if (op == 1 && tpa == my_ip) {
		if (event_line()) {
			char t[16], s[16];
			fmt_ip(t, tpa);
			fmt_ip(s, spa);
			kprintf("arp: who-has %s from %s\n", t, s);
		}
		memset(out, 0, 60);
		send_arp(2, a + 8, spa, a + 8);
	}
}

static void on_icmp(const uint8_t *f, const uint8_t *ip, size_t ihl, size_t total)
{
	const uint8_t *icmp = ip + ihl;
	size_t n = total - ihl;
	if (n < 8 || fold(sum16(icmp, n, 0)) != 0)
		return;
	uint32_t src = be32(ip + 12);
	if (icmp[0] == 8) { /* echo request -> reply to the sender's MAC */
		if (event_line()) {
			char s[16];
			fmt_ip(s, src);
			kprintf("icmp: echo request from %s seq %u\n", s, be16(icmp + 6));
		}
		if (14 + 20 + n > sizeof(out))
			return;
		eth_header(out, f + 6, 0x0800);
		ip_header(out + 14, src, 1, n);
		uint8_t *r = out + 34;
		memcpy(r, icmp, n);
		r[0] = 0;
		r[2] = r[3] = 0;
		put16(r + 2, fold(sum16(r, n, 0)));
		tx_frame(out, 34 + n);
	} else if (icmp[0] == 0 && ping_ip && src == ping_ip) {
		uint16_t seq = be16(icmp + 6);
		if (seq != ping_waiting)
			return; /* a late reply to a retransmitted request */
		char s[16];
		fmt_ip(s, src);
		ping_received++;
		ping_waiting = 0;
		kprintf("ping: reply from %s seq %u\n", s, seq);
	}
}

static void on_udp(const uint8_t *f, const uint8_t *ip, size_t ihl, size_t total)
{
	const uint8_t *u = ip + ihl;
	size_t n = total - ihl;
	if (n < 8)
		return;
	size_t ulen = be16(u + 4);
	if (ulen < 8 || ulen > n || be16(u + 2) != echo_port)
		return;
	uint32_t src = be32(ip + 12);
	uint16_t sport = be16(u);
	if (ulen - 8 == 4 && !memcmp(u + 8, "quit", 4)) {
		/* end the guest: isa-debug-exit value 0 if present, else a triple fault */
		kprintf("virtio-net: quit (rx %u frames)\n", rx_frames);
		guest_exit(0);
	}
	if (event_line()) {
		char s[16];
		fmt_ip(s, src);
		kprintf("udp: echo %u bytes to %s:%u\n", (unsigned)(ulen - 8), s, sport);
	}
	if (14 + 20 + ulen > sizeof(out))
		return;
	eth_header(out, f + 6, 0x0800);
	ip_header(out + 14, src, 17, ulen);
	uint8_t *r = out + 34;
	put16(r, echo_port);
	put16(r + 2, sport);
	put16(r + 4, (uint16_t)ulen);
	put16(r + 6, 0);
	memcpy(r + 8, u + 8, ulen - 8);
	/* checksum over the pseudo header (RFC 768) */
	uint8_t ph[12];
	put32(ph, my_ip);
	put32(ph + 4, src);
	ph[8] = 0;
	ph[9] = 17;
	put16(ph + 10, (uint16_t)ulen);
	uint16_t c = fold(sum16(r, ulen, sum16(ph, 12, 0)));
	put16(r + 6, c ? c : 0xffff);
	tx_frame(out, 34 + ulen);
}

static void on_frame(const uint8_t *f, size_t len)
{
	if (len < 14 || !for_me(f))
		return;
	uint16_t type = be16(f + 12);
	if (type == 0x0806) {
		on_arp(f, len);
		return;
	}
	if (type != 0x0800 || len < 34)
		return;
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	size_t total = be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || 14 + total > len)
		return;
	if (fold(sum16(ip, ihl, 0)) != 0 || be32(ip + 16) != my_ip)
		return;
	if (be16(ip + 6) & 0x3fff)
		return; /* fragments: not for this guest */
	if (ip[9] == 1)
		on_icmp(f, ip, ihl, total);
	else if (ip[9] == 17)
		on_udp(f, ip, ihl, total);
}

/* Handle every received frame; returns how many. */
static unsigned rx_poll(void)
{
	struct vq_mem *m = &queues[RXQ];
	unsigned n = 0;
	while (last_used[RXQ] != *(volatile uint16_t *)&m->used.idx) {
		barrier();
		struct vq_used_elem e = m->used.ring[last_used[RXQ] % QSIZE];
		last_used[RXQ]++;
		rx_frames++;
		if (e.id < QSIZE && e.len >= hdr_len && e.len <= BUFSZ)
			on_frame(rxbuf[e.id] + hdr_len, e.len - hdr_len);
		rx_give((uint16_t)(e.id % QSIZE));
		n++;
	}
	if (n) {
		barrier();
		wr(VM_QUEUE_NOTIFY, RXQ);
	}
	tx_reap();
	return n;
}

static void net_irq(struct trap_frame *f)
{
	(void)f;
	irq_count++;
	/* virtio 1.2 §4.2.3.4: read InterruptStatus, acknowledge what was seen */
	uint32_t s = rd(VM_INT_STATUS);
	wr(VM_INT_ACK, s);
	lapic_eoi();
}

static void send_ping(uint16_t seq)
{
	uint8_t *p = out;
	eth_header(p, ping_mac, 0x0800);
	uint8_t *icmp = p + 34;
	size_t n = 8 + 32;
	memset(icmp, 0, n);
	icmp[0] = 8;
	put16(icmp + 4, 0x4d56); /* identifier "MV" */
	put16(icmp + 6, seq);
	for (size_t i = 8; i < n; i++)
		icmp[i] = (uint8_t)i;
	put16(icmp + 2, fold(sum16(icmp, n, 0)));
	ip_header(p + 14, ping_ip, 1, n);
	tx_frame(p, 34 + n);
}

/* Spin for about `ms` milliseconds while handling frames (TSC, assumed >= 1 GHz: an upper bound is fine). */
static void pump_for(uint64_t cycles)
{
	uint64_t end = rdtsc() + cycles;
	while (rdtsc() < end)
		if (!rx_poll())
			cpu_relax();
}

static uint32_t find_transport(void)
{
	for (int n = 23; n >= 0; n--) {
		uint32_t b = VIRTIO_MMIO_BASE + (uint32_t)n * VIRTIO_MMIO_STRIDE;
		if (mmio_read32(b + VM_MAGIC) == 0x74726976 && mmio_read32(b + VM_DEVICE_ID) == 1)
			return b;
	}
	return 0;
}

int guest_main(void)
{
	char buf[24];
	bool poll = cmdline_get("virtio", buf, sizeof(buf)) && buf[0] == 'p';
	quiet = cmdline_get("quiet", buf, sizeof(buf));
	my_ip = 0x0a00020f;
	if (cmdline_get("ip", buf, sizeof(buf)) && !parse_ip(buf, &my_ip)) {
		kprintf("virtio-net: bad ip=%s\n", buf);
		return 1;
	}
	echo_port = (uint16_t)cmdline_u64("udp", 7);
	base = (uint32_t)cmdline_u64("base", 0);
	if (!base)
		base = find_transport();
	if (!base || rd(VM_MAGIC) != 0x74726976 || rd(VM_DEVICE_ID) != 1) {
		kprintf("virtio-net: no virtio-net device found\n");
		return 1;
	}
	unsigned gsi = (unsigned)cmdline_u64("gsi", 24 + (base - VIRTIO_MMIO_BASE) / VIRTIO_MMIO_STRIDE);
	uint32_t version = rd(VM_VERSION);

	/* virtio 1.2 §3.1.1 driver initialisation */
	wr(VM_STATUS, 0);
	wr(VM_STATUS, ST_ACK);
	wr(VM_STATUS, ST_ACK | ST_DRIVER);
	wr(VM_DEV_FEAT_SEL, 0);
	uint32_t f0 = rd(VM_DEV_FEAT);
	wr(VM_DEV_FEAT_SEL, 1);
	uint32_t f1 = rd(VM_DEV_FEAT);
	wr(VM_DRV_FEAT_SEL, 0);
	wr(VM_DRV_FEAT, f0 & (1u << F_MAC));
	if (version == 2 && cmdline_get("nofeatures", buf, sizeof(buf))) {
		/*
		 * TamaGo's kvm/virtio negotiation ends with no feature bits (it ANDs
		 * the reserved bits with its device-type bits) and QEMU accepts that
		 * on a version 2 transport: legacy semantics, 10-byte header.
		 */
		wr(VM_DRV_FEAT, 0);
		wr(VM_DRV_FEAT_SEL, 1);
		wr(VM_DRV_FEAT, 0);
		wr(VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
		if (!(rd(VM_STATUS) & ST_FEATURES_OK)) {
			kprintf("virtio-net: device refused FEATURES_OK without VERSION_1\n");
			return 1;
		}
		hdr_len = 10;
	} else if (version == 2) {
		if (!(f1 & 1)) {
			kprintf("virtio-net: modern transport without VERSION_1\n");
			return 1;
		}
		wr(VM_DRV_FEAT_SEL, 1);
		wr(VM_DRV_FEAT, 1); /* VERSION_1 */
		wr(VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
		if (!(rd(VM_STATUS) & ST_FEATURES_OK)) {
			kprintf("virtio-net: device refused FEATURES_OK\n");
			return 1;
		}
		hdr_len = 12;
	} else {
		wr(VM_GUEST_PAGE_SIZE, 4096);
		hdr_len = 10; /* legacy without MRG_RXBUF */
	}
	for (int i = 0; i < 6; i++)
		mac[i] = *(volatile uint8_t *)(uintptr_t)(base + VM_CONFIG + (uint32_t)i); /* byte access: §4.2.2 allows it for config */
	queue_setup(RXQ, version);
	queue_setup(TXQ, version);
	for (uint16_t i = 0; i < QSIZE; i++)
		rx_give(i);
	if (!poll) {
		lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_ENABLE | 0xff);
		trap_set_handler(NET_VECTOR, net_irq);
		/* microvm's DSDT: virtio-mmio interrupts are level-triggered, active high */
		if (!ioapic_route(gsi, NET_VECTOR, lapic_id(), IOAPIC_REDIR_LEVEL)) {
			kprintf("virtio-net: no IOAPIC pin for GSI %u\n", gsi);
			return 1;
		}
	}
	wr(VM_STATUS, rd(VM_STATUS) | ST_DRIVER_OK);
	wr(VM_QUEUE_NOTIFY, RXQ);

	char ipb[16];
	fmt_ip(ipb, my_ip);
	kprintf("virtio-net: transport 0x%x version %u gsi %u mac %02x:%02x:%02x:%02x:%02x:%02x\n",
		base, version, gsi, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	kprintf("virtio-net ready ip=%s udp=%u mode=%s\n", ipb, echo_port, poll ? "poll" : "irq");

	if (cmdline_get("ping", buf, sizeof(buf))) {
		if (!parse_ip(buf, &ping_ip)) {
			kprintf("virtio-net: bad ping=%s\n", buf);
			return 1;
		}
		unsigned count = (unsigned)cmdline_u64("count", 3);
		static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		static const uint8_t zero[6];
		for (unsigned tries = 0; !ping_mac_known && tries < 50; tries++) {
			memset(out, 0, 60);
			send_arp(1, zero, ping_ip, bcast);
			pump_for(200000000ull);
		}
		for (unsigned seq = 1; ping_mac_known && seq <= count; seq++) {
			unsigned before = ping_received;
			ping_waiting = (uint16_t)seq;
			for (unsigned tries = 0; ping_received == before && tries < 20; tries++) {
				send_ping((uint16_t)seq);
				pump_for(200000000ull);
			}
		}
		kprintf("ping: done %u/%u\n", ping_received, count);
	}

	for (;;) {
		if (poll) {
			if (!rx_poll())
				cpu_relax();
			continue;
		}
		cli();
		if (rx_poll()) {
			sti();
			continue;
		}
		/* STI's shadow covers HLT: an interrupt between the check and HLT still wakes us */
		sti_hlt();
	}
}
