/* config_value: the small text grammars shared by the main file and the site
 * files: sizes ("64k"), durations ("500ms", "2m") and listen addresses
 * ("[::]:8080"). Pure functions of their text: no libconfig, no files. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>

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
