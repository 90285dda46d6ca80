/* date: HTTP dates (IMF-fixdate), the current one cached per second. */
#ifndef GARCOM_DATE_H
#define GARCOM_DATE_H

#include <stdint.h>
#include <time.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* The date for `sec`, rebuilt only when the second changes. */
const char *date_cached(int64_t sec);
/* Format t into out (HTTP_DATE_LEN + 1 bytes). */
void date_format(time_t t, char *out);
/* Parse an HTTP date in any of the three formats a recipient must read
 * (RFC 9110 5.6.7: IMF-fixdate, rfc850-date, asctime-date); 0 or -1. */
int date_parse(const char *s, size_t len, time_t *out);

#endif
