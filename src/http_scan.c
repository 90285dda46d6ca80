/* http_scan: see http_scan.h. One pass over the bytes: sixteen at a time
 * where SSE2 can tell they are plain, else a table lookup per byte. Every
 * doubt is a decline, never an error: the llhttp path that takes over gives
 * the answer (400, 414, 431...) as it always did. */
#include "http_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <llhttp.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
	C_TOKEN = 1,  /* tchar (RFC 9110 5.6.2): a header name */
	C_TARGET = 2, /* an origin-form target: visible ASCII but '#', as llhttp */
	C_VALUE = 4,  /* a header value's bytes: visible ASCII, space, tab */
};

/* Narrower than what llhttp takes: no '#', no obs-text, no control bytes
 * anywhere. */
static const uint8_t cls[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 7, 6, 5, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6,
	6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0,
	/* 0x80-0xff: none */
};

/* Skips the bytes from p in [low, 0x7e] other than `stop`, sixteen at a
 * time while sixteen are left before e: a fast start for the table loops,
 * which still judge the byte it stops at and the short tail (a tab in a
 * value, say, stops it early). */
static const unsigned char *skip_run(const unsigned char *p, const unsigned char *e,
				     char low, char stop)
{
#ifdef __SSE2__
	/* Signed compare: bytes 0x80-0xff are negative, below `low`. */
	const __m128i below = _mm_set1_epi8(low), del = _mm_set1_epi8(0x7f),
		      stopper = _mm_set1_epi8(stop);
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, below),
					   _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, stopper)));
		unsigned m = (unsigned)_mm_movemask_epi8(bad);
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#else
	(void)e;
	(void)low;
	(void)stop;
#endif
	return p;
}

/* Skips the bytes from p that are letters, digits or '-' (every header
 * name in practice), sixteen at a time while sixteen are left before e; the
 * token loop judges the rest. */
static const unsigned char *skip_name(const unsigned char *p, const unsigned char *e)
{
#ifdef __SSE2__
	const __m128i case_bit = _mm_set1_epi8(0x20), a = _mm_set1_epi8('a' - 1),
		      z = _mm_set1_epi8('z' + 1), d0 = _mm_set1_epi8('0' - 1),
		      d9 = _mm_set1_epi8('9' + 1), dash = _mm_set1_epi8('-');
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i lower = _mm_or_si128(v, case_bit);
		/* Signed compares: bytes 0x80-0xff are negative, in no range. */
		__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, a), _mm_cmplt_epi8(lower, z));
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, d0), _mm_cmplt_epi8(v, d9));
		__m128i good = _mm_or_si128(_mm_or_si128(letter, digit), _mm_cmpeq_epi8(v, dash));
		unsigned m = ~(unsigned)_mm_movemask_epi8(good) & 0xffff;
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#else
	(void)e;
#endif
	return p;
}

/* Bytes equal a lowercase literal of letters and '-', case aside. |0x20 is
 * enough: only letters fold onto letters, and only CR (never in a name or
 * value here) onto '-'. */
static inline bool name_is(const unsigned char *s, size_t n, const char *lower, size_t ln)
{
	if (n != ln)
		return false;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) { /* four bytes a compare */
		uint32_t a, l;
		memcpy(&a, s + i, 4);
		memcpy(&l, lower + i, 4);
		if ((a | 0x20202020u) != l)
			return false;
	}
	for (; i < n; i++)
		if ((s[i] | 0x20) != (unsigned char)lower[i])
			return false;
	return true;
}

#define NAME_IS(s, n, lit) name_is(s, n, lit, sizeof(lit) - 1)

/* The header lines after a start line, up to and including the blank line
 * that ends the head: what the request and the response scanners share. */
struct scan_fields {
	unsigned n;                  /* header lines, in h[] */
	uint64_t names;              /* http_name_bit() of each, if wanted */
	unsigned nhost;
	struct http_span host;       /* the last Host */
	enum http_scan_conn conn;
	int content_length;          /* index of the Content-Length line, -1: none */
	bool special;                /* Transfer-Encoding, Upgrade, Expect, Proxy-Connection */
};

