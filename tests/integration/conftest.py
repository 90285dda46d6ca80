"""Fixtures that run the real garcom binary on free loopback ports.

Every daemon a test starts is stopped by its PID when the test ends, even
when the test fails; nothing is killed by name."""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# make check-asan points this at the sanitizer build.
BINARY = os.environ.get("GARCOM_BINARY") or os.path.join(ROOT, "src", "garcom")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("garcom exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                # With TCP_DEFER_ACCEPT the connect succeeds before a worker
                # exists: make sure one answers.
                s.sendall(b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                s.settimeout(1.0)
                if s.recv(16).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("garcom did not start listening on %d" % port)


class Garcom:
    """A running daemon: .port, .root (docroot), .log (error log path)."""

    def __init__(self, tmp, workers=1, extra="", server_extra=""):
        self.tmp = tmp
        self.port = free_port()
        self.root = os.path.join(tmp, "www")
        os.makedirs(self.root, exist_ok=True)
        self.log = os.path.join(tmp, "error.log")
        self.conf = os.path.join(tmp, "garcom.conf")
        with open(self.conf, "w") as f:
            f.write(
                'workers = %s;\nerror_log = "%s";\nlog_level = "info";\n%s\n'
                'servers = ( { listen = "127.0.0.1:%d"; root = "%s"; %s } );\n'
                % (workers, self.log, extra, self.port, self.root, server_extra)
            )
        self.proc = None

    def write(self, rel, data):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def start(self, wrapper=(), timeout=10.0):
        """wrapper: a command the daemon runs under (valgrind ...)."""
        self.proc = subprocess.Popen(list(wrapper) + [BINARY, "-c", self.conf],
                                     stdin=subprocess.DEVNULL)
        wait_listening(self.port, self.proc, timeout)
        return self

    def children(self):
        """PIDs of the master's workers."""
        path = "/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)
        with open(path) as f:
            return [int(p) for p in f.read().split()]

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def connect(self, timeout=5.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.settimeout(timeout)
        return Client(s)

    def request(self, raw, timeout=5.0):
        """Send raw bytes on a new connection, return the first response."""
        with self.connect(timeout) as c:
            c.send(raw)
            return c.response()


@pytest.fixture
def make_garcom():
    """Factory: make_garcom(workers=1, extra='', server_extra='') -> Garcom
    (not started: add files, then .start())."""
    started = []
    dirs = []

    def factory(**kw):
        tmp = tempfile.mkdtemp(prefix="garcom-test-")
        dirs.append(tmp)
        g = Garcom(tmp, **kw)
        started.append(g)
        return g

    yield factory
    for g in started:
        g.stop()
        # The master kills its workers; make sure none outlived it.
        if g.proc:
            g.proc.wait()
    for d in dirs:
        subprocess.run(["rm", "-rf", d], check=False)


@pytest.fixture
def garcom(make_garcom):
    """One started worker serving a docroot with an index.html."""
    g = make_garcom()
    g.write("index.html", "<h1>hello from garcom</h1>\n")
    return g.start()


class Client:
    """A raw HTTP/1.1 client over one socket, keeping unread bytes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; unread: %r" % self.buf[:200])
        self.buf += chunk

    def response(self, head_only=False):
        """One response framed by Content-Length: (status, headers, body).
        Header names are lower-case."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if head_only or status in (204, 304) else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed_by_peer(self, timeout=2.0):
        """True if the server closes (EOF or reset) within timeout, with no
        further bytes sent."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return self.buf == b""
                self.buf += data
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


@pytest.fixture
def make_upstream():
    """Factory for the proxy tests: make_upstream(name=None, sock=None,
    silent=False) -> a running test upstream (upstream.py), stopped when
    the test ends."""
    from upstream import Upstream

    ups = []

    def factory(**kw):
        u = Upstream(**kw)
        ups.append(u)
        return u

    yield factory
    for u in ups:
        u.stop()


@pytest.fixture
def upstream(make_upstream):
    """One running test upstream."""
    return make_upstream(name="app")
