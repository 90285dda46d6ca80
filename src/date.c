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

int date_parse(const char *s, size_t len, time_t *out)
{
	if (len != HTTP_DATE_LEN || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -1;
	const char *m = NULL;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months + 3 * i, 3) == 0)
			m = months + 3 * i;
	if (!m)
		return -1;
	struct tm tm = { 0 };
	tm.tm_mday = num(s + 5, 2);
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_year = num(s + 12, 4) - 1900;
	tm.tm_hour = num(s + 17, 2);
	tm.tm_min = num(s + 20, 2);
	tm.tm_sec = num(s + 23, 2);
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	*out = timegm(&tm);
	return 0;
}
