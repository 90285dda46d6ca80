/* filecache: see filecache.h. A hash table (chained) plus an LRU list; one
 * allocation per entry holding the key, the header lines and, for small
 * files, the bytes. An entry in use by a response being written (refs > 0)
 * is only unlinked when replaced or evicted, and freed when released. */
#include "filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "date.h"

struct item {
	struct fc_entry e; /* first: fc_release() casts back */
	struct file_cache *fc;
	struct item *hnext;
	struct item *prev, *next; /* LRU, most recent first */
	const struct fc_root *root;
	uint64_t ino, mtime_ns;
	uint64_t checked_ms;
	uint32_t hash;
	unsigned refs;
	bool linked; /* in the table; else freed on the last release */
	bool slash;
	struct fc_answer answer;
	size_t key_len;
	char key[];
};

struct file_cache {
	unsigned max_entries, valid_ms, count;
	size_t max_body, max_total, total_body;
	fc_type_fn type_of;
	struct item **table;
	size_t mask;
	struct item *lru_head, *lru_tail;
};

static const char *default_type(const char *name, size_t len)
{
	(void)name;
	(void)len;
	return "application/octet-stream";
}

struct file_cache *fc_create(unsigned max_entries, unsigned valid_ms, size_t max_body,
			     size_t max_total_body)
{
	struct file_cache *fc = calloc(1, sizeof *fc);
	if (!fc)
		return NULL;
	size_t n = 64;
	while (n < (size_t)max_entries * 2)
		n *= 2;
	fc->table = calloc(n, sizeof *fc->table);
	if (!fc->table) {
		free(fc);
		return NULL;
	}
	fc->mask = n - 1;
	fc->max_entries = max_entries;
	fc->valid_ms = valid_ms;
	fc->max_body = max_body;
	fc->max_total = max_total_body;
	fc->type_of = default_type;
	return fc;
}

void fc_set_type_fn(struct file_cache *fc, fc_type_fn fn)
{
	fc->type_of = fn;
}

static void item_free(struct item *it)
{
	if (it->e.fd >= 0)
		close(it->e.fd);
	if (it->e.body)
		it->fc->total_body -= it->e.size + it->answer.room;
	free(it);
}

static void unlink_item(struct item *it)
{
	struct file_cache *fc = it->fc;
	struct item **pp = &fc->table[it->hash & fc->mask];
	while (*pp != it)
		pp = &(*pp)->hnext;
	*pp = it->hnext;
	if (it->prev)
		it->prev->next = it->next;
	else
		fc->lru_head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		fc->lru_tail = it->prev;
	it->linked = false;
	fc->count--;
	if (!it->refs)
		item_free(it);
}

void fc_destroy(struct file_cache *fc)
{
	if (!fc)
		return;
	while (fc->lru_head)
		unlink_item(fc->lru_head);
	free(fc->table);
	free(fc);
}

void fc_release(const struct fc_entry *e)
{
	struct item *it = (struct item *)e;
	if (--it->refs == 0 && !it->linked)
		item_free(it);
}

bool fc_sole_holder(const struct fc_entry *e)
{
	return ((const struct item *)e)->refs == 1;
}

unsigned fc_count(const struct file_cache *fc)
{
	return fc->count;
}

static uint32_t hash_key(const struct fc_root *root, const char *rel, size_t len, bool slash)
{
	/* Eight bytes a step (a multiply and a shift each), the tail byte
	 * by byte: paths are short, and this runs on every request. */
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = ((uint64_t)(uintptr_t)root ^ (slash ? k : 0) ^ len) * k;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, rel + i, 8);
		h = (h ^ w) * k;
		h ^= h >> 32;
	}
	uint64_t tail = 0;
	for (; i < len; i++)
		tail = tail << 8 | (uint8_t)rel[i];
	h = (h ^ tail) * k;
	return (uint32_t)(h >> 32);
}

/* What opening the path finds, before it becomes an item. */
struct found {
	enum fc_kind kind;
	int error;
	int fd;
	struct stat st;
	char name[PATH_BUF + 256]; /* the file opened (index name for dirs) */
	size_t name_len;
};

