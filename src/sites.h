/* sites: the INI site files named by the main file's `sites` glob, read with
 * inih into the same model, as if their servers were written in the main
 * file. Internal to the config module: config.c calls it once the main file
 * is walked and before the checks that need every server and upstream. */
#ifndef GARCOM_SITES_H
#define GARCOM_SITES_H

#include "config_walk.h"

/* Longest line a site file may hold, in bytes without its newline; inih
 * (Debian's 55) silently splits a longer one, so it is refused first. The
 * reader also refuses what does not fit in the buffer inih hands it. */
#define SITES_MAX_LINE 200

/* Reads every file matching ld->cfg->sites (relative to the main file's
 * directory), in sorted order, adding their servers, locations and the
 * upstreams of their proxy URLs. `at` is the main file's `sites` setting:
 * errors are "SITEFILE:LINE: message", printed in its place. */
void config_read_sites(struct loader *ld, const config_setting_t *at);

#endif
