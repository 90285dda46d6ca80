/* floor: the physical limit of an HTTP/1.1 server on this machine (issue 7).
 * One process, one edge-triggered epoll loop, and every request head (bytes
 * up to "\r\n\r\n", several per read when pipelined) answered with the same
 * canned 200 and a 1 KiB body: one read and one write per wake-up, no
 * parsing beyond finding the head's end, no files, no Date, no timers.
 * What garcom spends beyond this is its own cost.
 *
 * usage: floor PORT [CLOSE_PORT]   (127.0.0.1; on CLOSE_PORT every response
 * says "Connection: close" and the connection is closed after it, which is
 * what a client sending Connection: close expects; the floor does not look
 * for that header.) SIGTERM or SIGINT: exit 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define COPIES 32 /* responses in the canned output: pipelined heads per write */

struct conn {
	unsigned char matched; /* bytes of "\r\n\r\n" seen at the end of the last read */
	unsigned char close;   /* accepted on CLOSE_PORT */
	unsigned owed;         /* bytes of responses not written yet */
	unsigned off;          /* where the next byte is in one response */
};

static struct conn conns[MAX_FDS];
static char out[2][COPIES * 1200]; /* [keep-alive, close] */
static unsigned out_len[2];        /* one response's length */
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
		perror("floor: listen");
		exit(1);
	}
	return fd;
}

static void canned(int close)
{
	char body[1024], head[200];
	memset(body, 'x', sizeof body);
	int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nServer: floor\r\n"
			 "Content-Type: text/html\r\nContent-Length: 1024\r\n%s\r\n",
			 close ? "Connection: close\r\n" : "");
	out_len[close] = n + sizeof body;
	for (int i = 0; i < COPIES; i++) {
		memcpy(out[close] + i * out_len[close], head, n);
		memcpy(out[close] + i * out_len[close] + n, body, sizeof body);
	}
}

static void drop(int fd) { conns[fd].owed = 0; close(fd); }

/* Write what is owed: responses are all alike, so the output is the canned
 * buffer from `off` on. On EAGAIN, EPOLLOUT (edge-triggered) brings us back. */
static void flush(int fd)
{
	struct conn *c = &conns[fd];
	unsigned len = out_len[c->close];
	if (!c->owed)
		return;
	while (c->owed) {
		unsigned n = COPIES * len - c->off;
		ssize_t w = write(fd, out[c->close] + c->off, n < c->owed ? n : c->owed);
		if (w < 0) {
			if (errno != EAGAIN)
				drop(fd);
			return;
		}
		c->owed -= w;
		c->off = (c->off + w) % len;
	}
	if (c->close)
		drop(fd);
}

/* One read (a second one only if the buffer came back full); count the head
 * ends in it, then owe one response per head. */
static void serve(int fd)
{
	static const char end[] = "\r\n\r\n";
	static char buf[16384];
	struct conn *c = &conns[fd];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			drop(fd);
			return;
		}
		/* A match state across reads (heads may be split anywhere); memchr
		 * skips to the next line end, so a head costs a few steps a line. */
		unsigned heads = 0, m = c->matched;
		for (char *p = buf, *e = buf + n; p < e; p++) {
			if (!m && !(p = memchr(p, '\r', e - p)))
				break;
			m = *p == end[m] ? m + 1 : *p == '\r';
			if (m == 4)
				heads++, m = 0;
		}
		c->matched = m;
		c->owed += heads * out_len[c->close];
		if (n < (ssize_t)sizeof buf)
			break;
	}
	flush(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: floor PORT [CLOSE_PORT]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: epoll_wait returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	canned(0);
	canned(1);
	int ep = epoll_create1(0), lfd[2] = { listen_on(atoi(argv[1])), -1 };
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd[0] }, evs[512];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd[0], &ev);
	if (argc == 3) {
		lfd[1] = listen_on(atoi(argv[2]));
		ev.data.fd = lfd[1];
		epoll_ctl(ep, EPOLL_CTL_ADD, lfd[1], &ev);
	}
	while (!stop) {
		int n = epoll_wait(ep, evs, 512, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd[0] || fd == lfd[1]) {
				int cfd;
				while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (cfd >= MAX_FDS) {
						close(cfd);
						continue;
					}
					conns[cfd] = (struct conn){ .close = fd == lfd[1] };
					ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
					ev.data.fd = cfd;
					epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
				}
			} else if (evs[i].events & EPOLLIN) {
				serve(fd);
			} else if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				drop(fd);
			} else if (conns[fd].owed) {
				flush(fd);
			}
		}
	}
	return 0;
}
