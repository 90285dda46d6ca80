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

struct http_out {
	struct np_source *src;
	unsigned send_timeout_ms;
	char *buf;
	size_t cap, used;
	int niov;
	struct iovec iov[HTTP_OUT_IOV];
	struct {
		int fd; /* sendfile after the iovecs, then close if asked */
		off_t off;
		uint64_t len;
		bool close;
	} file;
};

enum parse_event { EV_NONE, EV_HEADERS, EV_MESSAGE };

/* What the llhttp callbacks see (parser.data). */
struct parse {
	struct http_request *req;
	const char *base;   /* rbuf */
	enum parse_event event;
	int reject;         /* our own status for a request llhttp let through */
	bool in_field;
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
	/* Obsolete line folding (RFC 9112 5.2): refused, a smuggling vector. */
	if (memchr(at, '\n', len) || memchr(at, '\r', len) ||
	    extend(&req->headers[req->nheaders - 1].value, ps, at, len) < 0) {
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

static void out_push(struct http_out *out, const void *p, size_t n)
{
	if (n == 0)
		return;
	struct iovec *last = out->niov ? &out->iov[out->niov - 1] : NULL;
	if (last && (char *)last->iov_base + last->iov_len == p) {
		last->iov_len += n; /* contiguous in scratch: one iovec */
		return;
	}
	out->iov[out->niov++] = (struct iovec){ (void *)p, n };
}

static int out_flush(struct http_out *out)
{
	int r = 0;
	if (out->niov)
		r = conn_writev(out->src, out->iov, out->niov, out->send_timeout_ms);
	out->niov = 0;
	out->used = 0;
	if (out->file.fd >= 0) {
		if (r == 0)
			r = conn_sendfile(out->src, out->file.fd, &out->file.off, out->file.len,
					   out->send_timeout_ms);
		if (out->file.close)
			close(out->file.fd);
		out->file.fd = -1;
	}
	return r;
}

/* Room for one more response: its head, the handler's scratch, iovecs. */
static int out_reserve(struct http_out *out)
{
	if (out->niov + 4 <= HTTP_OUT_IOV && out->cap - out->used >= out->cap / 2 &&
	    out->file.fd < 0)
		return 0;
	return out_flush(out);
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
		.body = bodies[status],
		.length = lens[status],
		.file_fd = -1,
	};
}

/* Queue status line, common headers, the handler's headers and the body. */
static int out_reply(struct http_out *out, const struct http_reply *r, bool keep_alive,
		     bool http10, int64_t now_sec)
{
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
	out_push(out, h, (size_t)(p - h));
	if (r->no_body || r->length == 0) {
		if (r->file_fd >= 0 && r->close_file)
			close(r->file_fd);
		return 0;
	}
	if (r->file_fd >= 0) {
		out->file.fd = r->file_fd;
		out->file.off = r->file_off;
		out->file.len = r->length;
		out->file.close = r->close_file;
		return 0;
	}
	out_push(out, r->body, r->length);
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
	struct http_out out = { .src = &c->src, .send_timeout_ms = lim->send_timeout_ms,
				.buf = buf_pool_get(ctx->wbufs), .cap = buf_pool_size(ctx->wbufs) };
	out.file.fd = -1;
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
			uint64_t deadline = st == ST_HEAD   ? head_deadline
					    : st == ST_BODY ? netpoll_now(np) + lim->body_timeout_ms
							    : netpoll_now(np) + lim->keepalive_timeout_ms;
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
			struct http_reply reply = { .file_fd = -1 };
			if (ctx->handler(c->owner, &req, &reply, &out) < 0)
				break;
			c->requests++;
			bool limit = lim->requests_per_connection &&
				     c->requests >= lim->requests_per_connection;
			close_after = !req.keep_alive || req.has_body || limit;
			if (req.method == HTTP_HEAD)
				reply.no_body = true;
			if (out_reply(&out, &reply, !close_after, req.minor == 0,
				      netpoll_wall_sec(np)) < 0)
				break;
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
	if (status) {
		struct http_reply reply;
		http_reply_error(&reply, status);
		if (out_reserve(&out) == 0 &&
		    out_reply(&out, &reply, false, false, netpoll_wall_sec(np)) == 0)
			out_flush(&out);
	}
	result = HTTP_CLOSE;
out:
	if (out.file.fd >= 0 && out.file.close)
		close(out.file.fd);
	buf_pool_put(ctx->wbufs, out.buf);
	if (result == HTTP_IDLE || result == HTTP_CLOSE) {
		buf_pool_put(ctx->rbufs, c->rbuf);
		c->rbuf = NULL;
		c->rlen = 0;
	}
	return result;
}
