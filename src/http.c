/* http: see http.h. The read buffer holds the request heads being parsed;
 * llhttp reports spans as offsets into it, which stay valid until the
 * request is answered. Responses go into an output batch (scratch buffer +
 * iovecs) that is written with one writev when the input is drained, so the
 * answers to pipelined requests leave together. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <llhttp.h>

#include "date.h"
#include "http_scan.h"

/* The output batch: segments written in order by writev (memory) and
 * sendfile (file ranges), then the replies' release callbacks run. */
struct out_seg {
	const void *mem; /* NULL: file range */
	int fd;
	off_t off;
	uint64_t len;
};

#define OUT_SEGS 128

struct http_out {
	struct np_source *src;
	unsigned send_timeout_ms;
	char *buf; /* scratch: heads, small generated bodies */
	size_t cap, used;
	unsigned nsegs, nrel;
	struct out_seg segs[OUT_SEGS];
	struct {
		void (*fn)(void *);
		void *arg;
	} rel[OUT_SEGS];
};

enum parse_event { EV_NONE, EV_HEADERS, EV_BODY, EV_MESSAGE };

/* What the llhttp callbacks see (parser.data). */
struct parse {
	struct http_request *req;
	const char *base;   /* rbuf */
	enum parse_event event;
	int reject;         /* our own status for a request llhttp let through */
	struct http_fields fields;
	bool began; /* a message started (not just blank lines) */
	bool no_more; /* llhttp takes no further message on this connection */
	unsigned nhost;
	bool transfer_encoding;
	size_t uri_limit;
	uint64_t body_limit;   /* limits.body_size, 0 = none */
	uint64_t chunked_size; /* the chunk sizes announced so far */
	uint32_t msg_start;
	const char *body_at; /* EV_BODY: decoded body bytes, in the read buffer */
	size_t body_len;
};

/* ---- llhttp callbacks: record spans, enforce what llhttp does not ---- */

static struct parse *P(llhttp_t *p)
{
	return p->data;
}

/* Spans arrive in pieces (one per read); the pieces of one span are
 * adjacent in the buffer. A gap means llhttp skipped bytes inside it, which
 * only obsolete line folding does: report it so the request is refused. */
int http_span_extend(struct http_span *s, const char *base, const char *at, size_t len)
{
	uint32_t off = (uint32_t)(at - base);
	if (s->len == 0)
		s->off = off;
	else if (s->off + s->len != off)
		return -1;
	s->len += (uint32_t)len;
	return 0;
}

int http_fields_name(struct http_fields *f, const char *at, size_t len)
{
	if (!f->in_name) {
		if (*f->n == f->max)
			return HTTP_FIELDS_FULL;
		f->h[(*f->n)++] = (struct http_header){ { 0, 0 }, { 0, 0 } };
		f->in_name = true;
	}
	return http_span_extend(&f->h[*f->n - 1].name, f->base, at, len);
}

int http_fields_name_done(struct http_fields *f)
{
	/* llhttp 8.1 lets an empty field name through (": x"). */
	if (!f->in_name || f->h[*f->n - 1].name.len == 0)
		return HTTP_FIELDS_BAD;
	f->in_name = false;
	return 0;
}

int http_fields_value(struct http_fields *f, const char *at, size_t len)
{
	if (*f->n == 0)
		return HTTP_FIELDS_BAD;
	f->in_name = false;
	struct http_header *h = &f->h[*f->n - 1];
	/* Obsolete line folding (RFC 9112 5.2): refused, a smuggling vector.
	 * It shows as a value with a line break in it, a gap between two
	 * pieces, or (after an empty first line) bytes other than ':' and
	 * OWS between the name and the value. */
	if (memchr(at, '\n', len) || memchr(at, '\r', len))
		return HTTP_FIELDS_BAD;
	if (h->value.len == 0 && len > 0)
		for (const char *q = f->base + h->name.off + h->name.len + 1; q < at; q++)
			if (*q != ' ' && *q != '\t')
				return HTTP_FIELDS_BAD;
	return http_span_extend(&h->value, f->base, at, len) < 0 ? HTTP_FIELDS_BAD : 0;
}

struct http_header *http_fields_value_done(struct http_fields *f)
{
	struct http_header *h = &f->h[*f->n - 1];
	f->in_name = false;
	/* llhttp 8.1 keeps trailing whitespace in values: drop it. */
	while (h->value.len && (f->base[h->value.off + h->value.len - 1] == ' ' ||
				f->base[h->value.off + h->value.len - 1] == '\t'))
		h->value.len--;
	return h;
}

