/* world: see world.h. Mirrors worker.c's setup and connection lifecycle
 * (serve in a coroutine -> idle -> readable again -> serve -> close). */
#include "world.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "accesslog.h"
#include "conn.h"
#include "coro.h"
#include "http.h"
#include "log.h"
#include "netpoll.h"
#include "route.h"

static struct {
	char dir[64];
	struct config *cfg;
	struct netpoll *np;
	struct coro_pool *coros;
	struct http_limits limits;
	struct http_ctx http;
	struct route_table *routes;
	const struct route_addr *ra;
	/* the upstream */
	struct np_source up_src;
	const uint8_t *resp;
	size_t resp_len, resp_split;
	bool check_request;
	unsigned up_active;
	/* the client connection being served */
	struct http_conn conn;
	bool conn_open;
	struct fz_watch watch;
	bool debug; /* FZ_DEBUG set: show both conversations on stderr */
} W;

void fz_fail(const char *what, const void *data, size_t len)
{
	fprintf(stderr, "\nfuzz invariant broken: %s\n--- %zu bytes:\n", what, len);
	fwrite(data, 1, len, stderr);
	fprintf(stderr, "\n---\n");
	abort();
}

const struct config *fz_config(void)
{
	return W.cfg;
}

const char *fz_dir(void)
{
	return W.dir;
}

struct http_ctx *fz_http_ctx(void)
{
	return &W.http;
}

void fz_watch(const struct fz_watch *w)
{
	W.watch = w ? *w : (struct fz_watch){ 0 };
}

/* ---- the file tree ---- */

static void put_file(const char *rel, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", W.dir, rel);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static void put_text(const char *rel, const char *text)
{
	put_file(rel, text, strlen(text));
}

static void put_pattern(const char *rel, size_t size)
{
	char *b = malloc(size);
	for (size_t i = 0; i < size; i++)
		b[i] = (char)fz_pattern(i);
	put_file(rel, b, size);
	free(b);
}

static void mkdir_in(const char *rel)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", W.dir, rel);
	if (mkdir(path, 0755) < 0) {
		perror(path);
		abort();
	}
}

