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

/* How symlinks in a path are treated (config follow_symlinks). */
enum path_follow {
	PATH_FOLLOW_INSIDE = 0, /* followed while they stay beneath dirfd */
	PATH_FOLLOW_ALWAYS,     /* followed anywhere */
	PATH_FOLLOW_NEVER,      /* any symlink fails */
};

/* Open rel beneath dirfd; flags as for openat. Returns an fd or -errno:
 * -EXDEV when it would escape dirfd, -ELOOP for a refused symlink. */
int path_open(int dirfd, const char *rel, int flags, enum path_follow follow);

static inline int path_open_beneath(int dirfd, const char *rel, int flags)
{
	return path_open(dirfd, rel, flags, PATH_FOLLOW_INSIDE);
}

#endif
