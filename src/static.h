/* static: answer a request with a file beneath a document root. Knows the
 * request model and the reply; not epoll, not coroutines. */
#ifndef GARCOM_STATIC_H
#define GARCOM_STATIC_H

#include <stddef.h>

#include "http.h"
#include "path.h"

struct static_root {
	int dirfd;           /* O_PATH directory of the root, opened once */
	char *const *index;  /* index file names for directories */
	size_t nindex;
};

/* Open the root (O_PATH | O_DIRECTORY). Returns 0 or -errno. */
int static_root_open(struct static_root *root, const char *path, char *const *index,
		     size_t nindex);
void static_root_close(struct static_root *root);

/* cp: the request's path, cleaned by path_clean(). */
int static_serve(const struct static_root *root, const struct http_request *req,
		 const struct clean_path *cp, struct http_reply *reply, struct http_out *out);

#endif
