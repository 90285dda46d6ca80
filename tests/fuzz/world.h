/* world: a worker's environment inside a fuzzing process, built from the
 * real parts (config loader, netpoller, coroutines, buffer pools, route
 * table, HTTP layer, upstream pool): what worker.c sets up, minus the
 * listening sockets and signals. A client connection is a socketpair whose
 * one end the HTTP layer serves exactly as an accepted socket; the harness
 * writes the input at the other end and reads the answer. An upstream is a
 * real listening socket on 127.0.0.1, served by a coroutine in the same
 * netpoller that answers with bytes the target chooses. */
#ifndef GARCOM_FUZZ_WORLD_H
#define GARCOM_FUZZ_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "http.h"

/* Bytes of the test file tree's files, a fixed pattern: byte i of a.txt,
 * big.bin... is fz_pattern(i). */
static inline uint8_t fz_pattern(uint64_t i)
{
	return (uint8_t)('A' + (i * 7 + i / 26) % 26);
}
#define FZ_SMALL_SIZE 1000  /* www/a.txt: held in memory by the file cache */
#define FZ_BIG_SIZE 20000   /* www/big.bin: sent with sendfile */

/* Build the world once per process: a scratch directory with a file tree
 * and a config (text with @DIR@ and @UPSTREAM@ replaced: the scratch
 * directory and the upstream's "127.0.0.1:PORT"). Aborts on failure. */
void fz_world_init(const char *config_text);
const struct config *fz_config(void);
const char *fz_dir(void);
/* A directory of its own under /tmp (garcom-fuzz-NAME.XXXXXX), removed with
 * what it holds at exit. */
const char *fz_temp_dir(const char *name);
/* Write the input to `input`, load the configuration `main` (errors to
 * errs), check that it loads exactly when it reports no error, then dump
 * and free it. */
void fz_load_config(const char *input, const uint8_t *data, size_t size, const char *main,
		    FILE *errs);

/* What the upstream answers each connection with (until changed): the
 * bytes `resp`, written in two pieces split at `split` (a netpoll turn in
 * between, so the proxy's parser sees a partial read). check_request:
 * the request the proxy forwards must parse with strict llhttp, else
 * abort (a request the upstream would read differently than we meant). */
void fz_upstream_answer(const uint8_t *resp, size_t len, size_t split, bool check_request);

/* One client connection: write `in` (then shut the write side), serve it,
 * read everything the server sends until it closes. Calls on_out for each
 * piece read. peer: the client's IPv4 address. Aborts if it does not end
 * within a few seconds (a hang). */
typedef void (*fz_out_fn)(void *arg, const char *data, size_t len);
void fz_exchange(const uint8_t *in, size_t len, uint32_t peer_ipv4, fz_out_fn on_out, void *arg);
/* The same, `in` written in pieces of `piece` bytes (0: at once), each
 * read by the server before the next is written: heads and bodies cut
 * across reads, the same way every run. */
void fz_exchange_pieces(const uint8_t *in, size_t len, size_t piece, uint32_t peer_ipv4,
			fz_out_fn on_out, void *arg);

/* The HTTP layer's settings, as the connections are served with them: a
 * target may change them between exchanges (no_scan). */
struct http_ctx *fz_http_ctx(void);

/* What a target may watch besides the bytes the client gets (fz_watch;
 * NULL members: not watched). The world still does its own work with all
 * of it: log lines go to the servers' access logs, as in a worker. */
struct fz_watch {
	/* An access-log entry (line NULL), or the entry of a request refused
	 * before routing with its request line as received (see
	 * http_ctx.log_rejected). */
	void (*log)(void *arg, const struct http_log_entry *e, const char *line, size_t line_len);
	/* What one upstream connection received, when it stops reading. */
	void (*upstream)(void *arg, const char *data, size_t len);
	void *arg;
};
void fz_watch(const struct fz_watch *w);

/* Stop on a broken invariant: print what and the bytes, then abort. */
void fz_fail(const char *what, const void *data, size_t len) __attribute__((noreturn));

#endif
