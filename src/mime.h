/* mime: file name -> Content-Type, from a built-in table of the web's types. */
#ifndef GARCOM_MIME_H
#define GARCOM_MIME_H

#include <stddef.h>

/* Never NULL: application/octet-stream when the extension is unknown. */
const char *mime_type(const char *name, size_t len);

/* Extra (extension, type) pairs from the mime_types file, consulted before
 * the built-in table; for one extension the last pair wins. Text types get
 * "; charset=utf-8". Returns 0 or -1 (out of memory). */
int mime_set_extra(const char *const *exts, const char *const *types, size_t n);

#endif
