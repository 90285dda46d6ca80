/* config: reads the main file with libconfig, walks its tree against the
 * tables of config_schema.c and collects every error, printed in the order of
 * the file. Also frees the model. No sockets, no workers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem, strchrnul */
#endif
#include "config_walk.h"
#include "sites.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct config_error {
	uintptr_t ord; /* place of the setting in the file: the print order */
	size_t seq;
	char *text;
};

/* A file read a second time, for its integer literals (config_int_value). */
struct config_source {
	const char *path; /* interned in cfg->files */
	char *text;
};

void *config_grow(struct loader *ld, void *arr, size_t *n, size_t size)
{
	char *p = realloc(arr, (*n + 1) * size);

	if (p == NULL) {
		ld->oom = true;
		return NULL;
	}
	memset(p + *n * size, 0, size);
	return p;
}

char *config_xstrdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		ld->oom = true;
	return d;
}

char *config_join_path(const char *dir, const char *name)
{
	char *p;
	size_t n = strlen(dir);

	if (asprintf(&p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return p;
}

/* libconfig names an included file as written in @include; the user needs
 * the path it was opened at, which is include_dir/name. The model keeps
 * pointers to these names, so the config owns them. */
const char *config_intern(struct loader *ld, const char *raw)
{
	struct config *cfg = ld->cfg;
	char *disp, **files;

	if (raw == NULL || strcmp(raw, ld->path) == 0 || ld->include_dir == NULL)
		disp = strdup(raw ? raw : ld->path);
	else
		disp = config_join_path(ld->include_dir, raw);
	if (disp == NULL)
		goto oom;
	for (size_t i = 0; i < cfg->nfiles; i++) {
		if (strcmp(cfg->files[i], disp) == 0) {
			free(disp);
			return cfg->files[i];
		}
	}
	files = config_grow(ld, cfg->files, &cfg->nfiles, sizeof(*files));
	if (files == NULL) {
		free(disp);
		goto oom;
	}
	cfg->files = files;
	files[cfg->nfiles++] = disp;
	return disp;
oom:
	ld->oom = true;
	return ld->path;
}

static void push_error(struct loader *ld, uintptr_t ord, char *text)
{
	struct config_error *e;

	if (text == NULL) {
		ld->oom = true;
		return;
	}
	e = config_grow(ld, ld->errs, &ld->nerrs, sizeof(*e));
	if (e == NULL) {
		free(text);
		return;
	}
	ld->errs = e;
	e[ld->nerrs] = (struct config_error){ ord, ld->nerrs, text };
	ld->nerrs++;
}

/* Where an error about s is told (the nearest setting that has a line) and
 * its place among the errors: the order of the file. */
static const config_setting_t *place(const config_setting_t *s, uintptr_t *ord)
{
	const config_setting_t *at = s;

	while (config_setting_parent(at) != NULL &&
	       (config_setting_source_line(at) == 0 ||
		config_setting_source_file(at) == NULL))
		at = config_setting_parent(at);
	/* Errors about the whole file (no server at all) come last. */
	*ord = config_setting_parent(at) ? (uintptr_t)config_setting_get_hook(at)
					 : UINTPTR_MAX;
	return at;
}

static void vfail(struct loader *ld, const config_setting_t *s, const char *file,
		  unsigned line, const char *fmt, va_list ap)
{
	char *msg, *text = NULL;
	uintptr_t ord;
	const config_setting_t *at = place(s, &ord);

	if (file == NULL) {
		file = config_intern(ld, config_setting_source_file(at));
		line = config_setting_source_line(at) ? config_setting_source_line(at) : 1;
	}
	if (vasprintf(&msg, fmt, ap) < 0) {
		ld->oom = true;
		return;
	}
	if (asprintf(&text, "%s:%u: %s", file, line, msg) < 0)
		text = NULL;
	free(msg);
	push_error(ld, ord, text);
}

void config_fail(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, s, NULL, 0, fmt, ap);
	va_end(ap);
}

void config_fail_at(struct loader *ld, const config_setting_t *s, const char *file,
		    unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, s, file, line, fmt, ap);
	va_end(ap);
}

/* Number the settings in document order (includes are inlined in the tree),
 * so errors found late, such as a proxy naming an upstream defined further
 * down, still print in the order of the file. */
static uintptr_t number(config_setting_t *s, uintptr_t n)
{
	config_setting_set_hook(s, (void *)n);
	if (config_setting_is_aggregate(s)) {
		for (int i = 0; i < config_setting_length(s); i++)
			n = number(config_setting_get_elem(s, i), n + 1);
	}
	return n;
}

