/* mime: see mime.h. Text types carry "; charset=utf-8". */
#include "mime.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *ext;
	const char *type;
} table[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json; charset=utf-8" },
	{ "map", "application/json; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "xml", "text/xml; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "svg", "image/svg+xml; charset=utf-8" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "ico", "image/x-icon" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "wasm", "application/wasm" },
	{ "pdf", "application/pdf" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
	{ "webmanifest", "application/manifest+json; charset=utf-8" },
};

struct extra {
	char *ext;
	char *type; /* with charset when it is text */
};
static struct extra *extras;
static size_t nextras;

static bool is_text(const char *t)
{
	size_t n = strlen(t);
	return strncmp(t, "text/", 5) == 0 || strcmp(t, "application/json") == 0 ||
	       strcmp(t, "application/javascript") == 0 || strcmp(t, "application/xml") == 0 ||
	       strcmp(t, "image/svg+xml") == 0 ||
	       (n > 5 && (strcmp(t + n - 5, "+json") == 0 || strcmp(t + n - 4, "+xml") == 0));
}

int mime_set_extra(const char *const *exts, const char *const *types, size_t n)
{
	struct extra *x = calloc(n ? n : 1, sizeof *x);
	if (!x)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *cs = is_text(types[i]) && !strstr(types[i], "charset") ? "; charset=utf-8"
										    : "";
		size_t len = strlen(types[i]) + strlen(cs) + 1;
		x[i].ext = strdup(exts[i]);
		x[i].type = malloc(len);
		if (!x[i].ext || !x[i].type)
			return -1; /* at start-up only: the worker gives up */
		snprintf(x[i].type, len, "%s%s", types[i], cs);
	}
	extras = x;
	nextras = n;
	return 0;
}

const char *mime_type(const char *name, size_t len)
{
	size_t i = len;
	while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
		i--;
	if (i == 0 || name[i - 1] != '.')
		return "application/octet-stream";
	const char *ext = name + i;
	size_t elen = len - i;
	for (size_t k = nextras; k-- > 0;)
		if (strlen(extras[k].ext) == elen && strncasecmp(extras[k].ext, ext, elen) == 0)
			return extras[k].type;
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
		if (strlen(table[k].ext) == elen && strncasecmp(table[k].ext, ext, elen) == 0)
			return table[k].type;
	return "application/octet-stream";
}
