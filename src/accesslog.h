/* accesslog: access log files in nginx's "combined" format (plus request
 * time, upstream address and upstream time), or JSON, buffered per
 * worker and written once per event-loop turn (no syscall per request).
 * Knows the request model; not sockets. */
#ifndef GARCOM_ACCESSLOG_H
#define GARCOM_ACCESSLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct access_log;

/* Open (append, create) path, or take fd 1 for "stdout"; lines in nginx's
 * combined format, or one JSON object a line. NULL and errno on failure. */
struct access_log *access_log_open(const char *path, bool json);
void access_log_close(struct access_log *log);

/* One line for a finished request. */
void access_log_add(struct access_log *log, const struct http_log_entry *e);
/* One line for a request refused before routing: its request line as
 * received (line_len 0: none), its headers only if e->req is set. */
void access_log_add_rejected(struct access_log *log, const struct http_log_entry *e,
			     const char *line, size_t line_len);

/* Write what is buffered. Returns 0 or -errno. The buffer is written by
 * itself only when 64 KiB are full: the owner flushes it at least once a
 * second, and at exit. */
int access_log_flush(struct access_log *log);
/* Bytes buffered, not written yet. */
size_t access_log_pending(const struct access_log *log);
/* Reopen the same path (SIGUSR1, after logrotate). */
int access_log_reopen(struct access_log *log);

#endif
