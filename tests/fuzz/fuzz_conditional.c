/* fuzz_conditional: the Range and conditional request headers (Range,
 * If-Range, If-None-Match, If-Match, If-Modified-Since,
 * If-Unmodified-Since, Accept-Encoding) through the real HTTP layer and
 * the static handler: parsing, precondition order, single and multipart
 * ranges, precompressed variants, for a file held in memory and one sent
 * with sendfile.
 *
 * Input: one byte choosing the file, HEAD or GET, then the header values
 * one a line, in the order above (an empty line leaves that header out).
 * "@E" in a value is replaced by the file's real ETag and "@D" by its
 * Last-Modified, so matches are reachable.
 *
 * Oracle: the answer parses as one HTTP/1.1 response with a status among
 * 200 206 304 412 416; a 200's body is the file (or the variant named by
 * Content-Encoding); a 206's Content-Range (or every part's, multipart)
 * is inside the file and its bytes are the file's bytes there; a 416
 * says bytes * / SIZE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "world.h"

static const char config[] =
	"master_process = false;\n"
	"coroutine_stack = \"256k\";\n"
	"error_log = \"/dev/null\";\n"
	"log_level = \"error\";\n"
	"file_cache_max_size = \"4k\";\n"
	"timeouts = { header = 2; body = 2; keepalive = 2; send = 2; };\n"
	"servers = (\n"
	" { listen = [ \"127.0.0.1:1\" ]; root = \"@DIR@/www\"; access_log = \"off\";\n"
	"   locations = ( { prefix = \"/files/\"; root = \"@DIR@/www\"; precompressed = true;\n"
	"                   expires = \"1h\"; } ); }\n"
	");\n";

struct file {
	const char *path;
	size_t size; /* of the pattern file; 0: style.css and its variants */
	char etag[128], date[64];
};

static struct file files[] = {
	{ "/a.txt", FZ_SMALL_SIZE },
	{ "/big.bin", FZ_BIG_SIZE },
	{ "/files/style.css", 0 },
	{ "/files/big.bin", FZ_BIG_SIZE },
};
#define NFILES (sizeof files / sizeof *files)

static const char *const names[] = { "Range", "If-Range", "If-None-Match", "If-Match",
				     "If-Modified-Since", "If-Unmodified-Since",
				     "Accept-Encoding" };

/* ---- the answer ---- */

#define MAXH 32
static struct answer {
	int status, messages;
	bool complete;
	char hname[MAXH][64], hval[MAXH][256];
	int nh;
	char *body;
	size_t body_len, body_cap;
} A;

static int a_begin(llhttp_t *p)
{
	(void)p;
	A.messages++;
	return 0;
}

static int a_field(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	if (A.nh < MAXH) {
		size_t l = strlen(A.hname[A.nh]);
		snprintf(A.hname[A.nh] + l, sizeof A.hname[0] - l, "%.*s", (int)len, at);
	}
	return 0;
}

static int a_value(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	if (A.nh < MAXH) {
		size_t l = strlen(A.hval[A.nh]);
		snprintf(A.hval[A.nh] + l, sizeof A.hval[0] - l, "%.*s", (int)len, at);
	}
	return 0;
}

static int a_value_done(llhttp_t *p)
{
	(void)p;
	if (A.nh < MAXH)
		A.nh++;
	return 0;
}

static bool head_req;

static int a_headers(llhttp_t *p)
{
	A.status = p->status_code;
	return head_req ? 1 : 0;
}

static int a_body(llhttp_t *p, const char *at, size_t len)
{
	(void)p;
	if (A.body_len + len > A.body_cap) {
		A.body_cap = (A.body_len + len) * 2;
		A.body = realloc(A.body, A.body_cap);
	}
	memcpy(A.body + A.body_len, at, len);
	A.body_len += len;
	return 0;
}

static int a_done(llhttp_t *p)
{
	(void)p;
	A.complete = true;
	return 0;
}

