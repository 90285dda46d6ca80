/* config_mime: the mime_types file (the /etc/mime.types format) read into
 * the model's (extension, type) pairs, with MIMEFILE:LINE errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config_walk.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define BLANKS " \t\r\n\v\f"

static bool is_token(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)p[i]) &&
		    strchr("!#$%&'*+-.^_`|~", p[i]) == NULL)
			return false;
	}
	return true;
}

/* type/subtype, each a token of at most 127 bytes (RFC 6838 4.2): a file's
 * cached head lines are built in a fixed buffer. */
static bool is_media_type(const char *t)
{
	const char *slash = strchr(t, '/');

	return slash != NULL && slash - t <= 127 && strlen(slash + 1) <= 127 &&
	       is_token(t, (size_t)(slash - t)) && is_token(slash + 1, strlen(slash + 1));
}

static int add_mime(struct loader *ld, const char *ext, const char *type)
{
	struct config *cfg = ld->cfg;
	struct config_mime *m = config_grow(ld, cfg->mime, &cfg->nmime, sizeof(*m));

	if (m == NULL)
		return -1;
	cfg->mime = m;
	m += cfg->nmime;
	m->ext = config_xstrdup(ld, ext);
	m->type = config_xstrdup(ld, type);
	cfg->nmime++;
	for (char *c = m->ext; c != NULL && *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return m->ext && m->type ? 0 : -1;
}

static int by_ext_then_place(const void *a, const void *b)
{
	const struct config_mime *x = *(struct config_mime *const *)a;
	const struct config_mime *y = *(struct config_mime *const *)b;
	int c = strcmp(x->ext, y->ext);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

/* Keep the last line's type for each extension, in the order of the file:
 * the model holds one answer per extension. */
static void dedupe_mime(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	struct config_mime **by = malloc(cfg->nmime * sizeof(*by) + 1);
	size_t w = 0;

	if (by == NULL) {
		ld->oom = true;
		return;
	}
	for (size_t i = 0; i < cfg->nmime; i++)
		by[i] = &cfg->mime[i];
	qsort(by, cfg->nmime, sizeof(*by), by_ext_then_place);
	for (size_t i = 0; i + 1 < cfg->nmime; i++) {
		if (strcmp(by[i]->ext, by[i + 1]->ext) == 0) {
			free(by[i]->ext); /* an earlier line for the same one */
			free(by[i]->type);
			by[i]->ext = by[i]->type = NULL;
		}
	}
	free(by);
	for (size_t i = 0; i < cfg->nmime; i++) {
		if (cfg->mime[i].ext != NULL)
			cfg->mime[w++] = cfg->mime[i];
	}
	cfg->nmime = w;
}

void config_read_mime_types(struct loader *ld, const config_setting_t *s,
			    const char *path)
{
	char *line = NULL, *save;
	size_t cap = 0;
	unsigned lineno = 0;
	struct stat st;
	int err = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		err = errno;
		goto out;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		const char *type, *ext;

		lineno++;
		line[strcspn(line, "#")] = '\0';
		type = strtok_r(line, BLANKS, &save);
		if (type == NULL)
			continue;
		if (!is_media_type(type)) {
			config_fail_at(ld, s, path, lineno,
				       "'%s' is not a media type like \"text/plain\"",
				       type);
			continue;
		}
		while ((ext = strtok_r(NULL, BLANKS, &save)) != NULL) {
			/* Only a name's last suffix is looked up, so a dotted
			 * one ("tar.gz" in Debian's /etc/mime.types) can never
			 * match: skipped, not an error. */
			if (strchr(ext, '/') != NULL)
				config_fail_at(ld, s, path, lineno,
					       "extension '%s' must not contain '/'", ext);
			else if (strchr(ext, '.') == NULL && add_mime(ld, ext, type) < 0)
				goto out;
		}
	}
	if (ferror(f))
		err = errno ? errno : EIO;
out:
	if (err != 0)
		config_fail(ld, s, "%s: cannot read %s: %s", config_setting_name(s), path,
			    strerror(err));
	else if (!ld->oom)
		dedupe_mime(ld);
	free(line);
	if (f != NULL)
		fclose(f);
}

