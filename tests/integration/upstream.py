"""A real HTTP/1.1 upstream for the reverse-proxy tests: a small threaded
server of the test suite (not a model of garcom) on a free 127.0.0.1 port.

It counts the TCP connections it accepts, records every request it reads
(method, target, headers in order, body length and sha256), and answers by
the path: the first path segment naming a mode selects it, so /api/size/10,
/new/size/10 and /size/10 are the same request to it. An unknown path is
/echo. It is strict about what it is sent (a malformed request is answered
400 and kept in .errors), keeps connections alive as HTTP/1.1 does, and
decodes chunked request bodies.

Modes (N bytes of payload(N); MS milliseconds):
  /echo                  200, JSON of the request
  /size/N                N bytes, Content-Length
  /chunked/N[?trailers=1] N bytes in chunks of varied sizes (with a trailer)
  /close/N               N bytes, no length, ended by closing
  /slow-head/MS          waits MS before the head
  /slow-body/MS          head, half of 2000 bytes, waits MS, the rest
  /die-mid-body/N        promises Content-Length N, sends N/2, closes
  /die-mid-chunked/N     chunked, sends N/2 bytes in chunks, closes
  /sse/K                 text/event-stream, K events 200 ms apart, chunked
  /status/CODE           that status; 204 and 304 without a body
  /early-hints           103 with a Link header, then 200
  /continue              sends 100 Continue itself when asked, then reads
  /bad/garbage | /bad/two-lengths | /bad/cl-and-te   invalid responses;
  /bad/lengths-list      Content-Length: 5, 6
  /bad/extra-bytes       Content-Length 5, then a second response nobody
                         asked for, on a connection kept open
  /bad/bad-chunk         chunked, a valid chunk, then a chunk size "zz"
  /hop                   a response full of hop-by-hop headers
  /multi-headers         repeated Set-Cookie and X-Multi lines, the
                         upstream's own Server and Date
  /big-head/N            a response head with an N-byte header value
  /upgrade[/close]       101 for a WebSocket handshake, then echoes raw bytes
                         (/close: closes after the first echo)
HEAD is answered with the head GET would get.

Also here: refusing_port() (bound, not listening: connections are refused),
Silent (accepts, reads, never answers) and Blackhole (a listener whose
accept queue is full, so a connect to it hangs until the caller's timeout)."""
import base64
import hashlib
import json
import random
import re
import socket
import threading
import time

PERIOD = 65521  # a prime: a slip of any small number of bytes shows
PATTERN = random.Random(20240601).randbytes(PERIOD)
_BIG = PATTERN * (2 + (1 << 20) // PERIOD)  # 1 MiB windows at any phase

MODES = ("echo", "size", "chunked", "close", "slow-head", "slow-body",
         "die-mid-body", "die-mid-chunked", "sse", "status", "early-hints",
         "continue", "bad", "hop", "upgrade", "multi-headers", "big-head")

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

REASONS = {100: "Continue", 101: "Switching Protocols", 103: "Early Hints",
           200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
           400: "Bad Request", 404: "Not Found", 418: "I'm a teapot",
           426: "Upgrade Required", 500: "Internal Server Error",
           503: "Service Unavailable"}


def payload(n, offset=0):
    """The n bytes the upstream sends for a body, from offset."""
    start = offset % PERIOD
    reps = (start + n) // PERIOD + 1
    return (PATTERN * reps)[start:start + n]


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


class Request:
    """One request as the upstream read it. body_length grows while the
    body arrives; body_sha256 is set once the whole body is read."""

    def __init__(self, conn_id, method, target, version, headers):
        self.conn_id = conn_id
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(name, value)] as received, in order
        self.body_length = 0
        self.body_sha256 = None
        self.complete = False
        self.dropped = False  # closed unanswered (drop_reused)
        self.sent_continue = False
        self.at = time.monotonic()

    def values(self, name):
        """Every value of a header (case-insensitive), in order."""
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def names(self):
        return [k.lower() for k, _ in self.headers]

    def as_json(self):
        return {"method": self.method, "target": self.target,
                "version": self.version,
                "headers": [[k, v] for k, v in self.headers],
                "body_length": self.body_length,
                "body_sha256": self.body_sha256,
                "connection": self.conn_id}


