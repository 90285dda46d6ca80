/* config_walk: what config.c (reading libconfig, reporting errors, walking
 * a group against its schema) and config_schema.c (the keys and what they
 * mean) share. Internal to the config module: nothing else includes it. */
#ifndef GARCOM_CONFIG_WALK_H
#define GARCOM_CONFIG_WALK_H

#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct config_error;
struct config_source;

struct loader {
	config_t lc;
	struct config *cfg;
	const char *path;  /* the main file, as given */
	char *include_dir; /* its directory; NULL when it has none */
	char *base_dir;    /* the same, absolute: relative roots start here */
	struct config_error *errs;
	size_t nerrs;
	struct config_source *srcs;
	size_t nsrcs;
	/* proxy settings that name an upstream: checked once all are read */
	const config_setting_t **proxies;
	size_t nproxies;
	/* the upstreams made for http:// proxy URLs, one per URL: they go to
	 * cfg->upstreams after the named ones, once all those are read */
	struct config_upstream *implicit;
	size_t nimplicit;
	bool oom;
};

enum kind {
	K_BOOL,
	K_INT,
	K_STRING,
	K_STRINGS,
	K_SERVERS, /* an upstream's: strings, or a list of strings and groups */
	K_SIZE,
	K_DURATION,
	K_WORKERS,
	K_EXPIRES,
	K_GROUP,
	K_LIST,
};

struct config_kind {
	unsigned types;   /* the libconfig types a key of this kind accepts */
	const char *what; /* for "'x' must be WHAT" */
};
extern const struct config_kind config_kinds[];

struct key;
typedef void setter(struct loader *ld, const config_setting_t *s, void *obj,
		    const struct key *k);

struct schema {
	const char *noun; /* for "server has no 'listen'" */
	const struct key *keys;
	size_t nkeys;
	/* for the entries of a list */
	size_t size;
	void (*init)(struct loader *ld, const config_setting_t *s, void *elem);
	void (*finish)(struct loader *ld, const config_setting_t *s, void *parent,
		       void *elem);
};

struct key {
	const char *name;
	enum kind kind;
	setter *set;
	size_t off, width; /* the field of obj the generic setters fill */
	size_t count_off;  /* K_LIST: where the number of entries goes */
	uint64_t min, max; /* numbers in their unit: bytes, ms, seconds */
	bool required;
	const struct schema *sub; /* K_GROUP, K_LIST */
};

extern const struct schema config_root_schema;

void *config_grow(struct loader *ld, void *arr, size_t *n, size_t size);
char *config_xstrdup(struct loader *ld, const char *s);
char *config_join_path(const char *dir, const char *name);
const char *config_intern(struct loader *ld, const char *raw);
__attribute__((format(printf, 3, 4))) void
config_fail(struct loader *ld, const config_setting_t *s, const char *fmt, ...);
/* An error in another file the setting s names (mime_types): reported as
 * "file:line: ...", in the place of s among the errors of the main file. */
__attribute__((format(printf, 5, 6))) void
config_fail_at(struct loader *ld, const config_setting_t *s, const char *file,
	       unsigned line, const char *fmt, ...);
int config_int_value(struct loader *ld, const config_setting_t *s, int64_t *v);
const char *config_suggest(const char *word, const char *const *names, size_t n);
void config_walk(struct loader *ld, const config_setting_t *g, const struct schema *sc,
		 void *obj);
void config_check_file(struct loader *ld, const config_setting_t *root);
void config_free_upstream(struct config_upstream *up);
/* config_schema.c helpers, shared with sites.c (site files). */
void config_normalize_path(char *path);
bool config_has_name(char **names, size_t n, const char *name);
/* NULL when path is a directory, else why not ("does not exist", ...). */
const char *config_dir_problem(const char *path);
int config_add_string(struct loader *ld, char ***v, size_t *n, const char *s);
int config_add_listen(struct loader *ld, struct config_listen **v, size_t *n,
		      const struct config_listen *l);
bool config_is_wildcard(const struct config_listen *l);
bool config_has_status(const struct config_server *srv, int status);
/* config_mime.c: read the mime_types file at path (set at s) into cfg. */
void config_read_mime_types(struct loader *ld, const config_setting_t *s, const char *path);

/* ---- config_check.c: the checks of values both syntaxes share, the main
 * file (libconfig) and the site files (INI), so that one bad value gets one
 * message, each told at its own FILE:LINE. */

/* A site file's errors, told sorted by line once the file is read. */
struct config_line_error {
	int line;
	size_t seq;
	char *msg;
};
struct config_line_errors {
	struct config_line_error *v;
	size_t n;
};

