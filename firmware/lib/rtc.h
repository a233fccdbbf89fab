/* MC146818 RTC/CMOS at ports 0x70/0x71 (rtc=on), century at CMOS 0x32. */
#ifndef FW_RTC_H
#define FW_RTC_H

#include <stdint.h>
#include <stdbool.h>

struct rtc_time {
	unsigned year, month, day, hour, minute, second;
	bool binary;   /* register B DM=1: binary, else BCD */
	bool h24;      /* register B 24/12 = 1 */
	bool waited;   /* UIP was set and we waited it out */
};

/* Read the date and time; NULL on success, else why not. */
const char *rtc_read(struct rtc_time *t);
/* Seconds since 1970-01-01 00:00:00 for the RTC fields (taken as UTC). */
int64_t rtc_to_unix(const struct rtc_time *t);

#endif
