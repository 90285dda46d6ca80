/* config_walk: what config.c (reading libconfig, reporting errors, walking
 * a group against its schema) and config_schema.c (the keys and what they
 * mean) share. Internal to the config module: nothing else includes it. */
#ifndef GARCOM_CONFIG_WALK_H
#define GARCOM_CONFIG_WALK_H

#include <libconfig.h>
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

#endif
