/* config_schema: the keys of the main file, one table per group, and what
 * each value means: ranges, defaults, roots that must exist, proxies that must
 * name an upstream. config.c reads the file and walks it against these. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem, strchrnul */
#endif
#include "config_walk.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define FIELD(type, member) \
	.off = offsetof(type, member), .width = sizeof(((type *)0)->member)

static void *field(void *obj, const struct key *k)
{
	return (char *)obj + k->off;
}

static void store_uint(void *obj, const struct key *k, uint64_t v)
{
	if (k->width == sizeof(uint32_t)) {
		uint32_t u = (uint32_t)v;

		memcpy(field(obj, k), &u, sizeof(u));
	} else {
		memcpy(field(obj, k), &v, sizeof(v));
	}
}

static void store_string(struct loader *ld, void *obj, const struct key *k, const char *v)
{
	char **p = field(obj, k);

	free(*p);
	*p = v ? config_xstrdup(ld, v) : NULL;
}

/* ---- values */

static void set_bool(struct loader *ld, const config_setting_t *s, void *obj,
		     const struct key *k)
{
	bool v = config_setting_get_bool(s);

	(void)ld;
	memcpy(field(obj, k), &v, sizeof(v));
}

static void set_uint(struct loader *ld, const config_setting_t *s, void *obj,
		     const struct key *k)
{
	int64_t v;

	if (config_int_value(ld, s, &v) < 0)
		return;
	if (v < 0 || (uint64_t)v < k->min || (uint64_t)v > k->max) {
		config_fail(ld, s, "'%s' must be between %llu and %llu", k->name,
			    (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	}
	store_uint(obj, k, (uint64_t)v);
}

static void set_size(struct loader *ld, const config_setting_t *s, void *obj,
		     const struct key *k)
{
	char lo[32], hi[32];
	uint64_t v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *text = config_setting_get_string(s);

		if (config_parse_size(text, &v) < 0) {
			config_fail(ld, s,
				    "'%s' must be a size: bytes, or a number with k, m "
				    "or g (not \"%s\")",
				    k->name, text);
			return;
		}
	} else {
		int64_t i;

		if (config_int_value(ld, s, &i) < 0)
			return;
		v = i < 0 ? UINT64_MAX : (uint64_t)i;
	}
	if (v < k->min || v > k->max) {
		config_fmt_size(lo, sizeof(lo), k->min);
		config_fmt_size(hi, sizeof(hi), k->max);
		config_fail(ld, s, "'%s' must be between %s and %s", k->name, lo, hi);
		return;
	}
	store_uint(obj, k, v);
}

static void set_duration(struct loader *ld, const config_setting_t *s, void *obj,
			 const struct key *k)
{
	char lo[32], hi[32];
	uint64_t ms = UINT64_MAX; /* out of every range */

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *text = config_setting_get_string(s);

		if (config_parse_duration_ms(text, &ms) < 0) {
			config_fail(ld, s,
				    "'%s' must be a duration: seconds, or a number with "
				    "ms, s, m, h or d (not \"%s\")",
				    k->name, text);
			return;
		}
	} else if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
		double f = config_setting_get_float(s);

		/* The comparison is false for NaN too. */
		if (f >= 0 && f <= (double)k->max / 1000.0)
			ms = (uint64_t)(f * 1000.0 + 0.5);
	} else {
		int64_t i;

		if (config_int_value(ld, s, &i) < 0)
			return;
		if (i >= 0 && (uint64_t)i <= k->max / 1000)
			ms = (uint64_t)i * 1000;
	}
	if (ms < k->min || ms > k->max) {
		config_fmt_duration(lo, sizeof(lo), k->min);
		config_fmt_duration(hi, sizeof(hi), k->max);
		config_fail(ld, s, "'%s' must be between %s and %s", k->name, lo, hi);
		return;
	}
	store_uint(obj, k, ms);
}

static void set_string(struct loader *ld, const config_setting_t *s, void *obj,
		       const struct key *k)
{
	const char *v = config_setting_get_string(s);

	if (*v == '\0') {
		config_fail(ld, s, "'%s' must not be empty", k->name);
		return;
	}
	store_string(ld, obj, k, v);
}

