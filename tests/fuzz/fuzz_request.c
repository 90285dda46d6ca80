/* fuzz_request: bytes from a client, through the real HTTP layer (strict
 * llhttp and garcom's own checks), routing (server by Host, location by
 * prefix), path normalisation, and whichever handler the request reaches:
 * static files, directory listings, error pages, the status page, or the
 * proxy (to an upstream in this process that checks the forwarded request
 * parses strictly: the proxy must never forward what an upstream would read
 * differently). The client is trusted (X-Forwarded-For joined). */
#include <stdint.h>
#include <string.h>

#include "config.h"

#include "world.h"

static const char config[] =
	"master_process = false;\n"
	"coroutine_stack = \"256k\";\n"
	"error_log = \"/dev/null\";\n"
	"log_level = \"error\";\n"
	"access_log_format = \"json\";\n"
	"trusted_proxies = [ \"127.0.0.1\" ];\n"
	"file_cache_max_size = \"4k\";\n"
	"timeouts = { header = 2; body = 2; keepalive = 2; send = 2; tunnel = 2; };\n"
	"limits = { header_size = \"4k\"; body_size = \"16k\"; requests_per_connection = 50; };\n"
	"servers = (\n"
	" { listen = [ \"127.0.0.1:1\" ]; root = \"@DIR@/www\"; index = [ \"index.html\" ];\n"
	"   access_log = \"/dev/null\"; error_pages = [ \"404 /404.html\" ];\n"
	"   locations = (\n"
	"     { prefix = \"/api/\"; proxy = \"app\"; },\n"
	"     { prefix = \"/v1/\"; proxy = \"http://@UPSTREAM@/v2/\"; preserve_host = false; via = false; },\n"
	"     { prefix = \"/files/\"; root = \"@DIR@/www\"; autoindex = true; precompressed = true;\n"
	"       expires = \"7d\"; serve_dotfiles = true; },\n"
	"     { prefix = \"/list/\"; autoindex = true; },\n"
	"     { prefix = \"/metrics\"; exact = true; status = true; }\n"
	"   ); },\n"
	" { listen = [ \"127.0.0.1:1\" ]; server_names = [ \"b.example\", \"*.c.example\", \"d.*\" ];\n"
	"   root = \"@DIR@/www/dir\"; access_log = \"/dev/null\"; follow_symlinks = \"never\";\n"
	"   locations = ( { prefix = \"/\"; proxy = \"app\"; } ); }\n"
	");\n"
	"upstreams = ( { name = \"app\"; servers = [ \"@UPSTREAM@\" ]; keepalive = 0;\n"
	"  connect_timeout = 2; send_timeout = 2; read_timeout = 2; max_fails = 0; } );\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_world_init(config);
	return 0;
}

/* The answer, kept whole (bounded: the input is small, so are answers). */
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

static size_t count_byte(const uint8_t *p, size_t n, uint8_t c)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	out_len = 0;
	fz_exchange(data, size, 0x7f000001, on_out, NULL);
	/* Whatever the bytes, an answer is an HTTP/1.1 response. */
	if (out_len && (out_len < 9 || memcmp(out, "HTTP/1.1 ", 9) != 0))
		fz_fail("the answer does not start with a status line", data, size);
	/* 431 only for a head over limits.header_size or with more than
	 * HTTP_MAX_HEADERS fields: never for input smaller than both. */
	if (size <= fz_config()->limits.header_size && count_byte(data, size, '\n') < 100 &&
	    memmem(out, out_len, "HTTP/1.1 431 ", 13))
		fz_fail("431 for input smaller than any limit", data, size);
	return 0;
}
