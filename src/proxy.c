/* proxy: see proxy.h. One exchange: pick a server -> connect (or reuse an
 * idle connection) -> send the rewritten head -> stream the request body ->
 * parse the response strictly (llhttp) -> relay 1xx, the head without its
 * hop-by-hop fields, and the body as it comes -> pool the connection when
 * both sides ended cleanly. Before any response byte went to the client a
 * failure becomes 502/504 (or a retry); after, the client is cut off. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include <llhttp.h>

#include "conn.h"
#include "http_scan.h"
#include "log.h"

/* Equal to a literal of lower-case letters and '-', case-insensitively. The
 * only bytes that | 0x20 turns into one of those are the capitals and CR,
 * and llhttp lets no CR into a header name or value. */
static inline bool lower_eq(const char *p, const char *lower, size_t n)
{
	/* Words where there are enough bytes: names are short, and this runs
	 * for every header of every proxied message. Inline: n is mostly a
	 * constant, and then the loops unroll into a few compares. */
	const uint64_t case_bits = 0x2020202020202020ULL;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;
		memcpy(&a, p + i, 8);
		memcpy(&b, lower + i, 8);
		if ((a | case_bits) != b)
			return false;
	}
	if (i < n && n >= 8) { /* the last eight bytes, overlapping */
		uint64_t a, b;
		memcpy(&a, p + n - 8, 8);
		memcpy(&b, lower + n - 8, 8);
		return (a | case_bits) == b;
	}
	if (n >= 4) { /* 4..7 bytes: two words of four, overlapping */
		uint32_t a, b, c, d;
		memcpy(&a, p, 4);
		memcpy(&b, lower, 4);
		memcpy(&c, p + n - 4, 4);
		memcpy(&d, lower + n - 4, 4);
		return (a | (uint32_t)case_bits) == b && (c | (uint32_t)case_bits) == d;
	}
	for (; i < n; i++)
		if ((p[i] | 0x20) != lower[i])
			return false;
	return true;
}

static inline bool name_is(const char *p, size_t n, const char *lower)
{
	return strlen(lower) == n && lower_eq(p, lower, n);
}

/* The header names the proxy treats specially, found by length first: this
 * runs for every header of every proxied message. */
enum hkind {
	H_OTHER,
	H_HOP, /* never forwarded either way (RFC 9110 7.6.1) */
	H_UPGRADE, H_CONNECTION, /* hop-by-hop too */
	H_HOST, H_EXPECT, H_CONTENT_LENGTH, H_DATE, H_SERVER,
	H_XFF, H_XFP, H_XFH, H_XRI, H_FORWARDED,
};

/* The kind if p is the literal lit (same length), else H_OTHER. */
#define KIND_IF(lit, kind) (lower_eq(p, lit, sizeof(lit) - 1) ? (kind) : H_OTHER)

static enum hkind header_kind(const char *p, size_t n)
{
	if (n < 2)
		return H_OTHER;
	/* By length, then by the first letter: one compare at most. */
	unsigned c = (unsigned char)p[0] | 0x20;
	switch (n) {
	case 2: return KIND_IF("te", H_HOP);
	case 4: return c == 'h' ? KIND_IF("host", H_HOST) : c == 'd' ? KIND_IF("date", H_DATE) : H_OTHER;
	case 6: return c == 'e' ? KIND_IF("expect", H_EXPECT)
		       : c == 's' ? KIND_IF("server", H_SERVER) : H_OTHER;
	case 7: return c == 't' ? KIND_IF("trailer", H_HOP)
		       : c == 'u' ? KIND_IF("upgrade", H_UPGRADE) : H_OTHER;
	case 9: return c == 'f' ? KIND_IF("forwarded", H_FORWARDED)
		       : c == 'x' ? KIND_IF("x-real-ip", H_XRI) : H_OTHER;
	case 10: return c == 'c' ? KIND_IF("connection", H_CONNECTION)
			: c == 'k' ? KIND_IF("keep-alive", H_HOP) : H_OTHER;
	case 14: return c == 'c' ? KIND_IF("content-length", H_CONTENT_LENGTH) : H_OTHER;
	case 15: return c == 'x' ? KIND_IF("x-forwarded-for", H_XFF) : H_OTHER;
	case 16: return c == 'p' ? KIND_IF("proxy-connection", H_HOP)
			: c == 'x' ? KIND_IF("x-forwarded-host", H_XFH) : H_OTHER;
	case 17: return c == 't' ? KIND_IF("transfer-encoding", H_HOP)
			: c == 'x' ? KIND_IF("x-forwarded-proto", H_XFP) : H_OTHER;
	default: return H_OTHER;
	}
}

#undef KIND_IF

static bool hop_kind(enum hkind k)
{
	return k == H_HOP || k == H_UPGRADE || k == H_CONNECTION;
}

