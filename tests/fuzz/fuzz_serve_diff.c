/* fuzz_serve_diff: the whole request path served twice, once with the
 * request-head scanner (src/http_scan.c) and once without it (every head
 * parsed by llhttp: http_ctx.no_scan). The scanner only stands in for
 * llhttp on the heads it takes, so nothing anyone can observe may differ:
 * what the client receives (the Date and Expires values aside, which
 * follow the clock), what the upstream receives, and every log entry
 * (status, bytes, and the request as the log reads it). fuzz_scan holds the
 * scanner to a fresh llhttp parser on one head; this target also sees what
 * http_serve() carries between messages: the parser's state, blank lines,
 * pipelining, heads cut across reads, the logging of refused requests.
 *
 * Input: byte 0 chooses how the client writes. With bit 7 set, it writes
 * pieces of (byte 0 & 0x7f) + 1 bytes, each read by the server before the
 * next; else all at once. The rest is what the client sends, on one
 * connection. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"

#include "world.h"

/* Small limits, so a fuzzed head reaches them: 414, 431, the last request
 * of a connection. */
static const char config[] =
	"master_process = false;\n"
	"coroutine_stack = \"256k\";\n"
	"error_log = \"/dev/null\";\n"
	"log_level = \"error\";\n"
	"trusted_proxies = [ \"127.0.0.1\" ];\n"
	"file_cache_max_size = \"4k\";\n"
	"timeouts = { header = 2; body = 2; keepalive = 2; send = 2; tunnel = 2; };\n"
	"limits = { header_size = \"1k\"; uri_size = \"256\"; headers = 8; body_size = \"16k\";\n"
	"  requests_per_connection = 8; };\n"
	"servers = (\n"
	" { listen = [ \"127.0.0.1:1\" ]; root = \"@DIR@/www\"; index = [ \"index.html\" ];\n"
	"   access_log = \"/dev/null\"; error_pages = [ \"404 /404.html\" ];\n"
	"   locations = (\n"
	"     { prefix = \"/api/\"; proxy = \"app\"; },\n"
	"     { prefix = \"/v1/\"; proxy = \"http://@UPSTREAM@/v2/\"; preserve_host = false; via = false; },\n"
	"     { prefix = \"/files/\"; root = \"@DIR@/www\"; autoindex = true; precompressed = true;\n"
	"       expires = \"7d\"; serve_dotfiles = true; },\n"
	"     { prefix = \"/metrics\"; exact = true; status = true; }\n"
	"   ); },\n"
	" { listen = [ \"127.0.0.1:1\" ]; server_names = [ \"b.example\", \"*.c.example\" ];\n"
	"   root = \"@DIR@/www/dir\"; access_log = \"/dev/null\";\n"
	"   locations = ( { prefix = \"/\"; proxy = \"app\"; } ); }\n"
	");\n"
	"upstreams = ( { name = \"app\"; servers = [ \"@UPSTREAM@\" ]; keepalive = 0;\n"
	"  connect_timeout = 2; send_timeout = 2; read_timeout = 2; max_fails = 0; } );\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one run shows, as text: kept whole (inputs are small, so are
 * answers), cut at the end of a buffer alike in both runs. */
struct record {
	char text[1 << 20];
	size_t len;
};

struct run {
	struct record client, upstream, log;
};

static struct run runs[2];

static void put(struct record *r, const void *data, size_t len)
{
	if (len > sizeof r->text - r->len)
		len = sizeof r->text - r->len;
	memcpy(r->text + r->len, data, len);
	r->len += len;
}

