/* main: the command line (DESIGN.md section 4), then the master. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "config.h"
#include "log.h"
#include "master.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: garcom [-c FILE] [-t] [-T] [-p PIDFILE] [-v] [-h]\n"
		"  -c FILE     configuration file (default: %s)\n"
		"  -t          test the configuration and exit: 0 if valid, else 1 with\n"
		"              'FILE:LINE: message' for each error\n"
		"  -T          like -t, then print the effective configuration\n"
		"  -p PIDFILE  write the master's pid to PIDFILE (overrides pid_file)\n"
		"  -v          print version and build features\n"
		"  -h          print this help\n"
		"Signals: TERM, QUIT stop gracefully; INT stops at once; HUP reloads the\n"
		"configuration; USR1 reopens the logs.\n",
		GARCOM_CONF_PATH);
}

int main(int argc, char **argv)
{
	const char *conf = GARCOM_CONF_PATH;
	const char *pid_file = NULL;
	bool test = false, dump = false;
	int opt;
	while ((opt = getopt(argc, argv, "c:tTp:vh")) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'T':
			test = dump = true;
			break;
		case 'p':
			pid_file = optarg;
			break;
		case 'v':
			printf("garcom %s\nfeatures: %s\n", GARCOM_VERSION, GARCOM_FEATURES);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "garcom: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	struct config *cfg = NULL;
	int errors = config_load(conf, &cfg, stderr);
	if (errors) {
		fprintf(stderr, "garcom: configuration file %s has %d error%s\n", conf, errors,
			errors == 1 ? "" : "s");
		return 1;
	}
	if (test) {
		if (dump)
			config_dump(cfg, stdout);
		fprintf(stderr, "garcom: configuration file %s test is successful\n", conf);
		config_free(cfg);
		return 0;
	}
	int r = log_open(cfg->error_log, cfg->log_level);
	if (r < 0) {
		fprintf(stderr, "garcom: cannot open error log %s: %s; %s\n", cfg->error_log,
			strerror(-r), log_file_hint(-r));
		return 1;
	}
	return master_run(cfg, pid_file); /* it owns cfg from here */
}
