/* noresolve: the fuzz targets never ask DNS. A config naming a host would
 * make the loader call getaddrinfo; this one (linked into the target,
 * ahead of libc's) resolves numeric addresses and "localhost" only, so a
 * fuzzed name costs no network traffic and no time. */
#include <dlfcn.h>
#include <netdb.h>
#include <stddef.h>
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
