/* config_value: the small text grammars shared by the main file and the site
 * files: sizes ("64k"), durations ("500ms", "2m"), listen addresses
 * ("[::]:8080"), trusted_proxies entries ("10.0.0.0/8") and proxy URLs.
 * Pure functions of their text: no libconfig, no files, no resolver. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int config_parse_size(const char *text, uint64_t *bytes)
{
	uint64_t v = 0, unit = 1;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		unit = 1ULL << 10;
		p++;
		break;
	case 'm':
	case 'M':
		unit = 1ULL << 20;
		p++;
		break;
	case 'g':
	case 'G':
		unit = 1ULL << 30;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0' || v > UINT64_MAX / unit)
		return -1;
	*bytes = v * unit;
	return 0;
}

/* The other way: the largest unit that divides v, so that a value prints as
 * it would be written: "64k", "10s"; plain bytes, "500ms" otherwise. */
void config_fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char units[] = "gmk";

	for (int i = 0; i < 3; i++) {
		uint64_t u = 1ULL << (10 * (3 - i));

		if (v != 0 && v % u == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(v / u),
				 units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

void config_fmt_duration(char *buf, size_t len, uint64_t ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, len, "%llu%s",
				 (unsigned long long)(ms / units[i].ms), units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/* A bare number means seconds, as in the main file where `header = 10`. */
static int duration_unit(const char *u, uint64_t *ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "", 1000 },   { "ms", 1 },      { "s", 1000 },
		{ "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].name) == 0) {
			*ms = units[i].ms;
			return 0;
		}
	}
	return -1;
}

int config_parse_duration_ms(const char *text, uint64_t *ms)
{
	uint64_t whole = 0, frac = 0, scale = 1, unit;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (whole > (UINT64_MAX - d) / 10)
			return -1;
		whole = whole * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		/* Nine digits are finer than a millisecond of any unit, and
		 * keep frac * unit within 64 bits. */
		for (int n = 0; isdigit((unsigned char)*p); p++, n++) {
			if (n < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
	}
	if (duration_unit(p, &unit) < 0 || whole > UINT64_MAX / unit)
		return -1;
	whole *= unit;
	frac = (frac * unit + scale / 2) / scale;
	if (whole > UINT64_MAX - frac)
		return -1;
	*ms = whole + frac;
	return 0;
}

static int parse_port(const char *p, uint16_t *port)
{
	unsigned v = 0;
	size_t n = 0;

	for (; isdigit((unsigned char)p[n]); n++) {
		if (n == 5)
			return -1;
		v = v * 10 + (unsigned)(p[n] - '0');
	}
	if (n == 0 || p[n] != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Only literals: a host name here would make the listening address depend on
 * the resolver at start-up. inet_pton, not getaddrinfo, because the latter
 * also takes "127.1" and other inet_aton forms. */
int config_parse_listen(const char *text, struct config_listen *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *port;
	size_t hlen;
	uint16_t portnum;

	if (strlen(text) >= sizeof(out->text))
		return -1;
	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		hlen = (size_t)(end - text - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		port = end + 2;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 ||
		    parse_port(port, &portnum) < 0)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(portnum);
		out->addrlen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
		const char *colon = strrchr(text, ':');

		if (colon == NULL) {
			strcpy(host, "0.0.0.0");
			port = text;
		} else {
			hlen = (size_t)(colon - text);
			if (hlen == 0 || hlen >= sizeof(host))
				return -1;
			memcpy(host, text, hlen);
			host[hlen] = '\0';
			if (strcmp(host, "*") == 0)
				strcpy(host, "0.0.0.0");
			port = colon + 1;
		}
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
		    parse_port(port, &portnum) < 0)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(portnum);
		out->addrlen = sizeof(*sin);
	}
	strcpy(out->text, text);
	return 0;
}

/* ---- trusted_proxies entries: "10.0.0.0/8", "192.168.1.7", "fd00::/8" */

int config_parse_cidr(const char *text, struct config_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned char *bytes;
	unsigned max, prefix;
	size_t nbytes;
	bool host_bits = false;

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host))
		return CIDR_MALFORMED;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		bytes = (unsigned char *)&sin->sin_addr;
		nbytes = 4;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		bytes = (unsigned char *)&sin6->sin6_addr;
		nbytes = 16;
	} else {
		memset(out, 0, sizeof(*out));
		return CIDR_MALFORMED;
	}
	max = (unsigned)nbytes * 8;
	prefix = max;
	if (slash != NULL) {
		size_t n = strspn(slash + 1, "0123456789");

		if (n == 0 || slash[1 + n] != '\0')
			return CIDR_MALFORMED;
		prefix = n > 3 ? UINT_MAX : (unsigned)atoi(slash + 1);
		if (prefix > max)
			return CIDR_BAD_PREFIX;
	}
	out->prefix = prefix;
	/* The bits beyond the prefix must be zero: "10.0.0.1/8" is more
	 * likely a typo for a host or a network than either. */
	for (size_t i = 0; i < nbytes; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8
				: prefix > 8 * i      ? prefix - 8 * (unsigned)i
						      : 0;
		unsigned char mask = keep ? (unsigned char)(0xffu << (8 - keep)) : 0;

		if (bytes[i] & (unsigned char)~mask) {
			host_bits = true;
			bytes[i] &= mask;
		}
	}
	return host_bits ? CIDR_HOST_BITS : CIDR_OK;
}

