/* static: see static.h. Small files go out of the scratch buffer with the
 * head in one writev; larger ones by sendfile after it. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <llhttp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "date.h"
#include "mime.h"
#include "path.h"

/* Bodies up to this size are copied into the batch, not sendfile'd. */
#define SMALL_FILE 16384

int static_root_open(struct static_root *root, const char *path, char *const *index, size_t nindex)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	root->dirfd = fd;
	root->index = index;
	root->nindex = nindex;
	return 0;
}

void static_root_close(struct static_root *root)
{
	if (root->dirfd >= 0)
		close(root->dirfd);
	root->dirfd = -1;
}

static int status_for_errno(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return 403;
	default: /* ENOENT, ENOTDIR, EXDEV (escapes the root), ELOOP ... */
		return 404;
	}
}

static int error(struct http_reply *reply, int status)
{
	http_reply_error(reply, status);
	return 0;
}

/* 301 to the directory with its slash, query kept. */
static int redirect_dir(const struct http_request *req, struct http_reply *reply,
			struct http_out *out)
{
	const char *t = req->buf + req->target.off;
	size_t plen = req->target.len;
	const char *q = memchr(t, '?', plen);
	if (q)
		plen = (size_t)(q - t);
	size_t qlen = q ? req->target.len - plen : 0;
	char *h;
	int n = http_scratchf(out, &h, "Location: %.*s/%.*s\r\n", (int)plen, t, (int)qlen,
			      q ? q : "");
	if (n < 0)
		return error(reply, 414);
	http_reply_error(reply, 301);
	/* Our Location line first, then the error page's Content-Type. */
	char *all;
	n = http_scratchf(out, &all, "%.*s%.*s", n, h, (int)reply->headers_len, reply->headers);
	if (n < 0)
		return error(reply, 500);
	reply->headers = all;
	reply->headers_len = (size_t)n;
	return 0;
}

static int open_index(const struct static_root *root, const struct clean_path *cp,
		      char *name, size_t cap)
{
	for (size_t i = 0; i < root->nindex; i++) {
		int n = cp->len == 1 && cp->rel[0] == '.'
				? snprintf(name, cap, "%s", root->index[i])
				: snprintf(name, cap, "%s/%s", cp->rel, root->index[i]);
		if (n < 0 || (size_t)n >= cap)
			continue;
		int fd = path_open_beneath(root->dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (fd != -ENOENT)
			return fd;
	}
	return -ENOENT;
}

int static_serve(const struct static_root *root, const struct http_request *req,
		 const struct clean_path *cp, struct http_reply *reply, struct http_out *out)
{
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		http_reply_error(reply, 405);
		reply->headers = "Allow: GET, HEAD\r\nContent-Type: text/html; charset=utf-8\r\n";
		reply->headers_len = strlen(reply->headers);
		return 0;
	}
	if (cp->has_dot_segment)
		return error(reply, 404);

	const char *name = cp->rel;
	size_t name_len = cp->len;
	int fd = path_open_beneath(root->dirfd, cp->rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return error(reply, status_for_errno(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return error(reply, 500);
	}
	char index_name[PATH_BUF + 256];
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		if (!cp->trailing_slash && !(cp->len == 1 && cp->rel[0] == '.'))
			return redirect_dir(req, reply, out);
		fd = open_index(root, cp, index_name, sizeof index_name);
		if (fd < 0)
			return error(reply, status_for_errno(-fd));
		if (fstat(fd, &st) < 0) {
			close(fd);
			return error(reply, 500);
		}
		name = index_name;
		name_len = strlen(index_name);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return error(reply, 404);
	}

	char lm[HTTP_DATE_LEN + 1];
	date_format(st.st_mtim.tv_sec, lm);
	char *h;
	int n = http_scratchf(out, &h,
			      "Content-Type: %s\r\nLast-Modified: %s\r\n"
			      "ETag: \"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"\r\n"
			      "Accept-Ranges: bytes\r\n",
			      mime_type(name, name_len), lm, (uint64_t)st.st_ino,
			      (uint64_t)st.st_size,
			      (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
	if (n < 0) {
		close(fd);
		return error(reply, 500);
	}
	*reply = (struct http_reply){
		.status = 200,
		.headers = h,
		.headers_len = (size_t)n,
		.length = (uint64_t)st.st_size,
		.file_fd = -1,
	};
	if (req->method == HTTP_HEAD || st.st_size == 0) {
		close(fd);
		return 0;
	}
	if (st.st_size <= SMALL_FILE && http_scratch_room(out) > (size_t)st.st_size + 512) {
		char *body = http_scratch(out, (size_t)st.st_size);
		ssize_t r = pread(fd, body, (size_t)st.st_size, 0);
		close(fd);
		if (r != st.st_size)
			return error(reply, 500);
		reply->body = body;
		return 0;
	}
	reply->file_fd = fd;
	reply->file_off = 0;
	reply->close_file = true;
	return 0;
}
