/* master: owns the listening sockets (one SO_REUSEPORT socket per worker
 * per address), forks the workers and supervises them: a worker that dies
 * is replaced, with a back-off if it keeps dying. Knows nothing of HTTP. */
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
#include "notify.h"
#include "worker.h"

#define BACKLOG 4096

struct slot {
	pid_t pid;         /* 0: not running */
	struct timespec started;
	unsigned quick_deaths; /* died soon after start, in a row */
	uint64_t respawn_at_ms; /* 0: not waiting */
};

struct master {
	const struct config *cfg;
	unsigned nworkers;
	const struct config_listen **addrs;
	size_t naddrs;
	int *fds; /* fds[a * nworkers + w] */
	struct slot *slots;
	pid_t pid;
	int ready_pipe[2]; /* workers write a byte each once they serve */
	unsigned ready;    /* bytes read so far */
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

/* Distinct listen addresses of all servers, in config order. */
static int collect_addrs(struct master *m)
{
	const struct config *cfg = m->cfg;
	size_t cap = 0;
	for (size_t s = 0; s < cfg->nservers; s++)
		cap += cfg->servers[s].nlistens;
	m->addrs = calloc(cap ? cap : 1, sizeof *m->addrs);
	if (!m->addrs)
		return -1;
	for (size_t s = 0; s < cfg->nservers; s++) {
		for (size_t k = 0; k < cfg->servers[s].nlistens; k++) {
			const struct config_listen *a = &cfg->servers[s].listens[k];
			size_t i;
			for (i = 0; i < m->naddrs; i++)
				if (config_listen_equal(m->addrs[i], a))
					break;
			if (i == m->naddrs)
				m->addrs[m->naddrs++] = a;
		}
	}
	return 0;
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

static int open_sockets(struct master *m)
{
	m->fds = calloc(m->naddrs * m->nworkers, sizeof *m->fds);
	if (!m->fds)
		return -1;
	for (size_t a = 0; a < m->naddrs; a++) {
		for (unsigned w = 0; w < m->nworkers; w++) {
			int fd = open_socket(m->addrs[a]);
			if (fd < 0) {
				log_error("cannot listen on %s: %s", m->addrs[a]->text, strerror(-fd));
				return -1;
			}
			m->fds[a * m->nworkers + w] = fd;
		}
	}
	return 0;
}

static int worker_main(struct master *m, unsigned id)
{
	int *mine = calloc(m->naddrs ? m->naddrs : 1, sizeof *mine);
	if (!mine)
		return 1;
	for (size_t a = 0; a < m->naddrs; a++) {
		for (unsigned w = 0; w < m->nworkers; w++) {
			int fd = m->fds[a * m->nworkers + w];
			if (w == id)
				mine[a] = fd;
			else
				close(fd);
		}
	}
	close(m->ready_pipe[0]);
	return worker_run(m->cfg, (int)id, mine, m->addrs, m->naddrs, m->ready_pipe[1]);
}

static void spawn(struct master *m, unsigned id, const sigset_t *old)
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
		sigprocmask(SIG_SETMASK, old, NULL);
		_exit(worker_main(m, id));
	}
	m->slots[id].pid = pid;
	m->slots[id].respawn_at_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &m->slots[id].started);
	log_debug("worker %u started, pid %d", id, (int)pid);
}

static void reap(struct master *m, bool stopping)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (unsigned i = 0; i < m->nworkers; i++) {
			struct slot *s = &m->slots[i];
			if (s->pid != pid)
				continue;
			s->pid = 0;
			if (stopping)
				break;
			if (WIFSIGNALED(st))
				log_error("worker %u (pid %d) killed by signal %d", i, (int)pid, WTERMSIG(st));
			else
				log_error("worker %u (pid %d) exited with status %d", i, (int)pid,
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
			break;
		}
	}
}

static unsigned running(const struct master *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->nworkers; i++)
		n += m->slots[i].pid != 0;
	return n;
}

static void signal_workers(struct master *m, int sig)
{
	for (unsigned i = 0; i < m->nworkers; i++)
		if (m->slots[i].pid && kill(m->slots[i].pid, sig) < 0)
			log_error("cannot signal worker %u (pid %d): %s", i, (int)m->slots[i].pid,
				  strerror(errno));
}

static void close_sockets(struct master *m)
{
	for (size_t i = 0; m->fds && i < m->naddrs * m->nworkers; i++)
		if (m->fds[i] >= 0) {
			close(m->fds[i]);
			m->fds[i] = -1;
		}
}

static void stop_workers(struct master *m, int sig, const sigset_t *wait_set)
{
	/* New connections are refused from now on, not queued to be reset. */
	close_sockets(m);
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

/* READY=1 for systemd once every first-generation worker serves. */
static void check_ready(struct master *m)
{
	char buf[64];
	ssize_t n;
	if (m->ready >= m->nworkers)
		return;
	while ((n = read(m->ready_pipe[0], buf, sizeof buf)) > 0)
		m->ready += (unsigned)n;
	if (m->ready >= m->nworkers) {
		char state[128];
		snprintf(state, sizeof state, "READY=1\nSTATUS=serving: %u worker%s, %zu address%s",
			 m->nworkers, m->nworkers == 1 ? "" : "s", m->naddrs,
			 m->naddrs == 1 ? "" : "es");
		notify_send(state);
		log_info("all %u workers serve", m->nworkers);
	}
}

int master_run(const struct config *cfg, const char *pid_file)
{
	struct master m = { .cfg = cfg, .pid = getpid() };
	m.nworkers = cfg->master_process ? master_worker_count(cfg) : 1;
	if (collect_addrs(&m) < 0 || open_sockets(&m) < 0)
		return 1;
	if (!pid_file)
		pid_file = cfg->pid_file;
	if (pid_file) {
		int r = write_pid_file(pid_file);
		if (r < 0) {
			log_error("pid file %s: %s", pid_file, strerror(-r));
			return 1;
		}
	}
	log_info("garcom started: %u worker%s on %zu address%s", m.nworkers,
		 m.nworkers == 1 ? "" : "s", m.naddrs, m.naddrs == 1 ? "" : "es");
	if (!cfg->master_process) {
		int st = worker_run(cfg, 0, m.fds, m.addrs, m.naddrs, -1);
		if (pid_file)
			unlink(pid_file);
		return st;
	}

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);

	m.slots = calloc(m.nworkers, sizeof *m.slots);
	if (!m.slots || pipe2(m.ready_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	for (unsigned i = 0; i < m.nworkers; i++)
		spawn(&m, i, &old);

	int status = 0;
	for (;;) {
		/* Wake for signals, or for the next delayed respawn. */
		uint64_t next = UINT64_MAX, now = now_ms();
		for (unsigned i = 0; i < m.nworkers; i++) {
			struct slot *s = &m.slots[i];
			if (!s->pid && s->respawn_at_ms) {
				if (s->respawn_at_ms <= now)
					spawn(&m, i, &old);
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
			log_warn("SIGHUP: reloading is not supported yet; restart to apply changes");
		} else if (sig == SIGUSR1) {
			log_reopen();
			signal_workers(&m, SIGUSR1);
		}
	}
	if (pid_file)
		unlink(pid_file);
	log_info("garcom stopped");
	return status;
}