/* ---- proxy URLs: "http://HOST[:PORT][/PATH]" */

static bool is_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

static int url_error(const char **why, const char *text)
{
	*why = text;
	return -1;
}

int config_parse_proxy_url(const char *text, struct config_proxy_url *out,
			   const char **why)
{
	const char *p, *auth, *end, *host, *port = NULL;
	size_t alen, hlen;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(text, "https://", 8) == 0)
		return url_error(why, "https upstreams are not supported");
	if (strncasecmp(text, "http://", 7) != 0)
		return url_error(why, "the URL must start with http://");
	for (p = text; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return url_error(why, "the URL may hold only printable ASCII "
					      "characters, without spaces");
	}
	auth = text + 7;
	alen = strcspn(auth, "/?#");
	if (memchr(auth, '@', alen) != NULL)
		return url_error(why, "user info (USER@) is not allowed in the URL");
	if (strchr(auth, '?') != NULL)
		return url_error(why, "a query (?...) is not allowed in the URL");
	if (strchr(auth, '#') != NULL)
		return url_error(why, "a fragment (#...) is not allowed in the URL");
	if (alen == 0)
		return url_error(why, "the URL has no host");
	end = auth + alen;
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);

		if (close == NULL || (close + 1 != end && close[1] != ':'))
			return url_error(why, "an IPv6 address is written "
					      "[ADDRESS] or [ADDRESS]:PORT");
		host = auth + 1;
		hlen = (size_t)(close - host);
		if (hlen == 0 || hlen >= sizeof(out->host))
			return url_error(why, "the host in [ ] is not an IPv6 address");
		memcpy(out->host, host, hlen);
		struct in6_addr a6;
		if (inet_pton(AF_INET6, out->host, &a6) != 1)
			return url_error(why, "the host in [ ] is not an IPv6 address");
		out->ipv6 = true;
		if (close + 1 != end)
			port = close + 2;
	} else {
		const char *colon = memchr(auth, ':', alen);
		bool numeric = true;

		if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return url_error(why, "an IPv6 address must be in brackets: "
					      "http://[ADDRESS]:PORT");
		hlen = colon ? (size_t)(colon - auth) : alen;
		if (hlen == 0)
			return url_error(why, "the URL has no host");
		if (hlen >= sizeof(out->host))
			return url_error(why, "the host name is too long");
		for (size_t i = 0; i < hlen; i++) {
			if (!is_host_char(auth[i]))
				return url_error(why, "the host must be an IPv4 address, "
						      "an [IPv6] address or a name");
			numeric = numeric && (isdigit((unsigned char)auth[i]) ||
					      auth[i] == '.');
		}
		memcpy(out->host, auth, hlen);
		/* "127.1" and the like: getaddrinfo would take them too */
		struct in_addr a4;
		if (numeric && inet_pton(AF_INET, out->host, &a4) != 1)
			return url_error(why, "the host is not a valid IPv4 address");
		if (colon != NULL)
			port = colon + 1;
	}
	out->port = 80;
	if (port != NULL) {
		char digits[8];
		size_t n = (size_t)(end - port);

		if (n == 0 || n >= sizeof(digits))
			return url_error(why, "the port must be a number from 1 to 65535");
		memcpy(digits, port, n);
		digits[n] = '\0';
		if (parse_port(digits, &out->port) < 0)
			return url_error(why, "the port must be a number from 1 to 65535");
	}
	out->path = *end == '/' ? end : NULL;
	return 0;
}