static const llhttp_settings_t a_settings = {
	.on_message_begin = a_begin,
	.on_header_field = a_field,
	.on_header_value = a_value,
	.on_header_value_complete = a_value_done,
	.on_headers_complete = a_headers,
	.on_body = a_body,
	.on_message_complete = a_done,
};

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

static const char *answer_header(const char *name)
{
	for (int i = 0; i < A.nh; i++)
		if (strcasecmp(A.hname[i], name) == 0)
			return A.hval[i];
	return NULL;
}

/* Send `req`, parse the one answer into A. */
static void ask(const char *req, size_t len, bool head)
{
	memset(A.hname, 0, sizeof A.hname);
	memset(A.hval, 0, sizeof A.hval);
	A.nh = A.messages = A.status = 0;
	A.complete = false;
	A.body_len = 0;
	out_len = 0;
	head_req = head;
	fz_exchange((const uint8_t *)req, len, 0x7f000001, on_out, NULL);
	llhttp_t p;
	llhttp_init(&p, HTTP_RESPONSE, &a_settings);
	llhttp_errno_t e = llhttp_execute(&p, out, out_len);
	if (e == HPE_OK)
		llhttp_finish(&p);
	if (e != HPE_OK || !A.complete || A.messages != 1) {
		fprintf(stderr, "request:\n%.*s\n", (int)len, req);
		fz_fail("not one whole HTTP/1.1 response", out, out_len);
	}
}

/* ---- the expected bytes ---- */

static const char css[] = "body { color: red }\n", gz[] = "GZ-BYTES\n", br[] = "BR-BYTES\n";

/* The representation the answer is of: its size and byte i. */
static size_t rep_size(const struct file *f, const char **text)
{
	*text = NULL;
	if (f->size)
		return f->size;
	const char *enc = answer_header("Content-Encoding");
	*text = !enc ? css : !strcmp(enc, "gzip") ? gz : !strcmp(enc, "br") ? br : NULL;
	if (!*text)
		fz_fail("an unknown Content-Encoding", out, out_len);
	return strlen(*text);
}

static bool same_bytes(const char *text, uint64_t first, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] != (text ? (uint8_t)text[first + i] : fz_pattern(first + i)))
			return false;
	return true;
}

/* "bytes A-B/SIZE" -> A, B; false if malformed or outside size. */
static bool content_range(const char *v, size_t size, uint64_t *a, uint64_t *b)
{
	unsigned long long x, y, s;
	int n = 0;
	if (!v || sscanf(v, "bytes %llu-%llu/%llu%n", &x, &y, &s, &n) != 3 || v[n] != 0)
		return false;
	*a = x;
	*b = y;
	return s == size && x <= y && y < size;
}

static void check_multipart(const char *text, size_t size)
{
	const char *ct = answer_header("Content-Type");
	const char *bp = ct ? strstr(ct, "boundary=") : NULL;
	if (!bp)
		fz_fail("a multipart 206 without a boundary", out, out_len);
	char delim[96];
	int dl = snprintf(delim, sizeof delim, "\r\n--%s", bp + 9);
	const char *p = A.body, *end = A.body + A.body_len;
	int parts = 0;
	for (;;) {
		if (end - p < dl || memcmp(p, delim, (size_t)dl) != 0)
			fz_fail("multipart: a part does not start with the boundary", out, out_len);
		p += dl;
		if (end - p == 4 && memcmp(p, "--\r\n", 4) == 0)
			break;
		const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hend)
			fz_fail("multipart: a part head does not end", out, out_len);
		const char *cr = memmem(p, (size_t)(hend - p), "Content-Range: ", 15);
		char crv[128] = "";
		if (cr) {
			const char *le = memmem(cr, (size_t)(hend + 2 - cr), "\r\n", 2);
			snprintf(crv, sizeof crv, "%.*s", (int)(le - cr - 15), cr + 15);
		}
		uint64_t a, b;
		if (!content_range(crv, size, &a, &b))
			fz_fail("multipart: a bad Content-Range", out, out_len);
		p = hend + 4;
		if ((uint64_t)(end - p) < b - a + 1 || !same_bytes(text, a, p, b - a + 1))
			fz_fail("multipart: a part's bytes are not the file's", out, out_len);
		p += b - a + 1;
		parts++;
	}
	if (parts < 2)
		fz_fail("multipart with fewer than two parts", out, out_len);
}