/* Returns the end of the head, or NULL to decline: not all here (e),
 * more than max lines, a byte outside the classes, a second Connection or
 * Content-Length line, a Connection other than one plain token. */
static const unsigned char *scan_fields(const unsigned char *b, const unsigned char *p,
					const unsigned char *e, struct http_header *hs,
					unsigned max, bool want_names, struct scan_fields *f)
{
	f->n = 0;
	f->names = 0;
	f->nhost = 0;
	f->host = (struct http_span){ 0, 0 };
	f->conn = HTTP_SCAN_CONN_NONE;
	f->content_length = -1;
	f->special = false;
	for (;;) {
		if (p == e)
			return NULL; /* not all here, or too long */
		if (*p == '\r') {
			if (e - p < 2 || p[1] != '\n')
				return NULL;
			return p + 2;
		}
		const unsigned char *name = p;
		p = skip_name(p, e);
		while (p < e && (cls[*p] & C_TOKEN))
			p++;
		if (p == e || *p != ':' || p == name)
			return NULL;
		size_t name_len = (size_t)(p - name);
		p++;
		if (p < e && *p == ' ') /* the usual one space */
			p++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		const unsigned char *value = p;
		p = skip_run(p, e, ' ', 0x7f); /* C_VALUE */
		while (p < e && (cls[*p] & C_VALUE))
			p++;
		const unsigned char *value_end = p;
		if (e - p < 2 || p[0] != '\r' || p[1] != '\n')
			return NULL;
		p += 2;
		const unsigned char *line_end = value_end;
		while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
			value_end--;
		if (f->n == max)
			return NULL;
		struct http_header *h = &hs[f->n++];
		h->name = (struct http_span){ (uint32_t)(name - b), (uint32_t)name_len };
		h->value = (struct http_span){ (uint32_t)(value - b), (uint32_t)(value_end - value) };
		if (want_names) /* a request's lookups use them; the proxy's relay not */
			f->names |= http_name_bit((const char *)name, name_len);

		/* The names llhttp gives meaning to. */
		switch (name_len) {
		case 4:
			if (NAME_IS(name, name_len, "host")) {
				f->nhost++;
				f->host = h->value;
			}
			break;
		case 6:
			f->special |= NAME_IS(name, name_len, "expect");
			break;
		case 7:
			f->special |= NAME_IS(name, name_len, "upgrade");
			break;
		case 10:
			if (NAME_IS(name, name_len, "connection")) {
				/* llhttp reads "close\t" as no token at all */
				if (f->conn != HTTP_SCAN_CONN_NONE || line_end != value_end)
					return NULL;
				size_t vn = (size_t)(value_end - value);
				if (NAME_IS(value, vn, "close"))
					f->conn = HTTP_SCAN_CONN_CLOSE;
				else if (NAME_IS(value, vn, "keep-alive"))
					f->conn = HTTP_SCAN_CONN_KEEP_ALIVE;
				else
					return NULL;
			}
			break;
		case 14:
			if (NAME_IS(name, name_len, "content-length")) {
				if (f->content_length >= 0)
					return NULL;
				f->content_length = (int)f->n - 1;
			}
			break;
		case 16:
			f->special |= NAME_IS(name, name_len, "proxy-connection");
			break;
		case 17:
			f->special |= NAME_IS(name, name_len, "transfer-encoding");
			break;
		}
	}
}

