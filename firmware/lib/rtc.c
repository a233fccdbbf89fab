/*
 * Register numbers and bits from the Motorola MC146818A datasheet
 * ("Address Map", "Register A/B"); the century byte at 0x32 is the PC/AT
 * convention QEMU follows (hw/rtc/mc146818rtc.c, RTC_CENTURY).
 */
#include "rtc.h"
#include "io.h"

#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS   0x04
#define RTC_DAY     0x07 /* day of month (TamaGo's "DOW" constant reads this one) */
#define RTC_MONTH   0x08
#define RTC_YEAR    0x09
#define RTC_REG_A   0x0a
#define RTC_REG_B   0x0b
#define RTC_CENTURY 0x32

#define REG_A_UIP  0x80
#define REG_B_24H  0x02
#define REG_B_DM   0x04
#define HOURS_PM   0x80 /* 12-hour mode */

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_ADDR, reg); /* bit 7 (NMI disable) left clear, as TamaGo */
	return inb(CMOS_DATA);
}

static unsigned from_bcd(uint8_t v) { return (v & 0x0f) + (v >> 4) * 10; }

struct raw { uint8_t s, m, h, d, mo, y, c; };

static void read_raw(struct raw *r)
{
	r->s = cmos_read(RTC_SECONDS);
	r->m = cmos_read(RTC_MINUTES);
	r->h = cmos_read(RTC_HOURS);
	r->d = cmos_read(RTC_DAY);
	r->mo = cmos_read(RTC_MONTH);
	r->y = cmos_read(RTC_YEAR);
	r->c = cmos_read(RTC_CENTURY);
}

const char *rtc_read(struct rtc_time *t)
{
	uint8_t a = cmos_read(RTC_REG_A), b = cmos_read(RTC_REG_B);
	if (a == 0xff && b == 0xff)
		return "no RTC (ports 0x70/0x71 read all ones)";

	/* UIP is set for ~2 ms before each update (datasheet: 244 us + 1984 us) */
	t->waited = false;
	unsigned spins = 0;
	while (cmos_read(RTC_REG_A) & REG_A_UIP) {
		t->waited = true;
		if (++spins > 200000)
			return "update in progress never ended";
	}

	struct raw r1, r2;
	read_raw(&r1);
	for (unsigned tries = 0;; tries++) {
		read_raw(&r2);
		if (r1.s == r2.s && r1.m == r2.m && r1.h == r2.h && r1.d == r2.d &&
		    r1.mo == r2.mo && r1.y == r2.y && r1.c == r2.c)
			break;
		if (tries > 5)
			return "time kept changing while read";
		r1 = r2;
	}

	t->binary = (b & REG_B_DM) != 0;
	t->h24 = (b & REG_B_24H) != 0;
	bool pm = !t->h24 && (r1.h & HOURS_PM);
	uint8_t h = t->h24 ? r1.h : (r1.h & 0x7f);
	if (t->binary) {
		t->second = r1.s; t->minute = r1.m; t->hour = h; t->day = r1.d;
		t->month = r1.mo; t->year = r1.c * 100u + r1.y;
	} else {
		t->second = from_bcd(r1.s); t->minute = from_bcd(r1.m); t->hour = from_bcd(h);
		t->day = from_bcd(r1.d); t->month = from_bcd(r1.mo);
		t->year = from_bcd(r1.c) * 100u + from_bcd(r1.y);
	}
	if (!t->h24) /* 12 AM is hour 0, 12 PM is hour 12 */
		t->hour = (t->hour % 12) + (pm ? 12 : 0);
	if (t->second > 59 || t->minute > 59 || t->hour > 23 || !t->day || t->day > 31 ||
	    !t->month || t->month > 12)
		return "fields out of range";
	return 0;
}

int64_t rtc_to_unix(const struct rtc_time *t)
{
	/* days from civil (proleptic Gregorian) */
	int64_t y = t->year, m = t->month, d = t->day;
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	return days * 86400 + t->hour * 3600 + t->minute * 60 + t->second;
}
