/* static: answer a request with a file beneath a document root: index
 * files, conditional requests, ranges, precompressed variants, directory
 * listings, error pages. Knows the request model, the reply and the file
 * cache; not epoll, not coroutines. */
#ifndef GARCOM_STATIC_H
#define GARCOM_STATIC_H

#include <stddef.h>

#include "config.h"
#include "filecache.h"
#include "http.h"
#include "path.h"

/* Where and how one location (or a server) serves files. */
struct static_loc {
	struct fc_root root;           /* dirfd -1: no root here */
	struct config_static opts;     /* merged: no "inherit" left */
	char cache_control[64];        /* "Cache-Control: max-age=N\r\n" or "" */
	size_t cache_control_len;
	const struct config_server *server; /* its error_pages */
	const struct static_loc *error_loc; /* where error pages are looked up */
	struct file_cache *cache;
	bool borrowed; /* root.dirfd belongs to the server's static_loc */
};

/* Fill loc for a root directory (opened O_PATH) and merged options.
 * Returns 0 or -errno. path NULL: a location without files. */
int static_loc_init(struct static_loc *loc, const char *path, const struct config_server *srv,
		    const struct config_static *opts, struct file_cache *cache);
void static_loc_close(struct static_loc *loc);

/* cp: the request's path, cleaned by path_clean(). */
int static_serve(const struct static_loc *loc, const struct http_request *req,
		 const struct clean_path *cp, struct http_reply *reply, struct http_out *out);

/* An error reply, through the server's error_pages when one is set. */
int static_error(const struct static_loc *loc, const struct http_request *req, int status,
		 struct http_reply *reply, struct http_out *out);

#endif
