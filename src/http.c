/* http: see http.h. The read buffer holds the request heads being parsed;
 * llhttp reports spans as offsets into it, which stay valid until the
 * request is answered. Responses go into an output batch (scratch buffer +
 * iovecs) that is written with one writev when the input is drained, so the
 * answers to pipelined requests leave together. */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <llhttp.h>

#include "date.h"

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

enum parse_event { EV_NONE, EV_HEADERS, EV_MESSAGE };

/* What the llhttp callbacks see (parser.data). */
struct parse {
	struct http_request *req;
	const char *base;   /* rbuf */
	enum parse_event event;
	int reject;         /* our own status for a request llhttp let through */
	bool in_field;
	bool began; /* a message started (not just blank lines) */
	unsigned nhost;
	bool transfer_encoding;
	size_t header_limit;
	uint32_t msg_start;
};

/* ---- llhttp callbacks: record spans, enforce what llhttp does not ---- */

static struct parse *P(llhttp_t *p)
{
	return p->data;
}

/* Spans arrive in pieces (one per read); the pieces of one span are
 * adjacent in the buffer. A gap means llhttp skipped bytes inside it, which
 * only obsolete line folding does: report it so the request is refused. */
static int extend(struct http_span *s, const struct parse *ps, const char *at, size_t len)
{
	uint32_t off = (uint32_t)(at - ps->base);
	if (s->len == 0)
		s->off = off;
	else if (s->off + s->len != off)
		return -1;
	s->len += (uint32_t)len;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct http_request *req = P(p)->req;
	req->nheaders = 0;
	req->target = (struct http_span){ 0, 0 };
	req->host = (struct http_span){ 0, 0 };
	P(p)->in_field = false;
	P(p)->began = true;
	P(p)->nhost = 0;
	P(p)->transfer_encoding = false;
	P(p)->reject = 0;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	return extend(&P(p)->req->target, P(p), at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct parse *ps = P(p);
	struct http_request *req = ps->req;
	if (!ps->in_field) {
		if (req->nheaders == HTTP_MAX_HEADERS) {
			ps->reject = 431;
			return -1;
		}
		req->headers[req->nheaders++] = (struct http_header){ { 0, 0 }, { 0, 0 } };
		ps->in_field = true;
	}
	return extend(&req->headers[req->nheaders - 1].name, ps, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
	struct parse *ps = P(p);
	/* llhttp 8.1 lets an empty field name through (": x"). */
	if (!ps->in_field || ps->req->headers[ps->req->nheaders - 1].name.len == 0) {
		ps->reject = 400;
		return -1;
	}
	ps->in_field = false;
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct parse *ps = P(p);
	struct http_request *req = ps->req;
	if (req->nheaders == 0)
		return -1;
	struct http_header *h = &req->headers[req->nheaders - 1];
	/* Obsolete line folding (RFC 9112 5.2): refused, a smuggling vector.
	 * It shows as a value with a line break in it, a gap between two
	 * pieces, or (after an empty first line) bytes other than ':' and
	 * OWS between the name and the value. */
	bool folded = memchr(at, '\n', len) || memchr(at, '\r', len);
	if (h->value.len == 0 && len > 0)
		for (const char *q = ps->base + h->name.off + h->name.len + 1; q < at; q++)
			if (*q != ' ' && *q != '\t')
				folded = true;
	if (folded || extend(&h->value, ps, at, len) < 0) {
		ps->reject = 400;
		return -1;
	}
	return 0;
}

static bool span_is(const struct parse *ps, struct http_span s, const char *lower)
{
	size_t n = strlen(lower);
	return s.len == n && strncasecmp(ps->base + s.off, lower, n) == 0;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct parse *ps = P(p);
	struct http_request *req = ps->req;
	struct http_header *h = &req->headers[req->nheaders - 1];
	/* llhttp 8.1 keeps trailing whitespace in values: drop it. */
	while (h->value.len && (ps->base[h->value.off + h->value.len - 1] == ' ' ||
				ps->base[h->value.off + h->value.len - 1] == '\t'))
		h->value.len--;
	if (span_is(ps, h->name, "host")) {
		ps->nhost++;
		req->host = h->value;
	} else if (span_is(ps, h->name, "transfer-encoding")) {
		ps->transfer_encoding = true;
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
	p->upgrade = 0;
	req->keep_alive = llhttp_should_keep_alive(p);
	req->has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
	if (!req->has_body)
		return 0;
	ps->event = EV_HEADERS;
	return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *p)
{
	P(p)->event = EV_MESSAGE;
	P(p)->began = false;
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
	.on_message_complete = on_message_complete,
};

/* ---- output batch ---- */

char *http_scratch(struct http_out *out, size_t n)
{
	if (out->cap - out->used < n)
		return NULL;
	char *p = out->buf + out->used;
	out->used += n;
	return p;
}

uint64_t http_out_now(const struct http_out *out)
{
	return netpoll_now(out->src->np);
}

size_t http_scratch_room(const struct http_out *out)
{
	return out->cap - out->used;
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

static char *put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_str((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

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

/* Queue status line, common headers, the handler's headers and the body. */
static int out_reply(struct http_out *out, const struct http_reply *r, bool keep_alive,
		     bool http10, int64_t now_sec)
{
	/* Registered first: it runs even if this reply cannot be queued. */
	if (r->release)
		out->rel[out->nrel++] = (typeof(out->rel[0])){ r->release, r->release_arg };
	const char *text = http_status_text(r->status);
	size_t tlen = strlen(text);
	size_t need = 160 + tlen + r->headers_len;
	char *h = http_scratch(out, need);
	if (!h)
		return -1;
	char *p = PUT_LIT(h, "HTTP/1.1 ");
	p = put_u64(p, (uint64_t)r->status);
	*p++ = ' ';
	p = put_str(p, text, tlen);
	p = PUT_LIT(p, "\r\nServer: garcom\r\nDate: ");
	p = put_str(p, date_cached(now_sec), HTTP_DATE_LEN);
	if (r->status != 304 && r->status != 204 && r->status >= 200) {
		p = PUT_LIT(p, "\r\nContent-Length: ");
		p = put_u64(p, r->length);
	}
	if (!keep_alive)
		p = PUT_LIT(p, "\r\nConnection: close");
	else if (http10)
		p = PUT_LIT(p, "\r\nConnection: keep-alive");
	p = PUT_LIT(p, "\r\n");
	p = put_str(p, r->headers, r->headers_len);
	p = PUT_LIT(p, "\r\n");
	out->used -= need - (size_t)(p - h); /* give back what we did not use */
	out_push(out, &(struct out_seg){ .mem = h, .fd = -1, .len = (size_t)(p - h) });
	if (r->no_body)
		return 0;
	for (unsigned i = 0; i < r->nparts && i < HTTP_MAX_PARTS; i++) {
		const struct http_part *pt = &r->parts[i];
		out_push(out, &(struct out_seg){ pt->mem, pt->fd, pt->off, pt->len });
	}
	return 0;
}

/* ---- the connection loop ---- */

bool http_header_get(const struct http_request *req, const char *name, const char **value,
		     size_t *len)
{
	size_t n = strlen(name);
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

static int status_for_parse_error(llhttp_errno_t err, int reject)
{
	if (reject)
		return reject;
	switch (err) {
	case HPE_INVALID_VERSION:
		return 505;
	default:
		return 400;
	}
}

enum state { ST_IDLE, ST_HEAD, ST_BODY };

enum http_serve_result http_serve(struct http_ctx *ctx, struct http_conn *c)
{
	const struct http_limits *lim = ctx->limits;
	struct netpoll *np = c->src.np;
	struct http_request req;
	struct parse ps = { .req = &req, .header_limit = lim->header_size };
	llhttp_t parser;
	llhttp_init(&parser, HTTP_REQUEST, &parser_settings);
	parser.data = &ps;

	size_t cap = buf_pool_size(ctx->rbufs);
	if (!c->rbuf) {
		c->rbuf = buf_pool_get(ctx->rbufs);
		c->rlen = 0;
	}
	/* On the coroutine's stack: the segment arrays cost no heap. */
	struct http_out out = { .src = &c->src, .send_timeout_ms = lim->send_timeout_ms,
				.buf = buf_pool_get(ctx->wbufs), .cap = buf_pool_size(ctx->wbufs) };
	if (!c->rbuf || !out.buf) {
		buf_pool_put(ctx->wbufs, out.buf);
		return HTTP_CLOSE;
	}
	req.buf = c->rbuf;
	ps.base = c->rbuf;

	enum state st = ST_IDLE;
	enum http_serve_result result = HTTP_CLOSE;
	uint32_t pos = 0, msg_start = 0;
	uint64_t head_deadline = 0;
	bool close_after = false, answered = false;
	int status = 0; /* an error to answer, then close */

	for (;;) {
		if (pos == c->rlen) {
			/* Answers already built go out before we read or park. */
			if (out_flush(&out) < 0)
				break;
			if (st == ST_HEAD && !ps.began)
				st = ST_IDLE; /* only blank lines so far (RFC 9112 2.2) */
			if (st == ST_IDLE) {
				c->rlen = pos = 0;
				/* Park only when the socket is known drained; after
				 * a peer's FIN it stays readable until we read 0. */
				if (!conn_readable(&c->src)) {
					result = HTTP_IDLE;
					break;
				}
			} else if (st == ST_BODY) {
				c->rlen = pos = msg_start = 0; /* body bytes: parsed, not kept */
			} else if (c->rlen - msg_start > lim->header_size) {
				status = 431;
				goto answer_error;
			} else if (c->rlen == cap && msg_start > 0) {
				memmove(c->rbuf, c->rbuf + msg_start, c->rlen - msg_start);
				shift_spans(&req, msg_start);
				c->rlen -= msg_start;
				pos -= msg_start;
				msg_start = 0;
			}
			/* A new connection gets the header timeout for its first
			 * byte, as nginx's client_header_timeout. */
			unsigned idle_ms = c->requests ? lim->keepalive_timeout_ms
						       : lim->header_timeout_ms;
			uint64_t deadline = st == ST_HEAD   ? head_deadline
					    : st == ST_BODY ? netpoll_now(np) + lim->body_timeout_ms
							    : netpoll_now(np) + idle_ms;
			ssize_t n = conn_read(&c->src, c->rbuf + c->rlen, cap - c->rlen, deadline);
			if (n == -ETIMEDOUT && st == ST_HEAD) {
				status = 408;
				goto answer_error;
			}
			if (n <= 0)
				break; /* closed or failed mid-request: nothing to answer */
			c->rlen += (uint32_t)n;
			continue;
		}

		if (st == ST_IDLE) {
			st = ST_HEAD;
			msg_start = pos;
			head_deadline = netpoll_now(np) + lim->header_timeout_ms;
			answered = false;
		}
		ps.event = EV_NONE;
		llhttp_errno_t err = llhttp_execute(&parser, c->rbuf + pos, c->rlen - pos);
		if (err == HPE_OK) {
			pos = c->rlen;
			if (st == ST_HEAD && c->rlen - msg_start > lim->header_size) {
				status = 431;
				goto answer_error;
			}
			continue;
		}
		if (err != HPE_PAUSED) {
			status = status_for_parse_error(err, ps.reject);
			goto answer_error;
		}
		pos = (uint32_t)(llhttp_get_error_pos(&parser) - c->rbuf);
		llhttp_resume(&parser);
		/* A head that arrived whole is measured here. */
		if (!answered && pos - msg_start > lim->header_size) {
			status = 431;
			goto answer_error;
		}
		if (ps.event == EV_HEADERS) {
			st = ST_BODY;
			if (lim->body_size && parser.content_length > lim->body_size) {
				status = 413;
				goto answer_error;
			}
		}
		if (!answered) {
			/* A request with a body is answered at its headers; this
			 * first cut does not read bodies, so it closes after. */
			if (out_reserve(&out) < 0)
				break;
			struct http_reply reply = { 0 };
			if (ctx->handler(c->owner, &req, &reply, &out) < 0) {
				if (reply.release)
					reply.release(reply.release_arg);
				status = 500;
				goto answer_error;
			}
			c->requests++;
			bool limit = lim->requests_per_connection &&
				     c->requests >= lim->requests_per_connection;
			close_after = !req.keep_alive || req.has_body || limit || ctx->draining;
			if (req.method == HTTP_HEAD)
				reply.no_body = true;
			if (out_reply(&out, &reply, !close_after, req.minor == 0,
				      netpoll_wall_sec(np)) < 0) {
				status = 500; /* did not fit: the answers before it still go */
				goto answer_error;
			}
			answered = true;
			if (close_after) {
				out_flush(&out);
				break;
			}
		}
		if (ps.event == EV_MESSAGE)
			st = ST_IDLE;
	}
	goto out;

answer_error:
	if (status && out_flush(&out) == 0) {
		struct http_reply reply;
		http_reply_error(&reply, status);
		if (out_reply(&out, &reply, false, false, netpoll_wall_sec(np)) == 0)
			out_flush(&out);
	}
	result = HTTP_CLOSE;
out:
	out_release(&out); /* anything not written: give it back all the same */
	buf_pool_put(ctx->wbufs, out.buf);
	if (result == HTTP_IDLE || result == HTTP_CLOSE) {
		buf_pool_put(ctx->rbufs, c->rbuf);
		c->rbuf = NULL;
		c->rlen = 0;
	}
	return result;
}
