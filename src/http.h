/* http: one HTTP/1.1 connection served top to bottom: read, parse with
 * llhttp (strict), hand each request to the handler, batch the responses,
 * keep-alive. Knows the conn API, not epoll, files or upstreams. */
#ifndef GARCOM_HTTP_H
#define GARCOM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conn.h"
#include "netpoll.h"

#define HTTP_MAX_HEADERS 100
#define HTTP_OUT_IOV 64

struct http_span {
	uint32_t off, len; /* into the connection's read buffer */
};

struct http_header {
	struct http_span name, value;
};

enum http_method_kind { HTTP_M_OTHER = 0, HTTP_M_GET, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_OPTIONS };

struct http_request {
	const char *buf; /* the read buffer the spans point into */
	uint8_t method;  /* llhttp_method_t */
	uint8_t major, minor;
	bool keep_alive;
	bool has_body;
	struct http_span target; /* as sent: path and query */
	struct http_span host;   /* empty when absent */
	uint16_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
};

/* A piece of a response body: memory, or a range of an open file. */
struct http_part {
	const void *mem; /* NULL: the file below */
	int fd;
	off_t off;
	uint64_t len;
};

#define HTTP_MAX_PARTS 64 /* body pieces of one reply (multipart ranges) */

/* The response a handler gives back. Memory it points to (headers, parts)
 * must stay valid until the batch is flushed: use http_scratch(), or data
 * kept alive until `release` runs. */
struct http_reply {
	int status;
	const char *headers; /* extra header lines, each ending in \r\n */
	size_t headers_len;
	uint64_t length;     /* Content-Length */
	const struct http_part *parts; /* the body, in order */
	unsigned nparts;
	struct http_part one;          /* storage for a one-part body */
	void (*release)(void *arg);    /* after the batch is written, or dropped */
	void *release_arg;
	bool no_body;        /* HEAD, 304: headers only, Content-Length kept */
};

/* One-part bodies. */
void http_reply_mem(struct http_reply *reply, const void *mem, uint64_t len);
void http_reply_file(struct http_reply *reply, int fd, off_t off, uint64_t len);

struct http_out;

/* Per-worker settings the HTTP layer needs. */
struct http_limits {
	size_t header_size;
	unsigned header_timeout_ms, body_timeout_ms, keepalive_timeout_ms, send_timeout_ms;
	unsigned requests_per_connection; /* 0 = no limit */
	uint64_t body_size;               /* 0 = no limit */
};

/* A handler fills reply; it may use http_scratch() for header text and
 * small bodies. `owner` is the connection's owner (see http_conn). Returns
 * 0, or -1 to drop the connection without a reply. */
typedef int (*http_handler_fn)(void *owner, const struct http_request *req,
			       struct http_reply *reply, struct http_out *out);

struct http_conn {
	struct np_source src;
	char *rbuf;          /* NULL while idle */
	uint32_t rlen;       /* bytes in rbuf */
	uint32_t requests;   /* served on this connection */
	void *owner;         /* whoever accepted it; passed to the handler */
};

struct http_ctx {
	const struct http_limits *limits;
	struct buf_pool *rbufs, *wbufs;
	http_handler_fn handler;
	bool draining; /* stopping: answer with Connection: close, keep nothing */
};

enum http_serve_result {
	HTTP_IDLE,   /* keep-alive with nothing buffered: the caller parks it */
	HTTP_CLOSE,  /* done or failed: the caller closes it */
};

/* Serve requests on c until it goes idle or must close. Runs in a coroutine. */
enum http_serve_result http_serve(struct http_ctx *ctx, struct http_conn *c);

/* Append n bytes to the output batch's scratch space; returns where they
 * went (valid until the batch is flushed), or NULL if it is full. */
char *http_scratch(struct http_out *out, size_t n);
/* Scratch space aligned for structs (e.g. an http_part array). */
void *http_scratch_aligned(struct http_out *out, size_t n);
/* printf into scratch, returns length or -1 if it does not fit. */
int http_scratchf(struct http_out *out, char **where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t http_scratch_room(const struct http_out *out);
/* The worker's clock (ms), as the netpoller last read it. */
uint64_t http_out_now(const struct http_out *out);

/* Header lookup, case-insensitive. Returns true and the value if present. */
bool http_header_get(const struct http_request *req, const char *name,
		     const char **value, size_t *len);

const char *http_status_text(int status);

/* Fill reply with a short built-in HTML error page for status. */
void http_reply_error(struct http_reply *reply, int status);

#endif