static int on_message_begin(llhttp_t *p)
{
	struct http_request *req = P(p)->req;
	req->nheaders = 0;
	req->names = 0;
	req->target = (struct http_span){ 0, 0 };
	req->host = (struct http_span){ 0, 0 };
	req->expect_continue = false;
	P(p)->fields.in_name = false;
	P(p)->began = true;
	P(p)->nhost = 0;
	P(p)->transfer_encoding = false;
	P(p)->reject = 0;
	P(p)->chunked_size = 0;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *req = P(p)->req;
	if (req->target.len + len > P(p)->uri_limit) {
		P(p)->reject = 414;
		return -1;
	}
	return http_span_extend(&req->target, P(p)->base, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	int r = http_fields_name(&P(p)->fields, at, len);
	if (r < 0)
		P(p)->reject = r == HTTP_FIELDS_FULL ? 431 : 400;
	return r;
}

static int on_header_field_complete(llhttp_t *p)
{
	int r = http_fields_name_done(&P(p)->fields);
	if (r < 0) {
		P(p)->reject = 400;
		return r;
	}
	struct http_request *req = P(p)->req;
	const struct http_span *name = &req->headers[req->nheaders - 1].name;
	req->names |= http_name_bit(P(p)->base + name->off, name->len);
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	int r = http_fields_value(&P(p)->fields, at, len);
	if (r < 0)
		P(p)->reject = 400;
	return r;
}

static bool span_is(const struct parse *ps, struct http_span s, const char *lower)
{
	size_t n = strlen(lower);
	return s.len == n && strncasecmp(ps->base + s.off, lower, n) == 0;
}

/* The value is this token, case aside, with optional whitespace around. */
static bool value_is_token(const struct parse *ps, struct http_span s, const char *lower)
{
	const char *v = ps->base + s.off;
	size_t n = s.len;
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == strlen(lower) && strncasecmp(v, lower, n) == 0;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct parse *ps = P(p);
	struct http_request *req = ps->req;
	struct http_header *h = http_fields_value_done(&ps->fields);
	if (span_is(ps, h->name, "host")) {
		ps->nhost++;
		req->host = h->value;
	} else if (span_is(ps, h->name, "transfer-encoding")) {
		ps->transfer_encoding = true;
		/* chunked is the only coding spoken here: "gzip, chunked"
		 * would be forwarded as plain chunked, its gzip dropped. */
		if (!value_is_token(ps, h->value, "chunked")) {
			ps->reject = 501;
			return -1;
		}
	} else if (span_is(ps, h->name, "expect")) {
		req->expect_continue = span_is(ps, h->value, "100-continue");
	}
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct parse *ps = P(p);
	struct http_request *req = ps->req;
	req->method = (uint8_t)p->method;
	req->major = p->http_major;
	req->minor = p->http_minor;
	if (req->major != 1) {
		/* HTTP/0.9 has no headers to check; 2.0 is not spoken here. */
		ps->reject = req->major >= 2 ? 505 : 400;
		return -1;
	}
	/* What llhttp 8.1 does not check (DESIGN.md section 6). */
	if ((req->minor == 1 && ps->nhost != 1) || ps->nhost > 1 ||
	    (req->minor == 0 && ps->transfer_encoding)) {
		ps->reject = 400;
		return -1;
	}
	if (p->method == HTTP_CONNECT) {
		ps->reject = 405; /* not a proxy for tunnels */
		return -1;
	}
	/* No protocol switch here: the connection stays HTTP/1.1, so the
	 * next pipelined request must parse as one. */
	req->upgrade = p->upgrade && p->method != HTTP_CONNECT;
	p->upgrade = 0;
	req->keep_alive = llhttp_should_keep_alive(p);
	req->chunked = (p->flags & F_CHUNKED) != 0;
	req->content_length = req->chunked ? 0 : p->content_length;
	req->has_body = req->chunked || p->content_length > 0;
	if (!req->has_body)
		return 0;
	ps->event = EV_HEADERS;
	return HPE_PAUSED;
}

/* Body bytes stop the parser so a handler can take them span by span,
 * straight from the read buffer. */
static int on_body(llhttp_t *p, const char *at, size_t len)
{
	if (len == 0)
		return 0; /* the empty flush of a span at the end of a call */
	P(p)->event = EV_BODY;
	P(p)->body_at = at;
	P(p)->body_len = len;
	return HPE_PAUSED;
}

/* A chunked body is held to limits.body_size as each chunk is announced:
 * a chunk of 2^64-1 bytes is refused before its first byte. */
static int on_chunk_header(llhttp_t *p)
{
	struct parse *ps = P(p);
	ps->chunked_size += p->content_length;
	if (ps->body_limit &&
	    (ps->chunked_size > ps->body_limit || ps->chunked_size < p->content_length)) {
		ps->reject = 413;
		return -1;
	}
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	P(p)->event = EV_MESSAGE;
	P(p)->began = false;
	/* llhttp decides only now, trailers read: a chunked body's trailer
	 * "Connection: close" makes it refuse any further message. The
	 * request is then not kept alive either: the connection closes after
	 * its answer, the same whether the next request is here or not. */
	P(p)->no_more = !llhttp_should_keep_alive(p);
	if (P(p)->no_more)
		P(p)->req->keep_alive = false;
	return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

static void parse_init(struct parse *ps, llhttp_t *parser, struct http_request *req,
		       const struct http_limits *lim, const char *base)
{
	*ps = (struct parse){ .req = req, .base = base, .uri_limit = lim->uri_size,
			      .body_limit = lim->body_size };
	ps->fields = (struct http_fields){ .base = base, .h = req->headers, .n = &req->nheaders,
					   .max = lim->headers };
	llhttp_init(parser, HTTP_REQUEST, &parser_settings);
	parser->data = ps;
}

size_t http_parse_head(const char *base, size_t pos, size_t end, const struct http_limits *lim,
		       struct http_request *req)
{
	llhttp_t parser;
	struct parse ps;
	parse_init(&ps, &parser, req, lim, base);
	req->buf = base;
	req->nheaders = 0;
	if (llhttp_execute(&parser, base + pos, end - pos) != HPE_PAUSED || ps.event != EV_MESSAGE)
		return 0;
	size_t head_end = (size_t)(llhttp_get_error_pos(&parser) - base);
	/* http_serve's measure of a head that arrived whole */
	return head_end - pos > lim->header_size ? 0 : head_end;
}

/* ---- output batch ---- */

char *http_scratch(struct http_out *out, size_t n)
{
	if (out->cap - out->used < n)
		return NULL;
	char *p = out->buf + out->used;
	out->used += n;
	return p;
}

int64_t http_out_wall_sec(const struct http_out *out)
{
	return netpoll_wall_sec(out->src->np);
}

uint64_t http_out_now(const struct http_out *out)
{
	return netpoll_now(out->src->np);
}

size_t http_scratch_room(const struct http_out *out)
{
	return out->cap - out->used;
}

char *http_scratch_put(struct http_out *out, const char *s, size_t n)
{
	if (out->cap - out->used < n)
		return NULL;
	char *p = out->buf + out->used;
	memcpy(p, s, n);
	out->used += n;
	return p;
}

int http_scratchf(struct http_out *out, char **where, const char *fmt, ...)
{
	size_t room = out->cap - out->used;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out->buf + out->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	*where = out->buf + out->used;
	out->used += (size_t)n;
	return n;
}

void *http_scratch_aligned(struct http_out *out, size_t n)
{
	size_t pad = (8 - (out->used & 7)) & 7;
	if (out->cap - out->used < n + pad)
		return NULL;
	out->used += pad;
	return http_scratch(out, n);
}

static void out_push(struct http_out *out, const struct out_seg *seg)
{
	if (seg->len == 0)
		return;
	struct out_seg *last = out->nsegs ? &out->segs[out->nsegs - 1] : NULL;
	if (last && seg->mem && last->mem && (const char *)last->mem + last->len == seg->mem) {
		last->len += seg->len; /* contiguous in scratch: one iovec */
		return;
	}
	if (last && !seg->mem && !last->mem && last->fd == seg->fd &&
	    last->off + (off_t)last->len == seg->off) {
		last->len += seg->len;
		return;
	}
	out->segs[out->nsegs++] = *seg;
}

static void out_release(struct http_out *out)
{
	for (unsigned i = 0; i < out->nrel; i++)
		out->rel[i].fn(out->rel[i].arg);
	out->nrel = 0;
	out->nsegs = 0;
	out->used = 0;
}

/* Write every segment: runs of memory with one writev each, files with
 * sendfile. Returns 0 or -errno; the batch is empty afterwards either way. */
static int out_flush(struct http_out *out)
{
	int r = 0;
	unsigned i = 0;
	while (r == 0 && i < out->nsegs) {
		if (!out->segs[i].mem) {
			struct out_seg *f = &out->segs[i++];
			off_t off = f->off;
			r = conn_sendfile(out->src, f->fd, &off, f->len, out->send_timeout_ms);
			continue;
		}
		struct iovec iov[64];
		int n = 0;
		while (i < out->nsegs && out->segs[i].mem && n < 64) {
			iov[n++] = (struct iovec){ (void *)out->segs[i].mem, out->segs[i].len };
			i++;
		}
		/* A head followed by a file goes out in one segment with it. */
		bool more = i < out->nsegs && !out->segs[i].mem;
		r = conn_writev(out->src, iov, n, more, out->send_timeout_ms);
	}
	out_release(out);
	return r;
}

/* Room for one more response: its head, the handler's scratch, segments. */
static int out_reserve(struct http_out *out)
{
	if (out->nsegs + HTTP_MAX_PARTS + 2 <= OUT_SEGS && out->nrel < OUT_SEGS &&
	    out->cap - out->used >= out->cap / 2)
		return 0;
	return out_flush(out);
}

void http_reply_mem(struct http_reply *reply, const void *mem, uint64_t len)
{
	reply->one = (struct http_part){ .mem = mem, .fd = -1, .len = len };
	reply->parts = &reply->one;
	reply->nparts = 1;
	reply->length = len;
}

void http_reply_file(struct http_reply *reply, int fd, off_t off, uint64_t len)
{
	reply->one = (struct http_part){ .fd = fd, .off = off, .len = len };
	reply->parts = &reply->one;
	reply->nparts = 1;
	reply->length = len;
}

/* Inline, so a literal's or the date's copy is a few moves, not a call. */
static inline __attribute__((always_inline)) char *put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_str((p), (lit), sizeof(lit) - 1)

/* Two digits a step, right to left, then one copy. */
char *http_put_u64(char *p, uint64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	/* Count the digits (most numbers here are short: compare, do not
	 * divide), then write them in place from the right. */
	unsigned n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
	for (uint64_t t = v / 100000; t; t /= 10)
		n++;
	char *q = p + n;
	while (v >= 100) {
		q -= 2;
		memcpy(q, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(q - 2, pairs + 2 * v, 2);
	else
		q[-1] = (char)('0' + v);
	return p + n;
}

/* No text below is longer: out_reply() sizes its head by it. */
#define HTTP_STATUS_TEXT_MAX 40

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Bodies are fixed text: nothing from the request is ever echoed. */
static const char error_fmt[] =
	"<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
	"<body><h1>%d %s</h1><hr><p>garcom</p></body></html>\n";

void http_reply_error(struct http_reply *reply, int status)
{
	static char bodies[600][192];
	static uint8_t lens[600];
	if (status < 100 || status >= 600)
		status = 500;
	if (!lens[status]) {
		const char *t = http_status_text(status);
		lens[status] = (uint8_t)snprintf(bodies[status], sizeof bodies[status], error_fmt,
						 status, t, status, t);
	}
	*reply = (struct http_reply){
		.status = status,
		.headers = "Content-Type: text/html; charset=utf-8\r\n",
		.headers_len = sizeof("Content-Type: text/html; charset=utf-8\r\n") - 1,
	};
	http_reply_mem(reply, bodies[status], lens[status]);
}

/* Status line, Server and Date: every head's start. */
static char *put_head_start(char *p, int status, int64_t now_sec)
{
	if (status == 200) {
		p = PUT_LIT(p, "HTTP/1.1 200 OK\r\nServer: garcom\r\nDate: ");
	} else {
		const char *text = http_status_text(status);
		p = PUT_LIT(p, "HTTP/1.1 ");
		p = http_put_u64(p, (uint64_t)status);
		*p++ = ' ';
		p = put_str(p, text, strnlen(text, HTTP_STATUS_TEXT_MAX));
		p = PUT_LIT(p, "\r\nServer: garcom\r\nDate: ");
	}
	p = put_str(p, date_cached(now_sec), HTTP_DATE_LEN);
	return PUT_LIT(p, "\r\n");
}

size_t http_head_200(char *buf, size_t cap, int64_t now_sec, uint64_t length,
		     const char *headers, size_t headers_len)
{
	if (cap < 110 + headers_len)
		return 0;
	char *p = put_head_start(buf, 200, now_sec);
	p = PUT_LIT(p, "Content-Length: ");
	p = http_put_u64(p, length);
	p = PUT_LIT(p, "\r\n");
	p = put_str(p, headers, headers_len);
	p = PUT_LIT(p, "\r\n");
	return (size_t)(p - buf);
}

/* Queue status line, common headers, the handler's headers and the body. */
static int out_reply(struct http_out *out, const struct http_reply *r, bool keep_alive,
		     bool http10, int64_t now_sec)
{
	/* Registered first: it runs even if this reply cannot be queued. */
	if (r->release)
		out->rel[out->nrel++] = (typeof(out->rel[0])){ r->release, r->release_arg };
	if (r->whole_head && r->status == 200 && keep_alive && !http10) {
		out_push(out, &(struct out_seg){ .mem = r->whole_head, .fd = -1,
						 .len = r->whole_head_len });
		goto body;
	}
	size_t need = 160 + HTTP_STATUS_TEXT_MAX + r->headers_len;
	char *h = http_scratch(out, need);
	if (!h)
		return -1;
	char *p = put_head_start(h, r->status, now_sec);
	if (r->status != 304 && r->status != 204 && r->status >= 200) {
		p = PUT_LIT(p, "Content-Length: ");
		p = http_put_u64(p, r->length);
		p = PUT_LIT(p, "\r\n");
	}
	if (!keep_alive)
		p = PUT_LIT(p, "Connection: close\r\n");
	else if (http10)
		p = PUT_LIT(p, "Connection: keep-alive\r\n");
	p = put_str(p, r->headers, r->headers_len);
	p = PUT_LIT(p, "\r\n");
	out->used -= need - (size_t)(p - h); /* give back what we did not use */
	out_push(out, &(struct out_seg){ .mem = h, .fd = -1, .len = (size_t)(p - h) });
body:
	if (r->no_body)
		return 0;
	for (unsigned i = 0; i < r->nparts && i < HTTP_MAX_PARTS; i++) {
		const struct http_part *pt = &r->parts[i];
		out_push(out, &(struct out_seg){ pt->mem, pt->fd, pt->off, pt->len });
	}
	return 0;
}

/* ---- the connection loop ---- */

bool http_header_find(const struct http_request *req, const char *name, size_t n,
		      const char **value, size_t *len)
{
	for (unsigned i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (h->name.len == n && strncasecmp(req->buf + h->name.off, name, n) == 0) {
			*value = req->buf + h->value.off;
			*len = h->value.len;
			return true;
		}
	}
	return false;
}

static void shift_spans(struct http_request *req, uint32_t by)
{
	req->target.off -= req->target.len ? by : 0;
	req->host.off -= req->host.len ? by : 0;
	for (unsigned i = 0; i < req->nheaders; i++) {
		req->headers[i].name.off -= req->headers[i].name.len ? by : 0;
		req->headers[i].value.off -= req->headers[i].value.len ? by : 0;
	}
}

static int status_for_parse_error(const llhttp_t *p, llhttp_errno_t err, int reject)
{
	if (reject)
		return reject;
	/* Digits llhttp does not speak (HTTP/1.2, HTTP/3.0): 505. A version
	 * that is not HTTP/DIGIT.DIGIT ("Invalid minor version"...): 400. */
	if (err == HPE_INVALID_VERSION && strcmp(llhttp_get_error_reason(p), "Invalid HTTP version") == 0)
		return 505;
	return 400;
}

enum state { ST_IDLE, ST_HEAD, ST_BODY };

/* One connection's state while a coroutine serves it; `out` first, so a
 * handler's http_out is the exchange. */
struct exchange {
	struct http_out out;
	struct http_ctx *ctx;
	struct http_conn *c;
	llhttp_t parser;
	struct parse ps;
	bool parser_ready;   /* parser and ps set up (parse_init) */
	struct http_request req;
	enum state st;
	uint32_t pos, msg_start;
	uint64_t head_deadline;
	bool body_done;      /* the current request's body is all parsed */
	bool body_started;   /* a handler asked for body bytes */
	bool continue_sent;
	bool body_paused;    /* the parser stopped at a body span */
	bool head_sent;      /* a streaming handler sent its response head */
	enum http_framing framing;
	bool close_after;    /* the connection cannot carry another request */
	bool nodelay_set;
	void *log_target;    /* set by the handler: where this request is logged */
	uint64_t start_us;   /* the turn the request's first bytes were parsed in */
	const char *upstream; /* http_set_upstream(), for the log */
	uint64_t upstream_us;
	int sent_status;     /* a streaming handler's status and body bytes */
	uint64_t sent_bytes;
	int status;          /* an error to answer, then close */
};

static struct exchange *X(struct http_out *out)
{
	return (struct exchange *)out;
}

/* Room at the end of the read buffer: compact, or fail if a head fills it. */
static int make_room(struct exchange *x)
{
	struct http_conn *c = x->c;
	size_t cap = buf_pool_size(x->ctx->rbufs);
	if (x->st == ST_BODY) {
		/* Body bytes are parsed and handed over: nothing to keep. */
		if (x->pos == c->rlen)
			c->rlen = x->pos = x->msg_start = 0;
		return 0;
	}
	if (c->rlen - x->msg_start > x->ctx->limits->header_size)
		return -1;
	if (c->rlen == cap && x->msg_start > 0) {
		memmove(c->rbuf, c->rbuf + x->msg_start, c->rlen - x->msg_start);
		shift_spans(&x->req, x->msg_start);
		c->rlen -= x->msg_start;
		x->pos -= x->msg_start;
		x->msg_start = 0;
	}
	return 0;
}

static ssize_t read_more(struct exchange *x, uint64_t deadline)
{
	struct http_conn *c = x->c;
	size_t cap = buf_pool_size(x->ctx->rbufs);
	if (c->rlen == cap)
		return -ENOBUFS;
	ssize_t n = conn_read(&c->src, c->rbuf + c->rlen, cap - c->rlen, deadline);
	if (n > 0)
		c->rlen += (uint32_t)n;
	return n;
}

ssize_t http_body_read(struct http_out *out, const char **data)
{
	struct exchange *x = X(out);
	const struct http_limits *lim = x->ctx->limits;
	if (!x->req.has_body || x->body_done)
		return 0;
	x->body_started = true;
	for (;;) {
		/* After a pause llhttp may finish the message on no new byte. */
		if (x->pos == x->c->rlen && !x->body_paused) {
			if (x->req.expect_continue && !x->continue_sent) {
				/* The client waits for this before sending. */
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				struct iovec iov = { (void *)cont, sizeof cont - 1 };
				x->continue_sent = true;
				int r = conn_writev(out->src, &iov, 1, false, lim->send_timeout_ms);
				if (r < 0)
					return r;
			}
			make_room(x);
			ssize_t n = read_more(x, netpoll_now(out->src->np) + lim->body_timeout_ms);
			if (n <= 0) {
				x->close_after = true;
				return n == 0 ? -ECONNRESET : n;
			}
			continue;
		}
		x->ps.event = EV_NONE;
		llhttp_errno_t err = llhttp_execute(&x->parser, x->c->rbuf + x->pos,
						    x->c->rlen - x->pos);
		x->body_paused = err == HPE_PAUSED;
		if (err == HPE_OK) {
			x->pos = x->c->rlen;
			continue;
		}
		if (err != HPE_PAUSED) {
			x->close_after = true; /* a broken chunked body, or too large */
			return x->ps.reject == 413 ? -EFBIG : -EPROTO;
		}
		x->pos = (uint32_t)(llhttp_get_error_pos(&x->parser) - x->c->rbuf);
		llhttp_resume(&x->parser);
		if (x->ps.event == EV_BODY) {
			*data = x->ps.body_at;
			return (ssize_t)x->ps.body_len;
		}
		if (x->ps.event == EV_MESSAGE) {
			x->body_done = true;
			x->st = ST_IDLE;
			return 0;
		}
	}
}

bool http_body_expected(const struct http_out *out)
{
	const struct exchange *x = (const struct exchange *)out;
	return x->req.has_body && !x->body_done;
}

int http_send_interim(struct http_out *out, int status, const char *headers, size_t len)
{
	struct exchange *x = X(out);
	if (x->req.minor == 0)
		return 0; /* HTTP/1.0 clients get no 1xx */
	char line[64];
	int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	struct iovec iov[3] = { { line, (size_t)n }, { (void *)headers, len }, { (void *)"\r\n", 2 } };
	return conn_writev(out->src, iov, 3, false, x->ctx->limits->send_timeout_ms);
}

int http_send_head(struct http_out *out, int status, const char *headers, size_t len,
		   enum http_framing framing, uint64_t content_length)
{
	struct exchange *x = X(out);
	const struct http_request *req = &x->req;
	bool http10 = req->minor == 0;
	if (framing == HTTP_FRAME_UNKNOWN)
		framing = http10 ? HTTP_FRAME_CLOSE : HTTP_FRAME_CHUNKED;
	if (framing == HTTP_FRAME_CLOSE || framing == HTTP_FRAME_TUNNEL)
		x->close_after = true;
	const struct http_limits *lim = x->ctx->limits;
	x->c->requests++;
	x->c->blank_parked = false;
	bool limit = lim->requests_per_connection && x->c->requests >= lim->requests_per_connection;
	if (!req->keep_alive || limit || x->ctx->draining)
		x->close_after = true;
	x->framing = framing;
	x->head_sent = true;
	x->sent_status = status;
	x->sent_bytes = 0;

	size_t need = 200 + len;
	char *h = http_scratch(out, need);
	if (!h)
		return -ENOBUFS;
	char *p = put_head_start(h, status, netpoll_wall_sec(out->src->np));
	if (framing == HTTP_FRAME_LENGTH) {
		p = PUT_LIT(p, "Content-Length: ");
		p = http_put_u64(p, content_length);
		p = PUT_LIT(p, "\r\n");
	} else if (framing == HTTP_FRAME_CHUNKED) {
		p = PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
	}
	if (framing != HTTP_FRAME_TUNNEL) {
		if (x->close_after)
			p = PUT_LIT(p, "Connection: close\r\n");
		else if (http10)
			p = PUT_LIT(p, "Connection: keep-alive\r\n");
	}
	p = put_str(p, headers, len);
	p = PUT_LIT(p, "\r\n");
	out->used -= need - (size_t)(p - h);
	out_push(out, &(struct out_seg){ .mem = h, .fd = -1, .len = (size_t)(p - h) });
	/* Sent with the first body bytes, unless there are none. */
	if (framing == HTTP_FRAME_NONE || framing == HTTP_FRAME_TUNNEL)
		return out_flush(out);
	return 0;
}

int http_send_body(struct http_out *out, const void *data, size_t len)
{
	struct exchange *x = X(out);
	if (len == 0)
		return 0;
	x->sent_bytes += len;
	if (x->framing == HTTP_FRAME_CHUNKED) {
		char *size = http_scratch(out, 20);
		if (!size)
			return -ENOBUFS;
		int n = snprintf(size, 20, "%zx\r\n", len);
		out_push(out, &(struct out_seg){ .mem = size, .fd = -1, .len = (size_t)n });
		out_push(out, &(struct out_seg){ .mem = data, .fd = -1, .len = len });
		out_push(out, &(struct out_seg){ .mem = "\r\n", .fd = -1, .len = 2 });
	} else {
		out_push(out, &(struct out_seg){ .mem = data, .fd = -1, .len = len });
	}
	return out_flush(out); /* streamed: it leaves as it comes */
}

int http_send_end(struct http_out *out)
{
	struct exchange *x = X(out);
	if (x->framing == HTTP_FRAME_CHUNKED)
		out_push(out, &(struct out_seg){ .mem = "0\r\n\r\n", .fd = -1, .len = 5 });
	return out_flush(out);
}

void http_abort(struct http_out *out)
{
	struct exchange *x = X(out);
	x->close_after = true;
	out_release(out); /* nothing more goes out: the client sees the cut */
}

/* IPv4 by hand: inet_ntop's sprintf costs more than the rest of a request. */
static void format_ipv4(const uint8_t *a, char *buf)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			*buf++ = (char)('0' + v / 100);
		if (v >= 10)
			*buf++ = (char)('0' + v / 10 % 10);
		*buf++ = (char)('0' + v % 10);
		*buf++ = i < 3 ? '.' : '\0';
	}
}

/* The last IPv4 peer formatted, per worker: requests come in runs from
 * one client (keep-alive), and each logged one asks again. */
static struct {
	uint8_t addr[4];
	bool valid;
	char text[16];
} last_ipv4;

static void ipv4_text(const uint8_t *a, char *buf)
{
	if (!last_ipv4.valid || memcmp(last_ipv4.addr, a, 4) != 0) {
		format_ipv4(a, last_ipv4.text);
		memcpy(last_ipv4.addr, a, 4);
		last_ipv4.valid = true;
	}
	memcpy(buf, last_ipv4.text, sizeof last_ipv4.text);
}

static int peer_text(const struct http_conn *c, char *buf, size_t len)
{
	if (len < INET6_ADDRSTRLEN)
		return -ENOSPC;
	if (c->peer_family == AF_INET) {
		ipv4_text(c->peer, buf);
		return 0;
	}
	if (c->peer_family != AF_INET6) {
		snprintf(buf, len, "unknown");
		return -EAFNOSUPPORT;
	}
	struct in6_addr a6;
	memcpy(&a6, c->peer, 16);
	if (IN6_IS_ADDR_V4MAPPED(&a6)) { /* an IPv4 client on an IPv6 socket */
		ipv4_text(a6.s6_addr + 12, buf);
		return 0;
	}
	return inet_ntop(AF_INET6, &a6, buf, (socklen_t)len) ? 0 : -errno;
}

int http_peer_name(const struct http_out *out, char *buf, size_t len)
{
	return peer_text(((const struct exchange *)out)->c, buf, len);
}

void http_set_log(struct http_out *out, void *target)
{
	X(out)->log_target = target;
}

bool http_logged(const struct http_out *out)
{
	const struct exchange *x = (const struct exchange *)out;
	return x->log_target && x->ctx->log;
}

void http_set_upstream(struct http_out *out, const char *addr, uint64_t us)
{
	X(out)->upstream = addr;
	X(out)->upstream_us = us;
}

/* The request is answered: its access log line, if any. */
static void log_request(struct exchange *x, int status, uint64_t bytes)
{
	if (x->ctx->done)
		x->ctx->done(status, bytes);
	if (!x->log_target || !x->ctx->log)
		return;
	char peer[INET6_ADDRSTRLEN];
	peer_text(x->c, peer, sizeof peer);
	/* One clock read per logged request (vDSO, no system call): the
	 * start is the turn's own reading. */
	uint64_t now_us = netpoll_clock_us();
	struct http_log_entry e = {
		.peer = peer, .req = &x->req, .status = status, .bytes = bytes,
		.now_sec = netpoll_wall_sec(x->out.src->np),
		.request_us = now_us > x->start_us ? now_us - x->start_us : 0,
		.upstream = x->upstream, .upstream_us = x->upstream_us,
	};
	x->ctx->log(x->log_target, &e);
	x->log_target = NULL;
}

/* A head cut short (or refused) in its last header line: that line is a
 * header only if it ended, as nginx counts them. llhttp completes a value
 * only at the next line's first byte (which might fold it): a head cut
 * after its Host line has that Host. */
static void last_header_as_read(struct exchange *x)
{
	struct http_request *req = &x->req;
	const struct http_header *h = &req->headers[req->nheaders - 1];
	const char *end = x->c->rbuf + x->c->rlen, *q = end;
	if (!x->ps.fields.in_name) /* after the value, or the colon if none */
		q = x->c->rbuf + (h->value.len ? h->value.off + h->value.len
					       : h->name.off + h->name.len + 1);
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (end - q < 2 || q[0] != '\r' || q[1] != '\n') {
		req->nheaders--; /* cut short: not a header yet */
		return;
	}
	if (!req->host.len && span_is(&x->ps, h->name, "host")) {
		req->host = h->value;
		while (req->host.len && (req->buf[req->host.off + req->host.len - 1] == ' ' ||
					 req->buf[req->host.off + req->host.len - 1] == '\t'))
			req->host.len--;
	}
}

/* A request refused before the handler saw it: the owner chooses its log
 * (as nginx: the server its Host header named if that was read, else the
 * address's default server). What is known goes in: the request line as
 * received, up to its first line break, and the headers read so far. */
static void log_rejected(struct exchange *x, int status, uint64_t bytes)
{
	if (!x->ctx->log_rejected)
		return;
	struct http_request *req = &x->req;
	if (x->ps.began && req->nheaders)
		last_header_as_read(x);
	const char *line = x->c->rbuf + x->msg_start, *end = x->c->rbuf + x->c->rlen;
	while (line < end && (*line == '\r' || *line == '\n'))
		line++; /* blank lines before a request are allowed */
	const char *eol = line;
	while (eol < end && *eol != '\r' && *eol != '\n')
		eol++;
	char peer[INET6_ADDRSTRLEN];
	peer_text(x->c, peer, sizeof peer);
	uint64_t now_us = netpoll_clock_us();
	struct http_log_entry e = {
		.peer = peer,
		.req = x->ps.began ? req : NULL, /* its headers are this message's */
		.status = status, .bytes = bytes,
		.now_sec = netpoll_wall_sec(x->out.src->np),
		.request_us = now_us > x->start_us ? now_us - x->start_us : 0,
	};
	x->ctx->log_rejected(x->c->owner, &e, line, (size_t)(eol - line));
}

struct np_source *http_client_source(struct http_out *out)
{
	return out->src;
}

/* Run the handler for the current request and queue its answer. Returns
 * 0, or -1 when the connection must close now (the answer is flushed). */
static int answer(struct exchange *x)
{
	struct http_out *out = &x->out;
	if (out_reserve(out) < 0)
		return -1;
	struct http_reply reply = { 0 };
	int h = x->ctx->handler(x->c->owner, &x->req, &reply, out);
	if (h == HTTP_HANDLED) {
		log_request(x, x->head_sent ? x->sent_status : 0, x->sent_bytes);
		if (!x->req.keep_alive) /* a trailer said so after the head went out */
			x->close_after = true;
		/* The handler streamed its answer; a body it did not read
		 * cannot be skipped safely here: close. */
		if (x->req.has_body && !x->body_done)
			x->close_after = true;
		if (!x->head_sent)
			x->close_after = true;
		return x->close_after ? (out_flush(out), -1) : 0;
	}
	if (h < 0) {
		if (reply.release)
			reply.release(reply.release_arg);
		x->status = 500;
		return -1;
	}
	struct http_conn *c = x->c;
	const struct http_limits *lim = x->ctx->limits;
	c->requests++;
	c->blank_parked = false;
	bool limit = lim->requests_per_connection && c->requests >= lim->requests_per_connection;
	/* This handler did not read the body: close rather than skip it. */
	bool close_after = !x->req.keep_alive || (x->req.has_body && !x->body_done) || limit ||
			   x->ctx->draining;
	if (x->req.method == HTTP_HEAD)
		reply.no_body = true;
	log_request(x, reply.status, reply.no_body ? 0 : reply.length);
	if (out_reply(out, &reply, !close_after, x->req.minor == 0,
		      netpoll_wall_sec(out->src->np)) < 0) {
		x->status = 500; /* did not fit: the answers before it still go */
		return -1;
	}
	if (close_after) {
		out_flush(out);
		return -1;
	}
	return 0;
}

enum http_serve_result http_serve(struct http_ctx *ctx, struct http_conn *c)
{
	const struct http_limits *lim = ctx->limits;
	struct netpoll *np = c->src.np;
	/* On the coroutine's stack: nothing here costs heap. */
	/* Field by field: zeroing the segment arrays and the header table
	 * (8 KiB) would cost more than the whole request. */
	struct exchange x;
	x.ctx = ctx;
	x.c = c;
	x.out.src = &c->src;
	x.out.send_timeout_ms = lim->send_timeout_ms;
	x.out.buf = buf_pool_get(ctx->wbufs);
	x.out.cap = buf_pool_size(ctx->wbufs);
	x.out.used = 0;
	x.out.nsegs = x.out.nrel = 0;
	x.req.nheaders = 0;
	x.req.target = x.req.host = (struct http_span){ 0, 0 };
	x.pos = x.msg_start = 0;
	x.head_deadline = 0;
	x.body_done = x.body_started = x.continue_sent = x.body_paused = x.head_sent = false;
	x.framing = HTTP_FRAME_LENGTH;
	x.close_after = false;
	x.nodelay_set = false;
	x.log_target = NULL;
	x.upstream = NULL;
	x.upstream_us = 0;
	x.start_us = netpoll_now_us(np);
	x.status = 0;
	if (!c->rbuf) {
		c->rbuf = buf_pool_get(ctx->rbufs);
		c->rlen = 0;
	}
	if (!c->rbuf || !x.out.buf) {
		buf_pool_put(ctx->wbufs, x.out.buf);
		buf_pool_put(ctx->rbufs, c->rbuf);
		c->rbuf = NULL;
		return HTTP_CLOSE;
	}
	x.req.buf = c->rbuf;
	/* llhttp is set up when a head first needs it (http_scan declined). */
	x.parser_ready = false;
	x.ps.began = x.ps.no_more = false;
	x.st = ST_IDLE;
	enum http_serve_result result = HTTP_CLOSE;
	bool answered = false;

	for (;;) {
		if (x.pos == c->rlen) {
			/* Answers already built go out before we read or park. */
			if (out_flush(&x.out) < 0)
				break;
			/* Only blank lines so far: ignored (RFC 9112 2.2), and the
			 * connection may park as idle, once. After that the head
			 * is waited for under its deadline: a client sending a
			 * CRLF now and then cannot hold the connection forever. */
			if (x.st == ST_HEAD && !x.ps.began && !c->blank_parked) {
				x.st = ST_IDLE;
				c->blank_parked = true;
			}
			if (x.st == ST_IDLE) {
				/* msg_start too: make_room() measures the head from it. */
				c->rlen = x.pos = x.msg_start = 0;
				/* Kept open after its first answer: from now on a
				 * small answer must not wait for an ACK (Nagle). A
				 * connection closed after one answer never pays
				 * for the setsockopt. */
				if (c->requests == 1 && !x.nodelay_set) {
					conn_set_nodelay(&c->src);
					x.nodelay_set = true;
				}
				/* Park only when the socket is known drained; after
				 * a peer's FIN it stays readable until we read 0. */
				if (!conn_readable(&c->src)) {
					result = HTTP_IDLE;
					break;
				}
				/* Readable as far as we know (a new connection is
				 * started so): a read that finds nothing parks it
				 * too, so a silent client holds no coroutine and no
				 * buffer while it waits for its first byte. */
				ssize_t n = conn_try_read(&c->src, c->rbuf,
							  buf_pool_size(ctx->rbufs));
				if (n == -EAGAIN) {
					result = HTTP_IDLE;
					break;
				}
				if (n <= 0)
					break; /* closed before a request */
				c->rlen = (uint32_t)n;
				continue;
			}
			if (make_room(&x) < 0) {
				x.status = 431;
				break;
			}
			/* A new connection gets the header timeout for its first
			 * byte, as nginx's client_header_timeout. */
			unsigned idle_ms = c->requests ? lim->keepalive_timeout_ms
						       : lim->header_timeout_ms;
			uint64_t deadline = x.st == ST_HEAD   ? x.head_deadline
					    : x.st == ST_BODY ? netpoll_now(np) + lim->body_timeout_ms
							      : netpoll_now(np) + idle_ms;
			ssize_t n = read_more(&x, deadline);
			if (n == -ETIMEDOUT && x.st == ST_HEAD) {
				x.status = 408;
				break;
			}
			if (n <= 0) {
				/* Closed or failed mid-request: nothing to answer. A
				 * head cut short is logged as nginx does, 400 with
				 * nothing sent; a body belongs to an answered request. */
				if (x.st == ST_HEAD && !answered)
					log_rejected(&x, 400, 0);
				break;
			}
			continue;
		}

		if (x.st == ST_IDLE) {
			x.st = ST_HEAD;
			x.msg_start = x.pos;
			x.head_deadline = netpoll_now(np) + lim->header_timeout_ms;
			x.start_us = netpoll_now_us(np);
			x.upstream = NULL; /* the last request may not have been logged */
			x.body_done = x.body_started = x.continue_sent = x.head_sent = false;
			x.body_paused = false;
			answered = false;
			/* The common head, whole and body-less, without llhttp;
			 * not once llhttp would refuse any next message. */
			bool scan = !x.ps.no_more && !ctx->no_scan;
			size_t head_end = scan ? http_scan_request(c->rbuf, x.pos, c->rlen, lim, &x.req)
					       : 0;
			if (head_end) {
				x.pos = (uint32_t)head_end;
				x.body_done = true;
				x.st = ST_IDLE;
				answered = true;
				if (answer(&x) < 0)
					break;
				continue;
			}
		}
		if (!x.parser_ready) {
			parse_init(&x.ps, &x.parser, &x.req, lim, c->rbuf);
			x.parser_ready = true;
		}
		x.ps.event = EV_NONE;
		llhttp_errno_t err = llhttp_execute(&x.parser, c->rbuf + x.pos, c->rlen - x.pos);
		if (err == HPE_OK) {
			x.pos = c->rlen;
			if (x.st == ST_HEAD && c->rlen - x.msg_start > lim->header_size) {
				x.status = 431;
				break;
			}
			continue;
		}
		if (err != HPE_PAUSED) {
			x.status = status_for_parse_error(&x.parser, err, x.ps.reject);
			break;
		}
		x.pos = (uint32_t)(llhttp_get_error_pos(&x.parser) - c->rbuf);
		llhttp_resume(&x.parser);
		if (x.ps.event == EV_BODY)
			continue; /* body bytes nobody asked for: parsed, dropped */
		/* A head that arrived whole is measured here. */
		if (!answered && x.pos - x.msg_start > lim->header_size) {
			x.status = 431;
			break;
		}
		if (x.ps.event == EV_HEADERS) {
			x.st = ST_BODY;
			if (lim->body_size && x.parser.content_length > lim->body_size) {
				x.status = 413;
				break;
			}
		}
		if (x.ps.event == EV_MESSAGE) {
			x.body_done = true;
			x.st = ST_IDLE;
		}
		if (!answered) {
			answered = true;
			if (answer(&x) < 0)
				break;
		}
	}

	if (x.status && out_flush(&x.out) == 0) {
		struct http_reply reply;
		http_reply_error(&reply, x.status);
		log_request(&x, x.status, reply.length);
		if (!answered) /* refused before routing: no handler chose a log */
			log_rejected(&x, x.status, reply.length);
		if (out_reply(&x.out, &reply, false, false, netpoll_wall_sec(np)) == 0)
			out_flush(&x.out);
	}
	out_release(&x.out); /* anything not written: give it back all the same */
	buf_pool_put(ctx->wbufs, x.out.buf);
	buf_pool_put(ctx->rbufs, c->rbuf);
	c->rbuf = NULL;
	c->rlen = 0;
	return result;
}
