"""Helpers for the reverse-proxy tests: garcom configurations that proxy to
test upstreams (upstream.py; the make_upstream and upstream fixtures are
in conftest.py), raw requests, and a strict reader for every response
framing (Content-Length, chunked, close-delimited, 1xx interim responses
first)."""
import re
import socket
import threading
import time

from conftest import Client

HOST = "shop.example"


# ---- configuration

def lc(v):
    """A Python value as a libconfig value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[ %s ]" % ", ".join(lc(x) for x in v)
    return '"%s"' % v


UPSTREAM_DEFAULTS = dict(keepalive=32, connect_timeout="1s", read_timeout="3s",
                         max_fails=0, fail_timeout="2s", balance="round_robin")


def upstream_block(name, servers, **opts):
    """One upstreams entry. servers: "127.0.0.1:P" strings, or (addr, weight)
    pairs, which make the list one of groups. Options override
    UPSTREAM_DEFAULTS; an option set to None is left out."""
    o = dict(UPSTREAM_DEFAULTS)
    o.update(opts)
    if any(isinstance(s, tuple) for s in servers):
        groups = []
        for s in servers:
            addr, weight = s if isinstance(s, tuple) else (s, None)
            w = "" if weight is None else " weight = %d;" % weight
            groups.append('{ address = "%s";%s }' % (addr, w))
        srv = "( %s )" % ", ".join(groups)
    else:
        srv = lc(list(servers))
    keys = "".join(" %s = %s;" % (k, lc(v)) for k, v in o.items() if v is not None)
    return '{ name = "%s"; servers = %s;%s }' % (name, srv, keys)


def location(prefix, proxy, **opts):
    keys = "".join(" %s = %s;" % (k, lc(v)) for k, v in opts.items())
    return '{ prefix = "%s"; proxy = "%s";%s }' % (prefix, proxy, keys)


def proxy_garcom(make_garcom, locations, upstreams=(), extra="", server_extra="",
                 workers=1, start=True):
    """A daemon whose server has these locations (location() strings) and
    upstreams (upstream_block() strings)."""
    top = extra
    if upstreams:
        top += "\nupstreams = ( %s );\n" % ", ".join(upstreams)
    srv = "locations = ( %s ); %s" % (", ".join(locations), server_extra)
    g = make_garcom(workers=workers, extra=top, server_extra=srv)
    return g.start() if start else g


def app_garcom(make_garcom, up, extra="", server_extra="", api_opts=None, start=True,
               **up_opts):
    """The usual layout: /api/ -> upstream "app" (up), /v2/ -> up's /new/,
    /raw/ -> up with the URI unchanged."""
    locs = [location("/api/", "app", **(api_opts or {})),
            location("/v2/", "http://%s/new/" % up.addr),
            location("/raw/", "http://%s" % up.addr)]
    return proxy_garcom(make_garcom, locs, [upstream_block("app", [up.addr], **up_opts)],
                        extra=extra, server_extra=server_extra, start=start)


# ---- requests

def req(method, target, *headers, host=HOST, version="1.1", body=b""):
    """Raw request bytes. host=None leaves Host out."""
    if isinstance(method, str):
        method = method.encode()
    if isinstance(target, str):
        target = target.encode()
    head = method + b" " + target + b" HTTP/" + version.encode() + b"\r\n"
    if host is not None:
        head += b"Host: " + host.encode() + b"\r\n"
    for h in headers:
        head += (h.encode() if isinstance(h, str) else h) + b"\r\n"
    return head + b"\r\n" + body


def get(target, *headers, **kw):
    return req("GET", target, *headers, **kw)


def connect_from(g, source, timeout=5.0):
    """A client socket to garcom bound to a source address of 127/8."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", g.port))
    return Client(s)


# ---- responses

