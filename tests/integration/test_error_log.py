"""The error log: every line is "YYYY/MM/DD HH:MM:SS [level] PID#WHO: message"
(WHO: master or the worker's number), and the messages an operator meets
most say what to do: an address already in use, a privileged port, out of
file descriptors, a log file that cannot be opened, a worker that died."""
import os
import re
import resource
import signal
import socket
import subprocess
import time

import pytest

from conftest import BINARY, wait_listening

LINE = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(error|warn|info|debug)\] "
                  r"(\d+)#(master|\d+): (\S.*)$")


def parsed(text):
    lines = text.splitlines()
    m = [LINE.match(l) for l in lines]
    assert lines and all(m), [l for l, x in zip(lines, m) if not x]
    return m


def wait_for(g, pattern, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, g.log_text(), re.M):
            return
        time.sleep(0.05)
    raise AssertionError("no %r in:\n%s" % (pattern, g.log_text()))


def test_lines_have_time_level_pid_and_message(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "x")
    g.start()
    # One worker answered; the other may still be starting (slow under
    # the sanitizers): stop once both serve.
    wait_for(g, r"all 2 workers serve", timeout=15)
    workers = sorted(g.children())
    assert g.stop() == 0
    m = parsed(g.log_text())
    stamp = time.strftime("%Y/%m/%d %H:%M", time.localtime())
    assert any(x.group(1).startswith(stamp[:10]) for x in m)
    master = [x for x in m if x.group(4) == "master"]
    assert master and all(int(x.group(3)) == g.proc.pid for x in master)
    assert any(x.group(5).startswith("garcom started: 2 workers") for x in master)
    # Each worker's own lines carry its pid and number.
    by_worker = {x.group(4): int(x.group(3)) for x in m if x.group(4) != "master"}
    assert set(by_worker) == {"0", "1"} and sorted(by_worker.values()) == workers


def test_address_in_use_names_it_and_says_what_to_do(make_garcom):
    g = make_garcom()
    holder = socket.socket()
    holder.bind(("127.0.0.1", g.port))
    holder.listen(1)
    try:
        g.proc = subprocess.Popen([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL)
        assert g.proc.wait(10) != 0
    finally:
        holder.close()
    err = [x for x in parsed(g.log_text()) if x.group(2) == "error"]
    assert len(err) == 1 and err[0].group(4) == "master"
    assert err[0].group(5) == (
        "cannot listen on 127.0.0.1:%d: Address already in use; another process listens "
        "there (ss -ltnp shows which): stop it, or change 'listen'" % g.port)


def test_privileged_port_says_how_to_get_it(make_garcom):
    if os.geteuid() == 0:
        # As root port 80 would bind: the same check as an ordinary user.
        def preexec():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
    else:
        preexec = None
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        first_free = int(f.read())
    if first_free == 0:
        pytest.skip("every port is unprivileged on this machine")
    port = min(first_free, 1024) - 1
    g = make_garcom()
    os.chmod(g.tmp, 0o777)
    with open(g.conf) as f:
        text = f.read().replace("127.0.0.1:%d" % g.port, "127.0.0.1:%d" % port)
    with open(g.conf, "w") as f:
        f.write(text)
    r = subprocess.run([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL, timeout=10,
                       preexec_fn=preexec)
    assert r.returncode != 0
    assert re.search(r"\[error\] \d+#master: cannot listen on 127\.0\.0\.1:%d: Permission "
                     r"denied; ports below 1024 need root or CAP_NET_BIND_SERVICE" % port,
                     g.log_text()), g.log_text()


def test_out_of_descriptors_says_raise_limitnofile_and_keeps_serving(make_garcom):
    g = make_garcom()
    g.write("index.html", "x")

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    g.proc = subprocess.Popen([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL,
                              preexec_fn=low_limit)
    wait_listening(g.port, g.proc)
    # The default max_connections (10000) cannot be reached: said at start.
    wait_for(g, r"\[warn\] \d+#0: limits\.max_connections = 10000, but a worker may have "
                r"only 48 files open \(RLIMIT_NOFILE\): raise LimitNOFILE= \(systemd\) or "
                r"ulimit -n above 100\d\d, or lower max_connections$")
    conns = []
    try:
        for _ in range(60):  # each sends a byte, so the worker accepts it
            s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
            s.sendall(b"G")
            conns.append(s)
        # EMFILE itself, or (first, usually) the reserve kept for open
        # connections running low.
        wait_for(g, r"\[error\] \d+#0: accept4 on 127\.0\.0\.1:%d: (Too many open files|"
                    r"descriptors nearly exhausted \(the last ones are kept for the open "
                    r"connections' files and upstreams\)); "
                    r"pausing accepts for 100 ms; this worker has as many files open as "
                    r"it may: raise LimitNOFILE= \(systemd\) or ulimit -n, or lower "
                    r"limits\.max_connections$" % g.port)
    finally:
        for s in conns:
            s.close()
    # Descriptors free again: it serves.
    deadline = time.monotonic() + 5
    while True:
        try:
            if g.request(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)
    parsed(g.log_text())


def test_unopenable_access_log_says_what_to_do(make_garcom, tmp_path):
    path = str(tmp_path / "no-such-dir" / "access.log")
    g = make_garcom(server_extra='access_log = "%s";' % path)
    g.proc = subprocess.Popen([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL)
    wait_for(g, r"\[error\] \d+#0: access_log %s: No such file or directory; create its "
                r"directory, or change the path$" % re.escape(path))
    wait_for(g, r"\[error\] \d+#master: worker 0 \(pid \d+\) exited with status 1; "
                r"starting a new one \(its own errors are logged above\)$")
    parsed(g.log_text())


def test_killed_worker_is_named_with_its_signal(make_garcom):
    g = make_garcom()
    g.write("index.html", "x")
    g.start()
    pid = g.children()[0]
    os.kill(pid, signal.SIGKILL)
    wait_for(g, r"\[error\] \d+#master: worker 0 \(pid %d\) killed by signal 9 \(Killed\); "
                r"starting a new one$" % pid)
    parsed(g.log_text())
