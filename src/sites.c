/* sites: INI site files (one site per file, dropped in sites.d/) read with
 * inih into the model of the main file. Each [server] is a server of
 * cfg->servers and each [location PREFIX] a location of the [server] before
 * it, checked with the rules of the main file (config_check.c, the same
 * code); every error is told as
 * "SITEFILE:LINE: message", all of them.
 *
 * inih 55 as Debian ships it is taken with care (DESIGN.md, section 6): its
 * handler gets no line number and a line longer than its buffer is split
 * without a word. So the file is read here, each line is measured and
 * handed to inih by a reader of our own that counts lines, and the reader
 * also classifies each line as inih will (section, key, continuation of the
 * value before, comment) so that the handler knows where it is. Sections
 * are parsed from the line itself: inih cuts their names at 49 bytes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strndup, open_memstream */
#endif
#include "sites.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLANKS " \t\r\n\v\f"

enum key_id {
	K_LISTEN,
	K_SERVER_NAME,
	K_ROOT,
	K_INDEX,
	K_ACCESS_LOG,
	K_DEFAULT,
	K_ERROR_PAGE,
	K_PRESERVE_HOST,
	K_VIA,
	K_EXPIRES_,
	K_AUTOINDEX,
	K_FOLLOW_SYMLINKS,
	K_SERVE_DOTFILES,
	K_PRECOMPRESSED,
	K_PROXY,
	K_EXACT,
	NKEYS
};

#define IN_SRV 1u
#define IN_LOC 2u

static const struct site_key {
	const char *name;
	bool list;      /* may repeat and continue on indented lines */
	unsigned where; /* IN_SRV, IN_LOC */
} keys[NKEYS] = {
	[K_LISTEN] = { "listen", true, IN_SRV },
	[K_SERVER_NAME] = { "server_name", true, IN_SRV },
	[K_ROOT] = { "root", false, IN_SRV | IN_LOC },
	[K_INDEX] = { "index", true, IN_SRV },
	[K_ACCESS_LOG] = { "access_log", false, IN_SRV },
	[K_DEFAULT] = { "default", false, IN_SRV },
	[K_ERROR_PAGE] = { "error_page", true, IN_SRV },
	[K_PRESERVE_HOST] = { "preserve_host", false, IN_SRV | IN_LOC },
	[K_VIA] = { "via", false, IN_SRV | IN_LOC },
	[K_EXPIRES_] = { "expires", false, IN_SRV | IN_LOC },
	[K_AUTOINDEX] = { "autoindex", false, IN_SRV | IN_LOC },
	[K_FOLLOW_SYMLINKS] = { "follow_symlinks", false, IN_SRV | IN_LOC },
	[K_SERVE_DOTFILES] = { "serve_dotfiles", false, IN_SRV | IN_LOC },
	[K_PRECOMPRESSED] = { "precompressed", false, IN_SRV | IN_LOC },
	[K_PROXY] = { "proxy", false, IN_LOC },
	[K_EXACT] = { "exact", false, IN_LOC },
};

enum section { IN_NONE, IN_SERVER, IN_LOCATION, IN_BAD };

struct site {
	struct loader *ld;
	const config_setting_t *at; /* the main file's `sites` */
	const char *file;           /* interned in cfg->files */
	char *dir;                  /* the file's directory, absolute */
	const char *pos, *end;      /* what inih has not read yet */
	int line;                   /* of the line last handed to inih */
	bool cont;    /* that line continues the value of the key before */
	bool named;   /* inih has a key to continue (its prev_name) */
	bool dropped; /* a line was refused: its continuations are too */
	enum section in;
	bool has_server; /* this file has one: a location belongs to it */
	size_t srv, loc; /* indexes of the current server and location */
	int seen[2][NKEYS]; /* line of each key in the server, its location */
	struct config_line_errors errs; /* told once the file is read */
	int names_line, default_line;
};

