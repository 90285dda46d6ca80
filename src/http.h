/* http: one HTTP/1.1 connection served top to bottom: read, parse with
 * llhttp (strict), hand each request to the handler, batch the responses,
 * keep-alive. Knows the conn API, not epoll, files or upstreams. */
#ifndef GARCOM_HTTP_H
#define GARCOM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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
	bool chunked;         /* the body is chunked (else content_length) */
	bool upgrade;         /* asked to switch protocols (WebSocket...) */
	bool expect_continue; /* Expect: 100-continue */
	uint64_t content_length;
	struct http_span target; /* as sent: path and query */
	struct http_span host;   /* empty when absent */
	uint16_t nheaders;
	/* A bit per header name present (http_name_bit): most lookups are
	 * for headers a request does not have, and this answers them. */
	uint64_t names;
	struct http_header headers[HTTP_MAX_HEADERS];
};

/* The bit of `names` for a header name: from its length and its first and
 * last letters, case-insensitively. */
static inline uint64_t http_name_bit(const char *name, size_t len)
{
	unsigned first = (unsigned char)name[0] | 0x20, last = (unsigned char)name[len - 1] | 0x20;
	return 1ULL << ((len * 7 + first * 3 + last) & 63);
}

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
	/* Optional, for a 200: the whole head http_head_200() makes of the
	 * above, kept by the handler. Sent as it is when the connection stays
	 * open under HTTP/1.1 (else the head is built as usual). */
	const char *whole_head;
	size_t whole_head_len;
};

/* The head of a 200 kept alive under HTTP/1.1, as the reply above would
 * get: status line, Server, Date (now_sec), Content-Length, `headers`, the
 * blank line. Written to buf if it fits in cap (110 bytes beyond headers
 * always do); returns its length, or 0. */
size_t http_head_200(char *buf, size_t cap, int64_t now_sec, uint64_t length,
		     const char *headers, size_t headers_len);

/* One-part bodies. */
void http_reply_mem(struct http_reply *reply, const void *mem, uint64_t len);
void http_reply_file(struct http_reply *reply, int fd, off_t off, uint64_t len);

struct http_out;

/* Per-worker settings the HTTP layer needs. */
struct http_limits {
	size_t header_size;
	size_t uri_size;  /* request-target, 414 beyond */
	unsigned headers; /* header fields, 431 beyond; <= HTTP_MAX_HEADERS */
	unsigned header_timeout_ms, body_timeout_ms, keepalive_timeout_ms, send_timeout_ms;
	unsigned requests_per_connection; /* 0 = no limit */
	uint64_t body_size;               /* 0 = no limit */
};

/* A handler fills reply; it may use http_scratch() for header text and
 * small bodies. `owner` is the connection's owner (see http_conn). Returns
 * 0, or -1 for a 500, or HTTP_HANDLED when it streamed the answer itself
 * with http_send_head() and friends. */
#define HTTP_HANDLED 1
typedef int (*http_handler_fn)(void *owner, const struct http_request *req,
			       struct http_reply *reply, struct http_out *out);

struct http_conn {
	struct np_source src;
	char *rbuf;          /* NULL while idle */
	uint32_t rlen;       /* bytes in rbuf */
	uint32_t requests;   /* served on this connection */
	void *owner;         /* whoever accepted it; passed to the handler */
	uint8_t peer_family; /* AF_INET / AF_INET6, from accept: no getpeername */
	uint8_t peer[16];
	bool blank_parked;   /* parked once on blank lines since the last request */
};

/* What the access log says of one answered request. */
struct http_log_entry {
	const char *peer; /* the client's address as text */
	/* The request. For one refused before routing (http_ctx.log_rejected)
	 * only its headers are to be trusted, as far as they were read, and
	 * req is NULL when none were. */
	const struct http_request *req;
	int status;
	uint64_t bytes;           /* body bytes sent */
	int64_t now_sec;          /* wall clock */
	uint64_t request_us;      /* from the turn its first bytes arrived to the answer */
	const char *upstream;     /* the upstream server's address; NULL: not proxied */
	uint64_t upstream_us;     /* its connect + request + response time */
};