static void set_workers(struct loader *ld, const config_setting_t *s, void *obj,
			const struct key *k)
{
	int64_t v = 0;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(s), "auto") != 0)
			v = -1;
	} else if (config_int_value(ld, s, &v) < 0) {
		return;
	} else if (v == 0) {
		v = -1; /* 0 is how the model says "auto"; the file says "auto" */
	}
	if (v < 0 || (uint64_t)v > k->max) {
		config_fail(ld, s, "'%s' must be \"auto\" or between 1 and %llu", k->name,
			    (unsigned long long)k->max);
		return;
	}
	store_uint(obj, k, (uint64_t)v);
}

static void set_log_format(struct loader *ld, const config_setting_t *s, void *obj,
			   const struct key *k)
{
	static const char *const names[] = { "combined", "json" };
	struct config_at at = config_at_setting(ld, s);
	int i = config_one_of(&at, k->name, config_setting_get_string(s), names, 2);

	if (i >= 0)
		((struct config *)obj)->access_log_json = i == 1;
}

static void set_log_level(struct loader *ld, const config_setting_t *s, void *obj,
			  const struct key *k)
{
	/* in the order of enum log_level */
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct config_at at = config_at_setting(ld, s);
	int i = config_one_of(&at, k->name, config_setting_get_string(s), names,
			      sizeof(names) / sizeof(names[0]));

	if (i >= 0)
		((struct config *)obj)->log_level = (enum log_level)i;
}

static void set_group(struct loader *ld, const config_setting_t *s, void *obj,
		      const struct key *k)
{
	config_walk(ld, s, k->sub, obj);
}

/* servers, locations, upstreams: each entry is a group read with k->sub into
 * a new element of the array at k->off. */
static void set_list(struct loader *ld, const config_setting_t *s, void *obj,
		     const struct key *k)
{
	const struct schema *sc = k->sub;
	size_t *n = (size_t *)((char *)obj + k->count_off);

	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char *arr;

		if (!config_setting_is_group(e)) {
			config_fail(ld, e, "each entry of '%s' must be a group { ... }",
				    k->name);
			continue;
		}
		memcpy(&arr, field(obj, k), sizeof(arr));
		arr = config_grow(ld, arr, n, sc->size);
		if (arr == NULL)
			return;
		memcpy(field(obj, k), &arr, sizeof(arr));
		void *elem = arr + *n * sc->size;
		(*n)++;
		sc->init(ld, e, elem);
		config_walk(ld, e, sc, elem);
		if (sc->finish != NULL)
			sc->finish(ld, e, obj, elem);
	}
}

/* A key that takes "x" or [ "x", "y" ]: how many strings, or -1 after saying
 * the array holds something else. */
static int string_count(struct loader *ld, const config_setting_t *s, const struct key *k)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return 1;
	for (int i = 0; i < config_setting_length(s); i++) {
		if (config_setting_type(config_setting_get_elem(s, (unsigned)i)) !=
		    CONFIG_TYPE_STRING) {
			config_fail(ld, s, "'%s' must be %s", k->name,
				    config_kinds[k->kind].what);
			return -1;
		}
	}
	return config_setting_length(s);
}

static const char *string_at(const config_setting_t *s, int i)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return config_setting_get_string(s);
	return config_setting_get_string_elem(s, i);
}

/* The same, as a setting: errors about it are told at its own line. */
static const config_setting_t *entry(const config_setting_t *s, int i)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return s;
	return config_setting_get_elem(s, (unsigned)i);
}