size_t http_scan_request(const char *base, size_t pos, size_t end,
			 const struct http_limits *lim, struct http_request *req)
{
	const unsigned char *b = (const unsigned char *)base, *s = b + pos, *p = s;
	/* A head longer than header_size is the llhttp path's 431. */
	size_t len = end - pos;
	const unsigned char *e = s + (len < lim->header_size ? len : lim->header_size);

	if (e - p >= 4 && memcmp(p, "GET ", 4) == 0) {
		req->method = HTTP_GET;
		p += 4;
	} else if (e - p >= 5 && memcmp(p, "HEAD ", 5) == 0) {
		req->method = HTTP_HEAD;
		p += 5;
	} else {
		return 0;
	}

	const unsigned char *target = p;
	if (p == e || *p != '/')
		return 0;
	p = skip_run(p, e, '!', '#'); /* C_TARGET */
	while (p < e && (cls[*p] & C_TARGET))
		p++;
	if ((size_t)(p - target) > lim->uri_size)
		return 0;
	if (e - p < 11 || memcmp(p, " HTTP/1.", 8) != 0 || (p[8] != '0' && p[8] != '1') ||
	    p[9] != '\r' || p[10] != '\n')
		return 0;
	req->target = (struct http_span){ (uint32_t)(target - b), (uint32_t)(p - target) };
	req->major = 1;
	req->minor = (uint8_t)(p[8] - '0');
	p += 11;

	struct scan_fields f;
	p = scan_fields(b, p, e, req->headers, lim->headers, true, &f);
	/* A body, framing or a protocol switch: llhttp's. One Host exactly
	 * in HTTP/1.1, at most one in 1.0, else the llhttp path's 400. */
	if (!p || f.content_length >= 0 || f.special || f.nhost > 1 ||
	    (req->minor == 1 && f.nhost != 1))
		return 0;

	req->nheaders = (uint16_t)f.n;
	req->names = f.names;
	req->host = f.host;
	req->keep_alive = req->minor == 1 ? f.conn != HTTP_SCAN_CONN_CLOSE
					  : f.conn == HTTP_SCAN_CONN_KEEP_ALIVE;
	req->has_body = req->chunked = req->upgrade = req->expect_continue = false;
	req->content_length = 0;
	return (size_t)(p - b);
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

size_t http_scan_response(const char *base, size_t pos, size_t end, bool head_req,
			  struct http_header *h, unsigned max, struct http_response *resp)
{
	const unsigned char *b = (const unsigned char *)base, *p = b + pos, *e = b + end;

	/* "HTTP/1.x DDD ", then a reason of value bytes (maybe none). */
	if (e - p < 13 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) ||
	    p[12] != ' ')
		return 0;
	int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	/* 1xx is interim (or a switch): relay() reads on for the final one. */
	if (status < 200 || status > 599)
		return 0;
	uint8_t minor = (uint8_t)(p[7] - '0');
	p += 13;
	while (p < e && (cls[*p] & C_VALUE))
		p++;
	if (e - p < 2 || p[0] != '\r' || p[1] != '\n')
		return 0;
	p += 2;

	struct scan_fields f;
	p = scan_fields(b, p, e, h, max, false, &f);
	if (!p || f.special)
		return 0;

	/* Framing (RFC 9112 6.3): none after HEAD, 204, 304; else one plain
	 * decimal Content-Length. None at all means read until close: the
	 * llhttp path's. */
	bool no_body = head_req || status == 204 || status == 304;
	uint64_t length = 0;
	if (f.content_length >= 0) {
		const struct http_span v = h[f.content_length].value;
		const unsigned char *d = b + v.off;
		/* At most 18 digits: no overflow; nothing after them, not even
		 * whitespace. */
		if (v.len == 0 || v.len > 18 || d[v.len] != '\r')
			return 0;
		for (uint32_t i = 0; i < v.len; i++) {
			if (!is_digit(d[i]))
				return 0;
			length = length * 10 + (uint64_t)(d[i] - '0');
		}
	} else if (!no_body) {
		return 0;
	}

	resp->status = status;
	resp->minor = minor;
	resp->nheaders = (uint16_t)f.n;
	resp->has_length = f.content_length >= 0;
	resp->content_length = length;
	/* llhttp_should_keep_alive(): the body never runs to the close here,
	 * so only the version and the Connection token decide. */
	resp->keep_alive = minor == 1 ? f.conn != HTTP_SCAN_CONN_CLOSE
				      : f.conn == HTTP_SCAN_CONN_KEEP_ALIVE;
	return (size_t)(p - b);
}
