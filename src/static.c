/* static: see static.h. Order of decisions, as RFC 9110 section 13.2.2 and
 * nginx: method -> hidden paths -> the file (or its precompressed variant)
 * -> preconditions (If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since) -> Range (with If-Range) -> the reply. Cached files'
 * bytes and heads are used in place: nothing is allocated per request. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "autoindex.h"
#include "date.h"

#define MAX_RANGES 16 /* more in one request: ignored (serve the whole file) */

static const char allow_line[] = "Allow: GET, HEAD, OPTIONS\r\n";

int static_loc_init(struct static_loc *loc, const char *path, const struct config_server *srv,
		    const struct config_static *opts, struct file_cache *cache)
{
	memset(loc, 0, sizeof *loc);
	loc->root.dirfd = -1;
	loc->root.index = srv->index;
	loc->root.nindex = srv->nindex;
	loc->root.follow = opts->follow_symlinks == FOLLOW_ALWAYS  ? PATH_FOLLOW_ALWAYS
			   : opts->follow_symlinks == FOLLOW_NEVER ? PATH_FOLLOW_NEVER
								   : PATH_FOLLOW_INSIDE;
	loc->opts = *opts;
	loc->server = srv;
	loc->error_loc = loc;
	loc->cache = cache;
	if (opts->expires != EXPIRES_OFF && opts->expires != EXPIRES_INHERIT) {
		long max_age = opts->expires == LONG_MAX ? 315360000L : opts->expires;
		loc->cache_control_len = (size_t)snprintf(loc->cache_control,
							  sizeof loc->cache_control,
							  "Cache-Control: max-age=%ld\r\n", max_age);
	}
	if (!path)
		return 0;
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	loc->root.dirfd = fd;
	return 0;
}

void static_loc_close(struct static_loc *loc)
{
	if (loc->root.dirfd >= 0 && !loc->borrowed)
		close(loc->root.dirfd);
	loc->root.dirfd = -1;
}

/* ---- header parsing helpers ---- */

static inline __attribute__((always_inline)) bool
header(const struct http_request *req, const char *name, const char **v, size_t *n)
{
	return http_header_get(req, name, v, n);
}

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Does any entity-tag in the list match etag? weak: W/ ignored on both. */
static bool etag_list_matches(const char *v, size_t n, const char *etag, size_t elen, bool weak)
{
	const char *p = v, *end = v + n;
	for (;;) {
		p = skip_ows(p, end);
		if (p == end)
			return false;
		if (*p == '*' )
			return true;
		bool is_weak = false;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
			is_weak = true;
			p += 2;
		}
		if (p == end || *p != '"')
			return false; /* malformed: no match */
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (!q)
			return false;
		size_t tlen = (size_t)(q - p + 1);
		if ((weak || !is_weak) && tlen == elen && memcmp(p, etag, elen) == 0)
			return true;
		p = skip_ows(q + 1, end);
		if (p < end && *p == ',')
			p++;
	}
}

/* Inline: for the request without the header (most), a bit test. */
static inline __attribute__((always_inline)) bool
header_date(const struct http_request *req, const char *name, time_t *t)
{
	const char *v;
	size_t n;
	return header(req, name, &v, &n) && date_parse(v, n, t) == 0;
}

/* q-value of `coding` in Accept-Encoding, in thousandths; -1 if absent. */
static int accept_q(const char *v, size_t n, const char *coding)
{
	size_t clen = strlen(coding);
	const char *p = v, *end = v + n;
	int star = -1;
	while (p < end) {
		p = skip_ows(p, end);
		const char *tok = p;
		while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		size_t tlen = (size_t)(p - tok);
		int q = 1000;
		p = skip_ows(p, end);
		while (p < end && *p == ';') {
			p = skip_ows(p + 1, end);
			if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
				p += 2;
				int ip = 0, frac = 0, digits = 0;
				if (p < end && (*p == '0' || *p == '1'))
					ip = *p++ - '0';
				if (p < end && *p == '.')
					for (p++; p < end && *p >= '0' && *p <= '9'; p++)
						if (digits < 3) {
							frac = frac * 10 + (*p - '0');
							digits++;
						}
				while (digits < 3) {
					frac *= 10;
					digits++;
				}
				q = ip * 1000 + frac;
				if (q > 1000)
					q = 1000;
			}
			while (p < end && *p != ';' && *p != ',')
				p++;
		}
		if (tlen == clen && strncasecmp(tok, coding, clen) == 0)
			return q;
		if (tlen == 1 && *tok == '*')
			star = q;
		while (p < end && *p != ',')
			p++;
		if (p < end)
			p++;
	}
	return star;
}