int config_add_string(struct loader *ld, char ***v, size_t *n, const char *s)
{
	char **p = config_grow(ld, *v, n, sizeof(**v));

	if (p == NULL)
		return -1;
	*v = p;
	p[*n] = config_xstrdup(ld, s);
	if (p[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

int config_add_listen(struct loader *ld, struct config_listen **v, size_t *n,
		      const struct config_listen *l)
{
	struct config_listen *p;

	for (size_t i = 0; i < *n; i++) {
		if (config_listen_equal(&(*v)[i], l))
			return 1;
	}
	p = config_grow(ld, *v, n, sizeof(*p));
	if (p == NULL)
		return -1;
	*v = p;
	p[(*n)++] = *l;
	return 0;
}

/* listen, server_names, index: each string of s (one, or an array) given
 * to add, as a site file gives each word of its line. */
static void each_string(struct loader *ld, const config_setting_t *s, void *obj,
			const struct key *k, config_add_word *add)
{
	struct config_at at = config_at_setting(ld, s);
	int n = string_count(ld, s, k);

	if (n == 0)
		config_fail(ld, s, "'%s' must not be empty", k->name);
	for (int i = 0; i < n; i++)
		add(&at, obj, string_at(s, i));
}

static void set_listen(struct loader *ld, const config_setting_t *s, void *obj,
		       const struct key *k)
{
	each_string(ld, s, obj, k, config_add_listen_text);
}

const char *config_dir_problem(const char *path)
{
	struct stat st;
	int err = stat(path, &st) < 0 ? errno : 0;
	if (err == 0 && S_ISDIR(st.st_mode))
		return NULL;
	if (err == 0 || err == ENOTDIR)
		return "is not a directory";
	if (err == ENOENT)
		return "does not exist";
	return strerror(err); /* "Permission denied" and the like */
}

bool config_has_name(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(names[i], name) == 0)
			return true;
	}
	return false;
}

/* None at all is fine: the server is then for any name. */
static void add_server_name(const struct config_at *at, struct config_server *srv,
			    const char *name)
{
	if (*name == '\0')
		config_report(at, "'server_names' must not hold an empty name");
	else
		config_add_server_name(at, srv, name);
}

static void set_server_names(struct loader *ld, const config_setting_t *s, void *obj,
			     const struct key *k)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING || config_setting_length(s) > 0)
		each_string(ld, s, obj, k, add_server_name);
}

static void set_index(struct loader *ld, const config_setting_t *s, void *obj,
		      const struct key *k)
{
	each_string(ld, s, obj, k, config_add_index);
}

/* "/a/./b//../c" -> "/a/c", in place; path starts with '/'. Lexical, like
 * the rest of the file: a root that is a symbolic link stays one, so a
 * deployment that switches the link is followed. */
void config_normalize_path(char *path)
{
	char *w = path;
	const char *r = path;

	while (*r != '\0') {
		const char *c;
		size_t n;

		while (*r == '/')
			r++;
		c = r;
		while (*r != '\0' && *r != '/')
			r++;
		n = (size_t)(r - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (w > path && *--w != '/')
				;
			continue;
		}
		*w++ = '/';
		memmove(w, c, n);
		w += n;
	}
	if (w == path)
		*w++ = '/';
	*w = '\0';
}

static void set_root(struct loader *ld, const config_setting_t *s, void *obj,
		     const struct key *k)
{
	const char *text = config_setting_get_string(s);
	struct config_at at = config_at_setting(ld, s);

	if (*text == '\0')
		config_fail(ld, s, "'%s' must not be empty", k->name);
	else
		config_check_root(&at, ld->base_dir, text, field(obj, k));
}

static void set_access_log(struct loader *ld, const config_setting_t *s, void *obj,
			   const struct key *k)
{
	const char *v = config_setting_get_string(s);

	if (*v == '\0')
		config_fail(ld, s, "'%s' must not be empty (\"off\" turns it off)",
			    k->name);
	else
		store_string(ld, obj, k, strcmp(v, "off") == 0 ? NULL : v);
}

static void set_prefix(struct loader *ld, const config_setting_t *s, void *obj,
		       const struct key *k)
{
	const char *v = config_setting_get_string(s);

	if (v[0] != '/')
		config_fail(ld, s, "'%s' must start with '/' (not \"%s\")", k->name, v);
	store_string(ld, obj, k, v);
}

static void set_expires(struct loader *ld, const config_setting_t *s, void *obj,
			const struct key *k)
{
	struct config_at at = config_at_setting(ld, s);
	int64_t v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		config_check_expires(&at, k->name, config_setting_get_string(s), k->max,
				     field(obj, k));
	else if (config_int_value(ld, s, &v) == 0)
		config_check_expires_seconds(&at, k->name, v, k->max, field(obj, k));
}

/* The int8_t switches of struct config_static, where -1 is "not set". */
static void set_flag(struct loader *ld, const config_setting_t *s, void *obj,
		     const struct key *k)
{
	int8_t v = config_setting_get_bool(s) ? 1 : 0;

	(void)ld;
	memcpy(field(obj, k), &v, sizeof(v));
}

static void set_follow_symlinks(struct loader *ld, const config_setting_t *s, void *obj,
				const struct key *k)
{
	struct config_at at = config_at_setting(ld, s);

	config_check_follow_symlinks(&at, k->name, config_setting_get_string(s),
				     field(obj, k));
}

/* An entry, or a list of them; each told at its own line. */
static void set_error_pages(struct loader *ld, const config_setting_t *s, void *obj,
			    const struct key *k)
{
	int n = string_count(ld, s, k);

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = entry(s, i);
		struct config_at at = config_at_setting(ld, e);

		config_add_error_page(&at, obj, k->name, config_setting_get_string(e));
	}
}