static void fail(struct site *st, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line of this file, for the checks of config_check.c. */
static struct config_at at_line(struct site *st, int line)
{
	return (struct config_at){ .ld = st->ld, .file = st->file, .line = line,
				   .errs = &st->errs };
}

/* The line handed to inih last. */
static struct config_at here(struct site *st)
{
	return at_line(st, st->line);
}

static void fail(struct site *st, int line, const char *fmt, ...)
{
	struct config_at at = at_line(st, line);
	va_list ap;

	va_start(ap, fmt);
	config_vreport(&at, fmt, ap);
	va_end(ap);
}

static struct config_server *server(struct site *st)
{
	return &st->ld->cfg->servers[st->srv];
}

static struct config_location *location(struct site *st)
{
	return &server(st)->locations[st->loc];
}

/* The model keeps pointers to file names: cfg->files owns them. */
static const char *intern(struct loader *ld, const char *path)
{
	struct config *cfg = ld->cfg;
	char **files;

	for (size_t i = 0; i < cfg->nfiles; i++) {
		if (strcmp(cfg->files[i], path) == 0)
			return cfg->files[i];
	}
	files = config_grow(ld, cfg->files, &cfg->nfiles, sizeof(*files));
	if (files == NULL)
		return NULL;
	cfg->files = files;
	files[cfg->nfiles] = config_xstrdup(ld, path);
	if (files[cfg->nfiles] == NULL)
		return NULL;
	return files[cfg->nfiles++];
}

/* ---- sections: what a server and a location need once all their keys
 * are read */

static void finish_location(struct site *st)
{
	struct config_server *srv = server(st);
	struct config_location *loc = location(st);
	struct config_at at = at_line(st, loc->line);

	config_check_location(&at, &at, srv, loc, srv->root != NULL);
}

static void finish_server(struct site *st)
{
	struct config_server *srv = server(st);
	const struct config_server_at at = {
		.server = at_line(st, srv->line),
		.names = at_line(st, st->names_line),
		.is_default = at_line(st, st->default_line),
		.names_key = "server_name",
	};

	if (srv->nlistens == 0 && st->seen[0][K_LISTEN] == 0)
		fail(st, srv->line, "server has no 'listen'");
	/* srv->root says it all: a written root is kept even when wrong */
	config_check_server(&at, st->ld->cfg, srv, st->seen[0][K_INDEX] != 0, false);
}

/* The end of a section: of a location, and of its server at the next
 * [server] or the end of the file. */
static void close_section(struct site *st, bool server_too)
{
	if (st->in == IN_LOCATION)
		finish_location(st);
	if (server_too && st->has_server)
		finish_server(st);
}

static void open_server(struct site *st)
{
	struct config *cfg = st->ld->cfg;
	struct config_server *srv;

	close_section(st, true);
	st->in = IN_BAD;
	st->has_server = false;
	srv = config_grow(st->ld, cfg->servers, &cfg->nservers, sizeof(*srv));
	if (srv == NULL)
		return;
	cfg->servers = srv;
	srv += cfg->nservers;
	config_server_defaults(srv, st->file, st->line);
	st->srv = cfg->nservers++;
	st->has_server = true;
	st->in = IN_SERVER;
	memset(st->seen, 0, sizeof(st->seen));
	st->names_line = st->default_line = st->line;
}

static void open_location(struct site *st, const char *prefix)
{
	struct config_server *srv;
	struct config_location *loc;

	close_section(st, false);
	st->in = IN_BAD;
	if (!st->has_server) {
		fail(st, st->line, "[location %s] comes before any [server]", prefix);
		return;
	}
	srv = server(st);
	loc = config_grow(st->ld, srv->locations, &srv->nlocations, sizeof(*loc));
	if (loc == NULL)
		return;
	srv->locations = loc;
	loc += srv->nlocations;
	config_location_defaults(loc, st->file, st->line);
	loc->prefix = config_xstrdup(st->ld, prefix);
	if (loc->prefix == NULL)
		return;
	st->loc = srv->nlocations++;
	st->in = IN_LOCATION;
	memset(st->seen[1], 0, sizeof(st->seen[1]));
}

/* "[server]", "[location /api/]": the text between the brackets. */
static void open_section(struct site *st, const char *name, size_t len)
{
	char *text = strndup(name, len), *copy = NULL, *p, *word, *prefix, *save;

	if (text == NULL || (copy = strdup(text)) == NULL) {
		st->ld->oom = true;
		st->in = IN_BAD;
		goto out;
	}
	p = copy + strspn(copy, BLANKS);
	word = strtok_r(p, BLANKS, &save);
	prefix = word ? strtok_r(NULL, BLANKS, &save) : NULL;
	if (word != NULL && strcmp(word, "server") == 0 && prefix == NULL) {
		open_server(st);
	} else if (word != NULL && strcmp(word, "location") == 0 && prefix != NULL &&
		   prefix[0] == '/' && strtok_r(NULL, BLANKS, &save) == NULL) {
		open_location(st, prefix);
	} else {
		close_section(st, false);
		st->in = IN_BAD;
		if (word != NULL && strcmp(word, "location") == 0)
			fail(st, st->line,
			     "[%s]: a location needs one prefix starting with '/', like "
			     "[location /api/]",
			     text);
		else
			fail(st, st->line,
			     "unknown section [%s] (expected [server] or [location "
			     "PREFIX])",
			     text);
	}
out:
	free(copy);
	free(text);
}

/* ---- lines: measured and classified the way inih 55 reads them */

/* inih's find_chars_or_comment: the first of `chars`, or a ';' after a
 * blank (an inline comment); only ';' starts one. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static void classify(struct site *st, const char *line, bool refused)
{
	const char *start = line;
	const char *end;

	st->cont = false;
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (st->named && start > line) {
		st->cont = true; /* inih: the value of the key before goes on */
		return;
	}
	st->dropped = refused;
	if (*start == '[') {
		end = find_chars_or_comment(start + 1, "]");
		st->named = false;
		if (refused) {
			close_section(st, false);
			st->in = IN_BAD;
		} else if (*end != ']') {
			close_section(st, false);
			st->in = IN_BAD;
			fail(st, st->line, "section header without ']'");
		} else {
			open_section(st, start + 1, (size_t)(end - start - 1));
		}
		return;
	}
	end = find_chars_or_comment(start, "=:");
	if (*end == '=' || *end == ':')
		st->named = true;
	else if (!refused)
		fail(st, st->line, "expected 'key = value' or a [section]");
}

