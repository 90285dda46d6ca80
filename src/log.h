/* log: the error log. One write(2) per line, so lines from workers sharing
 * one file never interleave. Knows nothing of config files or HTTP. */
#ifndef GARCOM_LOG_H
#define GARCOM_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* path "stderr" logs to fd 2. Returns 0 or -errno (the old target stays). */
int log_open(const char *path, enum log_level level);
/* Reopen the same path (SIGUSR1, after logrotate moved the file). */
int log_reopen(void);
void log_set_worker(int worker_id); /* -1 for the master */
enum log_level log_level(void);

/* A hint for a log, pid or other file that could not be opened. */
const char *log_file_hint(int err);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                \
	do {                                          \
		if (log_level() >= LOG_DEBUG)         \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
