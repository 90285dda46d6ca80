/* path: request-target -> a clean path relative to a document root, and
 * opening it beneath the root without escaping it (openat2 RESOLVE_BENEATH).
 * Knows nothing of HTTP messages: callers map the results to statuses. */
#ifndef GARCOM_PATH_H
#define GARCOM_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define PATH_BUF 4096

enum path_result {
	PATH_OK = 0,
	PATH_BAD = -1,     /* malformed %, a NUL, not origin-form: 400 */
	PATH_ESCAPES = -2, /* ".." above the root: 400 */
	PATH_TOO_LONG = -3 /* 414 */
};

struct clean_path {
	char rel[PATH_BUF]; /* no leading slash; "." for the root itself */
	size_t len;
	bool trailing_slash;
	bool has_dot_segment; /* a segment starting with '.' other than .well-known */
	const char *query;   /* into the target, after '?'; NULL if none */
	size_t query_len;
};

/* Decode percent-escapes once and resolve "." and ".." lexically. */
enum path_result path_clean(const char *target, size_t len, struct clean_path *out);

/* Open rel beneath dirfd (never outside it, symlinks included); flags as
 * for openat. Returns an fd or -errno (-EXDEV when it would escape). */
int path_open_beneath(int dirfd, const char *rel, int flags);

#endif