static void putf(struct record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct record *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	put(r, line, n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void put_span(struct record *r, const char *tag, const struct http_request *req,
		     struct http_span s)
{
	putf(r, "%s[", tag);
	put(r, req->buf + s.off, s.len);
	put(r, "]", 1);
}

static void on_client(void *arg, const char *data, size_t len)
{
	put(&((struct run *)arg)->client, data, len);
}

static void on_upstream(void *arg, const char *data, size_t len)
{
	struct record *r = &((struct run *)arg)->upstream;
	putf(r, "--- a connection, %zu bytes:\n", len);
	put(r, data, len);
}

/* The entry as the logs read it; not its times (request_us, upstream_us,
 * now_sec), which follow the clock. A refused request's method, target
 * and version are not to be trusted (http_log_entry): its line stands for
 * them. */
static void on_log(void *arg, const struct http_log_entry *e, const char *line, size_t line_len)
{
	struct record *r = &((struct run *)arg)->log;
	putf(r, "%s status=%d bytes=%" PRIu64 " peer=%s upstream=%s\n",
	     line ? "refused" : "access", e->status, e->bytes, e->peer,
	     e->upstream ? e->upstream : "-");
	if (line) {
		put(r, "  line[", 7);
		put(r, line, line_len);
		put(r, "]\n", 2);
	}
	const struct http_request *req = e->req;
	if (!req) {
		put(r, "  no request\n", 13);
		return;
	}
	if (!line) {
		putf(r, "  method=%u version=%u.%u keep_alive=%d body=%d chunked=%d length=%" PRIu64
			" upgrade=%d expect=%d",
		     req->method, req->major, req->minor, req->keep_alive, req->has_body,
		     req->chunked, req->content_length, req->upgrade, req->expect_continue);
		put_span(r, " target", req, req->target);
	}
	put_span(r, " host", req, req->host);
	putf(r, " names=%016" PRIx64 " headers=%u\n", req->names, req->nheaders);
	for (unsigned i = 0; i < req->nheaders; i++) {
		put_span(r, "  ", req, req->headers[i].name);
		put_span(r, ": ", req, req->headers[i].value);
		put(r, "\n", 1);
	}
}

static void mask(char *p, size_t n)
{
	memset(p, '#', n);
}

/* The values that follow the clock, each as long in both runs: the Date
 * and Expires headers, and a multipart boundary (made from the time)
 * wherever it appears. */
static void mask_clock(struct record *r)
{
	static const char *const names[] = { "\r\nDate: ", "\r\nExpires: ", "; boundary=" };
	char *end = r->text + r->len;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		size_t n = strlen(names[i]);
		for (char *p = r->text; (p = memmem(p, (size_t)(end - p), names[i], n)); p += n) {
			char *v = p + n, *e = v;
			while (e < end && *e != '\r')
				e++;
			size_t vn = (size_t)(e - v);
			char token[64];
			if (i == 2 && vn && vn <= sizeof token) { /* the boundary: every use of it */
				memcpy(token, v, vn);
				for (char *u = r->text; (u = memmem(u, (size_t)(end - u), token, vn)); u += vn)
					mask(u, vn);
			} else {
				mask(v, vn);
			}
		}
	}
}

static void serve(struct run *run, bool no_scan, const uint8_t *in, size_t len, size_t piece)
{
	run->client.len = run->upstream.len = run->log.len = 0;
	fz_http_ctx()->no_scan = no_scan;
	fz_watch(&(struct fz_watch){ .log = on_log, .upstream = on_upstream, .arg = run });
	fz_exchange_pieces(in, len, piece, 0x7f000001, on_client, run);
	fz_watch(NULL);
	mask_clock(&run->client);
}

static void same(const struct record *scanned, const struct record *parsed, const char *what,
		 const uint8_t *data, size_t size)
{
	if (scanned->len == parsed->len && memcmp(scanned->text, parsed->text, scanned->len) == 0)
		return;
	size_t at = 0;
	while (at < scanned->len && at < parsed->len && scanned->text[at] == parsed->text[at])
		at++;
	fprintf(stderr, "serve_diff: %s differ from byte %zu\n=== with the scanner (%zu bytes):\n",
		what, at, scanned->len);
	fwrite(scanned->text, 1, scanned->len, stderr);
	fprintf(stderr, "\n=== llhttp alone (%zu bytes):\n", parsed->len);
	fwrite(parsed->text, 1, parsed->len, stderr);
	fz_fail("the scanner changed what the request path does", data, size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_world_init(config);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = data[0] & 0x80 ? (size_t)(data[0] & 0x7f) + 1 : 0;
	serve(&runs[0], false, data + 1, size - 1, piece);
	serve(&runs[1], true, data + 1, size - 1, piece);
	if (getenv("FZ_DEBUG"))
		fprintf(stderr, "--- log entries (with the scanner):\n%.*s", (int)runs[0].log.len,
			runs[0].log.text);
	same(&runs[0].client, &runs[1].client, "the client's bytes", data, size);
	same(&runs[0].upstream, &runs[1].upstream, "the upstream's bytes", data, size);
	same(&runs[0].log, &runs[1].log, "the log entries", data, size);
	return 0;
}