class BadRequest(Exception):
    pass


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError
        self.buf += data

    def head(self, limit=65536):
        """The bytes of one head without its blank line; None on a clean
        EOF before any byte."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > limit:
                raise BadRequest("head too long")
            try:
                self.fill()
            except EOFError:
                if self.buf:
                    raise BadRequest("EOF inside a head: %r" % self.buf[:200])
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 8192:
                raise BadRequest("line too long")
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n, sink):
        while n > 0:
            if not self.buf:
                self.fill()
            part = self.buf[:n]
            self.buf = self.buf[len(part):]
            n -= len(part)
            sink(part)


TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_head(head):
    lines = head.split(b"\r\n")
    m = re.fullmatch(rb"([A-Z]+) (\S+) (HTTP/1\.[01])", lines[0])
    if not m:
        raise BadRequest("bad request line %r" % lines[0])
    headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise BadRequest("obs-fold %r" % line)
        name, sep, value = line.partition(b":")
        if not sep or not TOKEN.match(name):
            raise BadRequest("bad header line %r" % line)
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return m.group(1).decode(), m.group(2).decode("latin-1"), m.group(3).decode(), headers


def tokens(values):
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


class Upstream:
    """The test upstream. Flags a test may set while it runs:
    close_after  -- this many times, close a kept-alive connection right
                    after its response (as an idle timeout would), without
                    saying so in the response
    drop_reused  -- this many times, when a request arrives on a connection
                    that already served one, close it without an answer
                    (the race where the upstream closed an idle connection
                    just as it was reused)"""

    def __init__(self, name=None, sock=None, silent=False):
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.name = name or self.addr
        self.silent = silent
        self.close_after = 0
        self.drop_reused = 0
        self.lock = threading.Lock()
        self.accepted = 0      # TCP connections accepted
        self.open = 0          # connections open now
        self.requests = []     # Request, in the order their heads arrived
        self.errors = []       # what was malformed in what garcom sent
        self.tunnel_closed = []  # monotonic times an /upgrade echo loop ended
        self.conns = set()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    # ---- lifecycle

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- what tests read

    def served(self):
        """Requests answered or being answered (not dropped ones)."""
        with self.lock:
            return [r for r in self.requests if not r.dropped]

    def last(self):
        return self.served()[-1]

    def wait_requests(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= n:
                return True
            time.sleep(0.01)
        return False

    def _take(self, flag):
        with self.lock:
            v = getattr(self, flag)
            if v > 0:
                setattr(self, flag, v - 1)
                return True
            return False

    # ---- serving

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                cid = self.accepted
                self.open += 1
                self.conns.add(conn)
            threading.Thread(target=self._serve, args=(conn, cid), daemon=True).start()

    def _serve(self, sock, cid):
        sock.settimeout(30)
        # Every write goes out at once (events, 1xx, parts of a body).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rd = _Reader(sock)
        served = 0
        try:
            if self.silent:
                while sock.recv(65536):
                    pass
                return
            while True:
                try:
                    head = rd.head()
                    if head is None:
                        return
                    method, target, version, headers = parse_head(head)
                except BadRequest as e:
                    self._bad(sock, str(e))
                    return
                rec = Request(cid, method, target, version, headers)
                if served > 0 and self._take("drop_reused"):
                    rec.dropped = True
                    with self.lock:
                        self.requests.append(rec)
                    return
                with self.lock:
                    self.requests.append(rec)
                try:
                    keep = self._handle(rd, sock, rec)
                except BadRequest as e:
                    self._bad(sock, str(e))
                    return
                served += 1
                if not keep or self._take("close_after"):
                    return
        except (OSError, EOFError):
            return
        finally:
            try:
                sock.close()
            except OSError:
                pass
            with self.lock:
                self.open -= 1
                self.conns.discard(sock)

    def _bad(self, sock, why):
        with self.lock:
            self.errors.append(why)
        try:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass

    def _read_body(self, rd, rec):
        te = rec.values("transfer-encoding")
        cl = rec.values("content-length")
        sha = hashlib.sha256()

        def sink(b):
            sha.update(b)
            rec.body_length += len(b)

        if te:
            if cl:
                raise BadRequest("Content-Length with Transfer-Encoding")
            if tokens(te) != ["chunked"]:
                raise BadRequest("Transfer-Encoding %r" % te)
            while True:
                line = rd.line()
                m = re.fullmatch(rb"([0-9A-Fa-f]+)(;.*)?", line)
                if not m:
                    raise BadRequest("bad chunk line %r" % line)
                n = int(m.group(1), 16)
                if n == 0:
                    while rd.line() != b"":
                        pass  # trailers
                    break
                rd.exact(n, sink)
                if rd.line() != b"":
                    raise BadRequest("chunk data not followed by CRLF")
        elif cl:
            if len(set(cl)) != 1 or not re.fullmatch(r"[0-9]+", cl[0]):
                raise BadRequest("Content-Length %r" % cl)
            rd.exact(int(cl[0]), sink)
        rec.body_sha256 = sha.hexdigest()
        rec.complete = True

    def _handle(self, rd, sock, rec):
        """Answer one request; False when the connection must close."""
        if rec.version == "HTTP/1.1" and len(rec.values("host")) != 1:
            raise BadRequest("HTTP/1.1 request with %d Host headers" % len(rec.values("host")))
        conn_tokens = tokens(rec.values("connection"))
        if rec.version == "HTTP/1.1":
            keep = "close" not in conn_tokens
        else:
            keep = "keep-alive" in conn_tokens
        path, _, query = rec.target.partition("?")
        segs = path.split("/")
        mode, arg = "echo", ""
        for i, s in enumerate(segs):
            if s in MODES:
                mode = s
                arg = segs[i + 1] if i + 1 < len(segs) else ""
                break
        head_only = rec.method == "HEAD"
        if mode == "continue":
            if "100-continue" in tokens(rec.values("expect")):
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                rec.sent_continue = True
        if mode != "upgrade":
            self._read_body(rd, rec)
        conn_hdr = [] if keep else [("Connection", "close")]
        out = _Out(sock, head_only)

        if mode in ("echo", "continue"):
            out.simple(200, [("Content-Type", "application/json")] + conn_hdr,
                       json.dumps(rec.as_json()).encode())
        elif mode == "size":
            n = int(arg)
            out.head(200, [("Content-Type", "application/octet-stream"),
                           ("Content-Length", str(n))] + conn_hdr)
            out.stream(n)
        elif mode == "chunked":
            n = int(arg)
            trailers = "trailers=1" in query
            h = [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")]
            if trailers:
                h.append(("Trailer", "X-Checksum"))
            out.head(200, h + conn_hdr)
            out.chunks(n)
            tr = b""
            if trailers:
                tr = b"X-Checksum: " + hashlib.sha256(payload(n)).hexdigest().encode() + b"\r\n"
            if not head_only:
                out.raw(b"0\r\n" + tr + b"\r\n")
        elif mode == "close":
            n = int(arg)
            out.head(200, [("Content-Type", "application/octet-stream"), ("Connection", "close")])
            out.stream(n)
            return False
        elif mode == "slow-head":
            time.sleep(int(arg) / 1000)
            out.simple(200, [("Content-Type", "text/plain")] + conn_hdr, b"slow head\n")
        elif mode == "slow-body":
            out.head(200, [("Content-Type", "application/octet-stream"),
                           ("Content-Length", "2000")] + conn_hdr)
            if not head_only:
                out.raw(payload(1000))
                time.sleep(int(arg) / 1000)
                out.raw(payload(1000, 1000))
        elif mode == "die-mid-body":
            n = int(arg)
            out.head(200, [("Content-Type", "application/octet-stream"),
                           ("Content-Length", str(n))])
            if head_only:
                return keep
            out.stream(n // 2)
            return False
        elif mode == "die-mid-chunked":
            n = int(arg)
            out.head(200, [("Content-Type", "application/octet-stream"),
                           ("Transfer-Encoding", "chunked")])
            if head_only:
                return keep
            out.chunks(n // 2)
            return False
        elif mode == "sse":
            k = int(arg)
            out.head(200, [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                           ("Transfer-Encoding", "chunked")] + conn_hdr)
            if not head_only:
                for i in range(k):
                    if i:
                        time.sleep(0.2)
                    ev = b"id: %d\ndata: event %d\n\n" % (i, i)
                    out.raw(b"%x\r\n%s\r\n" % (len(ev), ev))
                out.raw(b"0\r\n\r\n")
        elif mode == "status":
            code = int(arg)
            if code in (204, 304):
                h = [("ETag", '"v1"')] if code == 304 else []
                out.head(code, h + conn_hdr)
            else:
                out.simple(code, [("Content-Type", "text/plain")] + conn_hdr,
                           b"status %d\n" % code)
        elif mode == "early-hints":
            out.raw(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
            time.sleep(0.05)
            out.simple(200, [("Content-Type", "text/plain"),
                             ("Link", "</style.css>; rel=preload; as=style")] + conn_hdr,
                       b"hinted\n")
        elif mode == "bad":
            if arg == "garbage":
                out.raw(b"this is not an HTTP response\r\n\r\nat all\r\n")
            elif arg == "two-lengths":
                out.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
            elif arg == "cl-and-te":
                out.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                        b"\r\n5\r\nhello\r\n0\r\n\r\n")
            elif arg == "lengths-list":
                out.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!")
            elif arg == "extra-bytes":
                out.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled")
                return keep  # and serve whatever comes next
            elif arg == "bad-chunk":
                out.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n")
            else:
                raise BadRequest("unknown /bad/%s" % arg)
            return False
        elif mode == "hop":
            out.simple(200, [("Content-Type", "text/plain"), ("Connection", "X-Secret"),
                             ("X-Secret", "1"), ("Connection", "X-Other"), ("X-Other", "2"), ("Keep-Alive", "timeout=5"),
                             ("Proxy-Connection", "x"), ("Upgrade", "foo"),
                             ("X-Visible", "yes")] + conn_hdr, b"hop\n")
        elif mode == "multi-headers":
            out.simple(200, [("Server", "test-upstream"),
                             ("Date", "Thu, 01 Jan 2015 00:00:00 GMT"),
                             ("Set-Cookie", "a=1; Path=/"), ("X-Multi", "one"),
                             ("Set-Cookie", "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
                             ("X-Multi", "two"), ("Content-Type", "text/plain")] + conn_hdr,
                       b"multi\n")
        elif mode == "big-head":
            out.simple(200, [("Content-Type", "text/plain"), ("X-Big", "b" * int(arg))] + conn_hdr,
                       b"big\n")
        elif mode == "upgrade":
            return self._upgrade(rd, sock, rec, out, arg, conn_hdr)
        return keep

    def _upgrade(self, rd, sock, rec, out, arg, conn_hdr):
        key = rec.values("sec-websocket-key")
        if ("upgrade" not in tokens(rec.values("connection"))
                or tokens(rec.values("upgrade")) != ["websocket"] or len(key) != 1):
            self._read_body(rd, rec)
            out.simple(426, [("Content-Type", "text/plain")] + conn_hdr, b"upgrade required\n")
            return not conn_hdr
        rec.complete = True
        out.head(101, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                       ("Sec-WebSocket-Accept", ws_accept(key[0]))])
        try:
            if rd.buf:  # bytes that came with the handshake
                data, rd.buf = rd.buf, b""
                sock.sendall(data)
                if arg == "close":
                    return False
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                sock.sendall(data)
                if arg == "close":
                    break
        except OSError:
            pass
        finally:
            with self.lock:
                self.tunnel_closed.append(time.monotonic())
        return False


class _Out:
    def __init__(self, sock, head_only):
        self.sock = sock
        self.head_only = head_only

    def raw(self, data):
        self.sock.sendall(data)

    def head(self, code, headers):
        self.sock.sendall(self.head_bytes(code, headers))

    def head_bytes(self, code, headers):
        h = "HTTP/1.1 %d %s\r\n" % (code, REASONS.get(code, "Status"))
        h += "".join("%s: %s\r\n" % kv for kv in headers)
        return h.encode("latin-1") + b"\r\n"

    def simple(self, code, headers, body):
        """Head and body in one write."""
        data = self.head_bytes(code, headers + [("Content-Length", str(len(body)))])
        self.sock.sendall(data if self.head_only else data + body)

    def stream(self, n):
        """payload(n), without building it whole."""
        if self.head_only:
            return
        view = memoryview(_BIG)
        off = 0
        while off < n:
            k = min(1 << 20, n - off)
            s = off % PERIOD
            self.sock.sendall(view[s:s + k])
            off += k

    def chunks(self, n):
        """payload(n) as chunks of varied sizes, hex in both cases."""
        if self.head_only:
            return
        sizes = [1, 2, 15, 16, 255, 256, 1000, 4096, 8191, 65536]
        off = i = 0
        while off < n:
            k = min(sizes[i % len(sizes)], n - off)
            size = ("%x" if i % 2 else "%X") % k
            self.sock.sendall(size.encode() + b"\r\n" + payload(k, off) + b"\r\n")
            off += k
            i += 1


def refusing_port():
    """A socket bound on 127.0.0.1 but not listening: a connection to its
    port is refused for as long as the socket is held. Pass it to
    Upstream(sock=...) to start serving on the same port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


def silent_upstream():
    """An upstream that accepts connections and reads, but never answers."""
    return Upstream(silent=True)


class Blackhole:
    """A listener on 127.0.0.1 whose accept queue is full: listen(0) and a
    few connections nobody accepts. Linux then drops the SYN of any new
    connection, so connecting to .port hangs until the caller gives up."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.fill = []
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.fill.append(s)
        time.sleep(0.05)

    def hangs(self, timeout=0.3):
        """True if a fresh connect does hang (the trick works here)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", self.port))
            return False
        except socket.timeout:
            return True
        except OSError:
            return False
        finally:
            s.close()

    def close(self):
        for s in self.fill:
            s.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
