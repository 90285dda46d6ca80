/* worker: see worker.h. Connection lifecycle: accept -> record in the table
 * -> a coroutine while it has work -> idle (no coroutine, no buffers, the
 * keep-alive deadline armed) -> the next readable event starts a coroutine
 * again -> close. */
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "accesslog.h"
#include "coro.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "netpoll.h"
#include "notify.h"
#include "route.h"

/* Stacks and buffers kept for reuse after a burst; beyond this they go back
 * to the system, so a burst does not pin its high-water mark forever. */
#define POOL_IDLE 128

struct listener {
	struct np_source src;
	struct worker *w;
	const struct config_listen *addr;
	const struct route_addr *routes;
};

struct worker {
	const struct config *cfg;
	int id;
	struct netpoll *np;
	struct coro_pool *coros;
	struct http_ctx http;
	struct http_limits limits;
	struct http_conn *conns; /* indexed by fd */
	int nconns_max;
	unsigned active, max_active;
	int max_fd;          /* highest fd in conns ever used */
	bool accept_paused;  /* at max_connections, or out of descriptors */
	bool out_of_fds;     /* paused for descriptors: only the back-off resumes */
	int fd_reserve;      /* descriptors kept for the open connections' files */
	int conn_cap;        /* connections that leave fd_reserve free: the limit
			      * less the reserve and what the worker holds besides */
	bool draining;       /* stopping: no new connections, no keep-alive */
	bool stop;           /* stop now */
	uint64_t drain_deadline;
	time_t last_accept_error;
	struct listener *listeners;
	size_t nlisteners;
	struct route_table *routes;
	struct np_source sig;
	int sigfd;
	unsigned long long requests, accepted;
	uint64_t logs_flushed_ms; /* the last access log flush */
};

static int handle(void *owner, const struct http_request *req, struct http_reply *reply,
		  struct http_out *out)
{
	struct listener *l = owner;
	l->w->requests++;
	return route_handle(l->routes, req, reply, out);
}

/* What an idle keep-alive connection costs (DESIGN.md: under 256 bytes). */
_Static_assert(sizeof(struct http_conn) <= 128, "the idle connection record grew");
_Static_assert(CONFIG_MAX_HEADERS <= HTTP_MAX_HEADERS, "limits.headers may exceed the header table");

/* After EMFILE/ENFILE from accept4, try again after this long. */
#define ACCEPT_RETRY_MS 100

/* ---- connections ---- */

static void accept_ready(struct np_source *src);

static void conn_close(struct worker *w, struct http_conn *c)
{
	netpoll_remove(&c->src);
	close(c->src.fd);
	c->src.fd = -1;
	c->owner = NULL;
	w->active--;
	metrics_add(M_CLOSED, 1);
	if (w->accept_paused && !w->out_of_fds && !w->draining &&
	    (!w->max_active || w->active < w->max_active)) {
		w->accept_paused = false;
		for (size_t i = 0; i < w->nlisteners; i++)
			accept_ready(&w->listeners[i].src);
	}
}

static struct worker *worker_of(struct http_conn *c)
{
	return ((struct listener *)c->owner)->w;
}

/* What an operator can do when accept4 fails. */
static const char *accept_hint(int err)
{
	switch (err) {
	case EMFILE:
		return "this worker has as many files open as it may: raise LimitNOFILE= "
		       "(systemd) or ulimit -n, or lower limits.max_connections";
	case ENFILE:
		return "the system's file table is full: raise fs.file-max (sysctl)";
	case ENOBUFS:
	case ENOMEM:
		return "the kernel is out of memory for sockets";
	default:
		return "new connections wait in the listen queue meanwhile";
	}
}

static void conn_main(struct coro *co, void *arg)
{
	(void)co;
	struct http_conn *c = arg;
	struct worker *w = worker_of(c);
	enum http_serve_result r = http_serve(&w->http, c);
	c->src.co = NULL;
	/* A new connection waits for its first byte as long as for a head. */
	unsigned idle_ms = c->requests ? w->limits.keepalive_timeout_ms : w->limits.header_timeout_ms;
	if (r == HTTP_IDLE && !w->draining)
		netpoll_set_idle_deadline(&c->src, netpoll_now(w->np) + idle_ms);
	else
		conn_close(w, c);
}

static void conn_start(struct http_conn *c)
{
	struct worker *w = worker_of(c);
	struct coro *co = coro_create(w->coros, conn_main, c);
	if (!co) {
		log_error("no coroutine stack for a connection: %s", strerror(errno));
		conn_close(w, c);
		return;
	}
	c->src.co = co;
	netpoll_spawn(w->np, co, 0);
}