static int by_place(const void *a, const void *b)
{
	const struct config_error *x = a, *y = b;

	if (x->ord != y->ord)
		return x->ord < y->ord ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- integers: libconfig 1.5 reads a literal without the L suffix into 32
 * bits and silently keeps the low half (4294967296 becomes 0), so the value
 * of an INT setting is read again from the source text. */

static const char *source_text(struct loader *ld, const char *path)
{
	struct config_source *src;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; i < ld->nsrcs; i++) {
		if (ld->srcs[i].path == path)
			return ld->srcs[i].text;
	}
	f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;
	FILE *in = fopen(path, "r");
	if (in != NULL) {
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, f);
		fclose(in);
	}
	fclose(f);
	src = config_grow(ld, ld->srcs, &ld->nsrcs, sizeof(*src));
	if (src == NULL) {
		free(text);
		return NULL;
	}
	ld->srcs = src;
	src[ld->nsrcs++] = (struct config_source){ path, text };
	return text;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*';
}

static const char *skip_blank(const char *p)
{
	for (;;) {
		if (isspace((unsigned char)*p)) {
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p = strchrnul(p, '\n');
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");

			p = end ? end + 2 : p + strlen(p);
		} else {
			return p;
		}
	}
}

/* 0 and the literal, -1 when no integer literal is there, -ERANGE when it
 * does not fit in 64 bits. */
static int parse_int_literal(const char *p, int64_t *out)
{
	bool neg = false, hex = false;
	uint64_t v = 0, limit;
	const char *start;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = true;
		p += 2;
	}
	for (start = p; hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p);
	     p++) {
		unsigned d = isdigit((unsigned char)*p)
				     ? (unsigned)(*p - '0')
				     : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		unsigned base = hex ? 16 : 10;

		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (p == start || *p == '.' || *p == 'e' || *p == 'E' || is_name_char(*p))
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (v > limit)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* The literal of the integer setting s whose low 32 bits libconfig kept as
 * `low`: 0 and *out, -1 if not found, -ERANGE if beyond 64 bits. The first
 * "name =" on its line whose value has those low bits is the one: another
 * setting of the same name may share the line. */
static int source_literal(struct loader *ld, const config_setting_t *s, int low,
			  int64_t *out)
{
	const char *name = config_setting_name(s), *text, *p, *eol;
	size_t n;

	if (name == NULL)
		return -1;
	text = source_text(ld, config_intern(ld, config_setting_source_file(s)));
	if (text == NULL)
		return -1;
	p = text;
	for (unsigned l = 1; l < config_setting_source_line(s) && p; l++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p == NULL)
		return -1;
	eol = strchrnul(p, '\n');
	n = strlen(name);
	for (const char *q = p; (q = memmem(q, (size_t)(eol - q), name, n)); q++) {
		const char *v;
		int64_t lit;
		int r;

		if ((q > text && is_name_char(q[-1])) || is_name_char(q[n]))
			continue;
		v = skip_blank(q + n);
		if (*v != '=' && *v != ':')
			continue;
		r = parse_int_literal(skip_blank(v + 1), &lit);
		if (r == -ERANGE)
			return r;
		if (r == 0 && (uint32_t)(uint64_t)lit == (uint32_t)low) {
			*out = lit;
			return 0;
		}
	}
	return -1;
}

int config_int_value(struct loader *ld, const config_setting_t *s, int64_t *v)
{
	int64_t lit;
	int r;

	if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		*v = config_setting_get_int64(s);
		return 0;
	}
	*v = config_setting_get_int(s);
	r = source_literal(ld, s, (int)*v, &lit);
	if (r == -ERANGE) {
		config_fail(ld, s, "'%s' is too large", config_setting_name(s));
		return -1;
	}
	if (r == 0)
		*v = lit;
	return 0;
}

/* ---- walking a group against its schema */