class Resp:
    """A response as read off the wire. headers: [(name, value)] in order;
    framing: "length", "chunked", "close" or "none"; complete: False when
    the connection ended before the framing said the body was done."""

    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.raw_head = raw_head
        self.body = b""
        self.trailers = []
        self.interim = []  # 1xx responses before this one
        self.framing = "none"
        self.complete = True

    def values(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def get(self, name):
        v = self.values(name)
        assert len(v) <= 1, "%s repeated: %r" % (name, v)
        return v[0] if v else None

    def names(self):
        return [k.lower() for k, _ in self.headers]

    def __repr__(self):
        return "<Resp %d %s %r body=%d>" % (self.status, self.framing, self.headers, len(self.body))


def _recv(c):
    """More bytes into c.buf; False on EOF (or reset)."""
    try:
        data = c.sock.recv(1 << 20)
    except ConnectionResetError:
        return False
    if not data:
        return False
    c.buf += data
    return True


def read_head(c):
    while b"\r\n\r\n" not in c.buf:
        if not _recv(c):
            raise EOFError("connection closed before a head; got %r" % c.buf[:300])
    head, c.buf = c.buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    m = re.fullmatch(r"(HTTP/1\.[01]) (\d{3}) ?(.*)", lines[0])
    assert m, "not a status line: %r" % lines[0]
    headers = []
    for line in lines[1:]:
        assert line[:1] not in (" ", "\t"), "obs-fold in a response: %r" % line
        k, sep, v = line.partition(":")
        assert sep and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", k), "bad header line %r" % line
        headers.append((k, v.strip(" \t")))
    return Resp(m.group(1), int(m.group(2)), m.group(3), headers, head + b"\r\n\r\n")


def _take(c, n):
    """Exactly n bytes (None if the peer closes first, with what came left
    in c.buf). Chunks are joined once: a 50 MiB body costs no quadratic
    copying."""
    if len(c.buf) >= n:
        out, c.buf = c.buf[:n], c.buf[n:]
        return out
    parts, have = [c.buf], len(c.buf)
    while have < n:
        try:
            data = c.sock.recv(min(max(n - have, 65536), 1 << 22))
        except ConnectionResetError:
            data = b""
        if not data:
            c.buf = b"".join(parts)
            return None
        parts.append(data)
        have += len(data)
    whole = b"".join(parts)
    out, c.buf = whole[:n], whole[n:]
    return out


def _until_eof(c):
    parts = [c.buf]
    while True:
        try:
            data = c.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            break
        parts.append(data)
    c.buf = b""
    return b"".join(parts)


def _line(c):
    while b"\r\n" not in c.buf:
        if not _recv(c):
            return None
    line, c.buf = c.buf.split(b"\r\n", 1)
    return line


def read_response(c, method="GET", allow_short=False):
    """One final response (1xx ones before it go to .interim). A body cut
    short by the peer raises EOFError unless allow_short (then .complete is
    False and .body holds what came)."""
    interim = []
    while True:
        r = read_head(c)
        if 100 <= r.status < 200 and r.status != 101:
            interim.append(r)
            continue
        break
    r.interim = interim
    if method == "HEAD" or r.status in (101, 204, 304):
        return r
    te = r.values("transfer-encoding")
    cl = r.values("content-length")
    if te:
        assert not cl, "Content-Length with Transfer-Encoding: %r" % r.headers
        assert [t.strip().lower() for t in ",".join(te).split(",")] == ["chunked"], te
        r.framing = "chunked"
        parts = []
        while True:
            line = _line(c)
            if line is None:
                break
            m = re.fullmatch(rb"([0-9A-Fa-f]+)(;[^\r\n]*)?", line)
            assert m, "bad chunk-size line %r" % line[:80]
            n = int(m.group(1), 16)
            if n == 0:
                while True:
                    t = _line(c)
                    if t is None:
                        line = None
                        break
                    if t == b"":
                        break
                    r.trailers.append(t.decode("latin-1"))
                break
            data = _take(c, n)
            if data is None:
                parts.append(c.buf)
                c.buf = b""
                line = None
                break
            parts.append(data)
            crlf = _take(c, 2)
            if crlf is None:
                line = None
                break
            assert crlf == b"\r\n", "chunk data not followed by CRLF: %r" % crlf
        r.body = b"".join(parts)
        if line is None:
            r.complete = False
    elif cl:
        assert len(set(cl)) == 1 and cl[0].isdigit(), "Content-Length %r" % cl
        n = int(cl[0])
        r.framing = "length"
        data = _take(c, n)
        if data is None:
            r.body, c.buf = c.buf, b""
            r.complete = False
        else:
            r.body = data
    else:
        r.framing = "close"
        r.body = _until_eof(c)
    if not r.complete and not allow_short:
        raise EOFError("connection closed after %d body bytes: %r" % (len(r.body), r))
    return r


def fetch(g, raw, method="GET", timeout=5.0):
    """Send raw on a fresh connection and read one response."""
    with g.connect(timeout) as c:
        c.send(raw)
        return read_response(c, method)


def assert_reusable(c):
    """The connection is still in step: a request sent now is answered by a
    response that starts right where the last one ended. The probe is for
    a static path (garcom's own 404), so it does not touch an upstream."""
    c.send(get("/__probe__"))
    r = read_response(c)
    assert r.status == 404, r


def is_closed(c, timeout=2.0):
    """True if the peer closes (EOF or reset) within timeout."""
    c.sock.settimeout(timeout)
    try:
        while True:
            data = c.sock.recv(65536)
            if not data:
                return True
            c.buf += data
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def eventually(fn, timeout=3.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


class ThreadedServer:
    """A listening socket on 127.0.0.1 whose every connection is served by
    self.serve(conn, state) in a thread of its own: the base of the tests' raw and
    scripted upstreams. Subclasses set what serve() reads before calling
    this __init__, which starts accepting. `accepted` counts connections."""

    def __init__(self, backlog=16):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.accepted = 0
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            state = self.opened()
            threading.Thread(target=self.serve, args=(c, state), daemon=True).start()

    def opened(self):
        """Per connection, in the accepting thread (so before serve() runs):
        what serve() gets as its state."""
        return None

    def serve(self, c, state):
        raise NotImplementedError

    def stop(self):
        self.stopping = True
        self.sock.close()