/* inih's ini_reader, over the text of the file: one line per call, with
 * its number counted, never more than inih's buffer `num` takes. */
static char *reader(char *str, int num, void *stream)
{
	struct site *st = stream;
	const char *p = st->pos, *eol;
	size_t len;
	bool refused = false;

	if (p >= st->end)
		return NULL;
	eol = memchr(p, '\n', (size_t)(st->end - p));
	if (eol == NULL)
		eol = st->end;
	st->pos = eol < st->end ? eol + 1 : eol;
	len = (size_t)(eol - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	st->line++;
	if (st->line == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3; /* a UTF-8 byte order mark */
		len -= 3;
	}
	if (len > SITES_MAX_LINE || num < 1 || len > (size_t)num - 1) {
		fail(st, st->line, "line too long");
		refused = true;
	} else if (memchr(p, '\0', len) != NULL) {
		fail(st, st->line, "line holds a NUL byte");
		refused = true;
	}
	if (num < 1)
		return NULL;
	if (refused) {
		/* Classified by its start, handed to inih as a blank line. */
		size_t n = len < (size_t)num - 1 ? len : (size_t)num - 1;

		memcpy(str, p, n);
		str[n] = '\0';
		classify(st, str, true);
		str[0] = '\0';
		return str;
	}
	memcpy(str, p, len);
	str[len] = '\0';
	classify(st, str, false);
	return str;
}

/* ---- values */

static bool parse_bool(struct site *st, const char *name, const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		*out = v[0] == 't';
		return true;
	}
	fail(st, st->line, "'%s' must be true or false (not \"%s\")", name, v);
	return false;
}

static void set_flag(struct site *st, const char *name, const char *v, int8_t *f)
{
	bool b;

	if (parse_bool(st, name, v, &b))
		*f = b ? 1 : 0;
}

/* A list value: words split at blanks and commas, each given to `add`. */
static void each_word(struct site *st, const char *name, const char *v,
		      config_add_word *add)
{
	struct config_at at = here(st);
	char *copy = config_xstrdup(st->ld, v), *save;
	size_t n = 0;

	if (copy == NULL)
		return;
	for (char *w = strtok_r(copy, BLANKS ",", &save); w != NULL;
	     w = strtok_r(NULL, BLANKS ",", &save), n++)
		add(&at, server(st), w);
	if (n == 0)
		fail(st, st->line, "'%s' must not be empty", name);
	free(copy);
}

