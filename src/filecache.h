/* filecache: a per-worker open-file cache. For a (root, path) it keeps what
 * opening it found: a file (its stat identity, ETag, the built header lines,
 * and either its bytes in memory or an open descriptor), a directory, or an
 * error. Entries are revalidated with one open+stat at most every `valid_ms`
 * and evicted least-recently-used. Knows files, not HTTP messages. */
#ifndef GARCOM_FILECACHE_H
#define GARCOM_FILECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "path.h"

enum fc_kind {
	FC_FILE,    /* a regular file (for a directory key: its index file) */
	FC_DIR,     /* a directory asked for without its trailing slash */
	FC_NOINDEX, /* a directory asked for with a slash, no index file in it */
	FC_ERROR,   /* could not be opened: `error` says why */
};

struct fc_entry {
	enum fc_kind kind;
	int error;          /* errno for FC_ERROR */
	int fd;             /* open descriptor of a file not held in memory, else -1 */
	uint64_t size;
	time_t mtime;
	const char *body;   /* the whole file when held in memory, else NULL */
	const char *etag;   /* quoted, strong */
	size_t etag_len;
	/* "Content-Type: ...\r\nLast-Modified: ...\r\nETag: ...\r\nAccept-Ranges: bytes\r\n":
	 * a plain 200's header lines, built once. */
	const char *head;
	size_t head_len;
	const char *type;   /* Content-Type value */
	size_t type_len;
	const char *name;   /* the file opened, relative to the root */
	size_t name_len;
	/* A body held in memory has room right before it for a whole
	 * response head, kept by the handler (see struct fc_answer); NULL
	 * when the body is not in memory. */
	struct fc_answer *answer;
};

#define FC_ANSWER_EXTRA 160 /* room beyond the header lines (http_head_200) */

/* The head kept in an entry's room: it ends where the body starts, so head
 * and body leave as one piece. Only the entry's sole holder may rewrite
 * it (fc_sole_holder): an answer in flight may point into it. */
struct fc_answer {
	size_t room; /* bytes before body */
	size_t len;  /* the head there now; 0: none */
	int64_t sec; /* the second its Date says */
};

struct fc_root {
	int dirfd;
	char *const *index;
	size_t nindex;
	enum path_follow follow;
};

struct file_cache;

/* max_entries 0: nothing is kept; every lookup opens afresh. */
struct file_cache *fc_create(unsigned max_entries, unsigned valid_ms, size_t max_body,
			     size_t max_total_body);
void fc_destroy(struct file_cache *fc);

/* Content-Type for a file name (set by the caller: mime module). */
typedef const char *(*fc_type_fn)(const char *name, size_t len);
void fc_set_type_fn(struct file_cache *fc, fc_type_fn fn);

/* What `rel` (a cleaned path; "." for the root) is beneath root. A slash
 * asks for a directory's index. The entry is held until fc_release(). */
const struct fc_entry *fc_get(struct file_cache *fc, const struct fc_root *root,
			      const char *rel, size_t len, bool slash, uint64_t now_ms);
void fc_release(const struct fc_entry *e);
/* No one but the caller holds the entry (its one fc_get()). */
bool fc_sole_holder(const struct fc_entry *e);

/* For tests and metrics. */
unsigned fc_count(const struct file_cache *fc);

#endif
