"""Reverse proxy: upstream response heads of the common shape (a final
status, Content-Length or no body, plain lines) take a one-pass scanner
instead of llhttp (src/http_scan.c). Whether the upstream connection is
kept afterwards must follow HTTP exactly as before: the version, the
Connection token, a body that ends with the bytes read. A scripted
upstream sends each answer in the pieces given, and counts connections:
two requests over one client connection reach it on one upstream
connection exactly when the first was kept."""
import time

import pytest

from proxyhelp import (ThreadedServer, assert_reusable, location, proxy_garcom, read_response,
                       req, upstream_block)


class ScriptedUpstream(ThreadedServer):
    """Answers every request head (requests have no body here) with the
    same pieces, sent PAUSE apart, and keeps the connection open; or, given
    `answers`, the i-th request with the pieces answers[i]."""

    PAUSE = 0.05

    def __init__(self, pieces, answers=None):
        self.pieces = pieces
        self.answers = answers
        self.requests = 0
        super().__init__()

    def serve(self, c, state):
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
                    pieces = self.answers[self.requests - 1] if self.answers else self.pieces
                    for i, piece in enumerate(pieces):
                        if i:
                            time.sleep(self.PAUSE)
                        c.sendall(piece)
        except OSError:
            pass
        finally:
            c.close()


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


def test_a_204_loses_the_content_length_an_upstream_gave_it(make_garcom):
    # RFC 9110 8.6: never in a 204. (A 304 and a HEAD answer keep theirs.)
    rs, accepted = run(make_garcom, [b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n"
                                     b"X-A: b\r\n\r\n"])
    for r in rs:
        assert (r.status, r.get("content-length"), r.get("x-a")) == (204, None, "b")
    assert accepted == 1


def test_bytes_after_a_204_are_never_taken_for_the_next_response(make_garcom):
    rs, accepted = run(make_garcom, [b"HTTP/1.1 204 No Content\r\n\r\n"
                                     b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"])
    assert [r.status for r in rs] == [204, 204]
    assert accepted == 2


def framed(total, extra):
    """A 200 whose head and body come to exactly `total` bytes, then extra."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
    n = next(n for n in range(total, 0, -1) if len(head % n) + n == total)
    return head % n + b"a" * n + extra


SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
LEGIT = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlegit"
PADDED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Pad: %s\r\n\r\n"


@pytest.mark.parametrize("first,method", [
    (framed(16384, SMUGGLED), "GET"),       # fills the 16 KiB read buffer exactly
    (framed(32768, SMUGGLED), "GET"),
    (framed(16383, SMUGGLED), "GET"),
    (PADDED_HEAD % (b"p" * (16384 - len(PADDED_HEAD % b""))) + SMUGGLED, "HEAD"),
], ids=["16384", "32768", "16383", "head-16384"])
def test_bytes_beyond_the_framing_never_answer_another_client(make_garcom, first, method):
    """An upstream that sends more than it framed: the surplus must not
    become the next response on a reused connection, another client's
    included, even when the framed bytes ended exactly where a read
    filled its buffer (edge-triggered epoll says nothing more then)."""
    up = ScriptedUpstream(None, answers=[[first], [LEGIT], [LEGIT]])
    try:
        g = proxy_garcom(make_garcom, [location("/app/", "app")],
                         [upstream_block("app", [up.addr])])
        with g.connect() as c:
            c.send(req(method, "/app/1"))
            # 502 when the head alone fills the upstream buffer: too big.
            assert read_response(c, method).status in (200, 502)
        time.sleep(0.2)
        with g.connect() as c:
            c.send(req("GET", "/app/2"))
            r = read_response(c)
            assert (r.status, r.body) == (200, b"legit"), r
        assert up.accepted == 2
    finally:
        up.stop()
