/* fuzz_proxy: bytes from an upstream, through the proxy's response parsing
 * (strict llhttp and garcom's header checks) and its re-framing for the
 * client (hop-by-hop fields dropped, Content-Length kept or chunked, 1xx
 * relayed, 101 tunnels). Input: one byte choosing the client's request,
 * one choosing where the upstream splits its answer, then the answer.
 *
 * Oracle: the client's side always parses as HTTP/1.1 responses with
 * strict llhttp, with at most one final response; and when the upstream's
 * bytes hold one whole valid response (as the same checks read it), the
 * client gets that status and exactly that body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "http.h"
#include "world.h"

static const char config[] =
	"master_process = false;\n"
	"coroutine_stack = \"256k\";\n"
	"error_log = \"/dev/null\";\n"
	"log_level = \"error\";\n"
	"timeouts = { header = 2; body = 2; keepalive = 2; send = 2; tunnel = 1; };\n"
	"servers = (\n"
	" { listen = [ \"127.0.0.1:1\" ]; root = \"@DIR@/www\"; access_log = \"/dev/null\";\n"
	"   locations = ( { prefix = \"/api/\"; proxy = \"app\"; } ); }\n"
	");\n"
	"upstreams = ( { name = \"app\"; servers = [ \"@UPSTREAM@\" ]; keepalive = 0;\n"
	"  connect_timeout = 2; send_timeout = 2; read_timeout = 2; max_fails = 0; } );\n";

struct kind {
	const char *request;
	bool head, upgrade;
};

static const struct kind kinds[] = {
	{ "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n", false, false },
	{ "HEAD /api/x HTTP/1.1\r\nHost: a\r\n\r\n", true, false },
	{ "POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", false, false },
	{ "GET /api/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	  false, true },
	{ "GET /api/x HTTP/1.0\r\n\r\n", false, false },
	{ "POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	  false, false },
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_world_init(config);
	return 0;
}

/* ---- reading a stream of responses ---- */

struct reading {
	bool head_req;
	bool use_fields; /* garcom's own header checks (the upstream's side) */
	const char *base;
	struct http_header h[HTTP_MAX_HEADERS];
	uint16_t n;
	struct http_fields fields;
	int finals;      /* final responses begun */
	int status;      /* of the first final response */
	bool complete;   /* the first final response ended */
	bool upgraded;
	bool bad_status; /* a status code below 100 */
	char body[1 << 16];
	size_t body_len;
	bool body_overflow;
};

static struct reading *RD(llhttp_t *p)
{
	return p->data;
}

static int rd_begin(llhttp_t *p)
{
	RD(p)->n = 0;
	RD(p)->fields.in_name = false;
	return 0;
}

static int rd_field(llhttp_t *p, const char *at, size_t len)
{
	return RD(p)->use_fields ? http_fields_name(&RD(p)->fields, at, len) : 0;
}

static int rd_field_done(llhttp_t *p)
{
	return RD(p)->use_fields ? http_fields_name_done(&RD(p)->fields) : 0;
}

static int rd_value(llhttp_t *p, const char *at, size_t len)
{
	return RD(p)->use_fields ? http_fields_value(&RD(p)->fields, at, len) : 0;
}

static int rd_value_done(llhttp_t *p)
{
	if (RD(p)->use_fields)
		http_fields_value_done(&RD(p)->fields);
	return 0;
}

static int rd_headers(llhttp_t *p)
{
	struct reading *r = RD(p);
	if (p->status_code < 100)
		r->bad_status = true; /* llhttp 8.1 lets "HTTP/1.1 \n" through */
	if (p->status_code >= 200 || p->status_code == 101) {
		if (r->finals++ == 0)
			r->status = p->status_code;
	}
	/* No body, whatever the headers say (RFC 9112 6.3). */
	int st = p->status_code;
	return r->head_req || st < 200 || st == 204 || st == 304 ? 1 : 0;
}

