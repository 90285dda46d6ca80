"""Helpers for the static-file tests: raw requests, HTTP dates, a strict
multipart/byteranges reader, polling, a streaming download for big files,
and a daemon whose workers run unprivileged when the tests run as root."""
import email.utils
import hashlib
import os
import re
import time


def req(method, target, *headers):
    """Raw request bytes: req(b"GET", b"/x", b"Range: bytes=0-1")."""
    head = method + b" " + target + b" HTTP/1.1\r\nHost: t\r\n"
    for h in headers:
        head += h + b"\r\n"
    return head + b"\r\n"


def get(target, *headers):
    return req(b"GET", target, *headers)


def head(target, *headers):
    return req(b"HEAD", target, *headers)


def exchange(g, raw, head_only=False, timeout=5.0):
    """Send raw on a fresh connection, read one response, then prove the
    response was framed right: a request sent after it on the same
    connection must be answered with a response that starts right where
    this one ended (no stray body bytes), unless the server closed."""
    with g.connect(timeout) as c:
        c.send(raw)
        status, h, body = c.response(head_only=head_only)
        try:
            c.send(b"GET /__framing_probe__ HTTP/1.1\r\nHost: t\r\n\r\n")
            while b"\r\n\r\n" not in c.buf:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                c.buf += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
        if c.buf:
            assert c.buf.startswith(b"HTTP/1.1 "), "stray bytes after the response: %r" % c.buf[:80]
        else:
            assert h.get("connection") == "close", "keep-alive connection closed"
    return status, h, body


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def set_mtime(path, ts, ns=0):
    """Set atime and mtime to ts seconds plus ns nanoseconds."""
    t = int(ts) * 1_000_000_000 + ns
    os.utime(path, ns=(t, t))


def etag_is_strong(tag):
    return (tag is not None and not tag.startswith("W/") and len(tag) >= 2
            and tag.startswith('"') and tag.endswith('"') and '"' not in tag[1:-1])


def eventually(fn, timeout=2.0, interval=0.02):
    """Call fn until it returns a true value or timeout passes; return
    (value, seconds waited)."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v or time.monotonic() - t0 > timeout:
            return v, time.monotonic() - t0
        time.sleep(interval)


def parse_byteranges(ctype, body):
    """Strictly read a multipart/byteranges body: returns a list of
    (part_headers, bytes). Each part's length is taken from its
    Content-Range, so binary data cannot be mistaken for a boundary."""
    m = re.fullmatch(r'multipart/byteranges;\s*boundary=("?)([^";]+)\1', ctype)
    assert m, ctype
    delim = b"--" + m.group(2).encode()
    start = body.find(delim + b"\r\n")
    assert start >= 0, body[:200]
    assert body[:start] in (b"", b"\r\n"), "preamble: %r" % body[:start]
    pos = start
    parts = []
    while True:
        assert body.startswith(delim, pos), body[pos:pos + 80]
        pos += len(delim)
        if body.startswith(b"--", pos):
            pos += 2
            assert body[pos:] in (b"", b"\r\n"), "epilogue: %r" % body[pos:pos + 80]
            return parts
        assert body.startswith(b"\r\n", pos)
        pos += 2
        end = body.index(b"\r\n\r\n", pos)
        hdrs = {}
        for line in body[pos:end].decode("latin-1").split("\r\n"):
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        pos = end + 4
        cr = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", hdrs["content-range"])
        assert cr, hdrs
        n = int(cr.group(2)) - int(cr.group(1)) + 1
        parts.append((hdrs, body[pos:pos + n]))
        pos += n
        assert body.startswith(b"\r\n", pos), body[pos:pos + 80]
        pos += 2


def read_head(sock):
    """Read a response head from sock: (status, headers, leftover bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed before the head: %r" % buf[:200])
        buf += chunk
    head_bytes, rest = buf.split(b"\r\n\r\n", 1)
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split(" ")[1]), headers, rest


def download_sha256(sock, target, timeout=60.0):
    """GET target on sock and hash the body as it streams in (a 50 MiB body
    is not accumulated). Returns (status, headers, sha256 hex, length)."""
    sock.settimeout(timeout)
    sock.sendall(get(target))
    status, h, rest = read_head(sock)
    n = int(h["content-length"])
    sha = hashlib.sha256()
    got = len(rest[:n])
    sha.update(rest[:n])
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while got < n:
        k = sock.recv_into(view, min(len(buf), n - got))
        if k == 0:
            raise EOFError("closed after %d of %d bytes" % (got, n))
        sha.update(view[:k])
        got += k
    return status, h, sha.hexdigest(), got


def make_unprivileged(make_garcom, **kw):
    """A daemon (not started) whose workers cannot read a mode-000 file:
    when the tests run as root (who reads anything), the workers drop to
    nobody:nogroup, and the temporary directory is opened up so that nobody
    can reach the docroot."""
    if os.geteuid() == 0:
        kw["extra"] = (kw.get("extra", "") + '\nuser = "nobody"; group = "nogroup";\n')
    g = make_garcom(**kw)
    if os.geteuid() == 0:
        os.chmod(g.tmp, 0o755)
        os.chmod(g.root, 0o755)
        with open(g.log, "a"):
            pass
        os.chmod(g.log, 0o666)
    return g