/* The main file's upstreams are all read: a name is checked at once. */
static void set_proxy(struct site *st, const char *v)
{
	struct config_at at = here(st);

	if (config_set_proxy(&at, location(st), v))
		config_check_upstream_name(&at, st->ld->cfg, v);
}

static void set_value(struct site *st, enum key_id id, const char *v)
{
	struct config_server *srv = st->in == IN_SERVER ? server(st) : NULL;
	struct config_location *loc = st->in == IN_LOCATION ? location(st) : NULL;
	struct config_static *sst = srv ? &srv->stat : &loc->stat;
	const char *name = keys[id].name;
	struct config_at at = here(st);
	bool b;

	if (*v == '\0' && id != K_INDEX && id != K_LISTEN && id != K_SERVER_NAME) {
		fail(st, st->line, "'%s' must not be empty", name);
		return;
	}
	switch (id) {
	case K_LISTEN:
		each_word(st, name, v, config_add_listen_text);
		break;
	case K_SERVER_NAME:
		each_word(st, name, v, config_add_server_name);
		st->names_line = st->line;
		break;
	case K_INDEX:
		each_word(st, name, v, config_add_index);
		break;
	case K_ROOT:
		config_check_root(&at, st->dir, v, srv ? &srv->root : &loc->root);
		break;
	case K_ACCESS_LOG:
		free(srv->access_log);
		srv->access_log = strcmp(v, "off") == 0 ? NULL : config_xstrdup(st->ld, v);
		break;
	case K_DEFAULT:
		if (parse_bool(st, name, v, &b))
			srv->is_default = b;
		st->default_line = st->line;
		break;
	case K_ERROR_PAGE:
		config_add_error_page(&at, srv, name, v);
		break;
	case K_PRESERVE_HOST:
	case K_VIA:
		if (loc != NULL)
			set_flag(st, name, v, id == K_VIA ? &loc->via : &loc->preserve_host);
		else if (parse_bool(st, name, v, &b))
			*(id == K_VIA ? &srv->via : &srv->preserve_host) = b;
		break;
	case K_EXPIRES_:
		config_check_expires(&at, name, v, CONFIG_EXPIRES_MAX, &sst->expires);
		break;
	case K_AUTOINDEX:
		set_flag(st, name, v, &sst->autoindex);
		break;
	case K_SERVE_DOTFILES:
		set_flag(st, name, v, &sst->serve_dotfiles);
		break;
	case K_PRECOMPRESSED:
		set_flag(st, name, v, &sst->precompressed);
		break;
	case K_FOLLOW_SYMLINKS:
		config_check_follow_symlinks(&at, name, v, &sst->follow_symlinks);
		break;
	case K_PROXY:
		set_proxy(st, v);
		break;
	case K_EXACT:
		if (parse_bool(st, name, v, &b))
			loc->exact = b;
		break;
	case NKEYS:
		break;
	}
}

static void unknown_key(struct site *st, const char *name, unsigned where)
{
	const char *names[NKEYS], *hint;
	size_t n = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			fail(st, st->line, "'%s' belongs in a %s section", name,
			     where == IN_SRV ? "[location PREFIX]" : "[server]");
			return;
		}
		if (keys[i].where & where)
			names[n++] = keys[i].name;
	}
	hint = config_suggest(name, names, n);
	if (hint != NULL)
		fail(st, st->line, "unknown key '%s' (did you mean '%s'?)", name, hint);
	else
		fail(st, st->line, "unknown key '%s'", name);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct site *st = user;
	unsigned where = st->in == IN_SERVER ? IN_SRV : IN_LOC;
	enum key_id id = NKEYS;
	int *seen;

	(void)section; /* cut at 49 bytes by inih: the reader's is used */
	if (st->cont && st->dropped)
		return 1;
	if (st->in == IN_NONE) {
		if (!st->cont)
			fail(st, st->line, "'%s' comes before any [server]", name);
		return 1;
	}
	if (st->in == IN_BAD)
		return 1;
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0 && (keys[i].where & where))
			id = (enum key_id)i;
	}
	if (id == NKEYS) {
		if (!st->cont)
			unknown_key(st, name, where);
		return 1;
	}
	if (st->cont && !keys[id].list) {
		fail(st, st->line,
		     "'%s' takes one value: this indented line would continue it", name);
		return 1;
	}
	seen = &st->seen[st->in == IN_LOCATION][id];
	if (!st->cont && !keys[id].list && *seen != 0) {
		fail(st, st->line, "duplicate key '%s' (also at line %d)", name, *seen);
		return 1;
	}
	if (!st->cont) {
		*seen = st->line;
		set_value(st, id, value);
		return 1;
	}
	/* inih 55 keeps a "; comment" on a continuation line in the value:
	 * the rule of every other line is applied here. */
	char *copy = config_xstrdup(st->ld, value), *end;

	if (copy == NULL)
		return 1;
	end = (char *)find_chars_or_comment(copy, NULL);
	while (end > copy && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	set_value(st, id, copy);
	free(copy);
	return 1;
}