/* Where a value was written: a setting of the main file (its errors go
 * where config_fail puts them), or a line of a site file (into `errs`). */
struct config_at {
	struct loader *ld;
	const config_setting_t *s; /* the main file's; NULL in a site file */
	const char *file;          /* a site file's name, interned */
	int line;
	struct config_line_errors *errs;
};

static inline struct config_at config_at_setting(struct loader *ld,
						 const config_setting_t *s)
{
	return (struct config_at){ .ld = ld, .s = s };
}

__attribute__((format(printf, 2, 3))) void
config_report(const struct config_at *at, const char *fmt, ...);
__attribute__((format(printf, 2, 0))) void
config_vreport(const struct config_at *at, const char *fmt, va_list ap);
/* A site file's errors, in line order, as "file:LINE: ..." in the place of
 * the main file's setting s; frees them. */
void config_tell_line_errors(struct loader *ld, const config_setting_t *s,
			     const char *file, struct config_line_errors *errs);

/* The longest expires, in seconds: ten years, what nginx's "max" stands for. */
#define CONFIG_EXPIRES_MAX (3650 * 86400ULL)
/* expires = "off" | "max" | a duration in whole seconds, at most max s. */
void config_check_expires(const struct config_at *at, const char *name,
			  const char *text, uint64_t max, long *expires);
/* The same for a number of seconds already read. */
void config_check_expires_seconds(const struct config_at *at, const char *name,
				  int64_t v, uint64_t max, long *expires);
/* The index of text in names, or -1 after saying it must be one of them. */
int config_one_of(const struct config_at *at, const char *name, const char *text,
		  const char *const *names, size_t n);
void config_check_follow_symlinks(const struct config_at *at, const char *name,
				  const char *text, int8_t *out);
bool config_has_status(const struct config_server *srv, int status);
/* "404 /404.html", "500 502 /50x.html" into srv, whole or not at all. */
void config_add_error_page(const struct config_at *at, struct config_server *srv,
			   const char *name, const char *text);
/* A root: absolute, or relative to dir (NULL: none known); kept even when
 * wrong so that it does not also count as missing. */
void config_check_root(const struct config_at *at, const char *dir, const char *text,
		       char **root);
/* Listen address, server name, index file: one word each. */
typedef void config_add_word(const struct config_at *at, struct config_server *srv,
			     const char *word);
void config_add_listen_text(const struct config_at *at, struct config_server *srv,
			    const char *text);
void config_add_server_name(const struct config_at *at, struct config_server *srv,
			    const char *name);
void config_add_index(const struct config_at *at, struct config_server *srv,
		      const char *name);

/* What a location needs once its keys are read: a root or a proxy, not
 * both, and a prefix of its own; a duplicate is told at prefix_at. */
void config_check_location(const struct config_at *at, const struct config_at *prefix_at,
			   const struct config_server *srv,
			   const struct config_location *loc, bool server_has_root);
/* Where a server's errors are told: the server, its names, its default. */
struct config_server_at {
	struct config_at server, names, is_default;
	const char *names_key; /* "server_names", "server_name" */
};
/* What a server needs once its keys and locations are read: an index (the
 * default one when it set none), a root unless a location '/' takes all,
 * and names of its own on an address another server of cfg has. */
void config_check_server(const struct config_server_at *at, struct config *cfg,
			 struct config_server *srv, bool has_index, bool has_root);
/* The defaults of a server, a location (all "the server's") and an upstream,
 * named or made for a URL. */
void config_server_defaults(struct config_server *srv, const char *file, int line);
void config_location_defaults(struct config_location *loc, const char *file, int line);
void config_upstream_defaults(const struct config_at *at, struct config_upstream *up);
/* servers[] and weights[] grow together: 1 for an address already there,
 * else 0 (or -1, out of memory). */
int config_add_upstream_server(struct loader *ld, struct config_upstream *up,
			       const struct config_listen *l, unsigned weight);
/* Every address `host` has now, each a server shown as `text`: 0 or a
 * getaddrinfo error. */
int config_add_resolved(struct loader *ld, struct config_upstream *up, const char *host,
			const char *port, const char *text, unsigned weight);
/* proxy = v into loc: an http:// URL gets its implicit upstream at once;
 * true when v is the name of an upstream, left to the caller to check
 * (the main file's may come later in it). */
bool config_set_proxy(const struct config_at *at, struct config_location *loc,
		      const char *v);
/* A proxy's upstream name: false, after saying so, when cfg has none such. */
bool config_check_upstream_name(const struct config_at *at, const struct config *cfg,
				const char *name);

#endif
