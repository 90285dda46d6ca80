/* metrics: counters every worker adds to, in memory shared with the master
 * (mapped before the workers are forked), summed when read: a status
 * location answers in the Prometheus text format. Atomic adds, no locks. */
#ifndef GARCOM_METRICS_H
#define GARCOM_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric {
	M_ACCEPTED,       /* connections accepted */
	M_CLOSED,         /* connections closed (active = accepted - closed) */
	M_REQ_1XX, M_REQ_2XX, M_REQ_3XX, M_REQ_4XX, M_REQ_5XX,
	M_BYTES_OUT,      /* response body bytes */
	M_UPSTREAM_CONNECTS,
	M_UPSTREAM_ERRORS,
	M_TIMEOUTS,       /* 408 and 504 answers */
	M_RELOADS,        /* master */
	M_RESTARTS,       /* workers replaced after dying (master) */
	M_COUNT
};

/* In the master, before forking: the shared counters. Returns 0 or -1. */
int metrics_init(void);
/* In a worker: add to the counters of worker slot `id`. */
void metrics_use_slot(unsigned id);

void metrics_add(enum metric m, uint64_t n);
/* A finished request: its status class and body bytes. */
void metrics_request(int status, uint64_t bytes);

/* The sums, as Prometheus text, into buf. Returns the length, or 0 when
 * it does not fit. */
size_t metrics_render(char *buf, size_t cap);

#endif
