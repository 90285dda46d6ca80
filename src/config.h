/* config: the main file (libconfig) -> one immutable model. Every key is
 * checked against a schema; unknown keys, wrong types and out-of-range values
 * are reported as "FILE:LINE: message", all of them, not only the first.
 * Knows nothing of sockets or workers. */
#ifndef GARCOM_CONFIG_H
#define GARCOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct config_listen {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set */
	socklen_t addrlen;
	char text[64]; /* as written: "0.0.0.0:8080", "[::]:8080" */
};

enum follow_symlinks { FOLLOW_INSIDE = 0, FOLLOW_ALWAYS, FOLLOW_NEVER };

#define EXPIRES_OFF (-1L)     /* no Cache-Control */
#define EXPIRES_INHERIT (-2L) /* a location without its own: the server's */
/* LONG_MAX = "max" (10 years, as nginx) */

/* How static files are served. A server sets them (defaults below); a
 * location may override each one, else it inherits (-1 / EXPIRES_INHERIT). */
struct config_static {
	int8_t follow_symlinks; /* enum follow_symlinks; default FOLLOW_INSIDE */
	int8_t serve_dotfiles;  /* bool, default false */
	int8_t autoindex;       /* bool, default false */
	int8_t precompressed;   /* bool, default false */
	long expires;           /* seconds, EXPIRES_OFF (default), LONG_MAX */
};

/* "404 /404.html" and "500 502 503 504 /50x.html" (nginx's error_page). */
struct config_error_page {
	int status;
	char *uri; /* a path under the server's root, starting with '/' */
};

struct config_location {
	char *prefix;
	bool exact;
	char *root;    /* NULL: the server's */
	char *proxy;   /* NULL: static; else an upstream name or http:// URL */
	bool status;   /* answers with the metrics (Prometheus text format) */
	/* Resolved at load: the upstream proxied to (an http:// URL gets an
	 * implicit upstream of its own, with the defaults), and the URL's
	 * path: NULL when none was given (the request URI passes unchanged),
	 * else it replaces the location's prefix, as nginx's proxy_pass. */
	struct config_upstream *upstream;
	char *proxy_path;
	int8_t preserve_host; /* -1: the server's */
	int8_t via;           /* -1: the server's */
	struct config_static stat; /* -1 / EXPIRES_INHERIT: the server's */
	const char *file;
	int line;
};

struct config_server {
	struct config_listen *listens;
	size_t nlistens;
	char **names; /* server_names; none = default server */
	size_t nnames;
	bool is_default;
	char *root;   /* absolute, no trailing slash (except "/"); NULL only
	               * if a location "/" catches what no other location takes
	               * and every static location has its own root */
	char **index; /* default: { "index.html" } */
	size_t nindex;
	char *access_log; /* NULL = off */
	struct config_static stat; /* never "inherit" here */
	bool preserve_host; /* proxy: pass the client's Host (default true) */
	bool via;           /* proxy: add "Via: 1.1 garcom" (default true) */
	struct config_error_page *error_pages; /* one entry per status */
	size_t nerror_pages;
	struct config_location *locations;
	size_t nlocations;
	const char *file; /* where the server block starts */
	int line;
};

enum balance { BALANCE_ROUND_ROBIN = 0, BALANCE_LEAST_CONN };

struct config_upstream {
	char *name;
	struct config_listen *servers;
	size_t nservers;
	unsigned *weights;        /* per server, default 1 (1..1000) */
	unsigned keepalive;       /* idle connections kept per worker */
	unsigned keepalive_timeout_ms; /* an idle one is closed after; default 60 s */
	unsigned connect_timeout_ms, send_timeout_ms, read_timeout_ms;
	unsigned max_fails;       /* failures within fail_timeout that mark a
				   * server down for fail_timeout; 0 = never */
	unsigned fail_timeout_ms; /* default 10 s */
	enum balance balance;
	bool implicit;            /* made for a location's http:// URL */
	const char *file;
	int line;
};

/* A trusted_proxies entry: an address and prefix length (CIDR). */
struct config_cidr {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port 0 */
	unsigned prefix;
};

