/* mime: file name -> Content-Type, from a built-in table of the web's types. */
#ifndef GARCOM_MIME_H
#define GARCOM_MIME_H

#include <stddef.h>

/* Never NULL: application/octet-stream when the extension is unknown. */
const char *mime_type(const char *name, size_t len);

#endif
