/* log: nginx-style error log lines, "2026/11/28 08:20:00 [error] PID#W: msg". */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level cur_level = LOG_INFO;
static char *log_path;
static int worker_id = -1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int open_path(const char *path)
{
	if (strcmp(path, "stderr") == 0)
		return 2;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

int log_open(const char *path, enum log_level level)
{
	int fd = open_path(path);
	if (fd < 0)
		return fd;
	char *copy = strdup(path);
	if (!copy) {
		if (fd != 2)
			close(fd);
		return -ENOMEM;
	}
	if (log_fd != 2)
		close(log_fd);
	free(log_path);
	log_fd = fd;
	log_path = copy;
	cur_level = level;
	return 0;
}

int log_reopen(void)
{
	if (!log_path || log_fd == 2)
		return 0;
	int fd = open_path(log_path);
	if (fd < 0)
		return fd;
	dup2(fd, log_fd);
	close(fd);
	return 0;
}

void log_set_worker(int id)
{
	worker_id = id;
}

enum log_level log_level(void)
{
	return cur_level;
}

const char *log_file_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "create its directory, or change the path";
	case EACCES:
	case EPERM:
	case EROFS:
		return "its directory must be writable by the user garcom starts as "
		       "(with systemd: LogsDirectory=/RuntimeDirectory=, or ReadWritePaths=)";
	case EMFILE:
	case ENFILE:
		return "out of file descriptors: raise LimitNOFILE= (systemd) or ulimit -n";
	default:
		return "check the path";
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > cur_level)
		return;
	char line[1024];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	size_t n = strftime(line, sizeof line, "%Y/%m/%d %H:%M:%S ", &tm);
	int w = worker_id >= 0
		? snprintf(line + n, sizeof line - n, "[%s] %d#%d: ", level_names[level], (int)getpid(), worker_id)
		: snprintf(line + n, sizeof line - n, "[%s] %d#master: ", level_names[level], (int)getpid());
	n += (size_t)w;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
	line[n++] = '\n';
	ssize_t r = write(log_fd, line, n);
	(void)r;
}