struct config {
	char *path; /* the main file, as given */
	unsigned workers; /* 0 = "auto": CPUs online */
	bool master_process;
	unsigned events_batch;   /* 1..65536, default 512 */
	size_t coroutine_stack;  /* bytes, 16k..64m, default 64k */
	char *user, *group;      /* NULL = not set */
	char *pid_file;          /* NULL = none */
	char *error_log;         /* "stderr" or a path */
	enum log_level log_level;
	char *sites;             /* glob, NULL = none */
	struct {
		unsigned header_ms, body_ms, keepalive_ms, send_ms, shutdown_ms;
		unsigned tunnel_ms; /* an idle WebSocket/Upgrade tunnel; default 1 h */
	} timeouts;
	struct {
		unsigned max_connections;      /* 0 = no limit */
		size_t header_size;            /* default 8192 */
		size_t uri_size;               /* request-target; default 4096 */
		unsigned headers;              /* header fields; default 100 */
#define CONFIG_MAX_HEADERS 100
		uint64_t body_size;            /* default 1m, 0 = no limit */
		unsigned requests_per_connection; /* 0 = no limit */
	} limits;
	/* Per-worker open-file cache. */
	unsigned file_cache_entries; /* 0 = no cache; default 10000 */
	unsigned file_cache_valid_ms; /* revalidate with a stat; default 1 s */
	size_t file_cache_max_size;  /* bodies kept in memory up to; default 64k */
	/* mime_types: extra "type ext ext..." lines (the /etc/mime.types
	 * format), applied over the built-in table; later lines win. */
	char *mime_types; /* the file, NULL = none */
	bool access_log_json; /* access_log_format = "json" (else "combined") */
	struct config_mime { char *ext; char *type; } *mime;
	size_t nmime;
	struct config_server *servers;
	size_t nservers;
	struct config_upstream *upstreams; /* named ones, then implicit ones */
	size_t nupstreams;
	/* Clients whose X-Forwarded-For / X-Real-IP / Forwarded are believed. */
	struct config_cidr *trusted_proxies;
	size_t ntrusted_proxies;
	char **files; /* owns the names the `file` members point to */
	size_t nfiles;
};

/* Parse and validate `path`. On success returns 0 and sets *out. Otherwise
 * writes one "FILE:LINE: message\n" per error to `errors` and returns the
 * number of errors (>0); *out is left NULL. */
int config_load(const char *path, struct config **out, FILE *errors);
void config_free(struct config *cfg);

/* Print the effective configuration in the main file's syntax (for -T). */
void config_dump(const struct config *cfg, FILE *out);

/* "64k" / 65536 style sizes and "10s" / "500ms" / 30 style times, for reuse
 * by site files. Return 0 or -1 when malformed. */
int config_parse_size(const char *text, uint64_t *bytes);
int config_parse_duration_ms(const char *text, uint64_t *ms);
/* And back, in the largest unit that divides: "64k", "10s", "500ms". */
void config_fmt_size(char *buf, size_t len, uint64_t bytes);
void config_fmt_duration(char *buf, size_t len, uint64_t ms);

/* "0.0.0.0:8080", "[::1]:80", "*:8080", "8080" -> addr. Returns 0 or -1. */
int config_parse_listen(const char *text, struct config_listen *out);

/* trusted_proxies entries: "10.0.0.0/8", "fd00::/8", an address alone for
 * its full length. CIDR_BAD_PREFIX: /N beyond 32 or 128; CIDR_HOST_BITS:
 * bits set beyond /N ("10.0.0.1/8"), *out then holds the network with them
 * cleared ("10.0.0.0/8"), to suggest. */
enum config_cidr_parse {
	CIDR_OK = 0,
	CIDR_MALFORMED = -1,
	CIDR_BAD_PREFIX = -2,
	CIDR_HOST_BITS = -3,
};
int config_parse_cidr(const char *text, struct config_cidr *out);

/* "http://HOST[:PORT][/PATH]" cut in its parts; HOST may be a name, left to
 * the caller to resolve. Returns 0, or -1 with *why saying what is wrong
 * ("https upstreams are not supported", ...). */
struct config_proxy_url {
	char host[256];   /* without the brackets of an IPv6 literal */
	bool ipv6;        /* host was written [IPv6] */
	uint16_t port;    /* 80 when not given */
	const char *path; /* into the text, from its '/'; NULL when none */
};
int config_parse_proxy_url(const char *text, struct config_proxy_url *out,
			   const char **why);

/* Same address and port, however they were written ("*:80" = "0.0.0.0:80"). */
static inline bool config_listen_equal(const struct config_listen *a,
				       const struct config_listen *b)
{
	return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

#endif
