/* path: see path.h. openat2 where the kernel has it; older kernels get an
 * O_NOFOLLOW walk that refuses every symlink (safe, stricter). */
#include "path.h"

static int no_openat2; /* kernel said ENOSYS once: use the walk from now on */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum path_result path_clean(const char *t, size_t len, struct clean_path *out)
{
	/* The usual target: origin-form with nothing to decode or fold and no
	 * dot segment ("/" followed by "/" or "."), maybe a query: one pass
	 * finds that out, and the path is copied as it is. */
	if (len > 0 && t[0] == '/' && len < PATH_BUF - 1) {
		static const uint8_t stop[256] = { ['%'] = 1, ['#'] = 1, ['?'] = 1, ['/'] = 2 };
		size_t i = 0;
		for (; i < len; i++) {
			uint8_t k = stop[(unsigned char)t[i]];
			if (k && (k == 1 || (i + 1 < len && (t[i + 1] == '/' || t[i + 1] == '.'))))
				break;
		}
		if (i == len || t[i] == '?') {
			out->query = NULL;
			out->query_len = 0;
			if (i < len) {
				const char *q = t + i + 1;
				const char *frag = memchr(q, '#', len - i - 1);
				out->query = q;
				out->query_len = frag ? (size_t)(frag - q) : len - i - 1;
			}
			out->trailing_slash = t[i - 1] == '/';
			size_t n = i - 1 - (i > 1 && out->trailing_slash);
			memcpy(out->rel, t + 1, n);
			if (n == 0)
				out->rel[n++] = '.';
			out->rel[n] = 0;
			out->len = n;
			out->has_dot_segment = false;
			return PATH_OK;
		}
	}
	const char *end = t + len;
	const char *frag = memchr(t, '#', len); /* never sent, but never a path */
	if (frag) {
		end = frag;
		len = (size_t)(frag - t);
	}
	/* absolute-form (RFC 9112 3.2.2): skip scheme and authority. */
	size_t skip = len < 7 || t[0] == '/'				  ? 0
		      : len >= 8 && strncasecmp(t, "https://", 8) == 0 ? 8
		      : strncasecmp(t, "http://", 7) == 0		  ? 7
									  : 0;
	if (skip) {
		const char *p = memchr(t + skip, '/', len - skip);
		const char *q = memchr(t + skip, '?', len - skip);
		if (q && (!p || q < p))
			p = q;
		t = p ? p : end;
		if (t == end || *t == '?') {
			static const char root[] = "/";
			out->query = t < end ? t + 1 : NULL;
			out->query_len = t < end ? (size_t)(end - t - 1) : 0;
			t = root;
			end = root + 1;
			goto decode;
		}
	}
	if (t == end || *t != '/')
		return PATH_BAD;
	const char *q = memchr(t, '?', (size_t)(end - t));
	out->query = q ? q + 1 : NULL;
	out->query_len = q ? (size_t)(end - q - 1) : 0;
	if (q)
		end = q;
decode:;
	/* Decode into out->rel with a leading '/', then fold segments. */
	char buf[PATH_BUF];
	size_t n = 0;
	for (const char *p = t; p < end; p++) {
		char c = *p;
		if (c == '%') {
			if (end - p < 3)
				return PATH_BAD;
			int hi = hexval(p[1]), lo = hexval(p[2]);
			if (hi < 0 || lo < 0)
				return PATH_BAD;
			c = (char)(hi * 16 + lo);
			if (c == 0)
				return PATH_BAD;
			p += 2;
		}
		if (n + 1 >= sizeof buf)
			return PATH_TOO_LONG;
		buf[n++] = c;
	}
	out->trailing_slash = n > 0 && buf[n - 1] == '/';

	/* Segment walk: "" and "." vanish, ".." pops, others are kept. */
	size_t o = 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && buf[i] == '/')
			i++;
		size_t s = i;
		while (i < n && buf[i] != '/')
			i++;
		size_t sl = i - s;
		if (sl == 0 || (sl == 1 && buf[s] == '.'))
			continue;
		if (sl == 2 && buf[s] == '.' && buf[s + 1] == '.') {
			if (o == 0)
				return PATH_ESCAPES;
			while (o > 0 && out->rel[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the separator */
			continue;
		}
		if (o)
			out->rel[o++] = '/';
		memcpy(out->rel + o, buf + s, sl);
		o += sl;
	}
	if (o == 0)
		out->rel[o++] = '.';
	out->rel[o] = 0;
	out->len = o;
	/* Dotfiles (.git, .env) are hidden; /.well-known/ is public. */
	out->has_dot_segment = false;
	if (o > 1 || out->rel[0] != '.') {
		for (size_t k = 0; k < o; k++) {
			if (out->rel[k] != '.' || (k > 0 && out->rel[k - 1] != '/'))
				continue;
			bool well_known = k == 0 && strncmp(out->rel, ".well-known", 11) == 0 &&
					  (out->rel[11] == '/' || out->rel[11] == 0);
			if (!well_known)
				out->has_dot_segment = true;
		}
	}
	return PATH_OK;
}


/* Without openat2: one component at a time with O_NOFOLLOW, so every
 * symlink is refused (stricter than "inside", never looser). */
static int open_walk(int dirfd, const char *rel, int flags)
{
	char part[PATH_BUF];
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		memcpy(part, p, n);
		part[n] = 0;
		int f = slash ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : flags | O_NOFOLLOW;
		int next = openat(fd, part, f);
		int e = errno;
		close(fd);
		if (next < 0)
			return -e;
		fd = next;
		if (!slash)
			return fd;
		p = slash + 1;
	}
}

int path_open(int dirfd, const char *rel, int flags, enum path_follow follow)
{
	if (follow == PATH_FOLLOW_ALWAYS) {
		int fd = openat(dirfd, rel, flags);
		return fd < 0 ? -errno : fd;
	}
	if (!no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
				   (follow == PATH_FOLLOW_NEVER ? RESOLVE_NO_SYMLINKS : 0),
		};
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		no_openat2 = 1;
	}
	return open_walk(dirfd, rel, flags);
}