#define T(type) (1u << CONFIG_TYPE_##type)
const struct config_kind config_kinds[] = {
	[K_BOOL] = { T(BOOL), "a boolean (true or false)" },
	[K_INT] = { T(INT) | T(INT64), "an integer" },
	[K_STRING] = { T(STRING), "a string" },
	[K_STRINGS] = { T(STRING) | T(ARRAY), "a string or an array of strings" },
	[K_SERVERS] = { T(STRING) | T(ARRAY) | T(LIST),
			"a string, an array of strings or a list of strings and "
			"groups" },
	[K_SIZE] = { T(INT) | T(INT64) | T(STRING),
		     "a size (bytes, or a string like \"64k\")" },
	[K_DURATION] = { T(INT) | T(INT64) | T(FLOAT) | T(STRING),
			 "a duration (seconds, or a string like \"500ms\")" },
	[K_WORKERS] = { T(INT) | T(INT64) | T(STRING), "\"auto\" or an integer" },
	[K_EXPIRES] = { T(INT) | T(INT64) | T(STRING),
			"\"off\", \"max\", seconds or a duration like \"7d\"" },
	[K_GROUP] = { T(GROUP), "a group { ... }" },
	[K_LIST] = { T(LIST), "a list ( { ... }, ... )" },
};
#undef T

static bool same(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* Optimal string alignment distance, ignoring case: "wokers" is 1 from
 * "workers", and so is "Workers". */
static unsigned distance(const char *a, const char *b)
{
	unsigned d[33][33];
	size_t la = strlen(a), lb = strlen(b);

	if (la > 32 || lb > 32)
		return UINT_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = !same(a[i - 1], b[j - 1]);
			unsigned m = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m)
				m = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) &&
			    same(a[i - 2], b[j - 1]) && d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	}
	return d[la][lb];
}

/* The closest of `names` to `word`, or NULL if none is close enough to be
 * the likely intent. */
const char *config_suggest(const char *word, const char *const *names, size_t n)
{
	unsigned best = UINT_MAX, limit = (unsigned)strlen(word) / 3;
	const char *found = NULL;

	if (limit < 1)
		limit = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = distance(word, names[i]);

		if (d <= limit && d < best) {
			best = d;
			found = names[i];
		}
	}
	return found;
}

static void unknown_key(struct loader *ld, const config_setting_t *s,
			const struct schema *sc)
{
	const char *names[32];
	size_t n = 0;
	const char *hint;

	for (size_t i = 0; i < sc->nkeys && n < 32; i++)
		names[n++] = sc->keys[i].name;
	hint = config_suggest(config_setting_name(s), names, n);
	if (hint != NULL)
		config_fail(ld, s, "unknown key '%s' (did you mean '%s'?)",
			    config_setting_name(s), hint);
	else
		config_fail(ld, s, "unknown key '%s'", config_setting_name(s));
}

void config_walk(struct loader *ld, const config_setting_t *g, const struct schema *sc,
		 void *obj)
{
	for (size_t i = 0; i < sc->nkeys; i++) {
		if (sc->keys[i].required &&
		    config_setting_get_member(g, sc->keys[i].name) == NULL)
			config_fail(ld, g, "%s has no '%s'", sc->noun, sc->keys[i].name);
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const struct key *k = NULL;

		for (size_t j = 0; j < sc->nkeys && k == NULL; j++) {
			if (strcmp(sc->keys[j].name, config_setting_name(s)) == 0)
				k = &sc->keys[j];
		}
		if (k == NULL) {
			unknown_key(ld, s, sc);
		} else if (!(config_kinds[k->kind].types &
			     (1u << config_setting_type(s)))) {
			config_fail(ld, s, "'%s' must be %s", k->name,
				    config_kinds[k->kind].what);
		} else {
			k->set(ld, s, obj, k);
		}
	}
}

/* ---- loading */

static struct config *new_config(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->path = strdup(path);
	cfg->error_log = strdup("stderr");
	if (cfg->path == NULL || cfg->error_log == NULL) {
		config_free(cfg);
		return NULL;
	}
	/* Every default in one place: config_dump shows the same values. */
	cfg->workers = 0;
	cfg->master_process = true;
	cfg->events_batch = 512;
	cfg->coroutine_stack = 64 << 10;
	cfg->log_level = LOG_INFO;
	cfg->timeouts.header_ms = 10000;
	cfg->timeouts.body_ms = 30000;
	cfg->timeouts.keepalive_ms = 75000;
	cfg->timeouts.send_ms = 60000;
	cfg->timeouts.shutdown_ms = 30000;
	cfg->timeouts.tunnel_ms = 3600000;
	cfg->limits.max_connections = 10000;
	cfg->limits.header_size = 8192;
	cfg->limits.uri_size = 4096;
	cfg->limits.headers = 100;
	cfg->limits.body_size = 1 << 20;
	cfg->limits.requests_per_connection = 10000;
	cfg->file_cache_entries = 10000;
	cfg->file_cache_valid_ms = 1000;
	cfg->file_cache_max_size = 64 << 10;
	return cfg;
}

