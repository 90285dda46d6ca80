/* autoindex: an HTML listing of a directory: names escaped, sorted, with
 * sizes and dates. Not on any hot path: it allocates. */
#ifndef GARCOM_AUTOINDEX_H
#define GARCOM_AUTOINDEX_H

#include <stdbool.h>
#include <stddef.h>

/* dirfd: the directory (opened O_RDONLY | O_DIRECTORY; closed here).
 * url_path: the decoded path shown in the title. Returns a malloc'd page
 * and its length, or NULL. */
char *autoindex_render(int dirfd, const char *url_path, bool show_dotfiles, size_t *len);

#endif
