/* tmpdir: a fresh directory per test (cmocka setup/teardown) and helpers to
 * fill it. Included by one test file each (static functions); the file
 * defines TMPDIR_TEMPLATE first, e.g. "/tmp/test_config.XXXXXX". */
#ifndef GARCOM_TEST_TMPDIR_H
#define GARCOM_TEST_TMPDIR_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char tmp[32];

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, TMPDIR_TEMPLATE);
	return mkdtemp(tmp) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmp/name, in one of 16 buffers used in turn: a test keeps a few at once. */
static const char *at(const char *name)
{
	static char bufs[16][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 16];

	snprintf(b, PATH_MAX, "%s/%s", tmp, name);
	return b;
}

static void mkdir_in(const char *name)
{
	assert_int_equal(mkdir(at(name), 0755), 0);
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

#endif
