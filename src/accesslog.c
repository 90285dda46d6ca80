/* accesslog: see accesslog.h. A line is built straight into the buffer;
 * when it would not fit, the buffer is written first. Quotes, backslashes
 * and control bytes from the request are escaped as \xHH, as nginx does, so
 * a client cannot forge lines. After the combined fields come the request
 * time, the upstream address and the upstream time. */
#include "accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#define LOG_BUF (64 * 1024)
#define LINE_MAX_LEN 8192 /* longer requests are cut in the log line */

struct access_log {
	int fd;
	bool json;
	bool pipe; /* a pipe or socket (stdout in a container): see flush */
	char *path;
	size_t len;
	int64_t stamp_sec; /* the cached time stamp's second */
	char stamp[32];
	size_t stamp_len;
	char buf[LOG_BUF];
};

/* "stdout" is the process's fd 1, taken as it is: a container's stdout is
 * a pipe that a non-root user may not be allowed to open by name. */
static int open_target(const char *path)
{
	if (strcmp(path, "stdout") == 0)
		return fcntl(1, F_DUPFD_CLOEXEC, 3);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

struct access_log *access_log_open(const char *path, bool json)
{
	struct access_log *log = malloc(sizeof *log);
	if (!log)
		return NULL;
	log->fd = open_target(path);
	log->path = strdup(path);
	if (log->fd < 0 || !log->path) {
		int e = errno;
		if (log->fd >= 0)
			close(log->fd);
		free(log->path);
		free(log);
		errno = e;
		return NULL;
	}
	struct stat st;
	log->pipe = fstat(log->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	log->len = 0;
	log->stamp_sec = -1;
	log->json = json;
	return log;
}

void access_log_close(struct access_log *log)
{
	if (!log)
		return;
	access_log_flush(log);
	close(log->fd);
	free(log->path);
	free(log);
}

/* How much of buf[off, len) to write at once. To a pipe, workers sharing
 * it must not interleave: only a write of at most PIPE_BUF bytes is whole,
 * so cut at the last line end within it (a longer line goes alone). */
static size_t chunk_len(const struct access_log *log, size_t off)
{
	size_t left = log->len - off;
	if (!log->pipe || left <= PIPE_BUF)
		return left;
	const char *nl = memrchr(log->buf + off, '\n', PIPE_BUF);
	if (nl)
		return (size_t)(nl - (log->buf + off)) + 1;
	nl = memchr(log->buf + off, '\n', left);
	return nl ? (size_t)(nl - (log->buf + off)) + 1 : left;
}

int access_log_flush(struct access_log *log)
{
	size_t off = 0;
	while (off < log->len) {
		ssize_t n = write(log->fd, log->buf + off, chunk_len(log, off));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log->len = 0; /* a full disk must not wedge the worker */
			return -errno;
		}
		off += (size_t)n;
	}
	log->len = 0;
	return 0;
}

size_t access_log_pending(const struct access_log *log)
{
	return log->len;
}

int access_log_reopen(struct access_log *log)
{
	access_log_flush(log);
	if (strcmp(log->path, "stdout") == 0)
		return 0;
	int fd = open_target(log->path);
	if (fd < 0)
		return -errno;
	dup2(fd, log->fd);
	close(fd);
	return 0;
}

static char *put_escaped(char *p, char *end, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	/* The usual case, plain printable bytes that fit, is a copy. */
	size_t plain = 0;
	while (plain < n && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' &&
	       s[plain] != '\\')
		plain++;
	if (plain == n && (size_t)(end - p) > n + 4) {
		memcpy(p, s, n);
		return p + n;
	}
	for (size_t i = 0; i < n && p + 4 < end; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
	}
	return p;
}

/* sep, then v in decimal: no printf on the hot path. */
static char *put_u64(char *p, char sep, uint64_t v)
{
	*p++ = sep;
	return http_put_u64(p, v);
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *put_header(char *p, char *end, const struct http_request *req, const char *name)
{
	const char *v;
	size_t n;
	*p++ = '"';
	if (http_header_get(req, name, &v, &n) && n)
		p = put_escaped(p, end - 8, v, n);
	else
		*p++ = '-';
	*p++ = '"';
	return p;
}

/* A JSON string's content: any request bytes give valid JSON (UTF-8 is
 * not assumed: bytes outside ASCII are written as \u00XX). */
static char *put_json(char *p, char *end, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n && p + 7 < end; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			p += sprintf(p, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			*p++ = (char)c;
		}
	}
	return p;
}

static char *put_json_header(char *p, char *end, const struct http_request *req,
			     const char *key, const char *name)
{
	const char *v;
	size_t n;
	p += sprintf(p, ",\"%s\":\"", key);
	if (http_header_get(req, name, &v, &n))
		p = put_json(p, end - 8, v, n);
	*p++ = '"';
	return p;
}

/* Where a refused request's headers were not read: a request without any
 * (its `names` bits all clear answer every lookup). */
static const struct http_request no_headers;

/* The pieces below are shared by routed and refused requests; inlined,
 * so the routed request's line costs no calls more for the sharing. */
#define LINE_PIECE static inline __attribute__((always_inline))

/* A request refused before routing has no method, target or version it
 * can be trusted with: those are empty, and "request" holds its request
 * line as received (as nginx's $request). */
LINE_PIECE void add_json(struct access_log *log, const struct http_log_entry *e,
			 const char *line, size_t line_len)
{
	const struct http_request *req = e->req ? e->req : &no_headers;
	bool rejected = line != NULL;
	char *p = log->buf + log->len, *end = p + LINE_MAX_LEN;
	time_t t = (time_t)e->now_sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	p += strftime(p, 64, "{\"time\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	if (rejected) {
		p += sprintf(p, ",\"remote_addr\":\"%s\",\"method\":\"\",\"uri\":\"\","
			     "\"protocol\":\"\",\"request\":\"", e->peer);
		p = put_json(p, end - 640, line, line_len);
		p += sprintf(p, "\",\"status\":%d,\"body_bytes_sent\":%llu", e->status,
			     (unsigned long long)e->bytes);
	} else {
		p += sprintf(p, ",\"remote_addr\":\"%s\",\"method\":\"%s\",\"uri\":\"", e->peer,
			     llhttp_method_name((llhttp_method_t)req->method));
		p = put_json(p, end - 640, req->buf + req->target.off, req->target.len);
		p += sprintf(p, "\",\"protocol\":\"HTTP/%u.%u\",\"status\":%d,\"body_bytes_sent\":%llu",
			     req->major, req->minor, e->status, (unsigned long long)e->bytes);
	}
	p = put_json_header(p, end - 384, req, "referer", "referer");
	p = put_json_header(p, end - 144, req, "user_agent", "user-agent");
	p += sprintf(p, ",\"request_time_us\":%llu", (unsigned long long)e->request_us);
	if (e->upstream) {
		p += sprintf(p, ",\"upstream_addr\":\"");
		p = put_json(p, end - 48, e->upstream, strlen(e->upstream));
		p += sprintf(p, "\",\"upstream_time_us\":%llu}\n",
			     (unsigned long long)e->upstream_us);
	} else {
		p += sprintf(p, ",\"upstream_addr\":null,\"upstream_time_us\":null}\n");
	}
	log->len = (size_t)(p - log->buf);
}

/* Room for a line, and the time stamp of its second. */
LINE_PIECE void line_start(struct access_log *log, const struct http_log_entry *e)
{
	if (LOG_BUF - log->len < LINE_MAX_LEN)
		access_log_flush(log);
	if (!log->json && e->now_sec != log->stamp_sec) {
		time_t t = (time_t)e->now_sec;
		struct tm tm;
		localtime_r(&t, &tm);
		log->stamp_len = strftime(log->stamp, sizeof log->stamp, "%d/%b/%Y:%H:%M:%S %z", &tm);
		log->stamp_sec = e->now_sec;
	}
}

/* The combined line up to the request: `PEER - - [STAMP] "`. */
LINE_PIECE char *put_prefix(const struct access_log *log, char *p, const struct http_log_entry *e)
{
	p = put_str(p, e->peer);
	memcpy(p, " - - [", 6);
	memcpy(p + 6, log->stamp, log->stamp_len);
	p += 6 + log->stamp_len;
	memcpy(p, "] \"", 3);
	return p + 3;
}

/* From the request's closing quote on: status, bytes, Referer,
 * User-Agent, request time, upstream address and time, line end. */
LINE_PIECE char *put_rest(char *p, char *end, const struct http_log_entry *e,
			 const struct http_request *req)
{
	memcpy(p, "\" 200", 5);
	p[2] = (char)('0' + e->status / 100 % 10);
	p[3] = (char)('0' + e->status / 10 % 10);
	p[4] = (char)('0' + e->status % 10);
	p += 5;
	p = put_u64(p, ' ', e->bytes);
	*p++ = ' ';
	p = put_header(p, end - 320, req, "referer");
	*p++ = ' ';
	p = put_header(p, end - 160, req, "user-agent");
	p = put_u64(p, ' ', e->request_us);
	if (e->upstream) {
		*p++ = ' ';
		p = put_escaped(p, end - 32, e->upstream, strlen(e->upstream));
		p = put_u64(p, ' ', e->upstream_us);
	} else {
		memcpy(p, " - -", 4);
		p += 4;
	}
	*p++ = '\n';
	return p;
}

/* nginx's combined format, then request time, upstream address and
 * upstream time (µs; "-" when not proxied): analysers that read
 * "combined" ignore what follows the User-Agent. */
void access_log_add(struct access_log *log, const struct http_log_entry *e)
{
	const struct http_request *req = e->req;
	line_start(log, e);
	if (log->json) {
		add_json(log, e, NULL, 0);
		return;
	}
	/* Piece by piece: printf cost more than the rest of the request. The
	 * peer (an address), the stamp and the method are short and known. */
	char *p = log->buf + log->len, *end = p + LINE_MAX_LEN;
	p = put_prefix(log, p, e);
	p = put_str(p, llhttp_method_name((llhttp_method_t)req->method));
	*p++ = ' ';
	p = put_escaped(p, end - 640, req->buf + req->target.off, req->target.len);
	memcpy(p, " HTTP/1.1", 9);
	p[6] = (char)('0' + req->major % 10);
	p[8] = (char)('0' + req->minor % 10);
	p = put_rest(p + 9, end, e, req);
	log->len = (size_t)(p - log->buf);
}

/* A refused request's combined line is kept under this length: its request
 * line may be anything up to the read buffer's size (a 414), and goaccess
 * 1.7 (Debian 12) reads a line of more than 4 KiB as two bad ones. */
#define REJECTED_LINE_MAX 4000

void access_log_add_rejected(struct access_log *log, const struct http_log_entry *e,
			     const char *line, size_t line_len)
{
	line_start(log, e);
	if (log->json) {
		add_json(log, e, line ? line : "", line_len);
		return;
	}
	char *p = log->buf + log->len, *end = p + REJECTED_LINE_MAX;
	p = put_prefix(log, p, e);
	if (line_len)
		p = put_escaped(p, end - 1536, line, line_len);
	else
		*p++ = '-'; /* as nginx's "-" for a request line it does not have */
	p = put_rest(p, end, e, e->req ? e->req : &no_headers);
	log->len = (size_t)(p - log->buf);
}