/* ---- mime_types: a file in the format of /etc/mime.types */

/* RFC 9110's token, which both halves of a media type are */
static void set_mime_types(struct loader *ld, const config_setting_t *s, void *obj,
			   const struct key *k)
{
	const char *text = config_setting_get_string(s);
	char *path;

	if (*text == '\0') {
		config_fail(ld, s, "'%s' must not be empty", k->name);
		return;
	}
	if (text[0] == '/')
		path = strdup(text);
	else if (ld->base_dir != NULL)
		path = config_join_path(ld->base_dir, text);
	else {
		config_fail(ld, s, "%s '%s': cannot find the configuration's directory",
			    k->name, text);
		return;
	}
	if (path == NULL) {
		ld->oom = true;
		return;
	}
	config_normalize_path(path);
	free(*(char **)field(obj, k));
	*(char **)field(obj, k) = path;
	config_read_mime_types(ld, s, path);
}

static bool is_name(const char *v)
{
	for (; *v != '\0'; v++) {
		if (!isalnum((unsigned char)*v) && strchr("._-", *v) == NULL)
			return false;
	}
	return true;
}

static void set_upstream_name(struct loader *ld, const config_setting_t *s, void *obj,
			      const struct key *k)
{
	const char *v = config_setting_get_string(s);
	struct config *cfg = ld->cfg;

	if (*v == '\0') {
		config_fail(ld, s, "'%s' must not be empty", k->name);
		return;
	}
	if (!is_name(v)) {
		config_fail(ld, s,
			    "upstream name '%s' may hold only letters, digits, '.', '_' "
			    "and '-'",
			    v);
		return;
	}
	/* obj is the last upstream; the ones before it are complete. */
	for (size_t i = 0; i + 1 < cfg->nupstreams; i++) {
		const struct config_upstream *o = &cfg->upstreams[i];

		if (o->name != NULL && strcmp(o->name, v) == 0) {
			config_fail(ld, s, "duplicate upstream '%s' (also at %s:%d)", v,
				    o->file, o->line);
			return;
		}
	}
	store_string(ld, obj, k, v);
}

bool config_is_wildcard(const struct config_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)&l->addr)
			       ->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)(const void *)&l->addr)->sin6_addr);
}

static bool is_port(const char *p)
{
	size_t n = strspn(p, "0123456789");

	return n >= 1 && n <= 5 && p[n] == '\0' && atoi(p) >= 1 && atoi(p) <= 65535;
}

/* "HOST:PORT" with a name: every address it has now. */
static void resolve_upstream(struct loader *ld, const config_setting_t *s,
			     struct config_upstream *up, const char *text,
			     unsigned weight)
{
	const char *colon = strrchr(text, ':');
	char *host;
	int rc;

	if (colon == NULL || colon == text || text[0] == '[' || !is_port(colon + 1) ||
	    strlen(text) >= sizeof(up->servers[0].text)) {
		config_fail(ld, s,
			    "invalid upstream server '%s' (expected HOST:PORT, IP:PORT "
			    "or [IPv6]:PORT)",
			    text);
		return;
	}
	host = strndup(text, (size_t)(colon - text));
	if (host == NULL) {
		ld->oom = true;
		return;
	}
	rc = config_add_resolved(ld, up, host, colon + 1, text, weight);
	free(host);
	if (rc != 0)
		config_fail(ld, s, "upstream server '%s': %s", text, gai_strerror(rc));
}

static void add_upstream_address(struct loader *ld, const config_setting_t *s,
				 struct config_upstream *up, const char *text,
				 unsigned weight)
{
	struct config_listen l;

	if (config_parse_listen(text, &l) < 0)
		resolve_upstream(ld, s, up, text, weight);
	else if (config_is_wildcard(&l))
		config_fail(ld, s, "upstream server '%s' must name a host, not a wildcard",
			    text);
	else if (config_add_upstream_server(ld, up, &l, weight) > 0)
		config_fail(ld, s, "duplicate upstream server '%s'", text);
}

/* { address = "HOST:PORT"; weight = 3; }, an entry of an upstream's list */
struct server_entry {
	char *address;
	unsigned weight;
};

static const struct schema server_entry_schema;

static void add_server_entry(struct loader *ld, const config_setting_t *e,
			     struct config_upstream *up)
{
	struct server_entry se = { .weight = 1 };

