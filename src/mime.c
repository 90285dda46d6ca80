/* mime: see mime.h. Text types carry "; charset=utf-8". */
#include "mime.h"

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

const char *mime_type(const char *name, size_t len)
{
	size_t i = len;
	while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
		i--;
	if (i == 0 || name[i - 1] != '.')
		return "application/octet-stream";
	const char *ext = name + i;
	size_t elen = len - i;
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
		if (strlen(table[k].ext) == elen && strncasecmp(table[k].ext, ext, elen) == 0)
			return table[k].type;
	return "application/octet-stream";
}
