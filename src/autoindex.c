/* autoindex: see autoindex.h. */
#include "autoindex.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ent {
	char *name;
	bool dir;
	uint64_t size;
	time_t mtime;
};

static int by_name(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	if (x->dir != y->dir)
		return x->dir ? -1 : 1; /* directories first, as nginx */
	return strcmp(x->name, y->name);
}

/* Escape for HTML text and attributes. */
static void put_html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Percent-encode for a relative href: everything but unreserved bytes. */
static void put_href(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

char *autoindex_render(int dirfd, const char *url_path, bool show_dotfiles, size_t *len)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return NULL;
	}
	struct ent *ents = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!show_dotfiles || !strcmp(de->d_name, ".") ||
					     !strcmp(de->d_name, "..")))
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, 0) < 0)
			continue; /* a dangling symlink, or gone meanwhile */
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct ent *grown = realloc(ents, cap * sizeof *ents);
			if (!grown)
				break;
			ents = grown;
		}
		ents[n] = (struct ent){ strdup(de->d_name), S_ISDIR(st.st_mode), (uint64_t)st.st_size,
					st.st_mtim.tv_sec };
		if (ents[n].name)
			n++;
	}
	closedir(d);
	qsort(ents, n, sizeof *ents, by_name);

	char *page = NULL;
	FILE *f = open_memstream(&page, len);
	if (!f)
		goto out;
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ", f);
	put_html(f, url_path);
	fputs("</title></head>\n<body><h1>Index of ", f);
	put_html(f, url_path);
	fputs("</h1><hr><pre><a href=\"../\">../</a>\n", f);
	for (size_t i = 0; i < n; i++) {
		char when[32];
		struct tm tm;
		gmtime_r(&ents[i].mtime, &tm);
		strftime(when, sizeof when, "%d-%b-%Y %H:%M", &tm);
		fputs("<a href=\"", f);
		put_href(f, ents[i].name);
		fputs(ents[i].dir ? "/\">" : "\">", f);
		put_html(f, ents[i].name);
		fputs(ents[i].dir ? "/</a>" : "</a>", f);
		int pad = 50 - (int)strlen(ents[i].name) - (ents[i].dir ? 1 : 0);
		char size[24] = "-";
		if (!ents[i].dir)
			snprintf(size, sizeof size, "%llu", (unsigned long long)ents[i].size);
		fprintf(f, "%*s %s %20s\n", pad > 1 ? pad : 1, "", when, size);
	}
	fputs("</pre><hr></body></html>\n", f);
	if (fclose(f) != 0) {
		free(page);
		page = NULL;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	return page;
}