/* ---- ranges ---- */

struct range {
	uint64_t first, last; /* inclusive */
};

enum range_result { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };

/* Parse "bytes=..." for a body of size bytes. Anything malformed: NONE
 * (the header is ignored, as RFC 9110 allows). */
static enum range_result parse_ranges(const char *v, size_t n, uint64_t size, struct range *out,
				      unsigned *count)
{
	const char *p = v, *end = v + n;
	if (n < 6 || strncasecmp(p, "bytes=", 6) != 0)
		return RANGE_NONE;
	p += 6;
	unsigned k = 0, specs = 0;
	for (;;) {
		p = skip_ows(p, end);
		if (p < end && *p == ',') { /* empty list elements are allowed */
			p++;
			continue;
		}
		if (p == end)
			break;
		uint64_t a = 0, b = 0;
		bool has_a = false, has_b = false;
		while (p < end && *p >= '0' && *p <= '9') {
			if (a > (UINT64_MAX - 9) / 10)
				return RANGE_NONE;
			a = a * 10 + (uint64_t)(*p++ - '0');
			has_a = true;
		}
		if (p == end || *p != '-')
			return RANGE_NONE;
		p++;
		while (p < end && *p >= '0' && *p <= '9') {
			if (b > (UINT64_MAX - 9) / 10)
				return RANGE_NONE;
			b = b * 10 + (uint64_t)(*p++ - '0');
			has_b = true;
		}
		p = skip_ows(p, end);
		if (p < end && *p != ',')
			return RANGE_NONE;
		if (!has_a && !has_b)
			return RANGE_NONE;
		if (has_a && has_b && b < a)
			return RANGE_NONE;
		if (++specs > MAX_RANGES)
			return RANGE_NONE;
		struct range r;
		if (!has_a) { /* suffix: the last b bytes */
			if (b == 0 || size == 0)
				continue;
			r.first = b >= size ? 0 : size - b;
			r.last = size - 1;
		} else {
			if (a >= size)
				continue; /* this one is unsatisfiable */
			r.first = a;
			r.last = has_b && b < size ? b : size - 1;
		}
		out[k++] = r;
	}
	if (specs == 0)
		return RANGE_NONE;
	*count = k;
	return k ? RANGE_OK : RANGE_UNSATISFIABLE;
}

/* If-Range: the range applies only to the representation it names. */
static bool if_range_holds(const struct http_request *req, const struct fc_entry *e)
{
	const char *v;
	size_t n;
	if (!header(req, "if-range", &v, &n))
		return true;
	if (n && (v[0] == '"' || v[0] == 'W'))
		return !(n >= 2 && v[0] == 'W') && n == e->etag_len && memcmp(v, e->etag, n) == 0;
	time_t t;
	return date_parse(v, n, &t) == 0 && t == e->mtime;
}

static struct http_part body_part(const struct fc_entry *e, uint64_t off, uint64_t len)
{
	if (e->body)
		return (struct http_part){ .mem = e->body + off, .fd = -1, .len = len };
	return (struct http_part){ .fd = e->fd, .off = (off_t)off, .len = len };
}

/* A plain 200 of a file held in memory: its whole head is kept in the
 * entry, right before the body (one piece to write), and rebuilt when the
 * second changes - by the entry's sole holder only, as an answer still
 * being written may point into it. */
