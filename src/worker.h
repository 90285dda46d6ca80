/* worker: one process serving connections: its netpoller, its coroutine and
 * buffer pools, its connection table (indexed by fd), and the routing of a
 * request to a handler. Knows nothing of forking or reloads. */
#ifndef GARCOM_WORKER_H
#define GARCOM_WORKER_H

#include <stddef.h>

#include "config.h"

/* listen_fds[i] is the socket for the i-th distinct listen address of cfg
 * (in the order of master_listen_addrs). ready_fd: one byte is written to
 * it once the worker serves (-1: tell systemd directly, no master).
 * Returns the exit status. */
int worker_run(const struct config *cfg, int id, const int *listen_fds,
	       const struct config_listen *const *addrs, size_t naddrs, int ready_fd);

#endif
