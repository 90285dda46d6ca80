/* date: see date.h. Formatting by hand: strftime depends on the locale. */
#include "date.h"

#include <string.h>

static const char days[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void date_format(time_t t, char *out)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	memcpy(out, days + 3 * tm.tm_wday, 3);
	out[3] = ',';
	out[4] = ' ';
	put2(out + 5, tm.tm_mday);
	out[7] = ' ';
	memcpy(out + 8, months + 3 * tm.tm_mon, 3);
	out[11] = ' ';
	int y = tm.tm_year + 1900;
	put2(out + 12, (y / 100) % 100);
	put2(out + 14, y % 100);
	out[16] = ' ';
	put2(out + 17, tm.tm_hour);
	out[19] = ':';
	put2(out + 20, tm.tm_min);
	out[22] = ':';
	put2(out + 23, tm.tm_sec);
	memcpy(out + 25, " GMT", 5);
}

const char *date_cached(int64_t sec)
{
	static char buf[HTTP_DATE_LEN + 1];
	static int64_t cached = -1;
	if (sec != cached) {
		date_format((time_t)sec, buf);
		cached = sec;
	}
	return buf;
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, months + 3 * i, 3) == 0)
			return i;
	return -1;
}

/* A two-digit year (rfc850-date) is the latest with those digits that is
 * not more than 50 years ahead (RFC 9110 5.6.7). */
static int full_year(int yy)
{
	struct tm now;
	time_t t = time(NULL);
	gmtime_r(&t, &now);
	int this_year = now.tm_year + 1900;
	int y = this_year - this_year % 100 + yy;
	return y > this_year + 50 ? y - 100 : y;
}

int date_parse(const char *s, size_t len, time_t *out)
{
	int mday, mon, year;
	const char *hms;
	if (len == HTTP_DATE_LEN && s[3] == ',') {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		    memcmp(s + 25, " GMT", 4) != 0)
			return -1;
		mday = num(s + 5, 2);
		mon = month_of(s + 8);
		year = num(s + 12, 4);
		hms = s + 17;
	} else if (len == 24 && s[3] == ' ') {
		/* asctime-date: "Sun Nov  6 08:49:37 1994" */
		if (s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
			return -1;
		mday = s[8] == ' ' ? num(s + 9, 1) : num(s + 8, 2);
		mon = month_of(s + 4);
		year = num(s + 20, 4);
		hms = s + 11;
	} else {
		/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
		const char *comma = memchr(s, ',', len < 10 ? len : 10);
		if (!comma || (size_t)(s + len - comma) != 24)
			return -1;
		const char *p = comma + 2;
		if (comma[1] != ' ' || p[2] != '-' || p[6] != '-' || p[9] != ' ' ||
		    memcmp(p + 18, " GMT", 4) != 0)
			return -1;
		mday = num(p, 2);
		mon = month_of(p + 3);
		year = num(p + 7, 2);
		if (year >= 0)
			year = full_year(year);
		hms = p + 10;
	}
	if (hms[2] != ':' || hms[5] != ':' || mon < 0)
		return -1;
	struct tm tm = { 0 };
	tm.tm_mday = mday;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = num(hms, 2);
	tm.tm_min = num(hms + 3, 2);
	tm.tm_sec = num(hms + 6, 2);
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	*out = timegm(&tm);
	return 0;
}