/* @include is relative to the main file's directory, and so are roots. */
static int find_dirs(struct loader *ld)
{
	const char *slash = strrchr(ld->path, '/');
	char *cwd;

	if (slash != NULL) {
		ld->include_dir = slash == ld->path
					  ? strdup("/")
					  : strndup(ld->path, (size_t)(slash - ld->path));
		if (ld->include_dir == NULL)
			return -1;
		if (ld->include_dir[0] == '/')
			return (ld->base_dir = strdup(ld->include_dir)) ? 0 : -1;
	}
	cwd = getcwd(NULL, 0);
	if (cwd == NULL) /* roots given as relative paths will say so */
		return errno == ENOMEM ? -1 : 0;
	ld->base_dir = ld->include_dir ? config_join_path(cwd, ld->include_dir) : cwd;
	if (ld->include_dir != NULL)
		free(cwd);
	return ld->base_dir ? 0 : -1;
}

/* ---- @include naming a directory: libconfig 1.5 opens it with fopen and
 * flex's read error on it ends the process ("input in flex scanner failed",
 * exit 2): on a reload, the running master. So such an @include is
 * refused here, before libconfig reads anything. */

#define INCLUDE_DEPTH 10 /* libconfig's own limit */

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;

	*len = 0;
	if (f == NULL)
		return NULL;
	FILE *m = open_memstream(&text, len);
	if (m != NULL) {
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, m);
		fclose(m);
	}
	fclose(f);
	return text;
}

/* The name of an @include at p (after its opening quote) as libconfig's
 * scanner takes it: up to the closing quote, \\ and \" unescaped, a lone
 * backslash dropped, cut at a NUL byte. NULL if the quote never closes. */
static char *include_name(const char *p, const char *end)
{
	char *name = malloc((size_t)(end - p) + 1);
	size_t n = 0;

	if (name == NULL)
		return NULL;
	for (; p < end && *p != '"'; p++) {
		if (*p == '\\') {
			if (p + 1 < end && (p[1] == '\\' || p[1] == '"'))
				name[n++] = *++p;
			continue;
		}
		name[n++] = *p;
	}
	name[n] = 0;
	if (p == end) {
		free(name);
		return NULL;
	}
	return name;
}

static void check_includes(struct loader *ld, const char *file, int depth)
{
	size_t len;
	char *text = read_whole(file, &len);
	int line = 1;

	if (text == NULL)
		return; /* libconfig says why */
	const char *end = text + len;
	for (const char *p = text; p != NULL && p < end; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p;

		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q > 9 && memcmp(q, "@include", 8) == 0 && (q[8] == ' ' || q[8] == '\t')) {
			for (q += 8; q < end && (*q == ' ' || *q == '\t'); q++)
				;
			char *name = q < end && *q == '"' ? include_name(q + 1, end) : NULL;
			/* Where libconfig looks: include_dir/NAME, even for an
			 * absolute NAME. */
			const char *dir = ld->include_dir ? ld->include_dir : "";
			char *path = NULL, *msg;
			struct stat st;

			if (name != NULL &&
			    asprintf(&path, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
				path = NULL;
			if (path != NULL && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (asprintf(&msg, "%s:%d: @include \"%s\": %s is a directory", file,
					     line, name, path) < 0)
					msg = NULL;
				push_error(ld, 0, msg);
			} else if (path != NULL && depth < INCLUDE_DEPTH) {
				check_includes(ld, path, depth + 1);
			}
			free(name);
			free(path);
		}
		p = eol ? eol + 1 : NULL;
	}
	free(text);
}

/* libconfig 1.5 says only "cannot open include file": name the file and
 * where it was looked for (include_dir/NAME, even for an absolute NAME). */
static char *include_hint(struct loader *ld, const char *file, int line)
{
	const char *p = source_text(ld, file), *q;
	char *hint;

	for (int l = 1; p != NULL && l < line; l++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p == NULL || (p = strstr(p, "@include")) == NULL ||
	    (p = strchr(p, '"')) == NULL || (q = strchr(p + 1, '"')) == NULL)
		return NULL;
	if (asprintf(&hint, " %.*s (looked for %s%s%.*s)", (int)(q - p + 1), p,
		     ld->include_dir ? ld->include_dir : "", ld->include_dir ? "/" : "",
		     (int)(q - p - 1), p + 1) < 0)
		return NULL;
	return hint;
}

static void read_failed(struct loader *ld, int err)
{
	config_t *lc = &ld->lc;
	const char *file = config_intern(ld, config_error_file(lc));
	char *text, *hint = NULL;
	struct stat st;

	if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		if (stat(ld->path, &st) == 0 && S_ISDIR(st.st_mode))
			err = EISDIR;
		if (asprintf(&text, "%s: cannot read: %s", ld->path,
			     err ? strerror(err) : "input/output error") < 0)
			text = NULL;
		push_error(ld, 0, text);
		return;
	}
	if (strcmp(config_error_text(lc), "cannot open include file") == 0)
		hint = include_hint(ld, file, config_error_line(lc));
	if (asprintf(&text, "%s:%d: %s%s", file, config_error_line(lc),
		     config_error_text(lc), hint ? hint : "") < 0)
		text = NULL;
	free(hint);
	push_error(ld, 0, text);
}