static void conn_idle_ready(struct np_source *src)
{
	conn_start((struct http_conn *)src);
}

static void conn_idle_timeout(struct np_source *src)
{
	struct http_conn *c = (struct http_conn *)src;
	conn_close(worker_of(c), c);
}

static const struct np_source_ops conn_ops = {
	.idle_ready = conn_idle_ready,
	.idle_timeout = conn_idle_timeout,
};

/* Out of descriptors, or nearly: stop accepting, retry after a back-off.
 * Not at the next close: the connection it would bring in would take the
 * descriptor that an open connection needs for its file or upstream. */
/* why: what happened; err: the errno whose hint tells what to do. */
static void pause_for_fds(struct worker *w, struct listener *l, const char *why, int err)
{
	int64_t now = netpoll_wall_sec(w->np);
	if (now != w->last_accept_error) {
		log_error("accept4 on %s: %s; pausing accepts for %d ms; %s", l->addr->text, why,
			  ACCEPT_RETRY_MS, accept_hint(err));
		w->last_accept_error = now;
	}
	w->accept_paused = w->out_of_fds = true;
	netpoll_set_idle_deadline(&l->src, netpoll_now(w->np) + ACCEPT_RETRY_MS);
}

/* Too few descriptors left for the open connections' files and upstreams?
 * Counted (connections against conn_cap), since closed connections leave
 * holes below the highest descriptor; and, for what is not counted (cached
 * files, upstream sockets), the lowest free descriptor: accept4 returns it,
 * so one this high means at most fd_reserve are left. */
static bool fd_in_reserve(const struct worker *w, int fd)
{
	return (int)w->active >= w->conn_cap || fd >= w->nconns_max - w->fd_reserve;
}

/* Descriptors open now (at start: the listeners, logs, epoll, signalfd). */
static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 64; /* no /proc: a guess on the safe side */
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

static void accept_ready(struct np_source *src)
{
	struct listener *l = (struct listener *)src;
	struct worker *w = l->w;
	if (w->out_of_fds)
		return; /* new connections wait in the queue for the back-off */
	for (;;) {
		if (w->max_active && w->active >= w->max_active) {
			/* The kernel's queue holds the rest until a slot frees. */
			w->accept_paused = true;
			return;
		}
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof peer;
		int fd = accept4(src->fd, (struct sockaddr *)&peer, &peer_len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			/* EMFILE, ENFILE, ENOBUFS...: retry after a short
			 * back-off, new connections waiting in the kernel's
			 * queue; keep serving the open ones meanwhile. */
			int e = errno;
			pause_for_fds(w, l, strerror(e), e);
			return;
		}
		if (fd >= w->nconns_max) {
			close(fd);
			continue;
		}
		struct http_conn *c = &w->conns[fd];
		if (fd > w->max_fd)
			w->max_fd = fd;
		c->rbuf = NULL;
		c->rlen = 0;
		c->requests = 0;
		c->blank_parked = false;
		c->owner = l;
		/* Kept from accept: logs and X-Forwarded-For need no syscall. */
		c->peer_family = (uint8_t)peer.ss_family;
		if (peer.ss_family == AF_INET6)
			memcpy(c->peer, &((struct sockaddr_in6 *)&peer)->sin6_addr, 16);
		else
			memcpy(c->peer, &((struct sockaddr_in *)&peer)->sin_addr, 4);
		if (netpoll_add(w->np, &c->src, fd, &conn_ops) < 0) {
			close(fd);
			continue;
		}
		w->active++;
		w->accepted++;
		metrics_add(M_ACCEPTED, 1);
		/* With TCP_DEFER_ACCEPT the request is usually here already:
		 * start at once; a read that finds nothing just waits. */
		c->src.ready = NP_READABLE | NP_WRITABLE;
		conn_start(c);
		if (fd_in_reserve(w, fd)) {
			pause_for_fds(w, l, "descriptors nearly exhausted (the last ones are kept "
					    "for the open connections' files and upstreams)", EMFILE);
			return;
		}
	}
}

static void accept_retry(struct np_source *src)
{
	struct listener *l = (struct listener *)src;
	struct worker *w = l->w;
	if (w->draining)
		return;
	/* Still short of descriptors (the lowest free one is in the reserve):
	 * wait another back-off rather than take one more connection. */
	int probe = fcntl(src->fd, F_DUPFD_CLOEXEC, 0);
	if (probe >= 0)
		close(probe);
	if (probe < 0 || fd_in_reserve(w, probe)) {
		netpoll_set_idle_deadline(src, netpoll_now(w->np) + ACCEPT_RETRY_MS);
		return;
	}
	w->out_of_fds = false;
	/* Edges that came while paused were ignored: every listener. */
	for (size_t i = 0; i < w->nlisteners; i++)
		accept_ready(&w->listeners[i].src);
}