/* Open name beneath the root and stat it: an fd, or -errno. */
static int open_stat(const struct fc_root *root, const char *name, struct stat *st)
{
	int fd = path_open(root->dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, root->follow);
	if (fd >= 0 && fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void open_path(const struct fc_root *root, const char *rel, size_t len, bool slash,
		      struct found *f)
{
	f->fd = -1;
	memcpy(f->name, rel, len);
	f->name[len] = 0;
	f->name_len = len;
	int fd = open_stat(root, f->name, &f->st);
	if (fd < 0) {
		f->kind = FC_ERROR;
		f->error = -fd;
		return;
	}
	if (S_ISDIR(f->st.st_mode)) {
		close(fd);
		bool is_root = len == 1 && rel[0] == '.';
		if (!slash && !is_root) {
			f->kind = FC_DIR;
			return;
		}
		for (size_t i = 0; i < root->nindex; i++) {
			int n = is_root ? snprintf(f->name, sizeof f->name, "%s", root->index[i])
					: snprintf(f->name, sizeof f->name, "%.*s/%s", (int)len, rel,
						   root->index[i]);
			if (n < 0 || (size_t)n >= sizeof f->name)
				continue;
			fd = open_stat(root, f->name, &f->st);
			if (fd == -ENOENT)
				continue;
			if (fd < 0) {
				f->kind = FC_ERROR;
				f->error = -fd;
				return;
			}
			f->name_len = (size_t)n;
			if (!S_ISREG(f->st.st_mode)) {
				close(fd);
				continue;
			}
			f->kind = FC_FILE;
			f->fd = fd;
			return;
		}
		f->kind = FC_NOINDEX;
		return;
	}
	if (!S_ISREG(f->st.st_mode) || slash) {
		/* Devices, fifos, sockets; and "file.txt/" is not a directory. */
		close(fd);
		f->kind = FC_ERROR;
		f->error = ENOENT;
		return;
	}
	f->kind = FC_FILE;
	f->fd = fd;
}

static uint64_t mtime_ns(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
}

static bool same_as(const struct item *it, const struct found *f)
{
	if (it->e.kind != f->kind)
		return false;
	if (f->kind == FC_ERROR)
		return it->e.error == f->error;
	if (f->kind != FC_FILE)
		return true;
	return it->ino == (uint64_t)f->st.st_ino && it->e.size == (uint64_t)f->st.st_size &&
	       it->mtime_ns == mtime_ns(&f->st);
}

/* Build the item for what was found; takes f->fd. NULL when out of memory. */
static struct item *make_item(struct file_cache *fc, const struct fc_root *root,
			      const char *rel, size_t len, bool slash, uint32_t hash,
			      struct found *f)
{
	char head[640]; /* a type is at most 255 bytes (config_mime.c) */
	size_t head_len = 0, etag_len = 0, type_len = 0;
	const char *type = "";
	bool in_memory = false;
	char etag[64];
	if (f->kind == FC_FILE) {
		type = fc->type_of(f->name, f->name_len);
		type_len = strlen(type);
		etag_len = (size_t)snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
					    (uint64_t)f->st.st_ino, (uint64_t)f->st.st_size,
					    mtime_ns(&f->st));
		char lm[HTTP_DATE_LEN + 1];
		date_format(f->st.st_mtim.tv_sec, lm);
		int n = snprintf(head, sizeof head,
				 "Content-Type: %s\r\nLast-Modified: %s\r\nETag: %s\r\n"
				 "Accept-Ranges: bytes\r\n", type, lm, etag);
		head_len = n > 0 && (size_t)n < sizeof head ? (size_t)n : 0;
		in_memory = (uint64_t)f->st.st_size <= fc->max_body && fc->max_entries &&
			    fc->total_body + (size_t)f->st.st_size + FC_ANSWER_EXTRA + head_len <=
				    fc->max_total;
	}
	size_t body_len = in_memory ? (size_t)f->st.st_size : 0;
	/* The answer room: a status line, Server, Date, Content-Length and
	 * the blank line fit in FC_ANSWER_EXTRA beside the header lines. */
	size_t answer_room = in_memory ? FC_ANSWER_EXTRA + head_len : 0;
	size_t sz = sizeof(struct item) + len + 1 + head_len + 1 + etag_len + 1 + type_len + 1 +
		    f->name_len + 1 + answer_room + body_len;
	struct item *it = malloc(sz);
	if (!it) {
		if (f->fd >= 0)
			close(f->fd);
		return NULL;
	}
	memset(it, 0, sizeof *it);
	it->fc = fc;
	it->root = root;
	it->hash = hash;
	it->slash = slash;
	it->key_len = len;
	char *p = it->key;
	memcpy(p, rel, len);
	p[len] = 0;
	p += len + 1;
	it->e.kind = f->kind;
	it->e.error = f->error;
	it->e.fd = -1;
	it->e.head = memcpy(p, head, head_len);
	p[head_len] = 0;
	it->e.head_len = head_len;
	p += head_len + 1;
	it->e.etag = memcpy(p, etag, etag_len);
	p[etag_len] = 0;
	it->e.etag_len = etag_len;
	p += etag_len + 1;
	it->e.type = memcpy(p, type, type_len);
	p[type_len] = 0;
	it->e.type_len = type_len;
	p += type_len + 1;
	it->e.name = memcpy(p, f->name, f->name_len);
	p[f->name_len] = 0;
	it->e.name_len = f->name_len;
	p += f->name_len + 1;
	if (f->kind == FC_FILE) {
		it->ino = (uint64_t)f->st.st_ino;
		it->mtime_ns = mtime_ns(&f->st);
		it->e.size = (uint64_t)f->st.st_size;
		it->e.mtime = f->st.st_mtim.tv_sec;
		if (in_memory) {
			p += answer_room;
			ssize_t r = body_len ? pread(f->fd, p, body_len, 0) : 0;
			if (r == (ssize_t)body_len) {
				it->e.body = p;
				it->answer = (struct fc_answer){ .room = answer_room, .sec = -1 };
				it->e.answer = &it->answer;
				fc->total_body += body_len + answer_room; /* the room counts */
				close(f->fd);
				f->fd = -1;
			}
			/* A short read (the file shrank): fall back to sendfile,
			 * which will notice. */
		}
		it->e.fd = f->fd;
	}
	f->fd = -1;
	return it;
}

static void link_item(struct file_cache *fc, struct item *it)
{
	struct item **slot = &fc->table[it->hash & fc->mask];
	it->hnext = *slot;
	*slot = it;
	it->prev = NULL;
	it->next = fc->lru_head;
	if (fc->lru_head)
		fc->lru_head->prev = it;
	else
		fc->lru_tail = it;
	fc->lru_head = it;
	it->linked = true;
	fc->count++;
	while (fc->count > fc->max_entries && fc->lru_tail)
		unlink_item(fc->lru_tail);
}

static void touch(struct file_cache *fc, struct item *it)
{
	if (fc->lru_head == it)
		return;
	it->prev->next = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		fc->lru_tail = it->prev;
	it->prev = NULL;
	it->next = fc->lru_head;
	fc->lru_head->prev = it;
	fc->lru_head = it;
}

const struct fc_entry *fc_get(struct file_cache *fc, const struct fc_root *root,
			      const char *rel, size_t len, bool slash, uint64_t now_ms)
{
	uint32_t h = hash_key(root, rel, len, slash);
	struct item *it = fc->table[h & fc->mask];
	while (it && !(it->hash == h && it->root == root && it->slash == slash &&
		       it->key_len == len && memcmp(it->key, rel, len) == 0))
		it = it->hnext;
	if (it && now_ms - it->checked_ms < fc->valid_ms) {
		touch(fc, it);
		it->refs++;
		return &it->e;
	}
	struct found f;
	open_path(root, rel, len, slash, &f);
	if (it && same_as(it, &f)) {
		if (f.fd >= 0)
			close(f.fd);
		it->checked_ms = now_ms;
		touch(fc, it);
		it->refs++;
		return &it->e;
	}
	if (it)
		unlink_item(it); /* changed on disk: replaced below */
	struct item *fresh = make_item(fc, root, rel, len, slash, h, &f);
	if (!fresh)
		return NULL;
	fresh->checked_ms = now_ms;
	fresh->refs = 1;
	if (fc->max_entries)
		link_item(fc, fresh);
	return &fresh->e;
}