static int print_errors(struct loader *ld, FILE *errors)
{
	int n = (int)ld->nerrs;

	if (ld->nerrs > 0) /* errs is NULL then: not for qsort */
		qsort(ld->errs, ld->nerrs, sizeof(*ld->errs), by_place);
	for (size_t i = 0; i < ld->nerrs; i++) {
		fprintf(errors, "%s\n", ld->errs[i].text);
		free(ld->errs[i].text);
	}
	if (ld->oom) {
		fprintf(errors, "%s: out of memory\n", ld->path);
		n++;
	}
	return n;
}

int config_load(const char *path, struct config **out, FILE *errors)
{
	struct loader ld = { .path = path };
	config_setting_t *root;
	int n;

	*out = NULL;
	config_init(&ld.lc);
	ld.cfg = new_config(path);
	if (ld.cfg == NULL || find_dirs(&ld) < 0) {
		ld.oom = true;
		goto out;
	}
	if (ld.include_dir != NULL)
		config_set_include_dir(&ld.lc, ld.include_dir);
	check_includes(&ld, path, 1);
	if (ld.nerrs > 0)
		goto out;
	if (!config_read_file(&ld.lc, path)) {
		read_failed(&ld, errno);
		goto out;
	}
	root = config_root_setting(&ld.lc);
	number(root, 0);
	config_walk(&ld, root, &config_root_schema, ld.cfg);
	/* site files add servers: before the checks that need them all */
	config_read_sites(&ld, config_setting_get_member(root, "sites"));
	config_check_file(&ld, root);
out:
	n = print_errors(&ld, errors);
	if (n == 0)
		*out = ld.cfg;
	else
		config_free(ld.cfg);
	for (size_t i = 0; i < ld.nsrcs; i++)
		free(ld.srcs[i].text);
	free(ld.srcs);
	free(ld.errs);
	free(ld.proxies);
	/* those not moved to the model (nothing read, or out of memory) */
	for (size_t i = 0; i < ld.nimplicit; i++)
		config_free_upstream(&ld.implicit[i]);
	free(ld.implicit);
	free(ld.include_dir);
	free(ld.base_dir);
	config_destroy(&ld.lc);
	return n;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config_free_upstream(struct config_upstream *up)
{
	free(up->name);
	free(up->servers);
	free(up->weights);
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nservers; i++) {
		struct config_server *srv = &cfg->servers[i];

		for (size_t j = 0; j < srv->nlocations; j++) {
			free(srv->locations[j].prefix);
			free(srv->locations[j].root);
			free(srv->locations[j].proxy);
			free(srv->locations[j].proxy_path);
		}
		free(srv->locations);
		for (size_t j = 0; j < srv->nerror_pages; j++)
			free(srv->error_pages[j].uri);
		free(srv->error_pages);
		free(srv->listens);
		free_strings(srv->names, srv->nnames);
		free(srv->root);
		free_strings(srv->index, srv->nindex);
		free(srv->access_log);
	}
	free(cfg->servers);
	for (size_t i = 0; i < cfg->nupstreams; i++) /* implicit ones too */
		config_free_upstream(&cfg->upstreams[i]);
	free(cfg->upstreams);
	free(cfg->trusted_proxies);
	free(cfg->path);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pid_file);
	free(cfg->error_log);
	free(cfg->sites);
	free(cfg->mime_types);
	for (size_t i = 0; i < cfg->nmime; i++) {
		free(cfg->mime[i].ext);
		free(cfg->mime[i].type);
	}
	free(cfg->mime);
	free_strings(cfg->files, cfg->nfiles);
	free(cfg);
}