/* ---- files */

static char *read_text(const char *path, size_t *len, int *err)
{
	char *text = NULL, buf[4096];
	FILE *in = fopen(path, "r"), *out;
	struct stat sb;
	size_t n;

	*err = 0;
	if (in == NULL) {
		*err = errno;
		return NULL;
	}
	if (fstat(fileno(in), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fclose(in);
		*err = EISDIR;
		return NULL;
	}
	out = open_memstream(&text, len);
	if (out == NULL) {
		*err = errno;
		fclose(in);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	if (ferror(in))
		*err = errno ? errno : EIO;
	fclose(in);
	if (fclose(out) != 0 && *err == 0)
		*err = ENOMEM;
	if (*err != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The directory of path, absolute. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *cwd, *abs;

	if (slash == path)
		return strdup("/");
	dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (dir == NULL || dir[0] == '/')
		return dir;
	cwd = getcwd(NULL, 0);
	abs = cwd ? config_join_path(cwd, dir) : NULL;
	free(cwd);
	free(dir);
	if (abs != NULL)
		config_normalize_path(abs);
	return abs;
}

static void read_site(struct loader *ld, const config_setting_t *at, const char *path)
{
	struct site st = { .ld = ld, .at = at, .in = IN_NONE };
	size_t len;
	int err;
	char *text = read_text(path, &len, &err);

	if (text == NULL) {
		config_fail(ld, at, "cannot read site file '%s': %s", path,
			    strerror(err));
		return;
	}
	st.file = intern(ld, path);
	st.dir = dir_of(path);
	if (st.file == NULL || st.dir == NULL) {
		ld->oom = true;
		goto out;
	}
	st.pos = text;
	st.end = text + len;
	/* Errors are the reader's and the handler's; inih's own return (the
	 * first bad line) says nothing they have not. */
	(void)ini_parse_stream(reader, &st, handler, &st);
	close_section(&st, true);
out:
	config_tell_line_errors(ld, at, st.file, &st.errs);
	free(st.dir);
	free(text);
}

/* glob's errfunc has no user pointer: config_load runs in one thread. */
static int glob_errno;
static char glob_epath[PATH_MAX];

static int glob_error(const char *epath, int eerrno)
{
	/* a directory that is not there matches nothing, which is fine */
	if (eerrno != ENOENT && eerrno != ENOTDIR && glob_errno == 0) {
		glob_errno = eerrno;
		snprintf(glob_epath, sizeof(glob_epath), "%s", epath);
	}
	return 0;
}

void config_read_sites(struct loader *ld, const config_setting_t *at)
{
	const char *sites = ld->cfg->sites;
	char *pattern;
	glob_t g;
	int rc;

	if (sites == NULL || at == NULL)
		return;
	if (sites[0] != '/' && ld->include_dir != NULL)
		pattern = config_join_path(ld->include_dir, sites);
	else
		pattern = strdup(sites);
	if (pattern == NULL) {
		ld->oom = true;
		return;
	}
	glob_errno = 0;
	rc = glob(pattern, 0, glob_error, &g);
	if (glob_errno != 0)
		config_fail(ld, at, "sites '%s': cannot read %s: %s", sites, glob_epath,
			    strerror(glob_errno));
	if (rc == GLOB_NOSPACE)
		ld->oom = true;
	else if (rc == 0) /* sorted; a glob matching nothing is no error */
		for (size_t i = 0; i < g.gl_pathc; i++)
			read_site(ld, at, g.gl_pathv[i]);
	if (rc == 0)
		globfree(&g);
	free(pattern);
}