/* The next comma-separated token of a Connection value, or false. */
static bool next_token(const char **p, const char *end, const char **t, size_t *n)
{
	const char *q = *p;
	while (q < end && (*q == ' ' || *q == '\t' || *q == ','))
		q++;
	*t = q;
	while (q < end && *q != ',' && *q != ' ' && *q != '\t')
		q++;
	*n = (size_t)(q - *t);
	*p = q;
	return *n > 0;
}

/* Does a Connection value name any field that is not dropped anyway?
 * "close", "keep-alive" and "upgrade" are the usual ones and name none:
 * then no header needs the token-by-token check below. */
static bool connection_names_fields(const char *conn, size_t clen)
{
	const char *p = conn, *end = conn + clen, *t;
	size_t n;
	while (next_token(&p, end, &t, &n))
		if (!name_is(t, n, "close") && !hop_kind(header_kind(t, n)))
			return true;
	return false;
}

/* Is name one of the comma-separated tokens of a Connection value? */
static bool named_by_connection(const char *conn, size_t clen, const char *name, size_t n)
{
	const char *p = conn, *end = conn + clen, *t;
	size_t tn;
	while (next_token(&p, end, &t, &tn))
		if (tn == n && strncasecmp(t, name, n) == 0)
			return true;
	return false;
}

/* A message's Connection fields, all of them (a list may be split over
 * several lines, RFC 9110 5.3): do they name any field to drop? */
static bool connections_name_fields(const char *base, const struct http_header *h, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (header_kind(base + h[i].name.off, h[i].name.len) == H_CONNECTION &&
		    connection_names_fields(base + h[i].value.off, h[i].value.len))
			return true;
	return false;
}

/* Is name named by any of the message's Connection fields? */
static bool named_by_connections(const char *base, const struct http_header *h, unsigned n,
				 const char *name, size_t nl)
{
	for (unsigned i = 0; i < n; i++)
		if (header_kind(base + h[i].name.off, h[i].name.len) == H_CONNECTION &&
		    named_by_connection(base + h[i].value.off, h[i].value.len, name, nl))
			return true;
	return false;
}

static bool trusted(const struct config *cfg, const char *peer)
{
	if (!cfg->ntrusted_proxies)
		return false;
	struct in6_addr a6;
	struct in_addr a4;
	bool v6 = strchr(peer, ':') != NULL;
	if (v6 ? inet_pton(AF_INET6, peer, &a6) != 1 : inet_pton(AF_INET, peer, &a4) != 1)
		return false;
	for (size_t i = 0; i < cfg->ntrusted_proxies; i++) {
		const struct config_cidr *c = &cfg->trusted_proxies[i];
		const uint8_t *net, *addr;
		unsigned bytes;
		if (c->addr.ss_family == AF_INET6 && v6) {
			net = ((const struct sockaddr_in6 *)&c->addr)->sin6_addr.s6_addr;
			addr = a6.s6_addr;
			bytes = 16;
		} else if (c->addr.ss_family == AF_INET && !v6) {
			net = (const uint8_t *)&((const struct sockaddr_in *)&c->addr)->sin_addr;
			addr = (const uint8_t *)&a4;
			bytes = 4;
		} else {
			continue;
		}
		unsigned bits = c->prefix, k = 0;
		bool match = true;
		for (; bits >= 8 && k < bytes; bits -= 8, k++)
			match = match && net[k] == addr[k];
		if (match && bits && k < bytes)
			match = ((net[k] ^ addr[k]) & (uint8_t)(0xff << (8 - bits))) == 0;
		if (match)
			return true;
	}
	return false;
}

/* ---- the request head toward the upstream ---- */

struct writer {
	char *p, *end;
	bool overflow;
};