	config_walk(ld, e, &server_entry_schema, &se);
	if (se.address != NULL)
		add_upstream_address(ld, config_setting_get_member(e, "address"), up,
				     se.address, se.weight);
	free(se.address);
}

static void set_upstream_servers(struct loader *ld, const config_setting_t *s, void *obj,
				 const struct key *k)
{
	struct config_upstream *up = obj;
	int n = config_setting_type(s) == CONFIG_TYPE_STRING ? 1 : config_setting_length(s);

	if (n == 0)
		config_fail(ld, s, "'%s' must not be empty", k->name);
	if (config_setting_type(s) == CONFIG_TYPE_ARRAY && n > 0 &&
	    config_setting_type(config_setting_get_elem(s, 0)) != CONFIG_TYPE_STRING) {
		config_fail(ld, s, "'%s' must be %s", k->name, config_kinds[k->kind].what);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = entry(s, i);

		if (config_setting_type(e) == CONFIG_TYPE_STRING)
			add_upstream_address(ld, e, up, config_setting_get_string(e), 1);
		else if (config_setting_is_group(e))
			add_server_entry(ld, e, up);
		else
			config_fail(ld, e,
				    "each entry of '%s' must be a string \"HOST:PORT\" or "
				    "a group { address = \"HOST:PORT\"; weight = N; }",
				    k->name);
	}
}

static void set_balance(struct loader *ld, const config_setting_t *s, void *obj,
			const struct key *k)
{
	/* in the order of enum balance */
	static const char *const names[] = { "round_robin", "least_conn" };
	struct config_at at = config_at_setting(ld, s);
	int i = config_one_of(&at, k->name, config_setting_get_string(s), names,
			      sizeof(names) / sizeof(names[0]));

	if (i >= 0)
		((struct config_upstream *)obj)->balance = (enum balance)i;
}

static void set_proxy(struct loader *ld, const config_setting_t *s, void *obj,
		      const struct key *k)
{
	struct config_at at = config_at_setting(ld, s);
	const config_setting_t **p;

	(void)k;
	if (!config_set_proxy(&at, obj, config_setting_get_string(s)))
		return;
	/* An upstream may be defined after the server that uses it. */
	p = config_grow(ld, ld->proxies, &ld->nproxies, sizeof(*p));
	if (p == NULL)
		return;
	ld->proxies = p;
	p[ld->nproxies++] = s;
}

/* ---- trusted_proxies */

static bool same_cidr(const struct config_cidr *a, const struct config_cidr *b)
{
	return a->prefix == b->prefix && memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}

static void add_trusted_proxy(struct loader *ld, const config_setting_t *e,
			      const char *text)
{
	struct config *cfg = ld->cfg;
	struct config_cidr c, *p;
	const struct sockaddr *sa = (const struct sockaddr *)&c.addr;
	char net[INET6_ADDRSTRLEN];
	const void *bytes;

	switch (config_parse_cidr(text, &c)) {
	case CIDR_OK:
		break;
	case CIDR_BAD_PREFIX:
		config_fail(ld, e, "trusted_proxies entry '%s': the prefix must be %s",
			    text, sa->sa_family == AF_INET ? "0-32 for IPv4" : "0-128 for IPv6");
		return;
	case CIDR_HOST_BITS:
		bytes = sa->sa_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		inet_ntop(sa->sa_family, bytes, net, sizeof(net));
		config_fail(ld, e,
			    "trusted_proxies entry '%s' has bits set beyond /%u (the "
			    "network is %s/%u)",
			    text, c.prefix, net, c.prefix);
		return;
	default:
		config_fail(ld, e,
			    "invalid trusted_proxies entry '%s' (expected an IPv4 or IPv6 "
			    "address, alone or with /PREFIX)",
			    text);
		return;
	}
	for (size_t i = 0; i < cfg->ntrusted_proxies; i++) {
		if (same_cidr(&cfg->trusted_proxies[i], &c)) {
			config_fail(ld, e, "duplicate trusted_proxies entry '%s'", text);
			return;
		}
	}
	p = config_grow(ld, cfg->trusted_proxies, &cfg->ntrusted_proxies, sizeof(*p));
	if (p == NULL)
		return;
	cfg->trusted_proxies = p;
	p[cfg->ntrusted_proxies++] = c;
}

