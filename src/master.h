/* master: sockets, workers, signals. See master.c. */
#ifndef GARCOM_MASTER_H
#define GARCOM_MASTER_H

#include "config.h"

/* Workers that `workers = "auto"` (or a number) means on this machine. */
unsigned master_worker_count(const struct config *cfg);

/* Open the sockets, start the workers, supervise until told to stop;
 * SIGHUP reloads cfg->path. Takes cfg (and frees it, or the configuration
 * that replaced it). pid_file (from -p) overrides the config's. Returns the
 * exit status. */
int master_run(struct config *cfg, const char *pid_file);

#endif