static void check(const struct file *f, bool head)
{
	const char *text;
	switch (A.status) {
	case 304:
	case 412:
		return;
	case 416: {
		/* The error page carries no Content-Encoding: the size may
		 * be that of any variant of the file. */
		char want[3][64];
		size_t sizes[3] = { f->size, f->size, f->size };
		if (!f->size)
			sizes[0] = strlen(css), sizes[1] = strlen(gz), sizes[2] = strlen(br);
		for (int i = 0; i < 3; i++)
			snprintf(want[i], sizeof want[i], "bytes */%zu", sizes[i]);
		const char *cr = answer_header("Content-Range");
		if (!cr || (strcmp(cr, want[0]) && strcmp(cr, want[1]) && strcmp(cr, want[2])))
			fz_fail("a 416 without Content-Range: bytes */SIZE", out, out_len);
		return;
	}
	case 200: {
		size_t size = rep_size(f, &text);
		if (!head && (A.body_len != size || !same_bytes(text, 0, A.body, size)))
			fz_fail("a 200 whose body is not the file", out, out_len);
		return;
	}
	case 206: {
		size_t size = rep_size(f, &text);
		const char *cr = answer_header("Content-Range");
		if (!cr) {
			if (!head)
				check_multipart(text, size);
			return;
		}
		uint64_t a, b;
		if (!content_range(cr, size, &a, &b))
			fz_fail("a 206 with a bad Content-Range", out, out_len);
		if (!head && (A.body_len != b - a + 1 || !same_bytes(text, a, A.body, A.body_len)))
			fz_fail("a 206 whose bytes are not the file's range", out, out_len);
		return;
	}
	default:
		fz_fail("an unexpected status", out, out_len);
	}
}

/* ---- the target ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_world_init(config);
	for (size_t i = 0; i < NFILES; i++) {
		char req[128];
		int n = snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: a\r\n\r\n", files[i].path);
		ask(req, (size_t)n, true);
		const char *e = answer_header("ETag"), *d = answer_header("Last-Modified");
		if (A.status != 200 || !e || !d)
			abort();
		snprintf(files[i].etag, sizeof files[i].etag, "%s", e);
		snprintf(files[i].date, sizeof files[i].date, "%s", d);
	}
	return 0;
}

/* A field value as llhttp takes it: HTAB, SP, VCHAR, obs-text. */
static bool value_byte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	const struct file *f = &files[data[0] % NFILES];
	bool head = data[0] & 0x80;
	static char req[16384];
	size_t n = (size_t)snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: a\r\n",
				    head ? "HEAD" : "GET", f->path);
	const uint8_t *p = data + 1, *end = data + size;
	for (size_t h = 0; h < sizeof names / sizeof *names && p <= end; h++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *le = nl ? nl : end;
		if (le > p) {
			n += (size_t)sprintf(req + n, "%s: ", names[h]);
			for (const uint8_t *q = p; q < le; q++) {
				if (q + 1 < le && q[0] == '@' && (q[1] == 'E' || q[1] == 'D')) {
					n += (size_t)sprintf(req + n, "%s", q[1] == 'E' ? f->etag : f->date);
					q++;
				} else if (value_byte(*q)) {
					req[n++] = (char)*q;
				}
			}
			n += (size_t)sprintf(req + n, "\r\n");
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	n += (size_t)sprintf(req + n, "\r\n");
	ask(req, n, head);
	check(f, head);
	return 0;
}
