/* fuzz_sites: an INI site file (inih) through the site reader: garcom's own
 * line-length and line-shape checks before inih, sections, keys, proxy
 * URLs, then the checks that need every server (duplicate names, listen
 * addresses), the dump of an accepted config and config_free. The main
 * file is fixed: one server, an upstream, and the sites glob matching
 * sites/site.ini, where the input goes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "world.h"

static char dir[64], main_path[128], site_path[128];
static FILE *devnull;

static const char main_conf[] =
	"master_process = false;\n"
	"sites = \"sites/*.ini\";\n"
	"servers = ( { listen = [ \"127.0.0.1:8080\" ]; server_names = [ \"main.example\" ];\n"
	"              root = \"www\"; } );\n"
	"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:9000\" ]; } );\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(dir, sizeof dir, "%s", fz_temp_dir("sites"));
	char p[192];
	snprintf(p, sizeof p, "%s/www", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/www/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/sites", dir);
	mkdir(p, 0755);
	snprintf(main_path, sizeof main_path, "%s/garcom.conf", dir);
	FILE *f = fopen(main_path, "w");
	if (!f || fputs(main_conf, f) < 0 || fclose(f) != 0)
		abort();
	snprintf(site_path, sizeof site_path, "%s/sites/site.ini", dir);
	/* FZ_DEBUG set: the errors on stderr (to check a seed). */
	devnull = getenv("FZ_DEBUG") ? stderr : fopen("/dev/null", "w");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_load_config(site_path, data, size, main_path, devnull);
	return 0;
}