struct http_ctx {
	const struct http_limits *limits;
	struct buf_pool *rbufs, *wbufs;
	http_handler_fn handler;
	/* After each request whose handler called http_set_log(). */
	void (*log)(void *target, const struct http_log_entry *e);
	/* A request refused before the handler saw it (400, 408, 413, 414,
	 * 431, 501, 505...), with its request line as received, maybe cut
	 * short (line_len 0: none): the connection's owner chooses its log,
	 * if any. Called only on that path. */
	void (*log_rejected)(void *owner, const struct http_log_entry *e, const char *line,
			     size_t line_len);
	/* After every answer, logged or not (metrics). */
	void (*done)(int status, uint64_t bytes);
	bool draining; /* stopping: answer with Connection: close, keep nothing */
	bool no_scan;  /* parse every head with llhttp (tests compare the two paths) */
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
/* Appends n bytes to the scratch area and returns where they went, or NULL
 * when they do not fit. Pieces put one after another are one run. */
char *http_scratch_put(struct http_out *out, const char *s, size_t n);
/* The worker's clock (ms), as the netpoller last read it. */
uint64_t http_out_now(const struct http_out *out);
/* The wall clock's second the Date header of this turn's answers says. */
int64_t http_out_wall_sec(const struct http_out *out);

/* Header lines gathered from llhttp's span callbacks as offsets into the
 * buffer being parsed: the request parser here and the proxy's response
 * parser share it. A value that is folded (obs-fold) or split by a gap is
 * refused; trailing whitespace is dropped. */
struct http_fields {
	const char *base;
	struct http_header *h;
	uint16_t *n, max;
	bool in_name;
};
#define HTTP_FIELDS_FULL (-2) /* more than max fields */
#define HTTP_FIELDS_BAD (-1)  /* an empty name, a folded value */
int http_span_extend(struct http_span *s, const char *base, const char *at, size_t len);
int http_fields_name(struct http_fields *f, const char *at, size_t len);
int http_fields_name_done(struct http_fields *f);
int http_fields_value(struct http_fields *f, const char *at, size_t len);
struct http_header *http_fields_value_done(struct http_fields *f);

/* The llhttp path alone, for tests that hold http_scan_request() to it:
 * parses the request head at base[pos] (up to base[end]) as http_serve()
 * does. Returns where it ends when it is a whole request without a body
 * that http_serve() would answer, else 0. */
size_t http_parse_head(const char *base, size_t pos, size_t end, const struct http_limits *lim,
		       struct http_request *req);

/* v in decimal at p (at most 20 bytes, no NUL); returns the end. For
 * header and log text: no printf on the hot path. */
char *http_put_u64(char *p, uint64_t v);

/* Header lookup, case-insensitive. Returns true and the value if present.
 * Inline: a name the request does not have (most lookups) costs a bit test,
 * and a literal's length is known when compiling. */
bool http_header_find(const struct http_request *req, const char *name, size_t n,
		      const char **value, size_t *len);
static inline bool http_header_get(const struct http_request *req, const char *name,
				   const char **value, size_t *len)
{
	size_t n = strlen(name);
	return (req->names & http_name_bit(name, n)) && http_header_find(req, name, n, value, len);
}

const char *http_status_text(int status);

/* ---- streaming: for handlers that relay (the proxy) ---- */

/* The request body, decoded (de-chunked), span by span straight from the
 * read buffer: >0 bytes at *data (valid until the next call), 0 at its end,
 * or -errno. The first call answers Expect: 100-continue. */
ssize_t http_body_read(struct http_out *out, const char **data);
bool http_body_expected(const struct http_out *out);

enum http_framing {
	HTTP_FRAME_LENGTH,  /* Content-Length: content_length */
	HTTP_FRAME_CHUNKED,
	HTTP_FRAME_CLOSE,   /* ended by closing the connection */
	HTTP_FRAME_UNKNOWN, /* length not known: chunked, or close for HTTP/1.0 */
	HTTP_FRAME_NONE,    /* no body (HEAD, 204, 304): headers as given */
	HTTP_FRAME_TUNNEL,  /* 101: the connection becomes a byte tunnel */
};

/* A 1xx response (not to HTTP/1.0 clients). headers: lines ending \r\n. */
int http_send_interim(struct http_out *out, int status, const char *headers, size_t len);
/* The final head: status line, Server, Date, the framing header, Connection,
 * then `headers`. Sent with the first body bytes. */
int http_send_head(struct http_out *out, int status, const char *headers, size_t len,
		   enum http_framing framing, uint64_t content_length);
/* Body bytes, framed as the head said, written before it returns. */
int http_send_body(struct http_out *out, const void *data, size_t len);
int http_send_end(struct http_out *out);
/* The response cannot be completed: the connection closes with nothing
 * more sent, so the client sees it cut short. */
void http_abort(struct http_out *out);

/* Log this request (see http_ctx.log) to `target`. */
void http_set_log(struct http_out *out, void *target);
/* Will this request's log line be written (http_set_log() was called and
 * there is a log)? What only the line needs is measured only then. */
bool http_logged(const struct http_out *out);
/* For the log line: the upstream server this request went to (text that
 * outlives the request) and how long it took, in microseconds. The last
 * call wins (a retry on another server). */
void http_set_upstream(struct http_out *out, const char *addr, uint64_t us);

/* The client's address as text, and its socket (for a tunnel). */
int http_peer_name(const struct http_out *out, char *buf, size_t len);
struct np_source *http_client_source(struct http_out *out);

/* Fill reply with a short built-in HTML error page for status. */
void http_reply_error(struct http_reply *reply, int status);

#endif