static void put(struct writer *w, const char *s, size_t n)
{
	if ((size_t)(w->end - w->p) < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
}

static void puts_(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_target(struct writer *w, const struct proxy_loc *pl,
		       const struct http_request *req, const struct clean_path *cp)
{
	const char *t = req->buf + req->target.off;
	size_t n = req->target.len;
	/* absolute-form: the upstream gets origin-form. (Most targets are
	 * origin-form already: '/' first.) */
	size_t skip = n == 0 || t[0] == '/'				 ? 0
		      : n >= 8 && strncasecmp(t, "https://", 8) == 0 ? 8
		      : n >= 7 && strncasecmp(t, "http://", 7) == 0  ? 7
								     : 0;
	if (skip) {
		const char *s = memchr(t + skip, '/', n - skip);
		const char *q = memchr(t + skip, '?', n - skip);
		if (q && (!s || q < s))
			s = q;
		if ((!s || *s == '?') && !pl->cfg->proxy_path)
			put(w, "/", 1); /* "http://host" or "http://host?q" */
		n = s ? (size_t)(t + n - s) : 0;
		t = s ? s : t;
	}
	const char *path = pl->cfg->proxy_path;
	if (!path) { /* the URI passes unchanged */
		put(w, t, n);
		return;
	}
	const char *prefix = pl->cfg->prefix;
	size_t plen = strlen(prefix);
	if (n >= plen && memcmp(t, prefix, plen) == 0) {
		puts_(w, path);
		put(w, t + plen, n - plen);
		return;
	}
	/* The prefix matched only once decoded: rebuild from the clean path. */
	static const char hex[] = "0123456789ABCDEF";
	char full[PATH_BUF + 2];
	int fl = snprintf(full, sizeof full, "/%s%s", cp->len == 1 && cp->rel[0] == '.' ? "" : cp->rel,
			  cp->trailing_slash ? "/" : "");
	puts_(w, path);
	for (int i = fl >= (int)plen ? (int)plen : fl; i < fl && i < (int)sizeof full; i++) {
		unsigned char c = (unsigned char)full[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/!$&'()*+,;=:@", c)) {
			put(w, (const char *)&full[i], 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			put(w, e, 3);
		}
	}
	if (cp->query) {
		put(w, "?", 1);
		put(w, cp->query, cp->query_len);
	}
}

static size_t build_request(char *buf, size_t cap, const struct proxy_loc *pl,
			    const struct http_request *req, const struct clean_path *cp,
			    const struct upstream_server *s, const char *peer, bool trust)
{
	struct writer w = { buf, buf + cap, false };
	puts_(&w, llhttp_method_name((llhttp_method_t)req->method));
	put(&w, " ", 1);
	put_target(&w, pl, req, cp);
	puts_(&w, " HTTP/1.1\r\n");

	bool xff = false;
	/* Usually false (no Connection, or only close / keep-alive): then no
	 * header is looked up in it. */
	bool conn = (req->names & http_name_bit("connection", 10)) &&
		    connections_name_fields(req->buf, req->headers, req->nheaders);
	for (unsigned i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		const char *name = req->buf + h->name.off;
		size_t nl = h->name.len;
		enum hkind k = header_kind(name, nl);
		if (hop_kind(k) || k == H_HOST || k == H_EXPECT || k == H_CONTENT_LENGTH ||
		    (conn && named_by_connections(req->buf, req->headers, req->nheaders, name, nl)))
			continue;
		if (k >= H_XFF) {
			/* Only a trusted proxy may speak for the client. */
			if (!trust)
				continue;
			if (k == H_XFF)
				continue; /* joined below, with the peer appended */
		}
		put(&w, name, nl);
		put(&w, ": ", 2);
		put(&w, req->buf + h->value.off, h->value.len);
		put(&w, "\r\n", 2);
	}
	puts_(&w, "Host: ");
	if (pl->preserve_host && req->host.len)
		put(&w, req->buf + req->host.off, req->host.len);
	else
		puts_(&w, s->addr->text);
	puts_(&w, "\r\nX-Forwarded-For: ");
	/* A trusted proxy's list, all its lines joined in order, then the peer. */
	for (unsigned i = 0; trust && i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (!name_is(req->buf + h->name.off, h->name.len, "x-forwarded-for") ||
		    !h->value.len)
			continue;
		if (xff)
			put(&w, ", ", 2);
		put(&w, req->buf + h->value.off, h->value.len);
		xff = true;
	}
	if (xff)
		put(&w, ", ", 2);
	puts_(&w, peer);
	const char *v;
	size_t vn;
	if (!trust || !http_header_get(req, "x-real-ip", &v, &vn)) {
		puts_(&w, "\r\nX-Real-IP: ");
		puts_(&w, peer);
	}
	if (!trust || !http_header_get(req, "x-forwarded-proto", &v, &vn))
		puts_(&w, "\r\nX-Forwarded-Proto: http");
	if ((!trust || !http_header_get(req, "x-forwarded-host", &v, &vn)) && req->host.len) {
		puts_(&w, "\r\nX-Forwarded-Host: ");
		put(&w, req->buf + req->host.off, req->host.len);
	}
	if (pl->via)
		puts_(&w, "\r\nVia: 1.1 garcom");
	if (req->chunked) {
		puts_(&w, "\r\nTransfer-Encoding: chunked");
	} else if (req->has_body) {
		char cl[32];
		snprintf(cl, sizeof cl, "\r\nContent-Length: %llu",
			 (unsigned long long)req->content_length);
		puts_(&w, cl);
	}
	if (req->upgrade && http_header_get(req, "upgrade", &v, &vn)) {
		puts_(&w, "\r\nConnection: upgrade\r\nUpgrade: ");
		put(&w, v, vn);
	}
	puts_(&w, "\r\n\r\n");
	return w.overflow ? 0 : (size_t)(w.p - buf);
}

/* ---- the response ---- */

enum resp_event { R_NONE, R_BODY, R_DONE };

struct resp {
	const char *base;
	bool head_req;
	bool head_done;
	enum resp_event event;
	int status;
	uint16_t n;
	struct http_header h[HTTP_MAX_HEADERS];
	struct http_fields fields; /* fills n and h */
	const char *body_at;
	size_t body_len;
	bool overflow;
	bool chunked, has_length; /* as the head said (llhttp counts down) */
	uint64_t length;
	/* Known to have at most one Connection line naming no field (a head
	 * http_scan_response() took): no need to look at its tokens. */
	bool connection_plain;
};

static struct resp *R(llhttp_t *p)
{
	return p->data;
}

static int r_begin(llhttp_t *p)
{
	struct resp *r = R(p);
	r->n = 0;
	r->fields.in_name = false;
	r->head_done = false;
	return 0;
}

static int r_field(llhttp_t *p, const char *at, size_t len)
{
	int e = http_fields_name(&R(p)->fields, at, len);
	if (e == HTTP_FIELDS_FULL)
		R(p)->overflow = true;
	return e;
}

static int r_field_done(llhttp_t *p)
{
	return http_fields_name_done(&R(p)->fields);
}

static int r_value(llhttp_t *p, const char *at, size_t len)
{
	return http_fields_value(&R(p)->fields, at, len);
}

static int r_value_done(llhttp_t *p)
{
	http_fields_value_done(&R(p)->fields);
	return 0;
}

static int r_headers_done(llhttp_t *p)
{
	struct resp *r = R(p);
	r->status = p->status_code;
	r->head_done = true;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	r->has_length = (p->flags & F_CONTENT_LENGTH) != 0;
	r->length = p->content_length;
	/* No body, whatever the headers say (RFC 9112 6.3): a response to
	 * HEAD, a 1xx, a 204, a 304. llhttp 8.1 alone reads one after a 204
	 * with a Transfer-Encoding, or a 1xx with a length. */
	return r->head_req || r->status < 200 || r->status == 204 || r->status == 304 ? 1 : 0;
}

static int r_body(llhttp_t *p, const char *at, size_t len)
{
	struct resp *r = R(p);
	if (len == 0)
		return 0; /* the empty flush of a span at the end of a call */
	r->event = R_BODY;
	r->body_at = at;
	r->body_len = len;
	return HPE_PAUSED;
}

static int r_done(llhttp_t *p)
{
	R(p)->event = R_DONE;
	return HPE_PAUSED;
}

static const llhttp_settings_t resp_settings = {
	.on_message_begin = r_begin,
	.on_header_field = r_field,
	.on_header_field_complete = r_field_done,
	.on_header_value = r_value,
	.on_header_value_complete = r_value_done,
	.on_headers_complete = r_headers_done,
	.on_body = r_body,
	.on_message_complete = r_done,
};

static void resp_init(struct resp *r, const char *base, bool head_req)
{
	/* Field by field: the header table (1.6 KiB) needs no zeroing. */
	r->base = base;
	r->head_req = head_req;
	r->head_done = r->overflow = r->chunked = r->has_length = r->connection_plain = false;
	r->event = R_NONE;
	r->status = 0;
	r->n = 0;
	r->length = 0;
	r->body_at = NULL;
	r->body_len = 0;
	r->fields = (struct http_fields){ .base = base, .h = r->h, .n = &r->n,
					  .max = HTTP_MAX_HEADERS };
}

bool proxy_parse_response_head(const char *base, size_t pos, size_t end, bool head_req,
			       struct http_header *h, struct http_response *resp)
{
	struct resp r;
	resp_init(&r, base, head_req);
	llhttp_t parser;
	llhttp_init(&parser, HTTP_RESPONSE, &resp_settings);
	parser.data = &r;
	llhttp_errno_t err = llhttp_execute(&parser, base + pos, end - pos);
	/* The head ends at end: llhttp waits for the body there, or stopped
	 * at the end of a message without one; relay() takes it as final. */
	bool at_end = (err == HPE_OK && r.event == R_NONE) ||
		      (err == HPE_PAUSED && r.event == R_DONE &&
		       llhttp_get_error_pos(&parser) == base + end);
	if (!at_end || !r.head_done || r.status < 200 || r.chunked)
		return false;
	memcpy(h, r.h, r.n * sizeof *h);
	resp->status = r.status;
	resp->minor = parser.http_major == 1 ? parser.http_minor : 0xff;
	resp->nheaders = r.n;
	resp->has_length = r.has_length;
	resp->content_length = r.length;
	resp->keep_alive = llhttp_should_keep_alive(&parser);
	return true;
}

static bool resp_has(const struct resp *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (name_is(r->base + r->h[i].name.off, r->h[i].name.len, name) &&
		    r->h[i].value.len)
			return true;
	return false;
}

static char *put_run(char *p, const char *run, size_t n)
{
	if (n) /* run may be NULL then */
		memcpy(p, run, n);
	return p + n;
}

/* The response's header lines for the client, without hop-by-hop ones
 * (and without Date, Server: ours are sent), into scratch. */
static int relay_headers(struct http_out *out, const struct resp *r, bool keep_length,
			 bool tunnel, char **text, size_t *len)
{
	size_t need = 64;
	for (unsigned i = 0; i < r->n; i++)
		need += r->h[i].name.len + r->h[i].value.len + 4;
	/* Does a Connection line name other fields? Not in a head the scanner
	 * took (one plain token at most). */
	bool conn = false;
	for (unsigned i = 0; !r->connection_plain && !conn && i < r->n; i++)
		conn = header_kind(r->base + r->h[i].name.off, r->h[i].name.len) == H_CONNECTION &&
		       connection_names_fields(r->base + r->h[i].value.off, r->h[i].value.len);
	char *buf = http_scratch(out, need);
	if (!buf)
		return -1;
	/* need holds every line and the tunnel's: no bound checks below. A
	 * line the upstream sent as "Name: value\r\n" is copied as it is, and
	 * a run of such lines, adjacent in the buffer, in one piece. */
	char *p = buf;
	const char *run = NULL;
	size_t run_len = 0;
	/* The kinds never relayed: hop-by-hop ones, and Date, Server (ours
	 * are sent); Upgrade stays in a tunnel's answer, for the client must
	 * see what it switches to. */
	uint32_t drop = 1u << H_HOP | 1u << H_CONNECTION | 1u << H_DATE | 1u << H_SERVER |
			(tunnel ? 0 : 1u << H_UPGRADE) | (keep_length ? 0 : 1u << H_CONTENT_LENGTH);
	for (unsigned i = 0; i < r->n; i++) {
		const char *name = r->base + r->h[i].name.off;
		const char *value = r->base + r->h[i].value.off;
		size_t nl = r->h[i].name.len, vl = r->h[i].value.len;
		enum hkind kind = header_kind(name, nl);
		bool tunnel_upgrade = tunnel && kind == H_UPGRADE; /* kept whatever */
		if ((drop >> kind & 1) ||
		    (conn && !tunnel_upgrade && named_by_connections(r->base, r->h, r->n, name, nl)))
			continue;
		if (vl && value == name + nl + 2 && name[nl] == ':' && name[nl + 1] == ' ' &&
		    value[vl] == '\r' && value[vl + 1] == '\n') {
			if (run && run + run_len == name) {
				run_len += nl + vl + 4;
				continue;
			}
			p = put_run(p, run, run_len);
			run = name;
			run_len = nl + vl + 4;
			continue;
		}
		p = put_run(p, run, run_len);
		run = NULL;
		run_len = 0;
		memcpy(p, name, nl);
		p += nl;
		*p++ = ':';
		*p++ = ' ';
		memcpy(p, value, vl);
		p += vl;
		*p++ = '\r';
		*p++ = '\n';
	}
	p = put_run(p, run, run_len);
	if (tunnel)
		p = stpcpy(p, "Connection: upgrade\r\n");
	*text = buf;
	*len = (size_t)(p - buf);
	return 0;
}

/* What went wrong, for the status and for retrying. */
enum outcome {
	OK,
	RETRY_FRESH,   /* a reused connection failed before any response byte */
	NEXT_SERVER,   /* refused / reset before a response: another server */
	FAIL_502,
	FAIL_504,
	CUT,           /* the client already has part of the answer */
	BAD_BODY,      /* the client's chunked body is malformed: 400 */
	BODY_TOO_LARGE, /* ... or over limits.body_size: 413 */
	CLIENT_GONE,
};

static bool idempotent(uint8_t m)
{
	return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_PUT || m == HTTP_DELETE ||
	       m == HTTP_OPTIONS;
}

static int write_up(struct upstream_conn *uc, const void *p, size_t n, unsigned timeout)
{
	struct iovec iov = { (void *)p, n };
	return conn_writev(&uc->src, &iov, 1, false, timeout);
}

/* Send the request body as it arrives, re-chunked when it came chunked. */
static enum outcome send_body(struct upstream_conn *uc, const struct http_request *req,
			      struct http_out *out, unsigned timeout, bool *sent)
{
	const char *data;
	ssize_t n;
	while ((n = http_body_read(out, &data)) > 0) {
		*sent = true;
		int r;
		if (req->chunked) {
			char size[20];
			int sl = snprintf(size, sizeof size, "%zx\r\n", (size_t)n);
			struct iovec iov[3] = { { size, (size_t)sl }, { (void *)data, (size_t)n },
						{ (void *)"\r\n", 2 } };
			r = conn_writev(&uc->src, iov, 3, false, timeout);
		} else {
			r = write_up(uc, data, (size_t)n, timeout);
		}
		if (r < 0)
			return r == -ETIMEDOUT ? FAIL_504 : FAIL_502;
	}
	/* The upstream never sees the request end. */
	if (n == -EPROTO)
		return BAD_BODY;
	if (n == -EFBIG)
		return BODY_TOO_LARGE;
	if (n < 0)
		return CLIENT_GONE;
	if (req->chunked && write_up(uc, "0\r\n\r\n", 5, timeout) < 0)
		return FAIL_502;
	return OK;
}

struct attempt {
	const struct proxy_loc *pl;
	const struct http_request *req;
	struct http_out *out;
	struct upstream_conn *uc;
	char *buf;
	size_t cap;
	bool body_sent;
	bool answered; /* bytes of the final answer went to the client */
};

/* Move what is readable now from one side to the other. Returns bytes
 * moved, 0 when nothing was there, or -1 when either side is done. */
static ssize_t pump(struct np_source *from, struct np_source *to, char *buf, size_t cap,
		    unsigned timeout)
{
	ssize_t n = conn_try_read(from, buf, cap);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	struct iovec iov = { buf, (size_t)n };
	return conn_writev(to, &iov, 1, false, timeout) < 0 ? -1 : n;
}

/* After a 101: a byte tunnel both ways until either side closes or it
 * stays idle for timeouts.tunnel. Then both connections close. */
static enum outcome tunnel(struct attempt *a, const char *early, size_t early_len)
{
	struct np_source *client = http_client_source(a->out);
	struct np_source *up = &a->uc->src;
	unsigned send_ms = a->pl->up->cfg->send_timeout_ms;
	if (early_len) {
		struct iovec iov = { (void *)early, early_len };
		if (conn_writev(client, &iov, 1, false, send_ms) < 0)
			return CUT;
	}
	char *back = buf_pool_get(a->pl->bufs);
	if (!back)
		return CUT;
	for (;;) {
		ssize_t n1 = pump(client, up, back, buf_pool_size(a->pl->bufs), send_ms);
		ssize_t n2 = n1 < 0 ? -1 : pump(up, client, a->buf, a->cap, send_ms);
		if (n1 < 0 || n2 < 0)
			break;
		if (n1 || n2)
			continue;
		if (conn_wait_either(client, up, a->pl->global->timeouts.tunnel_ms) < 0)
			break;
	}
	buf_pool_put(a->pl->bufs, back);
	return CUT; /* the tunnel's end closes both connections */
}

/* No body, whatever the head says (RFC 9112 6.3). */
static bool resp_no_body(const struct resp *r)
{
	return r->head_req || r->status == 204 || r->status == 304;
}

/* The final response head to the client, framed as its body will be. */
static enum outcome relay_final_head(struct attempt *a, const struct resp *r)
{
	enum http_framing fr;
	bool no_body = resp_no_body(r);
	if (no_body)
		fr = HTTP_FRAME_NONE;
	else if (!r->chunked && r->has_length)
		fr = HTTP_FRAME_LENGTH;
	else
		fr = HTTP_FRAME_UNKNOWN;
	char *h;
	size_t hl;
	/* Without a body, the upstream's Content-Length says what a GET would
	 * get (HEAD, 304); a 204 must have none (RFC 9110 8.6). */
	if (relay_headers(a->out, r, no_body && r->status != 204, false, &h, &hl) < 0)
		return FAIL_502;
	if (http_send_head(a->out, r->status, h, hl, fr, r->length) < 0)
		return CLIENT_GONE;
	a->answered = true;
	return OK;
}

/* The rest of relay() for a head http_scan_response() took (its header
 * lines already in r->h): the head, then exactly Content-Length body
 * bytes counted down, without llhttp. The connection is kept exactly when
 * the llhttp path would keep it: the body ended with the bytes read, and
 * llhttp_should_keep_alive() (sr->keep_alive). */
static enum outcome relay_scanned(struct attempt *a, struct resp *r,
				  const struct http_response *sr, size_t pos, size_t len)
{
	r->status = sr->status;
	r->connection_plain = true;
	r->n = sr->nheaders;
	r->has_length = sr->has_length;
	r->length = sr->content_length;
	enum outcome o = relay_final_head(a, r);
	if (o != OK)
		return o;
	uint64_t left = resp_no_body(r) ? 0 : r->length;
	struct upstream_conn *uc = a->uc;
	unsigned timeout = a->pl->up->cfg->read_timeout_ms;
	for (;;) {
		size_t take = len - pos < left ? len - pos : (size_t)left;
		if (take && http_send_body(a->out, a->buf + pos, take) < 0)
			return CLIENT_GONE;
		pos += take;
		left -= take;
		if (!left)
			break;
		/* A short body, then the close, an error or silence: cut. */
		ssize_t n = conn_read(&uc->src, a->buf, a->cap, conn_deadline(&uc->src, timeout));
		if (n <= 0)
			return CUT;
		pos = 0;
		len = (size_t)n;
	}
	if (http_send_end(a->out) < 0)
		return CLIENT_GONE;
	/* Bytes beyond the body: not the next response's, and never kept. */
	upstream_release(uc, pos == len && sr->keep_alive);
	a->uc = NULL;
	return OK;
}

/* Read and relay the response. */
static enum outcome relay(struct attempt *a)
{
	const struct config_upstream *uc_cfg = a->pl->up->cfg;
	struct upstream_conn *uc = a->uc;
	struct http_out *out = a->out;
	struct resp r;
	resp_init(&r, a->buf, a->req->method == HTTP_HEAD);
	llhttp_t parser; /* set up only for a head the scanner declines */
	size_t len = 0, pos = 0;
	bool got_any = false, head_relayed = false, eof = false;
	bool paused = false; /* llhttp stopped early: run it again, even on no bytes */
	bool fed = false;    /* the scanner had its one try: llhttp reads the rest */

	for (;;) {
		if (pos == len && !eof && !paused) {
			if (head_relayed)
				len = pos = 0; /* body bytes are sent: reuse the buffer */
			else if (len == a->cap)
				return FAIL_502; /* a head larger than the buffer */
			ssize_t n = conn_read(&uc->src, a->buf + len, a->cap - len,
					      conn_deadline(&uc->src, uc_cfg->read_timeout_ms));
			if (n == -ETIMEDOUT)
				return a->answered ? CUT : FAIL_504;
			if (n < 0 || (n == 0 && !got_any)) {
				if (a->answered)
					return CUT;
				if (!got_any && uc->reused && !a->body_sent && idempotent(a->req->method))
					return RETRY_FRESH;
				return got_any ? FAIL_502 : NEXT_SERVER;
			}
			if (n == 0) {
				eof = true;
				/* Close-delimited bodies end here; others are cut. */
				r.event = R_NONE;
				llhttp_errno_t fe = llhttp_finish(&parser);
				if ((fe != HPE_OK && fe != HPE_PAUSED) || r.event != R_DONE ||
				    !head_relayed)
					return a->answered ? CUT : FAIL_502;
				goto done;
			}
			got_any = true;
			len += (size_t)n;
			if (!fed) {
				/* The first bytes: most heads are whole and plain. */
				fed = true;
				struct http_response sr;
				size_t end = http_scan_response(a->buf, 0, len, r.head_req, r.h,
								HTTP_MAX_HEADERS, &sr);
				if (end)
					return relay_scanned(a, &r, &sr, end, len);
				llhttp_init(&parser, HTTP_RESPONSE, &resp_settings);
				parser.data = &r;
			}
			continue;
		}
		r.event = R_NONE;
		llhttp_errno_t err = llhttp_execute(&parser, a->buf + pos, len - pos);
		paused = false;
		if (err == HPE_OK) {
			pos = len;
		} else if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
			pos = (size_t)(llhttp_get_error_pos(&parser) - a->buf);
			llhttp_resume(&parser);
			/* The end of a message may follow without another byte. */
			paused = err == HPE_PAUSED;
		} else {
			log_info("upstream %s: invalid response: %s", uc->server->addr->text,
				 llhttp_get_error_reason(&parser));
			return a->answered ? CUT : FAIL_502;
		}
		/* llhttp 8.1 takes "HTTP/1.1 \n" for a status line, code 0:
		 * no response a client could read, never relayed. */
		if (r.head_done && r.status < 100)
			return a->answered ? CUT : FAIL_502;
		if (r.head_done && r.status < 200 && r.event == R_DONE) {
			/* 1xx: relayed (103 Early Hints...), never the answer. */
			if (r.status != 101) {
				char *h;
				size_t hl;
				if (relay_headers(out, &r, true, false, &h, &hl) == 0 &&
				    http_send_interim(out, r.status, h, hl) < 0)
					return CLIENT_GONE;
				continue;
			}
			/* 101 without an Upgrade asked for, or not naming the
			 * protocol in Upgrade (RFC 9110 15.2.2): not a valid
			 * answer. Relayed, the client would take it for an
			 * interim response and the tunnel's bytes for HTTP. */
			if (!a->req->upgrade || !resp_has(&r, "upgrade"))
				return FAIL_502;
			char *h;
			size_t hl;
			if (relay_headers(out, &r, false, true, &h, &hl) < 0)
				return FAIL_502;
			if (http_send_head(out, 101, h, hl, HTTP_FRAME_TUNNEL, 0) < 0)
				return CLIENT_GONE;
			a->answered = true;
			return tunnel(a, a->buf + pos, len - pos);
		}
		if (r.head_done && !head_relayed && r.status >= 200) {
			enum outcome o = relay_final_head(a, &r);
			if (o != OK)
				return o;
			head_relayed = true;
		}
		if (r.event == R_BODY) {
			/* Content before a final head: a 1xx that llhttp reads
			 * with a body (101 with chunked). A 1xx has none (RFC
			 * 9110 15.2): invalid, and never relayed headless. */
			if (!head_relayed)
				return FAIL_502;
			if (http_send_body(out, r.body_at, r.body_len) < 0)
				return CLIENT_GONE;
		} else if (r.event == R_DONE && r.status >= 200) {
			goto done;
		}
	}
done:
	if (http_send_end(out) < 0)
		return CLIENT_GONE;
	/* Clean on both sides: nothing left over, the upstream keeps it open. */
	upstream_release(uc, !eof && pos == len && llhttp_should_keep_alive(&parser));
	a->uc = NULL;
	return OK;
}

int proxy_serve(const struct proxy_loc *pl, const struct http_request *req,
		const struct clean_path *cp, struct http_reply *reply, struct http_out *out)
{
	struct upstream *up = pl->up;
	const struct config_upstream *ucfg = up->cfg;
	char peer[64] = "unknown";
	http_peer_name(out, peer, sizeof peer);
	bool trust = trusted(pl->global, peer);
	struct attempt a = { .pl = pl, .req = req, .out = out };
	a.buf = buf_pool_get(pl->bufs);
	a.cap = buf_pool_size(pl->bufs);
	if (!a.buf) {
		http_reply_error(reply, 502);
		return 0;
	}
	uint64_t tried = 0;
	int status = 502;
	bool fresh = false;
	enum outcome o = FAIL_502;
	for (;;) {
		uint64_t now = http_out_now(out);
		struct upstream_server *s = upstream_pick(up, tried, now);
		if (!s)
			break; /* all tried or marked down: 502 at once */
		s->active++;
		/* Two clock reads (vDSO) time the attempt, for the access
		 * log only: none when no line is written. */
		bool timed = http_logged(out);
		uint64_t t0 = timed ? netpoll_clock_us() : 0;
		int r = upstream_connect(up, s, fresh, &a.uc);
		if (r < 0) {
			http_set_upstream(out, s->addr->text, timed ? netpoll_clock_us() - t0 : 0);
			s->active--;
			upstream_failed(up, s, http_out_now(out));
			tried |= 1ull << (upstream_index(up, s) & 63);
			status = r == -ETIMEDOUT ? 504 : 502;
			fresh = false;
			continue;
		}
		size_t hl = build_request(a.buf, a.cap, pl, req, cp, s, peer, trust);
		if (!hl) {
			s->active--;
			upstream_release(a.uc, true);
			/* The client's head, rewritten, does not fit the 16 KiB
			 * buffer: its fault, not the upstream's. */
			status = req->target.len > a.cap / 2 ? 414 : 431;
			break;
		}
		o = OK;
		if (write_up(a.uc, a.buf, hl, ucfg->send_timeout_ms) < 0)
			o = a.uc->reused && !a.body_sent ? RETRY_FRESH : FAIL_502;
		if (o == OK && req->has_body)
			o = send_body(a.uc, req, out, ucfg->send_timeout_ms, &a.body_sent);
		if (o == OK)
			o = relay(&a);
		http_set_upstream(out, s->addr->text, timed ? netpoll_clock_us() - t0 : 0);
		s->active--;
		if (a.uc) {
			upstream_release(a.uc, false);
			a.uc = NULL;
		}
		if (o == OK) {
			upstream_succeeded(s);
			break;
		}
		if (o == RETRY_FRESH && !fresh) {
			fresh = true; /* once, on a new connection to the same server */
			continue;
		}
		fresh = false;
		if (o == CLIENT_GONE || o == CUT)
			break;
		if (o == BAD_BODY || o == BODY_TOO_LARGE) {
			status = o == BAD_BODY ? 400 : 413;
			break;
		}
		upstream_failed(up, s, http_out_now(out));
		if (o == NEXT_SERVER && !a.body_sent) {
			tried |= 1ull << (upstream_index(up, s) & 63);
			status = 502;
			continue;
		}
		status = o == FAIL_504 ? 504 : 502;
		break;
	}
	buf_pool_put(pl->bufs, a.buf);
	if (o == OK)
		return HTTP_HANDLED;
	if (a.answered || o == CLIENT_GONE) {
		http_abort(out);
		return HTTP_HANDLED;
	}
	http_reply_error(reply, status);
	return 0;
}