static const struct np_source_ops listener_ops = {
	.idle_ready = accept_ready,
	.idle_timeout = accept_retry,
};

/* ---- stopping ---- */

/* Graceful stop: stop accepting, close idle connections now, let busy
 * ones finish their current request (answered with Connection: close),
 * exit when none is left or at the shutdown deadline. */
static void start_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	w->http.draining = true;
	if (!w->cfg->master_process)
		notify_send("STOPPING=1");
	w->drain_deadline = netpoll_now(w->np) + w->cfg->timeouts.shutdown_ms;
	for (size_t i = 0; i < w->nlisteners; i++) {
		netpoll_remove(&w->listeners[i].src);
		close(w->listeners[i].src.fd);
	}
	for (int fd = 0; fd <= w->max_fd; fd++) {
		struct http_conn *c = &w->conns[fd];
		if (c->owner && !c->src.co)
			conn_close(w, c);
	}
}

/* ---- signals ---- */

static void signal_ready(struct np_source *src)
{
	struct worker *w = (struct worker *)((char *)src - offsetof(struct worker, sig));
	struct signalfd_siginfo si;
	while (read(w->sigfd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGUSR1:
			log_reopen();
			route_reopen_logs(w->routes);
			break;
		case SIGHUP: /* only reaches a worker running without a master */
			log_warn("SIGHUP: reloading needs master_process = true; restart to apply changes");
			break;
		case SIGINT:
			w->stop = true;
			break;
		default: /* SIGTERM, SIGQUIT */
			start_drain(w);
		}
	}
	src->ready = 0;
}

static const struct np_source_ops signal_ops = { .idle_ready = signal_ready };

/* ---- access log ---- */

static void log_line(void *target, const struct http_log_entry *e)
{
	access_log_add(target, e);
}

/* A request refused before routing: the log of the server of the address
 * it came in on, as the router would choose it. */
static void log_rejected(void *owner, const struct http_log_entry *e, const char *line,
			 size_t line_len)
{
	struct listener *l = owner;
	struct access_log *log = route_reject_log(l->routes, e->req);
	if (log)
		access_log_add_rejected(log, e, line, line_len);
}

/* Access log lines are written a second at most after they were made (as
 * nginx's flush=1s), or when 64 KiB are full: not a write per request, nor
 * per loop turn. The main loop wakes within a second while lines wait. */
#define LOG_FLUSH_MS 1000

static void before_sleep(void *arg)
{
	struct worker *w = arg;
	uint64_t now = netpoll_now(w->np);
	if (now - w->logs_flushed_ms >= LOG_FLUSH_MS) {
		route_flush_logs(w->routes);
		w->logs_flushed_ms = now;
	}
}

/* How long the main loop may sleep: a drain looks every 100 ms; waiting
 * log lines need their flush. */
static int sleep_limit_ms(const struct worker *w)
{
	if (w->draining)
		return 100;
	if (route_logs_pending(w->routes)) {
		uint64_t since = netpoll_now(w->np) - w->logs_flushed_ms;
		return since >= LOG_FLUSH_MS ? 0 : (int)(LOG_FLUSH_MS - since);
	}
	return -1;
}

/* ---- setup ---- */

static int open_listeners(struct worker *w, const int *fds, const struct config_listen *const *addrs,
			  size_t n)
{
	w->listeners = calloc(n, sizeof *w->listeners);
	if (!w->listeners)
		return -1;
	w->nlisteners = n;
	for (size_t i = 0; i < n; i++) {
		struct listener *l = &w->listeners[i];
		l->w = w;
		l->addr = addrs[i];
		l->routes = route_addr_for(w->routes, addrs[i]);
		if (netpoll_add(w->np, &l->src, fds[i], &listener_ops) < 0)
			return -1;
	}
	return 0;
}

