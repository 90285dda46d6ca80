"""SIGHUP: a new generation of workers on the same sockets, the old one
drained; an invalid configuration changes nothing; nothing is lost."""
import os
import re
import signal
import socket
import threading
import time

GET = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def body(g, port=None):
    with socket.create_connection(("127.0.0.1", port or g.port), timeout=5) as s:
        s.sendall(GET)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1]


def rewrite(g, old, new):
    with open(g.conf) as f:
        text = f.read()
    assert old in text
    with open(g.conf, "w") as f:
        f.write(text.replace(old, new))


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def alive_children(g):
    return [p for p in g.children() if os.path.exists("/proc/%d" % p)]


def test_reload_serves_the_new_configuration_and_old_workers_leave(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "one")
    other = os.path.join(g.tmp, "other")
    os.makedirs(other)
    with open(os.path.join(other, "index.html"), "w") as f:
        f.write("two")
    g.start()
    first = set(g.children())
    assert body(g) == b"one"
    rewrite(g, 'root = "%s"' % g.root, 'root = "%s"' % other)
    g.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: body(g) == b"two")
    assert wait_for(lambda: not (set(alive_children(g)) & first))
    assert len(g.children()) == 2
    assert "reload done" in g.log_text()


def test_invalid_configuration_on_reload_keeps_the_old_one(make_garcom):
    g = make_garcom(workers=1)
    g.write("index.html", "still here")
    g.start()
    workers = g.children()
    rewrite(g, "workers = 1;", "workers = 1;\nwokers = 2;")
    g.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "not valid" in g.log_text())
    assert re.search(r"%s:\d+: unknown key 'wokers'" % re.escape(g.conf), g.log_text())
    assert body(g) == b"still here"
    assert g.children() == workers


def test_reload_changes_the_number_of_workers(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "x")
    g.start()
    for before, after in (("workers = 2;", "workers = 1;"), ("workers = 1;", "workers = 3;")):
        rewrite(g, before, after)
        g.proc.send_signal(signal.SIGHUP)
        want = int(after.split()[2].rstrip(";"))
        assert wait_for(lambda: len(alive_children(g)) == want and "reload done" in g.log_text())
        assert body(g) == b"x"
        open(g.log, "w").close()  # next reload's "reload done" is new


def test_reload_opens_and_closes_listen_addresses(make_garcom):
    from conftest import free_port
    g = make_garcom(workers=1)
    g.write("index.html", "x")
    g.start()
    port2 = free_port()
    rewrite(g, 'listen = "127.0.0.1:%d";' % g.port,
            'listen = [ "127.0.0.1:%d", "127.0.0.1:%d" ];' % (g.port, port2))
    g.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload done" in g.log_text())
    assert body(g, port2) == b"x"
    rewrite(g, 'listen = [ "127.0.0.1:%d", "127.0.0.1:%d" ];' % (g.port, port2),
            'listen = "127.0.0.1:%d";' % g.port)
    open(g.log, "w").close()
    g.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload done" in g.log_text())

    def refused():
        try:
            body(g, port2)
        except OSError:
            return True
        return False
    assert wait_for(refused)
    assert body(g) == b"x"


def test_no_request_is_lost_across_reloads(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "x" * 1000)
    g.start()
    errors, done = [], [0]
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                assert body(g) == b"x" * 1000
                done[0] += 1
            except Exception as e:  # noqa: BLE001 - any failure counts
                errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in range(3):
        time.sleep(0.4)
        g.proc.send_signal(signal.SIGHUP)
    time.sleep(0.6)
    stop.set()
    for t in threads:
        t.join(10)
    assert errors == []
    assert done[0] > 100
    assert g.log_text().count("reload done") == 3


class KeepAliveClient:
    """One keep-alive connection; a request that got no byte of its answer
    on a connection the server closed may be retried on a new one, as a
    browser does. Anything else is a failure."""

    def __init__(self, port):
        self.port = port
        self.sock = None

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def get(self, want):
        for _ in range(3):
            if self.sock is None:
                self._connect()
            self.sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise ConnectionResetError("closed")
                    data += chunk
            except (ConnectionResetError, BrokenPipeError):
                if data:
                    raise  # a partial answer: a real failure
                self.sock.close()
                self.sock = None
                continue  # closed while idle: retry on a new connection
            head, rest = data.split(b"\r\n\r\n", 1)
            n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            while len(rest) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("body cut short")
                rest += chunk
            assert rest == want
            if b"Connection: close" in head:
                self.sock.close()
                self.sock = None
            return
        raise AssertionError("no answer after retries")


def test_ten_reloads_under_load_lose_no_request(make_garcom):
    g = make_garcom(workers=1)
    want = b"y" * 512
    g.write("index.html", want)
    g.start()
    stop = threading.Event()
    counts, failures = [0] * 32, []

    def run(i):
        c = KeepAliveClient(g.port)
        while not stop.is_set():
            try:
                c.get(want)
                counts[i] += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                failures.append(repr(e))
                c.sock = None

    threads = [threading.Thread(target=run, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    workers = 1
    for _ in range(10):
        time.sleep(2.0)
        new = 2 if workers == 1 else 1
        rewrite(g, "workers = %d;" % workers, "workers = %d;" % new)
        workers = new
        g.proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(10)
    total = sum(counts)
    print("requests: %d, failures: %d" % (total, len(failures)))
    assert failures == []
    assert total > 1000
    assert g.log_text().count("reload done") == 10
    assert wait_for(lambda: len(alive_children(g)) == workers)
