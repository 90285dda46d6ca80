/* fuzz_config: the main configuration file (libconfig syntax) through the
 * loader: libconfig's parser, the schema walk (every key, type and range
 * check), @include, the site files and mime_types it names, then -T's
 * dump of an accepted one, and config_free (LeakSanitizer checks it
 * frees everything). The file sits in a scratch directory holding a
 * www/ root, sites/a.ini, an include file and a mime.types, so relative
 * names in the seeds resolve. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "world.h"

static char dir[64], path[128];
static FILE *devnull;

static void put(const char *rel, const char *text)
{
	char p[192];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(dir, sizeof dir, "%s", fz_temp_dir("config"));
	char p[192];
	snprintf(p, sizeof p, "%s/www", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/sites", dir);
	mkdir(p, 0755);
	put("www/index.html", "hi\n");
	put("sites/a.ini", "[server]\nlisten = 127.0.0.1:8081\nserver_name = a.example\nroot = ../www\n"
			   "[location /api/]\nproxy = http://127.0.0.1:9000/v1/\n");
	put("limits.inc", "limits = { header_size = \"16k\"; body_size = \"2m\"; };\n");
	put("mime.types", "# comment\ntext/x-fuzz fz fuzz\napplication/x-a a tar.gz\n");
	snprintf(path, sizeof path, "%s/garcom.conf", dir);
	/* FZ_DEBUG set: the errors on stderr (to check a seed). */
	devnull = getenv("FZ_DEBUG") ? stderr : fopen("/dev/null", "w");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_load_config(path, data, size, path, devnull);
	return 0;
}