static void set_trusted_proxies(struct loader *ld, const config_setting_t *s, void *obj,
				const struct key *k)
{
	int n = string_count(ld, s, k);

	(void)obj;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = entry(s, i);

		add_trusted_proxy(ld, e, config_setting_get_string(e));
	}
}

/* ---- list entries: defaults before the walk, checks across keys after */

static void init_location(struct loader *ld, const config_setting_t *s, void *elem)
{
	config_location_defaults(elem, config_intern(ld, config_setting_source_file(s)),
				 (int)config_setting_source_line(s));
}

static void finish_location(struct loader *ld, const config_setting_t *s, void *parent,
			    void *elem)
{
	const config_setting_t *server = config_setting_parent(config_setting_parent(s));
	struct config_at at = config_at_setting(ld, s);
	struct config_at prefix_at =
		config_at_setting(ld, config_setting_get_member(s, "prefix"));

	config_check_location(&at, &prefix_at, parent, elem,
			      config_setting_get_member(server, "root") != NULL);
}

static void init_server(struct loader *ld, const config_setting_t *s, void *elem)
{
	config_server_defaults(elem, config_intern(ld, config_setting_source_file(s)),
			       (int)config_setting_source_line(s));
}

static void finish_server(struct loader *ld, const config_setting_t *s, void *parent,
			  void *elem)
{
	const struct config_server_at at = {
		.server = config_at_setting(ld, s),
		.names = config_at_setting(ld, config_setting_get_member(s, "server_names")),
		.is_default = config_at_setting(ld, config_setting_get_member(s, "default")),
		.names_key = "server_names",
	};

	config_check_server(&at, parent, elem,
			    config_setting_get_member(s, "index") != NULL,
			    config_setting_get_member(s, "root") != NULL);
}

static void init_upstream(struct loader *ld, const config_setting_t *s, void *elem)
{
	struct config_at at = config_at_setting(ld, s);

	config_upstream_defaults(&at, elem);
}

/* ---- the tables: one per group of the file. min and max are in the unit
 * of the model: bytes, milliseconds, seconds for expires. */

#define DAY_MS 86400000ULL
#define CFG(m) FIELD(struct config, m)
#define SRV(m) FIELD(struct config_server, m)
#define LOC(m) FIELD(struct config_location, m)
#define UPS(m) FIELD(struct config_upstream, m)
#define ENTRIES(type, m) .count_off = offsetof(type, m)
#define KEY(n, k, f) .name = n, .kind = k, .set = f
#define SCHEMA(n, k) .noun = n, .keys = k, .nkeys = sizeof(k) / sizeof(k[0])
/* struct config_static, in a server or a location; ten years is what
 * "max" stands for */
#define STATIC_KEYS(OF) \
	{ KEY("follow_symlinks", K_STRING,  set_follow_symlinks), \
	  OF(stat.follow_symlinks) }, \
	{ KEY("serve_dotfiles",  K_BOOL,    set_flag),    OF(stat.serve_dotfiles) }, \
	{ KEY("autoindex",       K_BOOL,    set_flag),    OF(stat.autoindex) }, \
	{ KEY("precompressed",   K_BOOL,    set_flag),    OF(stat.precompressed) }, \
	{ KEY("expires",         K_EXPIRES, set_expires), OF(stat.expires), \
	  .max = CONFIG_EXPIRES_MAX }

/* clang-format off */
static const struct key location_keys[] = {
	{ KEY("prefix",  K_STRING,  set_prefix),  LOC(prefix), .required = true },
	{ KEY("exact",   K_BOOL,    set_bool),    LOC(exact) },
	{ KEY("status",  K_BOOL,    set_bool),    LOC(status) },
	{ KEY("root",    K_STRING,  set_root),    LOC(root) },
	{ KEY("proxy",   K_STRING,  set_proxy),   LOC(proxy) },
	{ KEY("preserve_host", K_BOOL, set_flag), LOC(preserve_host) },
	{ KEY("via",     K_BOOL,    set_flag),    LOC(via) },
	STATIC_KEYS(LOC),
};

static const struct schema location_schema = {
	SCHEMA("location", location_keys), .size = sizeof(struct config_location),
	.init = init_location, .finish = finish_location,
};