static void whole_answer(struct http_reply *reply, const struct fc_entry *e,
			 struct http_out *out)
{
	struct fc_answer *a = e->answer;
	int64_t now = http_out_wall_sec(out);
	if (a->sec != now) {
		if (!fc_sole_holder(e))
			return;
		char head[FC_ANSWER_EXTRA + 640];
		size_t n = http_head_200(head, a->room < sizeof head ? a->room : sizeof head, now,
					 e->size, e->head, e->head_len);
		a->sec = n ? now : -1;
		a->len = n;
		memcpy((char *)e->body - n, head, n);
		if (!n)
			return;
	}
	reply->whole_head = e->body - a->len;
	reply->whole_head_len = a->len;
}

/* The reply's body is bytes off..off+len of e, which it holds until sent. */
static void reply_body(struct http_reply *reply, const struct fc_entry *e, uint64_t off,
		       uint64_t len)
{
	reply->one = body_part(e, off, len);
	reply->parts = &reply->one;
	reply->nparts = 1;
	reply->length = len;
}

/* ---- replies ---- */

static void release_entry(void *arg)
{
	fc_release(arg);
}

static void release_free(void *arg)
{
	free(arg);
}

/* The error page, if the server names one for status and it exists. */
int static_error(const struct static_loc *loc, const struct http_request *req, int status,
		 struct http_reply *reply, struct http_out *out)
{
	(void)req;
	http_reply_error(reply, status);
	const struct config_server *srv = loc->server;
	const struct static_loc *el = loc->error_loc;
	if (!srv || !el || el->root.dirfd < 0)
		return 0;
	for (size_t i = 0; i < srv->nerror_pages; i++) {
		if (srv->error_pages[i].status != status)
			continue;
		struct clean_path cp;
		const char *uri = srv->error_pages[i].uri;
		if (path_clean(uri, strlen(uri), &cp) != PATH_OK)
			return 0;
		const struct fc_entry *e = fc_get(el->cache, &el->root, cp.rel, cp.len,
						  cp.trailing_slash, http_out_now(out));
		if (!e)
			return 0;
		if (e->kind != FC_FILE) {
			fc_release(e);
			return 0; /* a missing error page: the built-in one */
		}
		char *h;
		int n = http_scratchf(out, &h, "Content-Type: %.*s\r\n", (int)e->type_len, e->type);
		if (n < 0) {
			fc_release(e);
			return 0;
		}
		reply->headers = h;
		reply->headers_len = (size_t)n;
		reply_body(reply, e, 0, e->size);
		reply->release = release_entry;
		reply->release_arg = (void *)e;
		return 0;
	}
	return 0;
}

static int error_with(const struct static_loc *loc, const struct http_request *req, int status,
		      struct http_reply *reply, struct http_out *out, const char *extra)
{
	static_error(loc, req, status, reply, out);
	if (!extra)
		return 0;
	char *h;
	int n = http_scratchf(out, &h, "%s%.*s", extra, (int)reply->headers_len, reply->headers);
	if (n >= 0) {
		reply->headers = h;
		reply->headers_len = (size_t)n;
	}
	return 0;
}

static int status_for_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case EXDEV:   /* escapes the root */
	case ELOOP:   /* a refused symlink */
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:
		return 403;
	case EMFILE:
	case ENFILE:
		return 503; /* out of descriptors: try again later */
	default:
		return 500;
	}
}

/* 301 to the directory with its slash, query kept. Built from the cleaned
 * path, never the raw target: "//evil.example/../dir" must not become a
 * redirect to another host. */
