/* metrics: see metrics.h. One row of counters per worker slot (worker id),
 * so that workers never share a cache line while counting; a reload's new
 * worker i adds to the same row as the old worker i it replaces, and every
 * counter only grows. Without metrics_init() (tests, -t) nothing counts. */
#include "metrics.h"

#include <stdio.h>
#include <sys/mman.h>

#define SLOTS 1025 /* 1024 workers at most, and the master's row */

struct row {
	uint64_t v[M_COUNT];
} __attribute__((aligned(64)));

static struct row *rows;
static struct row *mine;

int metrics_init(void)
{
	void *p = mmap(NULL, sizeof(struct row) * SLOTS, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	rows = p;
	mine = &rows[SLOTS - 1]; /* the master's */
	return 0;
}

void metrics_use_slot(unsigned id)
{
	if (rows && id < SLOTS - 1)
		mine = &rows[id];
}

void metrics_add(enum metric m, uint64_t n)
{
	if (mine)
		__atomic_fetch_add(&mine->v[m], n, __ATOMIC_RELAXED);
}

void metrics_request(int status, uint64_t bytes)
{
	if (!mine)
		return;
	int class = status / 100;
	if (class >= 1 && class <= 5)
		metrics_add((enum metric)(M_REQ_1XX + class - 1), 1);
	if (status == 408 || status == 504)
		metrics_add(M_TIMEOUTS, 1);
	metrics_add(M_BYTES_OUT, bytes);
}

static uint64_t sum(enum metric m)
{
	uint64_t s = 0;
	for (unsigned i = 0; rows && i < SLOTS; i++)
		s += __atomic_load_n(&rows[i].v[m], __ATOMIC_RELAXED);
	return s;
}

size_t metrics_render(char *buf, size_t cap)
{
	uint64_t accepted = sum(M_ACCEPTED), closed = sum(M_CLOSED);
	int n = snprintf(buf, cap,
		"# TYPE garcom_connections_accepted_total counter\n"
		"garcom_connections_accepted_total %llu\n"
		"# TYPE garcom_connections_active gauge\n"
		"garcom_connections_active %llu\n"
		"# TYPE garcom_requests_total counter\n"
		"garcom_requests_total{class=\"1xx\"} %llu\n"
		"garcom_requests_total{class=\"2xx\"} %llu\n"
		"garcom_requests_total{class=\"3xx\"} %llu\n"
		"garcom_requests_total{class=\"4xx\"} %llu\n"
		"garcom_requests_total{class=\"5xx\"} %llu\n"
		"# TYPE garcom_response_body_bytes_total counter\n"
		"garcom_response_body_bytes_total %llu\n"
		"# TYPE garcom_upstream_connects_total counter\n"
		"garcom_upstream_connects_total %llu\n"
		"# TYPE garcom_upstream_errors_total counter\n"
		"garcom_upstream_errors_total %llu\n"
		"# TYPE garcom_timeouts_total counter\n"
		"garcom_timeouts_total %llu\n"
		"# TYPE garcom_reloads_total counter\n"
		"garcom_reloads_total %llu\n"
		"# TYPE garcom_worker_restarts_total counter\n"
		"garcom_worker_restarts_total %llu\n",
		(unsigned long long)accepted,
		(unsigned long long)(accepted >= closed ? accepted - closed : 0),
		(unsigned long long)sum(M_REQ_1XX), (unsigned long long)sum(M_REQ_2XX),
		(unsigned long long)sum(M_REQ_3XX), (unsigned long long)sum(M_REQ_4XX),
		(unsigned long long)sum(M_REQ_5XX), (unsigned long long)sum(M_BYTES_OUT),
		(unsigned long long)sum(M_UPSTREAM_CONNECTS),
		(unsigned long long)sum(M_UPSTREAM_ERRORS), (unsigned long long)sum(M_TIMEOUTS),
		(unsigned long long)sum(M_RELOADS), (unsigned long long)sum(M_RESTARTS));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