static const struct key server_keys[] = {
	{ KEY("listen",       K_STRINGS, set_listen),       .required = true },
	{ KEY("server_names", K_STRINGS, set_server_names) },
	{ KEY("default",      K_BOOL,    set_bool),         SRV(is_default) },
	{ KEY("root",         K_STRING,  set_root),         SRV(root) },
	{ KEY("index",        K_STRINGS, set_index) },
	{ KEY("access_log",   K_STRING,  set_access_log),   SRV(access_log) },
	{ KEY("preserve_host", K_BOOL,   set_bool),         SRV(preserve_host) },
	{ KEY("via",          K_BOOL,    set_bool),         SRV(via) },
	STATIC_KEYS(SRV),
	{ KEY("error_pages",  K_STRINGS, set_error_pages) },
	{ KEY("locations",    K_LIST,    set_list),         SRV(locations),
	  ENTRIES(struct config_server, nlocations), .sub = &location_schema },
};

static const struct schema server_schema = {
	SCHEMA("server", server_keys), .size = sizeof(struct config_server),
	.init = init_server, .finish = finish_server,
};

static const struct key server_entry_keys[] = {
	{ KEY("address", K_STRING, set_string), FIELD(struct server_entry, address),
	  .required = true },
	{ KEY("weight",  K_INT,    set_uint),   FIELD(struct server_entry, weight),
	  .min = 1, .max = 1000 },
};

static const struct schema server_entry_schema = {
	SCHEMA("upstream server", server_entry_keys),
};

static const struct key upstream_keys[] = {
	{ KEY("name",            K_STRING,   set_upstream_name),    UPS(name), .required = true },
	{ KEY("servers",         K_SERVERS,  set_upstream_servers), .required = true },
	{ KEY("balance",         K_STRING,   set_balance) },
	{ KEY("keepalive",       K_INT,      set_uint),     UPS(keepalive), .max = 65536 },
	{ KEY("keepalive_timeout", K_DURATION, set_duration), UPS(keepalive_timeout_ms),
	  .min = 1, .max = DAY_MS },
	{ KEY("connect_timeout", K_DURATION, set_duration), UPS(connect_timeout_ms),
	  .min = 1, .max = DAY_MS },
	{ KEY("send_timeout",    K_DURATION, set_duration), UPS(send_timeout_ms),
	  .min = 1, .max = DAY_MS },
	{ KEY("read_timeout",    K_DURATION, set_duration), UPS(read_timeout_ms),
	  .min = 1, .max = DAY_MS },
	{ KEY("max_fails",       K_INT,      set_uint),     UPS(max_fails), .max = 1000 },
	{ KEY("fail_timeout",    K_DURATION, set_duration), UPS(fail_timeout_ms),
	  .min = 1, .max = DAY_MS },
};

static const struct schema upstream_schema = {
	SCHEMA("upstream", upstream_keys), .size = sizeof(struct config_upstream),
	.init = init_upstream,
};

static const struct key timeout_keys[] = {
	{ KEY("header",    K_DURATION, set_duration), CFG(timeouts.header_ms),    .min = 1, .max = DAY_MS },
	{ KEY("body",      K_DURATION, set_duration), CFG(timeouts.body_ms),      .min = 1, .max = DAY_MS },
	{ KEY("keepalive", K_DURATION, set_duration), CFG(timeouts.keepalive_ms), .min = 1, .max = DAY_MS },
	{ KEY("send",      K_DURATION, set_duration), CFG(timeouts.send_ms),      .min = 1, .max = DAY_MS },
	{ KEY("shutdown",  K_DURATION, set_duration), CFG(timeouts.shutdown_ms),  .min = 1, .max = DAY_MS },
	{ KEY("tunnel",    K_DURATION, set_duration), CFG(timeouts.tunnel_ms),    .min = 1, .max = DAY_MS },
};

static const struct schema timeout_schema = { SCHEMA("timeouts", timeout_keys) };

/* 0 is "no limit" where the minimum is 0 */
static const struct key limit_keys[] = {
	{ KEY("max_connections", K_INT,  set_uint), CFG(limits.max_connections), .max = 100000000 },
	{ KEY("header_size",     K_SIZE, set_size), CFG(limits.header_size),
	  .min = 1 << 10, .max = 1 << 20 },
	{ KEY("uri_size",        K_SIZE, set_size), CFG(limits.uri_size),
	  .min = 256, .max = 1 << 20 },
	{ KEY("headers",         K_INT,  set_uint), CFG(limits.headers),
	  .min = 1, .max = CONFIG_MAX_HEADERS },
	{ KEY("body_size",       K_SIZE, set_size), CFG(limits.body_size), .max = INT64_MAX },
	{ KEY("requests_per_connection", K_INT, set_uint),
	  CFG(limits.requests_per_connection), .max = UINT32_MAX },
};

