/* sandbox: what a fuzzed config may name stays harmless. Linked into the
 * targets ahead of libc (and of the sanitizers' weak interceptors):
 * getaddrinfo resolves numeric addresses and "localhost" only, so a fuzzed
 * host name costs no DNS traffic; fopen refuses device and kernel files,
 * (but /dev/null), so an @include, a site glob or a mime_types file naming /dev/zero or
 * /proc/kcore cannot read forever. */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);
	static gai_fn real;
	if (!real)
		real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
	if (!real)
		return EAI_FAIL;
	struct addrinfo h = { 0 };
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	if (node && strcasecmp(node, "localhost") == 0)
		node = "127.0.0.1";
	return real(node, service, &h, res);
}

FILE *fopen(const char *path, const char *mode)
{
	typedef FILE *(*fopen_fn)(const char *, const char *);
	static fopen_fn real;
	if (!real)
		real = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
	if (!real) {
		errno = ENOSYS;
		return NULL;
	}
	/* Whatever way the name is written ("/./dev", "../../proc", links). */
	char resolved[PATH_MAX];
	const char *p = realpath(path, resolved) ? resolved : path;
	if ((strncmp(p, "/dev/", 5) == 0 && strcmp(p, "/dev/null") != 0) || strncmp(p, "/proc/", 6) == 0 ||
	    strncmp(p, "/sys/", 5) == 0) {
		errno = EACCES;
		return NULL;
	}
	return real(path, mode);
}
