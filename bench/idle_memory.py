#!/usr/bin/python3
"""Memory held per idle keep-alive connection: start one garcom worker, open
N connections that each make one request and then sit idle, and report the
worker's RSS and PSS growth per connection. Loopback only; cleans up.

usage: bench/idle_memory.py [N]   (default 10000)"""
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


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, n + 100)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < n + 100:
        sys.exit("need %d file descriptors, hard limit is %d" % (n + 100, hard))
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
    conns = []
    try:
        time.sleep(0.5)
        with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
            worker = int(f.read().split()[0])
        req = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        # Warm the pools with one connection, then measure from there.
        warm = socket.create_connection(("127.0.0.1", port))
        warm.sendall(req)
        warm.recv(4096)
        time.sleep(0.2)
        before = mem_kib(worker)
        for i in range(n):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(req)
            c.recv(4096)
            conns.append(c)
        time.sleep(0.5)
        after = mem_kib(worker)
        print("idle keep-alive connections: %d" % n)
        print("worker RSS: %d KiB -> %d KiB: %.0f bytes per connection"
              % (before[0], after[0], (after[0] - before[0]) * 1024.0 / n))
        print("worker PSS: %d KiB -> %d KiB: %.0f bytes per connection"
              % (before[1], after[1], (after[1] - before[1]) * 1024.0 / n))
    finally:
        for c in conns:
            c.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
