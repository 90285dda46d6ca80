/* master: owns the listening sockets (SO_REUSEPORT: at least one socket per
 * worker per address), forks the workers and supervises them: a worker that
 * dies is replaced, with a back-off if it keeps dying. SIGHUP starts a new
 * generation on the same sockets and drains the old one once the new one
 * serves. Knows nothing of HTTP. */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "worker.h"

#define BACKLOG 4096

struct slot {
	pid_t pid;         /* 0: not running */
	struct timespec started;
	unsigned quick_deaths; /* died soon after start, in a row */
	uint64_t respawn_at_ms; /* 0: not waiting */
};

/* One listen address and its sockets. Worker i of n takes the sockets k
 * with k % n == i, so when the number of workers shrinks no socket (and
 * no connection waiting in its queue) is dropped. */
struct lsock {
	struct config_listen addr; /* a copy: it outlives its configuration */
	int *fds;
	unsigned nfds;
};

struct master {
	struct config *cfg; /* the current generation's */
	unsigned nworkers;
	struct lsock *socks;
	size_t nsocks;
	struct slot *slots; /* the current generation */
	pid_t *old;         /* earlier generations, draining */
	size_t nold;
	pid_t pid;
	int ready_pipe[2];  /* workers write a byte each once they serve */
	unsigned ready;     /* bytes read for the current generation */
	bool reloading;     /* the old generation waits for the new to serve */
	sigset_t mask;      /* the signal mask workers start with */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

unsigned master_worker_count(const struct config *cfg)
{
	if (cfg->workers)
		return cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int open_socket(const struct config_listen *a)
{
	int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (a->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
#ifdef TCP_DEFER_ACCEPT
	/* Wake us only when the request's first bytes are there. */
	int secs = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
#endif
	if (bind(fd, (const struct sockaddr *)&a->addr, a->addrlen) < 0 || listen(fd, BACKLOG) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* What an operator can do about a failed bind or listen. */
static const char *listen_hint(int err)
{
	switch (err) {
	case EADDRINUSE:
		return "another process listens there (ss -ltnp shows which): stop it, or "
		       "change 'listen'";
	case EACCES:
		return "ports below 1024 need root or CAP_NET_BIND_SERVICE: start garcom as "
		       "root (workers drop to 'user'), or listen on a port above 1023";
	case EADDRNOTAVAIL:
		return "no interface of this machine has that address: listen on one it has, "
		       "or on 0.0.0.0 / [::]";
	case EAFNOSUPPORT:
		return "IPv6 is disabled on this machine: remove the [IPv6] address from 'listen'";
	case EMFILE:
	case ENFILE:
		return "out of file descriptors: raise LimitNOFILE= (systemd) or ulimit -n";
	default:
		return "check the address in 'listen'";
	}
}

static void free_socks(struct lsock *socks, size_t n, bool close_fds)
{
	for (size_t i = 0; socks && i < n; i++) {
		for (unsigned k = 0; close_fds && k < socks[i].nfds; k++)
			close(socks[i].fds[k]);
		free(socks[i].fds);
	}
	free(socks);
}

static struct lsock *find_sock(struct lsock *socks, size_t n, const struct config_listen *a)
{
	for (size_t i = 0; i < n; i++)
		if (config_listen_equal(&socks[i].addr, a))
			return &socks[i];
	return NULL;
}

/* The sockets cfg needs for nworkers: those the master has for an address
 * are kept, more are opened where needed. On failure nothing changes. */
static int build_socks(struct master *m, const struct config *cfg, unsigned nworkers,
		       struct lsock **out, size_t *nout)
{
	size_t cap = 0, n = 0;
	for (size_t s = 0; s < cfg->nservers; s++)
		cap += cfg->servers[s].nlistens;
	struct lsock *socks = calloc(cap + 1, sizeof *socks);
	if (!socks)
		return -1;
	for (size_t s = 0; s < cfg->nservers; s++) {
		for (size_t k = 0; k < cfg->servers[s].nlistens; k++) {
			const struct config_listen *a = &cfg->servers[s].listens[k];
			if (find_sock(socks, n, a))
				continue;
			struct lsock *ls = &socks[n++];
			ls->addr = *a;
			struct lsock *have = find_sock(m->socks, m->nsocks, a);
			unsigned keep = have ? have->nfds : 0;
			unsigned total = keep > nworkers ? keep : nworkers;
			ls->fds = calloc(total, sizeof *ls->fds);
			if (!ls->fds)
				goto fail;
			for (unsigned i = 0; i < keep; i++)
				ls->fds[ls->nfds++] = have->fds[i];
			while (ls->nfds < total) {
				int fd = open_socket(a);
				if (fd < 0) {
					log_error("cannot listen on %s: %s; %s", a->text,
						  strerror(-fd), listen_hint(-fd));
					goto fail;
				}
				ls->fds[ls->nfds++] = fd;
			}
		}
	}
	*out = socks;
	*nout = n;
	return 0;
fail:
	/* Close only what was opened here; kept sockets stay the master's. */
	for (size_t i = 0; i < n; i++) {
		struct lsock *have = find_sock(m->socks, m->nsocks, &socks[i].addr);
		for (unsigned k = have ? have->nfds : 0; k < socks[i].nfds; k++)
			close(socks[i].fds[k]);
	}
	free_socks(socks, n, false);
	return -1;
}

static int worker_main(struct master *m, unsigned id)
{
	size_t total = 0;
	for (size_t a = 0; a < m->nsocks; a++)
		total += m->socks[a].nfds;
	int *mine = calloc(total + 1, sizeof *mine);
	const struct config_listen **addrs = calloc(total + 1, sizeof *addrs);
	if (!mine || !addrs)
		return 1;
	size_t n = 0;
	for (size_t a = 0; a < m->nsocks; a++) {
		for (unsigned k = 0; k < m->socks[a].nfds; k++) {
			if (k % m->nworkers == id) {
				mine[n] = m->socks[a].fds[k];
				addrs[n++] = &m->socks[a].addr;
			} else {
				close(m->socks[a].fds[k]);
			}
		}
	}
	close(m->ready_pipe[0]);
	return worker_run(m->cfg, (int)id, mine, addrs, n, m->ready_pipe[1]);
}

static void spawn(struct master *m, unsigned id)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		m->slots[id].respawn_at_ms = now_ms() + 1000;
		return;
	}
	if (pid == 0) {
		/* A worker must not outlive its master. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != m->pid)
			_exit(1);
		signal(SIGHUP, SIG_IGN);
		sigprocmask(SIG_SETMASK, &m->mask, NULL);
		_exit(worker_main(m, id));
	}
	m->slots[id].pid = pid;
	m->slots[id].respawn_at_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &m->slots[id].started);
	log_debug("worker %u started, pid %d", id, (int)pid);
}

/* A worker of an earlier generation exited: forget it. */
static bool reap_old(struct master *m, pid_t pid)
{
	for (size_t i = 0; i < m->nold; i++) {
		if (m->old[i] == pid) {
			m->old[i] = m->old[--m->nold];
			log_debug("worker of an earlier generation (pid %d) exited", (int)pid);
			return true;
		}
	}
	return false;
}

static void reap(struct master *m, bool stopping)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (reap_old(m, pid))
			continue;
		for (unsigned i = 0; i < m->nworkers; i++) {
			struct slot *s = &m->slots[i];
			if (s->pid != pid)
				continue;
			s->pid = 0;
			if (stopping)
				break;
			if (WIFSIGNALED(st))
				log_error("worker %u (pid %d) killed by signal %d (%s); starting a new one",
					  i, (int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
			else
				log_error("worker %u (pid %d) exited with status %d; starting a new one "
					  "(its own errors are logged above)", i, (int)pid,
					  WEXITSTATUS(st));
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			bool quick = now.tv_sec - s->started.tv_sec < 2;
			s->quick_deaths = quick ? s->quick_deaths + 1 : 0;
			/* Crash loops back off: 0, 0.2, 0.4 ... up to 10 s. */
			unsigned q = s->quick_deaths > 8 ? 8 : s->quick_deaths;
			uint64_t delay = q <= 1 ? 0 : 100ull << (q - 1);
			if (delay > 10000)
				delay = 10000;
			s->respawn_at_ms = now_ms() + delay;
			metrics_add(M_RESTARTS, 1);
			break;
		}
	}
}

static unsigned running(const struct master *m)
{
	unsigned n = (unsigned)m->nold;
	for (unsigned i = 0; i < m->nworkers; i++)
		n += m->slots[i].pid != 0;
	return n;
}

static void signal_pid(pid_t pid, int sig)
{
	if (kill(pid, sig) < 0)
		log_error("cannot signal worker pid %d: %s", (int)pid, strerror(errno));
}

static void signal_workers(struct master *m, int sig)
{
	for (unsigned i = 0; i < m->nworkers; i++)
		if (m->slots[i].pid)
			signal_pid(m->slots[i].pid, sig);
	for (size_t i = 0; i < m->nold; i++)
		signal_pid(m->old[i], sig);
}

static void stop_workers(struct master *m, int sig, const sigset_t *wait_set)
{
	/* New connections are refused from now on, not queued to be reset. */
	free_socks(m->socks, m->nsocks, true);
	m->socks = NULL;
	m->nsocks = 0;
	signal_workers(m, sig);
	/* The workers keep the same deadline; this one is the backstop. */
	uint64_t deadline = now_ms() + m->cfg->timeouts.shutdown_ms + 1000;
	while (running(m)) {
		uint64_t now = now_ms();
		if (now >= deadline) {
			if (sig == SIGKILL) {
				/* Even SIGKILL did not end them (we may lack the right
				 * to signal them): do not hang the stop. */
				log_error("%u worker(s) did not exit; giving up on them", running(m));
				return;
			}
			log_warn("workers still running after the shutdown timeout: killing them");
			signal_workers(m, SIGKILL);
			sig = SIGKILL;
			deadline = now + 5000;
		}
		struct timespec ts = { 0, 100 * 1000000 };
		siginfo_t si;
		int sig2 = sigtimedwait(wait_set, &si, &ts);
		if (sig != SIGKILL && (sig2 == SIGINT || sig2 == SIGTERM)) {
			signal_workers(m, SIGKILL); /* second signal: fast stop */
			sig = SIGKILL;
			deadline = now_ms() + 5000;
		}
		reap(m, true);
	}
}

static int write_pid_file(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* The old generation drains once every worker of the new one serves. */
static void retire_old(struct master *m)
{
	for (size_t i = 0; i < m->nold; i++)
		signal_pid(m->old[i], SIGTERM);
	m->reloading = false;
	log_info("reload done: %u worker%s of the new generation serve; the old one drains",
		 m->nworkers, m->nworkers == 1 ? "" : "s");
}

/* READY=1 for systemd once every worker of the current generation serves. */
static void check_ready(struct master *m)
{
	char buf[64];
	ssize_t n;
	if (m->ready >= m->nworkers)
		return;
	while ((n = read(m->ready_pipe[0], buf, sizeof buf)) > 0)
		m->ready += (unsigned)n;
	if (m->ready < m->nworkers)
		return;
	if (m->reloading)
		retire_old(m);
	char state[128];
	snprintf(state, sizeof state, "READY=1\nSTATUS=serving: %u worker%s, %zu address%s",
		 m->nworkers, m->nworkers == 1 ? "" : "s", m->nsocks, m->nsocks == 1 ? "" : "es");
	notify_send(state);
	log_info("all %u workers serve", m->nworkers);
}

/* Configuration errors go to the error log, one line each. */
static struct config *load_logged(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	if (!errs)
		return NULL;
	struct config *cfg = NULL;
	int n = config_load(path, &cfg, errs);
	fclose(errs);
	for (char *line = text, *end; n && line && *line; line = end) {
		end = strchr(line, '\n');
		if (end)
			*end++ = 0;
		log_error("%s", line);
	}
	free(text);
	return n ? NULL : cfg;
}

/* SIGHUP: a new configuration, new workers on the same sockets, then the
 * old workers drain. An invalid configuration changes nothing. */
static void reload(struct master *m)
{
	char usec[64];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(usec, sizeof usec, "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(usec);
	struct config *cfg = load_logged(m->cfg->path);
	if (!cfg) {
		log_error("reload: %s is not valid; still serving the previous configuration",
			  m->cfg->path);
		notify_send("READY=1\nSTATUS=reload failed: configuration errors");
		return;
	}
	unsigned n = master_worker_count(cfg);
	struct lsock *socks;
	size_t nsocks;
	struct slot *slots = calloc(n, sizeof *slots);
	pid_t *old = realloc(m->old, (m->nold + m->nworkers + 1) * sizeof *old);
	if (old)
		m->old = old;
	if (!slots || !old || build_socks(m, cfg, n, &socks, &nsocks) < 0) {
		log_error("reload failed; still serving the previous configuration");
		free(slots);
		config_free(cfg);
		notify_send("READY=1\nSTATUS=reload failed");
		return;
	}
	/* Sockets of addresses no longer listened on: the old workers hold
	 * their own copies until they have drained. */
	for (size_t i = 0; i < m->nsocks; i++)
		if (!find_sock(socks, nsocks, &m->socks[i].addr))
			for (unsigned k = 0; k < m->socks[i].nfds; k++)
				close(m->socks[i].fds[k]);
	free_socks(m->socks, m->nsocks, false);
	m->socks = socks;
	m->nsocks = nsocks;
	for (unsigned i = 0; i < m->nworkers; i++)
		if (m->slots[i].pid)
			m->old[m->nold++] = m->slots[i].pid;
	free(m->slots);
	config_free(m->cfg); /* the old workers have their own copy */
	m->cfg = cfg;
	m->nworkers = n;
	m->slots = slots;
	m->ready = 0;
	m->reloading = true;
	int r = log_open(cfg->error_log, cfg->log_level);
	if (r < 0)
		log_error("error log %s: %s; %s; logging on as before", cfg->error_log,
			  strerror(-r), log_file_hint(-r));
	log_info("reload: starting %u worker%s with the new configuration", n, n == 1 ? "" : "s");
	metrics_add(M_RELOADS, 1);
	for (unsigned i = 0; i < n; i++)
		spawn(m, i);
}

int master_run(struct config *cfg, const char *pid_file)
{
	struct master m = { .cfg = cfg, .pid = getpid() };
	m.nworkers = cfg->master_process ? master_worker_count(cfg) : 1;
	if (metrics_init() < 0 || build_socks(&m, cfg, m.nworkers, &m.socks, &m.nsocks) < 0)
		return 1;
	if (!pid_file)
		pid_file = cfg->pid_file;
	if (pid_file) {
		int r = write_pid_file(pid_file);
		if (r < 0) {
			log_error("pid file %s: %s; %s", pid_file, strerror(-r), log_file_hint(-r));
			return 1;
		}
	}
	log_info("garcom started: %u worker%s on %zu address%s", m.nworkers,
		 m.nworkers == 1 ? "" : "s", m.nsocks, m.nsocks == 1 ? "" : "es");
	if (!cfg->master_process) {
		const struct config_listen *addrs[m.nsocks + 1];
		int fds[m.nsocks + 1];
		for (size_t i = 0; i < m.nsocks; i++) {
			addrs[i] = &m.socks[i].addr;
			fds[i] = m.socks[i].fds[0];
		}
		int st = worker_run(cfg, 0, fds, addrs, m.nsocks, -1);
		if (pid_file)
			unlink(pid_file);
		/* The worker closed the sockets when it began to drain. */
		free_socks(m.socks, m.nsocks, false);
		config_free(cfg);
		return st;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &m.mask);

	m.slots = calloc(m.nworkers, sizeof *m.slots);
	if (!m.slots || pipe2(m.ready_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	for (unsigned i = 0; i < m.nworkers; i++)
		spawn(&m, i);

	for (;;) {
		/* Wake for signals, or for the next delayed respawn. */
		uint64_t next = UINT64_MAX, now = now_ms();
		for (unsigned i = 0; i < m.nworkers; i++) {
			struct slot *s = &m.slots[i];
			if (!s->pid && s->respawn_at_ms) {
				if (s->respawn_at_ms <= now)
					spawn(&m, i);
				else if (s->respawn_at_ms < next)
					next = s->respawn_at_ms;
			}
		}
		uint64_t wait = next == UINT64_MAX ? 1000 : next - now;
		if (m.ready < m.nworkers && wait > 20)
			wait = 20; /* until every worker said it serves */
		struct timespec ts = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000 };
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &ts);
		check_ready(&m);
		if (sig == SIGCHLD) {
			reap(&m, false);
		} else if (sig == SIGTERM || sig == SIGQUIT) {
			log_info("signal %d: stopping", sig);
			notify_send("STOPPING=1");
			stop_workers(&m, SIGTERM, &set);
			break;
		} else if (sig == SIGINT) {
			log_info("SIGINT: stopping now");
			notify_send("STOPPING=1");
			stop_workers(&m, SIGKILL, &set);
			break;
		} else if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", m.cfg->path);
			reload(&m);
		} else if (sig == SIGUSR1) {
			log_reopen();
			signal_workers(&m, SIGUSR1);
		}
	}
	if (pid_file)
		unlink(pid_file);
	log_info("garcom stopped");
	free(m.slots);
	free(m.old);
	config_free(m.cfg);
	return 0;
}