static void make_tree(void)
{
	static const char *const dirs[] = { "www", "www/dir", "www/list", "www/files",
					    "www/.well-known", "www/files/sub" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		mkdir_in(dirs[i]);
	put_text("www/index.html", "<h1>home</h1>\n");
	put_text("www/404.html", "<h1>not here</h1>\n");
	put_text("www/dir/index.html", "<h1>dir</h1>\n");
	put_text("www/list/a b.txt", "a b\n");
	put_text("www/list/<x>&.txt", "x\n");
	put_text("www/list/.env", "SECRET=1\n");
	put_text("www/.hidden", "hidden\n");
	put_text("www/.well-known/x.txt", "known\n");
	put_pattern("www/a.txt", FZ_SMALL_SIZE);
	put_pattern("www/big.bin", FZ_BIG_SIZE);
	put_pattern("www/files/a.txt", FZ_SMALL_SIZE);
	put_pattern("www/files/big.bin", FZ_BIG_SIZE);
	put_text("www/files/style.css", "body { color: red }\n");
	put_text("www/files/style.css.gz", "GZ-BYTES\n");
	put_text("www/files/style.css.br", "BR-BYTES\n");
	put_text("www/files/sub/index.html", "<p>sub</p>\n");
	put_text("www/files/.env", "SECRET=2\n");
	char target[300], link[300];
	snprintf(link, sizeof link, "%s/www/out", W.dir);
	if (symlink("/etc/hostname", link) < 0)
		abort();
	snprintf(link, sizeof link, "%s/www/in", W.dir);
	snprintf(target, sizeof target, "%s/www/a.txt", W.dir);
	if (symlink(target, link) < 0)
		abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static char temp_dirs[4][64];
static unsigned ntemp;

static void remove_temp_dirs(void)
{
	for (unsigned i = 0; i < ntemp; i++)
		nftw(temp_dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fz_load_config(const char *input, const uint8_t *data, size_t size, const char *main,
		    FILE *errs)
{
	FILE *f = fopen(input, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	struct config *cfg = NULL;
	int errors = config_load(main, &cfg, errs);
	if ((errors == 0) != (cfg != NULL)) {
		fprintf(stderr, "config_load returned %d with cfg %p\n", errors, (void *)cfg);
		abort();
	}
	if (cfg) {
		config_dump(cfg, errs);
		config_free(cfg);
	}
}

const char *fz_temp_dir(const char *name)
{
	if (ntemp == sizeof temp_dirs / sizeof temp_dirs[0])
		abort();
	char *d = temp_dirs[ntemp];
	snprintf(d, sizeof temp_dirs[0], "/tmp/garcom-fuzz-%s.XXXXXX", name);
	if (!mkdtemp(d))
		abort();
	if (ntemp++ == 0)
		atexit(remove_temp_dirs);
	return d;
}

/* ---- the upstream: a coroutine per accepted connection ---- */

struct up_conn {
	struct np_source src;
	char buf[65536];
	size_t len;
	bool complete;
};

static int up_complete(llhttp_t *p)
{
	((struct up_conn *)p->data)->complete = true;
	return HPE_PAUSED;
}

/* Read the forwarded request (head and body) as the upstream would. */
static void up_read_request(struct up_conn *u)
{
	llhttp_settings_t s;
	llhttp_settings_init(&s);
	s.on_message_complete = up_complete;
	llhttp_t p;
	llhttp_init(&p, HTTP_REQUEST, &s);
	p.data = u;
	while (!u->complete && u->len < sizeof u->buf) {
		size_t at = u->len;
		ssize_t n = conn_read(&u->src, u->buf + at, sizeof u->buf - at,
				      netpoll_now(W.np) + 3000);
		if (n <= 0)
			break; /* the proxy gave up on it: nothing to check */
		u->len += (size_t)n;
		llhttp_errno_t e = llhttp_execute(&p, u->buf + at, (size_t)n);
		if (e != HPE_OK && e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE && W.check_request) {
			fprintf(stderr, "upstream parse error: %s (%s)\n", llhttp_errno_name(e),
				llhttp_get_error_reason(&p));
			fz_fail("the proxy forwarded a request strict llhttp refuses", u->buf,
				u->len);
		}
		if (e != HPE_OK)
			break;
	}
	if (W.watch.upstream)
		W.watch.upstream(W.watch.arg, u->buf, u->len);
	if (W.debug)
		fprintf(stderr, "--- upstream got:\n%.*s\n", (int)u->len, u->buf);
}

static void up_write(struct up_conn *u, const uint8_t *p, size_t n)
{
	struct iovec iov = { (void *)p, n };
	if (n)
		conn_writev(&u->src, &iov, 1, false, 3000);
}

static void up_main(struct coro *co, void *arg)
{
	(void)co;
	struct up_conn *u = arg;
	up_read_request(u);
	size_t split = W.resp_split < W.resp_len ? W.resp_split : W.resp_len;
	up_write(u, W.resp, split);
	if (split < W.resp_len) {
		netpoll_sleep(W.np, 1); /* the proxy reads the first piece alone */
		up_write(u, W.resp + split, W.resp_len - split);
	}
	shutdown(u->src.fd, SHUT_WR);
	/* Drain until the proxy closes its side (a tunnel, a body not read). */
	char sink[4096];
	while (conn_read(&u->src, sink, sizeof sink, netpoll_now(W.np) + 3000) > 0)
		;
	netpoll_remove(&u->src);
	close(u->src.fd);
	free(u);
	W.up_active--;
}

static void up_accept(struct np_source *src)
{
	for (;;) {
		int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct up_conn *u = calloc(1, sizeof *u);
		struct coro *co = u ? coro_create(W.coros, up_main, u) : NULL;
		if (!co || netpoll_add(W.np, &u->src, fd, NULL) < 0)
			abort();
		u->src.ready = NP_WRITABLE;
		u->src.co = co;
		W.up_active++;
		netpoll_spawn(W.np, co, 0);
	}
}

static const struct np_source_ops up_listen_ops = { .idle_ready = up_accept };

void fz_upstream_answer(const uint8_t *resp, size_t len, size_t split, bool check_request)
{
	W.resp = resp;
	W.resp_len = len;
	W.resp_split = split;
	W.check_request = check_request;
}

/* ---- the client connection: as worker.c serves an accepted one ---- */

static void conn_close(void)
{
	netpoll_remove(&W.conn.src);
	close(W.conn.src.fd);
	W.conn.src.fd = -1;
	W.conn_open = false;
}

static void conn_main(struct coro *co, void *arg)
{
	(void)co;
	struct http_conn *c = arg;
	enum http_serve_result r = http_serve(&W.http, c);
	c->src.co = NULL;
	if (r == HTTP_IDLE)
		netpoll_set_idle_deadline(&c->src, netpoll_now(W.np) + W.limits.keepalive_timeout_ms);
	else
		conn_close();
}

static void conn_start(struct http_conn *c)
{
	struct coro *co = coro_create(W.coros, conn_main, c);
	if (!co)
		abort();
	c->src.co = co;
	netpoll_spawn(W.np, co, 0);
}

static void conn_idle_ready(struct np_source *src)
{
	conn_start((struct http_conn *)src);
}

static void conn_idle_timeout(struct np_source *src)
{
	(void)src;
	conn_close();
}

static const struct np_source_ops conn_ops = {
	.idle_ready = conn_idle_ready,
	.idle_timeout = conn_idle_timeout,
};

static int handle(void *owner, const struct http_request *req, struct http_reply *reply,
		  struct http_out *out)
{
	(void)owner;
	return route_handle(W.ra, req, reply, out);
}

static void log_line(void *target, const struct http_log_entry *e)
{
	if (W.watch.log)
		W.watch.log(W.watch.arg, e, NULL, 0);
	access_log_add(target, e);
}

/* As worker.c: the log of the server the router would choose. */
static void log_rejected(void *owner, const struct http_log_entry *e, const char *line,
			 size_t line_len)
{
	(void)owner;
	if (W.watch.log)
		W.watch.log(W.watch.arg, e, line ? line : "", line_len);
	struct access_log *log = route_reject_log(W.ra, e->req);
	if (log)
		access_log_add_rejected(log, e, line, line_len);
}

static void before_sleep(void *arg)
{
	(void)arg;
	route_flush_logs(W.routes);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The server has read all the client wrote (or closed). */
static bool client_bytes_read(void)
{
	int unread = 0;
	return !W.conn_open || (ioctl(W.conn.src.fd, FIONREAD, &unread) == 0 && unread == 0);
}

void fz_exchange(const uint8_t *in, size_t len, uint32_t peer_ipv4, fz_out_fn on_out, void *arg)
{
	fz_exchange_pieces(in, len, 0, peer_ipv4, on_out, arg);
}

void fz_exchange_pieces(const uint8_t *in, size_t len, size_t piece, uint32_t peer_ipv4,
			fz_out_fn on_out, void *arg)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct http_conn *c = &W.conn;
	memset(c, 0, sizeof *c);
	c->owner = &W;
	c->peer_family = AF_INET;
	uint32_t be = htonl(peer_ipv4);
	memcpy(c->peer, &be, 4);
	if (netpoll_add(W.np, &c->src, sv[0], &conn_ops) < 0)
		abort();
	W.conn_open = true;
	c->src.ready = NP_READABLE | NP_WRITABLE;
	conn_start(c);

	size_t sent = 0, upto = piece && piece < len ? piece : len; /* this piece's end */
	bool shut = false, eof = false;
	uint64_t start = now_ms();
	char buf[16384];
	while (W.conn_open || !eof || W.up_active || netpoll_runnable(W.np)) {
		if (sent == upto && upto < len && client_bytes_read())
			upto = len - upto > piece ? upto + piece : len;
		if (sent < upto) {
			ssize_t n = write(sv[1], in + sent, upto - sent);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = upto = len; /* the server closed: the rest is not read */
		}
		if (sent == len && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = true;
		}
		netpoll_turn(W.np, 1);
		while (!eof) {
			ssize_t n = read(sv[1], buf, sizeof buf);
			if (n > 0 && W.debug)
				fprintf(stderr, "--- client got:\n%.*s\n", (int)n, buf);
			if (n > 0 && on_out)
				on_out(arg, buf, (size_t)n);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				eof = true;
			if (n <= 0)
				break;
		}
		if (now_ms() - start > 8000)
			fz_fail("the exchange did not end within 8 s (a hang)", in, len);
	}
	close(sv[1]);
}

/* ---- setup ---- */

static char *substitute(const char *text, const char *dir, const char *up)
{
	size_t cap = strlen(text) * 2 + 4096, o = 0;
	char *out = malloc(cap);
	for (const char *p = text; *p;) {
		const char *rep = !strncmp(p, "@DIR@", 5) ? dir : !strncmp(p, "@UPSTREAM@", 10) ? up : NULL;
		if (rep) {
			o += (size_t)sprintf(out + o, "%s", rep);
			p += p[1] == 'D' ? 5 : 10;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	return out;
}

void fz_world_init(const char *config_text)
{
	signal(SIGPIPE, SIG_IGN);
	W.debug = getenv("FZ_DEBUG") != NULL;
	snprintf(W.dir, sizeof W.dir, "%s", fz_temp_dir("http"));
	make_tree();

	/* The upstream listens before the config is written: it names it. */
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		abort();
	char up[32];
	snprintf(up, sizeof up, "127.0.0.1:%u", ntohs(sa.sin_port));
	char *text = substitute(config_text, W.dir, up);
	char path[128];
	snprintf(path, sizeof path, "%s/garcom.conf", W.dir);
	put_text("garcom.conf", text);
	free(text);
	if (config_load(path, &W.cfg, stderr) != 0)
		abort();
	log_open("/dev/null", LOG_ERROR);

	const struct config *cfg = W.cfg;
	W.limits = route_http_limits(cfg);
	W.np = netpoll_create(cfg->events_batch);
	W.coros = coro_pool_create(cfg->coroutine_stack, 16);
	W.http = (struct http_ctx){
		.limits = &W.limits,
		.rbufs = buf_pool_create(cfg->limits.header_size + 4096, 16),
		.wbufs = buf_pool_create(16384, 16),
		.handler = handle,
		.log = log_line,
		.log_rejected = log_rejected,
	};
	if (!W.np || !W.coros || !W.http.rbufs || !W.http.wbufs)
		abort();
	W.routes = route_build(cfg, W.np);
	if (!W.routes)
		abort();
	W.ra = route_addr_for(W.routes, &cfg->servers[0].listens[0]);
	netpoll_set_before_sleep(W.np, before_sleep, NULL);
	if (netpoll_add(W.np, &W.up_src, lfd, &up_listen_ops) < 0)
		abort();
	static const uint8_t ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
	fz_upstream_answer(ok, sizeof ok - 1, 0, true);
}
