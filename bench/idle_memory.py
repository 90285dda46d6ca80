#!/usr/bin/python3
"""Memory held per idle keep-alive connection: open N connections that each
make one request, read the whole response and then sit idle, and report the
growth of the serving process's RSS and PSS per connection.

usage: bench/idle_memory.py [N]
           start one garcom worker (src/garcom) of its own, measure it, stop it
       bench/idle_memory.py --port PORT --pid PID [--path /x] [N]
           measure a server that is already running on 127.0.0.1:PORT; PID is
           the process that holds the connections (the worker)

N defaults to 10000; the soft limit on open files is raised to N + 100 (the
hard limit must allow it). The last line is machine-readable:
  RESULT n rss_before_kib rss_after_kib pss_before_kib pss_after_kib
Loopback only; every connection is closed, and a server started here
stopped, on the way out."""
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(HERE, "..", "src", "garcom")


def mem_kib(pid):
    """(RSS, PSS) of pid in KiB."""
    rss = pss = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def one_request(sock, req):
    """Send req and read the whole response (head and Content-Length body)."""
    sock.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed before a response")
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0] + b" ":
        raise ValueError("not a 200: %r" % head.split(b"\r\n")[0])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed inside a body")
        body += data


def measure(port, pid, path, n):
    """Open n idle connections after one request each; (before, after) memory."""
    req = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path.encode(), port)
    conns = []
    try:
        # Warm the pools with one connection, then measure from there.
        warm = socket.create_connection(("127.0.0.1", port), timeout=10)
        conns.append(warm)
        one_request(warm, req)
        time.sleep(0.2)
        before = mem_kib(pid)
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            conns.append(c)
            one_request(c, req)
        time.sleep(0.5)
        after = mem_kib(pid)
    finally:
        for c in conns:
            c.close()
    return before, after


def report(n, before, after):
    print("idle keep-alive connections: %d" % n)
    print("RSS: %d KiB -> %d KiB: %.0f bytes per connection"
          % (before[0], after[0], (after[0] - before[0]) * 1024.0 / n))
    print("PSS: %d KiB -> %d KiB: %.0f bytes per connection"
          % (before[1], after[1], (after[1] - before[1]) * 1024.0 / n))
    print("RESULT %d %d %d %d %d" % (n, before[0], after[0], before[1], after[1]))


def own_garcom(n):
    """Start a garcom of our own (one worker), measure it, stop it."""
    tmp = tempfile.mkdtemp(prefix="garcom-idle-")
    os.makedirs(os.path.join(tmp, "www"))
    with open(os.path.join(tmp, "www", "index.html"), "w") as f:
        f.write("x" * 1024)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(tmp, "garcom.conf")
    with open(conf, "w") as f:
        f.write('workers = 1; error_log = "%s/error.log"; log_level = "warn";\n'
                'limits = { max_connections = 0; };\ntimeouts = { keepalive = 600; };\n'
                'servers = ( { listen = "127.0.0.1:%d"; root = "%s/www"; } );\n'
                % (tmp, port, tmp))
    proc = subprocess.Popen([BINARY, "-c", conf])
    try:
        time.sleep(0.5)
        with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
            worker = int(f.read().split()[0])
        before, after = measure(port, worker, "/", n)
        report(n, before, after)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        subprocess.run(["rm", "-rf", tmp])


def main():
    args = sys.argv[1:]
    opts = {}
    while args and args[0].startswith("--"):
        if len(args) < 2 or args[0] not in ("--port", "--pid", "--path"):
            sys.exit(__doc__)
        opts[args[0]] = args[1]
        del args[:2]
    n = int(args[0]) if args else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 100:
        sys.exit("need %d file descriptors, hard limit is %d" % (n + 100, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 100), hard))
    if "--port" in opts or "--pid" in opts:
        if "--port" not in opts or "--pid" not in opts:
            sys.exit("--port and --pid go together")
        port, pid = int(opts["--port"]), int(opts["--pid"])
        before, after = measure(port, pid, opts.get("--path", "/"), n)
        report(n, before, after)
    else:
        own_garcom(n)


if __name__ == "__main__":
    main()