static const struct schema limit_schema = { SCHEMA("limits", limit_keys) };

static const struct key root_keys[] = {
	{ KEY("workers",         K_WORKERS, set_workers),   CFG(workers), .max = 1024 },
	{ KEY("master_process",  K_BOOL,    set_bool),      CFG(master_process) },
	{ KEY("events_batch",    K_INT,     set_uint),      CFG(events_batch), .min = 1, .max = 65536 },
	{ KEY("coroutine_stack", K_SIZE,    set_size),      CFG(coroutine_stack),
	  .min = 16 << 10, .max = 64 << 20 },
	{ KEY("user",            K_STRING,  set_string),    CFG(user) },
	{ KEY("group",           K_STRING,  set_string),    CFG(group) },
	{ KEY("pid_file",        K_STRING,  set_string),    CFG(pid_file) },
	{ KEY("error_log",       K_STRING,  set_string),    CFG(error_log) },
	{ KEY("log_level",       K_STRING,  set_log_level) },
	{ KEY("sites",           K_STRING,  set_string),    CFG(sites) },
	{ KEY("file_cache_entries",  K_INT,      set_uint),     CFG(file_cache_entries),
	  .max = 1000000 },
	{ KEY("file_cache_valid",    K_DURATION, set_duration), CFG(file_cache_valid_ms),
	  .min = 1, .max = DAY_MS },
	{ KEY("file_cache_max_size", K_SIZE,     set_size),     CFG(file_cache_max_size),
	  .max = 64 << 20 },
	{ KEY("mime_types",      K_STRING,  set_mime_types), CFG(mime_types) },
	{ KEY("access_log_format", K_STRING, set_log_format) },
	{ KEY("trusted_proxies", K_STRINGS, set_trusted_proxies) },
	{ KEY("timeouts",        K_GROUP,   set_group),     .sub = &timeout_schema },
	{ KEY("limits",          K_GROUP,   set_group),     .sub = &limit_schema },
	{ KEY("servers",         K_LIST,    set_list),      CFG(servers),
	  ENTRIES(struct config, nservers), .sub = &server_schema },
	{ KEY("upstreams",       K_LIST,    set_list),      CFG(upstreams),
	  ENTRIES(struct config, nupstreams), .sub = &upstream_schema },
};
/* clang-format on */

const struct schema config_root_schema = { SCHEMA("configuration", root_keys) };

/* The upstreams made for proxy URLs go after the named ones; only then,
 * with cfg->upstreams at its final place, do locations point into it. */
static void link_upstreams(struct loader *ld)
{
	struct config *cfg = ld->cfg;

	for (size_t i = 0; i < ld->nimplicit; i++) {
		struct config_upstream *up =
			config_grow(ld, cfg->upstreams, &cfg->nupstreams, sizeof(*up));

		if (up == NULL)
			return; /* config_load frees the rest */
		cfg->upstreams = up;
		up[cfg->nupstreams++] = ld->implicit[i];
		ld->implicit[i] = (struct config_upstream){ 0 };
	}
	ld->nimplicit = 0;
	/* A name has no "://" and a URL is the name of its own upstream. */
	for (size_t i = 0; i < cfg->nservers; i++) {
		for (size_t j = 0; j < cfg->servers[i].nlocations; j++) {
			struct config_location *loc = &cfg->servers[i].locations[j];

			for (size_t u = 0; loc->proxy != NULL && u < cfg->nupstreams; u++) {
				const char *name = cfg->upstreams[u].name;

				if (name != NULL && strcmp(name, loc->proxy) == 0) {
					loc->upstream = &cfg->upstreams[u];
					break;
				}
			}
		}
	}
}

/* What needs the whole file: references to upstreams, at least one server. */
void config_check_file(struct loader *ld, const config_setting_t *root)
{
	const struct config *cfg = ld->cfg;
	const config_setting_t *servers = config_setting_get_member(root, "servers");

	if (cfg->nservers == 0 && (servers == NULL || config_setting_is_list(servers)))
		config_fail(ld, servers ? servers : root,
			    "at least one server is required");
	for (size_t i = 0; i < ld->nproxies; i++) {
		struct config_at at = config_at_setting(ld, ld->proxies[i]);

		config_check_upstream_name(&at, cfg,
					   config_setting_get_string(ld->proxies[i]));
	}
	link_upstreams(ld);
}