static int redirect_dir(const struct static_loc *loc, const struct http_request *req,
			const struct clean_path *cp, struct http_reply *reply,
			struct http_out *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = sizeof("Location: /") + 3 * cp->len + 2 + cp->query_len + 4;
	char *h = http_scratch(out, need);
	if (!h)
		return error_with(loc, req, 414, reply, out, NULL);
	char *p = h;
	p += sprintf(p, "Location: /");
	for (size_t i = 0; i < cp->len; i++) {
		unsigned char c = (unsigned char)cp->rel[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/!$&'()*+,;=:@", c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p++ = '/';
	if (cp->query) {
		*p++ = '?';
		memcpy(p, cp->query, cp->query_len);
		p += cp->query_len;
	}
	*p = 0;
	int r = error_with(loc, req, 301, reply, out, NULL);
	char *all;
	int n = http_scratchf(out, &all, "%s\r\n%.*s", h, (int)reply->headers_len, reply->headers);
	if (n >= 0) {
		reply->headers = all;
		reply->headers_len = (size_t)n;
	}
	return r;
}

static int listing(const struct static_loc *loc, const struct http_request *req,
		   const struct clean_path *cp, struct http_reply *reply, struct http_out *out)
{
	int dfd = path_open(loc->root.dirfd, cp->rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			    loc->root.follow);
	if (dfd < 0)
		return error_with(loc, req, status_for_errno(-dfd), reply, out, NULL);
	char url[PATH_BUF + 4];
	snprintf(url, sizeof url, "/%s/", cp->len == 1 && cp->rel[0] == '.' ? "" : cp->rel);
	if (url[1] == '/')
		url[1] = 0;
	size_t len;
	char *page = autoindex_render(dfd, url, loc->opts.serve_dotfiles, &len);
	if (!page)
		return error_with(loc, req, 500, reply, out, NULL);
	*reply = (struct http_reply){ .status = 200 };
	reply->headers = "Content-Type: text/html; charset=utf-8\r\n";
	reply->headers_len = strlen(reply->headers);
	http_reply_mem(reply, page, len);
	reply->release = release_free;
	reply->release_arg = page;
	return 0;
}

/* Pick FILE.br or FILE.gz when allowed; returns the entry to serve (the
 * variant, or e itself) and sets *encoding and *vary. */
static const struct fc_entry *choose_variant(const struct static_loc *loc,
					     const struct http_request *req,
					     const struct fc_entry *e, const char **encoding,
					     bool *vary, uint64_t now)
{
	static const char *const codings[] = { "br", "gzip" };
	static const char *const suffix[] = { ".br", ".gz" };
	const char *ae = "";
	size_t ae_len = 0;
	header(req, "accept-encoding", &ae, &ae_len);
	const struct fc_entry *best = NULL;
	int best_q = 0;
	char name[PATH_BUF + 8];
	for (int i = 0; i < 2; i++) {
		if (e->name_len + 4 > sizeof name)
			break;
		memcpy(name, e->name, e->name_len);
		memcpy(name + e->name_len, suffix[i], 4);
		const struct fc_entry *v = fc_get(loc->cache, &loc->root, name, e->name_len + 3,
						  false, now);
		if (!v)
			continue;
		if (v->kind != FC_FILE) {
			fc_release(v);
			continue;
		}
		*vary = true; /* a variant exists: caches must key on the header */
		int q = accept_q(ae, ae_len, codings[i]);
		if (q > best_q) { /* br first: it wins ties */
			if (best)
				fc_release(best);
			best = v;
			best_q = q;
			*encoding = codings[i];
		} else {
			fc_release(v);
		}
	}
	if (!best)
		return e;
	fc_release(e);
	return best;
}

/* The head lines of an answer that is not a plain 200, copied piece by piece
 * into the scratch area (a printf here cost more than the rest of the
 * request): Content-Type and Accept-Ranges unless a 304, the entry's
 * Last-Modified and ETag, then Content-Encoding, Cache-Control, Vary. */
static int head_lines(struct http_out *out, const struct fc_entry *e, int status,
		      const char *type, size_t type_len, const char *encoding, bool vary,
		      const struct static_loc *loc, const char **head, size_t *len)
{
	static const char ranges[] = "Accept-Ranges: bytes\r\n";
	size_t skip = sizeof("Content-Type: ") - 1 + e->type_len + 2;
	char *h = http_scratch_put(out, "", 0);
	bool fits = h != NULL;
	if (status != 304) {
		fits = fits && http_scratch_put(out, "Content-Type: ", 14) &&
		       http_scratch_put(out, type, type_len) && http_scratch_put(out, "\r\n", 2);
	}
	fits = fits && http_scratch_put(out, e->head + skip,
					e->head_len - skip - (sizeof ranges - 1));
	if (status != 304)
		fits = fits && http_scratch_put(out, ranges, sizeof ranges - 1);
	if (encoding) {
		fits = fits && http_scratch_put(out, "Content-Encoding: ", 18) &&
		       http_scratch_put(out, encoding, strlen(encoding)) &&
		       http_scratch_put(out, "\r\n", 2);
	}
	fits = fits && http_scratch_put(out, loc->cache_control, loc->cache_control_len);
	if (vary)
		fits = fits && http_scratch_put(out, "Vary: Accept-Encoding\r\n", 23);
	if (!fits)
		return -1;
	*head = h;
	*len = (size_t)(http_scratch_put(out, "", 0) - h);
	return 0;
}

int static_serve(const struct static_loc *loc, const struct http_request *req,
		 const struct clean_path *cp, struct http_reply *reply, struct http_out *out)
{
	if (req->method == HTTP_OPTIONS) {
		*reply = (struct http_reply){ .status = 204, .headers = allow_line,
					      .headers_len = sizeof allow_line - 1 };
		return 0;
	}
	if (req->method != HTTP_GET && req->method != HTTP_HEAD)
		return error_with(loc, req, 405, reply, out, allow_line);
	if (cp->has_dot_segment && !loc->opts.serve_dotfiles)
		return error_with(loc, req, 404, reply, out, NULL);

	uint64_t now = http_out_now(out);
	const struct fc_entry *e = fc_get(loc->cache, &loc->root, cp->rel, cp->len,
					  cp->trailing_slash, now);
	if (!e)
		return error_with(loc, req, 500, reply, out, NULL);
	switch (e->kind) {
	case FC_FILE:
		break;
	case FC_DIR:
		fc_release(e);
		return redirect_dir(loc, req, cp, reply, out);
	case FC_NOINDEX:
		fc_release(e);
		if (loc->opts.autoindex)
			return listing(loc, req, cp, reply, out);
		return error_with(loc, req, 404, reply, out, NULL);
	case FC_ERROR: {
		int status = status_for_errno(e->error);
		fc_release(e);
		return error_with(loc, req, status, reply, out, NULL);
	}
	}

	/* The type is the file's, also when its .gz or .br is sent: kept
	 * apart, as choosing a variant may let the file's entry go. */
	char type_buf[128];
	const char *type = e->type;
	size_t type_len = e->type_len < sizeof type_buf ? e->type_len : sizeof type_buf - 1;
	const char *encoding = NULL;
	bool vary = false;
	if (loc->opts.precompressed) {
		memcpy(type_buf, e->type, type_len);
		type = type_buf;
		e = choose_variant(loc, req, e, &encoding, &vary, now);
	}

	/* Preconditions, in the order of RFC 9110 13.2.2. */
	const char *v;
	size_t n;
	time_t t;
	int status = 200;
	if (header(req, "if-match", &v, &n)) {
		if (!etag_list_matches(v, n, e->etag, e->etag_len, false))
			status = 412;
	} else if (header_date(req, "if-unmodified-since", &t) && e->mtime > t) {
		status = 412;
	}
	if (status == 200) {
		if (header(req, "if-none-match", &v, &n)) {
			if (etag_list_matches(v, n, e->etag, e->etag_len, true))
				status = 304;
		} else if (header_date(req, "if-modified-since", &t) && e->mtime <= t) {
			status = 304;
		}
	}
	/* These answers, too, depend on the variant Accept-Encoding chose. */
	const char *vary_line = vary ? "Vary: Accept-Encoding\r\n" : NULL;
	if (status == 412) {
		fc_release(e);
		return error_with(loc, req, 412, reply, out, vary_line);
	}

	struct range ranges[MAX_RANGES];
	unsigned nranges = 0;
	enum range_result rr = RANGE_NONE;
	if (status == 200 && header(req, "range", &v, &n) && if_range_holds(req, e))
		rr = parse_ranges(v, n, e->size, ranges, &nranges);
	if (rr == RANGE_UNSATISFIABLE) {
		char line[96];
		snprintf(line, sizeof line, "Content-Range: bytes */%llu\r\n%s",
			 (unsigned long long)e->size, vary_line ? vary_line : "");
		fc_release(e);
		return error_with(loc, req, 416, reply, out, line);
	}

	/* A plain 200 sends the entry's head as it is: no copy (the entry
	 * outlives the write). Otherwise: Content-Type (not for a 304), the
	 * entry's Last-Modified and ETag, then what this request adds. */
	const char *h;
	size_t hn;
	if (status == 200 && rr == RANGE_NONE && !encoding && !vary && !loc->cache_control_len) {
		h = e->head;
		hn = e->head_len;
	} else if (head_lines(out, e, status, type, type_len, encoding, vary, loc, &h, &hn) < 0) {
		fc_release(e);
		return error_with(loc, req, 500, reply, out, NULL);
	}
	*reply = (struct http_reply){ .status = status, .headers = h, .headers_len = hn,
				      .release = release_entry, .release_arg = (void *)e };
	if (h == e->head && e->answer)
		whole_answer(reply, e, out);
	if (status == 304) {
		reply->no_body = true;
		return 0;
	}
	if (rr == RANGE_NONE) {
		reply_body(reply, e, 0, e->size);
		return 0;
	}
	reply->status = 206;
	if (nranges == 1) {
		char *cr;
		int cn = http_scratchf(out, &cr, "Content-Range: bytes %llu-%llu/%llu\r\n",
				       (unsigned long long)ranges[0].first,
				       (unsigned long long)ranges[0].last,
				       (unsigned long long)e->size);
		if (cn < 0)
			return -1;
		reply->headers_len += (size_t)cn; /* contiguous with h */
		reply_body(reply, e, ranges[0].first, ranges[0].last - ranges[0].first + 1);
		return 0;
	}

	/* multipart/byteranges: per range a part head, then its bytes. */
	char boundary[24];
	snprintf(boundary, sizeof boundary, "%016llx", (unsigned long long)(now * 2654435761u) ^
							  (unsigned long long)e->size);
	char *ct;
	int cn = http_scratchf(out, &ct, "Content-Type: multipart/byteranges; boundary=%s\r\n",
			       boundary);
	if (cn < 0)
		return -1;
	/* Replace the Content-Type line: skip it in h. */
	size_t skip = sizeof("Content-Type: ") - 1 + type_len + 2;
	char *nh;
	int nn = http_scratchf(out, &nh, "%.*s%.*s", cn, ct, (int)(reply->headers_len - skip),
			       reply->headers + skip);
	if (nn < 0)
		return -1;
	reply->headers = nh;
	reply->headers_len = (size_t)nn;
	struct http_part *parts = http_scratch_aligned(out, (2 * nranges + 1) * sizeof *parts);
	if (!parts)
		return -1;
	uint64_t total = 0;
	unsigned k = 0;
	for (unsigned i = 0; i < nranges; i++) {
		char *ph;
		int pn = http_scratchf(out, &ph,
				       "\r\n--%s\r\nContent-Type: %.*s\r\n"
				       "Content-Range: bytes %llu-%llu/%llu\r\n\r\n",
				       boundary, (int)type_len, type,
				       (unsigned long long)ranges[i].first,
				       (unsigned long long)ranges[i].last,
				       (unsigned long long)e->size);
		if (pn < 0)
			return -1;
		uint64_t len = ranges[i].last - ranges[i].first + 1;
		parts[k++] = (struct http_part){ .mem = ph, .fd = -1, .len = (uint64_t)pn };
		parts[k++] = body_part(e, ranges[i].first, len);
		total += (uint64_t)pn + len;
	}
	char *tail;
	int tn = http_scratchf(out, &tail, "\r\n--%s--\r\n", boundary);
	if (tn < 0)
		return -1;
	parts[k++] = (struct http_part){ .mem = tail, .fd = -1, .len = (uint64_t)tn };
	reply->parts = parts;
	reply->nparts = k;
	reply->length = total + (uint64_t)tn;
	return 0;
}
