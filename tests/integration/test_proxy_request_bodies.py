"""Reverse proxy: request bodies stream to the upstream intact, with
Content-Length or chunked, and Expect: 100-continue is answered before the
client sends its body."""
import hashlib
import json
import random
import time

from proxyhelp import app_garcom, assert_reusable, eventually, read_head, read_response, req
from upstream import payload

BIG = 20 << 20  # 20 MiB
LIMITS = 'limits = { body_size = "64m"; };'


def test_20_mib_upload_with_content_length_arrives_intact(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=LIMITS)
    body = payload(BIG, 7)
    with g.connect(timeout=30) as c:
        c.send(req("POST", "/api/echo", "Content-Type: application/octet-stream",
                   "Content-Length: %d" % BIG))
        for i in range(0, BIG, 1 << 20):
            c.send(body[i:i + (1 << 20)])
        r = read_response(c)
        assert r.status == 200
        echo = json.loads(r.body)
        assert (echo["body_length"], echo["body_sha256"]) == (BIG, hashlib.sha256(body).hexdigest())
        assert_reusable(c)
    rec = upstream.last()
    assert (rec.method, rec.body_length, rec.complete) == ("POST", BIG, True)
    assert not upstream.errors


def test_20_mib_chunked_upload_arrives_intact(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=LIMITS)
    body = payload(BIG, 11)
    rnd = random.Random(5)
    with g.connect(timeout=30) as c:
        c.send(req("POST", "/api/echo", "Transfer-Encoding: chunked"))
        off = 0
        while off < BIG:
            n = min(rnd.choice((1, 100, 4096, 65536, 300000, 1 << 20)), BIG - off)
            c.send(b"%x\r\n" % n + body[off:off + n] + b"\r\n")
            off += n
        c.send(b"0\r\n\r\n")
        r = read_response(c)
        assert r.status == 200
        echo = json.loads(r.body)
        assert (echo["body_length"], echo["body_sha256"]) == (BIG, hashlib.sha256(body).hexdigest())
        assert_reusable(c)
    assert not upstream.errors


def test_chunked_request_with_trailers_and_extensions_reaches_the_upstream_decoded(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(req("POST", "/api/echo", "Transfer-Encoding: chunked",
                   body=b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"))
        r = read_response(c)
        assert r.status == 200
        echo = json.loads(r.body)
        assert (echo["body_length"], echo["body_sha256"]) == (
            11, hashlib.sha256(b"hello world").hexdigest())
        assert_reusable(c)
    assert not upstream.errors


def test_a_trailer_connection_close_closes_the_connection(make_garcom, upstream):
    """A chunked body's trailer can say Connection: close. Strict llhttp
    then takes no further message: the answer says Connection: close and
    the connection closes, whether the next request came with the body or
    waits for the answer (no plain head scanned in llhttp's place)."""
    g = app_garcom(make_garcom, upstream)
    post = req("POST", "/api/echo", "Transfer-Encoding: chunked",
               body=b"3\r\nabc\r\n0\r\nConnection: close\r\n\r\n")
    for together in (True, False):
        with g.connect() as c:
            c.send(post + (req("GET", "/api/echo") if together else b""))
            r = read_response(c)
            assert r.status == 200
            assert r.get("connection") == "close"
            if not together:
                c.send(req("GET", "/api/echo"))
            assert c.closed_by_peer()


def test_request_body_streams_to_the_upstream_before_the_upload_ends(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=LIMITS)
    n = 4 << 20
    body = payload(n)
    with g.connect(timeout=15) as c:
        c.send(req("POST", "/api/echo", "Content-Length: %d" % n) + body[:1 << 20])
        # The client holds back the remaining 3 MiB: the first MiB must
        # already be on its way to the upstream.
        started = eventually(lambda: upstream.requests and upstream.requests[-1].body_length > 0,
                             timeout=3)
        assert started, "nothing of the body reached the upstream while the client paused"
        c.send(body[1 << 20:])
        r = read_response(c)
        assert r.status == 200
        assert json.loads(r.body)["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_expect_100_continue_is_answered_before_the_body_is_sent(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=LIMITS)
    body = payload(1 << 20)
    with g.connect() as c:
        c.send(req("PUT", "/api/continue", "Content-Length: %d" % len(body),
                   "Expect: 100-continue"))
        c.sock.settimeout(3)
        t0 = time.monotonic()
        interim = read_head(c)  # no body sent yet: only a 100 can come
        assert interim.status == 100, interim
        assert interim.raw_head.startswith(b"HTTP/1.1 100 ")
        assert time.monotonic() - t0 < 2.0
        c.send(body)
        r = read_response(c)  # a relayed second 100 would be skipped here
        assert r.status == 200
        echo = json.loads(r.body)
        assert (echo["body_length"], echo["body_sha256"]) == (
            len(body), hashlib.sha256(body).hexdigest())
        assert_reusable(c)
    assert not upstream.errors


def test_expect_100_continue_with_chunked_body(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(req("POST", "/api/continue", "Transfer-Encoding: chunked", "Expect: 100-continue"))
        c.sock.settimeout(3)
        assert read_head(c).status == 100
        c.send(b"3\r\nabc\r\n0\r\n\r\n")
        r = read_response(c)
        assert r.status == 200
        assert json.loads(r.body)["body_sha256"] == hashlib.sha256(b"abc").hexdigest()


def test_expect_100_continue_with_a_body_over_the_limit_gets_413_and_no_100(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='limits = { body_size = "1m"; };')
    with g.connect() as c:
        c.send(req("POST", "/api/echo", "Content-Length: %d" % (2 << 20), "Expect: 100-continue"))
        r = read_head(c)
        assert r.status == 413, r
    assert upstream.requests == []