static int rd_body(llhttp_t *p, const char *at, size_t len)
{
	struct reading *r = RD(p);
	if (r->finals != 1 || r->complete)
		return 0;
	if (len > sizeof r->body - r->body_len) {
		r->body_overflow = true;
		return 0;
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	return 0;
}

static int rd_done(llhttp_t *p)
{
	struct reading *r = RD(p);
	if (r->finals == 1 && !r->complete && (p->status_code >= 200 || p->status_code == 101))
		r->complete = true;
	return 0;
}

static const llhttp_settings_t rd_settings = {
	.on_message_begin = rd_begin,
	.on_header_field = rd_field,
	.on_header_field_complete = rd_field_done,
	.on_header_value = rd_value,
	.on_header_value_complete = rd_value_done,
	.on_headers_complete = rd_headers,
	.on_body = rd_body,
	.on_message_complete = rd_done,
};

/* Parse a whole stream that ended (a close-delimited body ends there);
 * returns the error of the bytes themselves (HPE_OK, HPE_PAUSED_UPGRADE
 * after a 101, or a parse error), not of their being cut short. */
static llhttp_errno_t read_all(struct reading *r, const char *data, size_t len)
{
	llhttp_t p;
	llhttp_init(&p, HTTP_RESPONSE, &rd_settings);
	p.data = r;
	r->base = data;
	r->fields = (struct http_fields){ .base = data, .h = r->h, .n = &r->n,
					  .max = HTTP_MAX_HEADERS };
	llhttp_errno_t e = llhttp_execute(&p, data, len);
	if (e == HPE_PAUSED_UPGRADE)
		r->upgraded = true;
	if (e == HPE_OK)
		llhttp_finish(&p);
	return e;
}

static char out[1 << 20];
static size_t out_len;

static void on_out(void *arg, const char *data, size_t len)
{
	(void)arg;
	if (len > sizeof out - out_len)
		len = sizeof out - out_len;
	memcpy(out + out_len, data, len);
	out_len += len;
}

static struct reading up, client;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const struct kind *k = &kinds[data[0] % (sizeof kinds / sizeof *kinds)];
	const uint8_t *resp = data + 2;
	size_t len = size - 2;
	fz_upstream_answer(resp, len, (size_t)data[1] * len / 256, true);
	out_len = 0;
	fz_exchange((const uint8_t *)k->request, strlen(k->request), 0x0a010203, on_out, NULL);

	memset(&client, 0, offsetof(struct reading, body));
	client.body_len = 0;
	client.head_req = k->head;
	llhttp_errno_t ce = read_all(&client, out, out_len);
	if (ce != HPE_OK && ce != HPE_PAUSED_UPGRADE) {
		fprintf(stderr, "client side: %s\n", llhttp_errno_name(ce));
		fz_fail("the client got bytes that do not parse as responses", out, out_len);
	}
	if (client.bad_status)
		fz_fail("the client got a status code below 100", out, out_len);
	if (client.finals > 1)
		fz_fail("the client got more than one final response", out, out_len);

	/* What a correct proxy had to deliver. */
	memset(&up, 0, offsetof(struct reading, body));
	up.body_len = 0;
	up.head_req = k->head;
	up.use_fields = true;
	llhttp_errno_t ue = read_all(&up, (const char *)resp, len);
	bool whole = (ue == HPE_OK || ue == HPE_PAUSED_UPGRADE) && up.complete && up.status != 101 &&
		     !up.bad_status &&
		     !up.body_overflow && len <= 16384 - 64;
	if (getenv("FZ_DEBUG"))
		fprintf(stderr, "upstream: %s status %d complete %d body %zu; client: status %d "
			"complete %d body %zu\n", llhttp_errno_name(ue), up.status, up.complete,
			up.body_len, client.status, client.complete, client.body_len);
	if (!whole)
		return 0;
	if (!client.complete || client.status != up.status)
		fz_fail("a whole valid upstream response did not reach the client whole", out,
			out_len);
	if (client.body_len != up.body_len || memcmp(client.body, up.body, up.body_len) != 0)
		fz_fail("the client got another body than the upstream sent", out, out_len);
	return 0;
}
