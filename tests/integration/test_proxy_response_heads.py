"""Reverse proxy: upstream response heads of the common shape (a final
status, Content-Length or no body, plain lines) take a one-pass scanner
instead of llhttp (src/http_scan.c). Whether the upstream connection is
kept afterwards must follow HTTP exactly as before: the version, the
Connection token, a body that ends with the bytes read. A scripted
upstream sends each answer in the pieces given, and counts connections:
two requests over one client connection reach it on one upstream
connection exactly when the first was kept."""
import socket
import threading
import time

import pytest

from proxyhelp import (assert_reusable, location, proxy_garcom, read_response, req,
                       upstream_block)


class ScriptedUpstream:
    """Answers every request head (requests have no body here) with the
    same pieces, sent PAUSE apart, and keeps the connection open."""

    PAUSE = 0.05

    def __init__(self, pieces):
        self.pieces = pieces
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.accepted = 0
        self.requests = 0
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        pending = b""
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                pending += d
                while b"\r\n\r\n" in pending:
                    _, pending = pending.split(b"\r\n\r\n", 1)
                    self.requests += 1
                    for i, piece in enumerate(self.pieces):
                        if i:
                            time.sleep(self.PAUSE)
                        c.sendall(piece)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        self.sock.close()


def run(make_garcom, pieces, method="GET"):
    """Two requests through garcom over one client connection; returns both
    responses and the upstream connections they took."""
    up = ScriptedUpstream(pieces)
    try:
        g = proxy_garcom(make_garcom, [location("/app/", "app")],
                         [upstream_block("app", [up.addr])])
        with g.connect() as c:
            rs = []
            for i in range(2):
                c.send(req(method, "/app/%d" % i))
                rs.append(read_response(c, method))
            assert_reusable(c)
        assert up.requests == 2
        return rs, up.accepted
    finally:
        up.stop()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"

KEPT = [
    ("1.1", [OK + b"\r\nhello"]),
    ("1.1 keep-alive", [OK + b"Connection: keep-alive\r\n\r\nhello"]),
    ("1.0 keep-alive", [b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: 5\r\n\r\nhello"]),
    ("body in pieces", [OK + b"\r\nh", b"el", b"lo"]),
    ("head in pieces", [OK, b"\r\nhello"]),
    ("head then body", [OK + b"\r\n", b"hello"]),
]

CLOSED = [
    ("1.1 close", [OK + b"Connection: close\r\n\r\nhello"]),
    ("1.0", [b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"]),
    ("more than the length", [OK + b"\r\nhello, and more"]),
    ("more, later", [OK + b"\r\nhel", b"lo, and more"]),
]


@pytest.mark.parametrize("name,pieces", KEPT, ids=[k[0] for k in KEPT])
def test_upstream_connection_is_kept_when_http_allows(make_garcom, name, pieces):
    rs, accepted = run(make_garcom, pieces)
    for r in rs:
        assert (r.status, r.body) == (200, b"hello"), r
        assert r.get("content-length") == "5"
        assert r.get("content-type") == "text/plain"
    assert accepted == 1


@pytest.mark.parametrize("name,pieces", CLOSED, ids=[k[0] for k in CLOSED])
def test_upstream_connection_is_dropped_when_http_says_so(make_garcom, name, pieces):
    rs, accepted = run(make_garcom, pieces)
    for r in rs:
        assert (r.status, r.body) == (200, b"hello"), r
    assert accepted == 2


def test_no_body_statuses_and_head_keep_the_connection_and_their_length(make_garcom):
    # A 304 and a HEAD answer say how long the body would be; none follows.
    rs, accepted = run(make_garcom, [b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n"
                                     b"ETag: \"x\"\r\n\r\n"])
    assert [r.status for r in rs] == [304, 304]
    assert rs[0].get("content-length") == "99" and rs[0].get("etag") == '"x"'
    assert accepted == 1
    rs, accepted = run(make_garcom, [OK + b"\r\n"], method="HEAD")
    assert [(r.status, r.get("content-length")) for r in rs] == [(200, "5")] * 2
    assert accepted == 1


def test_bytes_after_a_204_are_never_taken_for_the_next_response(make_garcom):
    rs, accepted = run(make_garcom, [b"HTTP/1.1 204 No Content\r\n\r\n"
                                     b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"])
    assert [r.status for r in rs] == [204, 204]
    assert accepted == 2