static int drop_privileges(const struct config *cfg)
{
	if (geteuid() != 0 || (!cfg->user && !cfg->group))
		return 0;
	uid_t uid = 0;
	gid_t gid = 0;
	if (cfg->user) {
		struct passwd *pw = getpwnam(cfg->user);
		if (!pw) {
			log_error("user '%s' does not exist", cfg->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (cfg->group) {
		struct group *gr = getgrnam(cfg->group);
		if (!gr) {
			log_error("group '%s' does not exist", cfg->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || (cfg->user && setuid(uid) < 0)) {
		log_error("dropping privileges: %s", strerror(errno));
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

/* Descriptors a worker may use (its table's size). Worker 0 warns once
 * when max_connections cannot be reached under this limit. */
static int table_size(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Untouched pages of the table cost nothing (calloc maps zeroes). */
	rlim_t n = rl.rlim_cur;
	if (n == RLIM_INFINITY || n > (1u << 20))
		n = 1u << 20;
	return (int)n;
}

int worker_run(const struct config *cfg, int id, const int *listen_fds,
	       const struct config_listen *const *addrs, size_t naddrs, int ready_fd)
{
	pid_t master_pid = getppid();
	struct worker w = { .cfg = cfg, .id = id, .sigfd = -1 };
	int status = 1;
	log_set_worker(id);
	metrics_use_slot((unsigned)id);
	signal(SIGPIPE, SIG_IGN);

	w.limits = route_http_limits(cfg);
	w.max_active = cfg->limits.max_connections;
	w.nconns_max = table_size();
	w.fd_reserve = 16 + w.nconns_max / 64;
	if (w.fd_reserve > w.nconns_max / 4)
		w.fd_reserve = w.nconns_max / 4; /* a tiny ulimit -n */
	w.conns = calloc((size_t)w.nconns_max, sizeof *w.conns);
	w.np = netpoll_create(cfg->events_batch);
	w.coros = coro_pool_create(cfg->coroutine_stack, POOL_IDLE);
	/* The read buffer holds a whole head plus room to read ahead. */
	w.http = (struct http_ctx){
		.limits = &w.limits,
		.rbufs = buf_pool_create(cfg->limits.header_size + 4096, POOL_IDLE),
		.wbufs = buf_pool_create(16384, POOL_IDLE),
		.handler = handle,
		.log = log_line,
		.log_rejected = log_rejected,
		.done = metrics_request,
	};
	if (!w.conns || !w.np || !w.coros || !w.http.rbufs || !w.http.wbufs) {
		log_error("worker %d: out of memory at start", id);
		goto out;
	}
	w.routes = route_build(cfg, w.np);
	netpoll_set_before_sleep(w.np, before_sleep, &w);
	if (!w.routes || open_listeners(&w, listen_fds, addrs, naddrs) < 0)
		goto out;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	w.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w.sigfd < 0 || netpoll_add(w.np, &w.sig, w.sigfd, &signal_ops) < 0)
		goto out;
	/* What the worker holds now stays open: connections get the rest,
	 * less the reserve. */
	int held = count_open_fds();
	w.conn_cap = w.nconns_max - w.fd_reserve - held;
	if (w.conn_cap < 1)
		w.conn_cap = 1;
	unsigned want = cfg->limits.max_connections;
	if (id == 0 && want && want > (unsigned)w.conn_cap)
		log_warn("limits.max_connections = %u, but a worker may have only %d files "
			 "open (RLIMIT_NOFILE): raise LimitNOFILE= (systemd) or ulimit -n above "
			 "%u, or lower max_connections", want, w.nconns_max,
			 want + (unsigned)(w.fd_reserve + held));
	if (drop_privileges(cfg) < 0)
		goto out;
	/* Changing credentials clears the parent-death signal: set it again,
	 * and check the master did not die in between. */
	if (cfg->master_process) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != master_pid)
			goto out;
	}

	log_debug("worker %d serving", id);
	if (ready_fd >= 0) {
		ssize_t n = write(ready_fd, "r", 1); /* the master counts these */
		(void)n;
		close(ready_fd);
	} else {
		notify_send("READY=1\nSTATUS=serving");
	}
	int r = 0;
	while (!w.stop) {
		r = netpoll_turn(w.np, sleep_limit_ms(&w));
		if (r < 0 && r != -EINTR) {
			log_error("epoll_wait: %s", strerror(-r));
			break;
		}
		if (w.draining && (w.active == 0 || netpoll_now(w.np) >= w.drain_deadline)) {
			if (w.active)
				log_warn("shutdown timeout: closing %u connection(s)", w.active);
			break;
		}
	}
	status = r < 0 && r != -EINTR ? 1 : 0;
	if (w.routes)
		route_flush_logs(w.routes);
	log_info("worker %d exiting: %llu requests on %llu connections", id, w.requests,
		 w.accepted);
out:
	/* Everything back, so that a leak checker shows real leaks only. With
	 * connections still open (a forced shutdown) their coroutines point
	 * into all of it: then the kernel takes it back at exit. */
	if (w.active == 0) {
		route_free(w.routes);
		free(w.listeners);
		buf_pool_destroy(w.http.rbufs);
		buf_pool_destroy(w.http.wbufs);
		coro_pool_destroy(w.coros);
		if (w.sigfd >= 0)
			close(w.sigfd);
		netpoll_destroy(w.np);
		free(w.conns);
	}
	return status;
}
