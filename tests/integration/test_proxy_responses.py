"""Reverse proxy: every response framing the upstream uses reaches the client
intact (Content-Length, chunked, close-delimited), HEAD, 204 and 304 carry
no body, 1xx interim responses are relayed and never taken for the final
one, server-sent events arrive as they are written, and a 1 GiB response
passes without being held in memory."""
import threading
import time

from proxyhelp import (app_garcom, assert_reusable, get, is_closed, read_head, read_response,
                       req, rss_kib)
from upstream import payload


def test_content_length_response_is_relayed_exactly(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/size/100000"))
        r = read_response(c)
        assert (r.status, r.framing) == (200, "length")
        assert r.get("content-length") == "100000"
        assert r.get("content-type") == "application/octet-stream"
        assert r.body == payload(100000)
        c.send(get("/api/size/0"))
        r = read_response(c)
        assert (r.status, r.get("content-length"), r.body) == (200, "0", b"")
        assert_reusable(c)


def test_50_mib_response_arrives_exact(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    n = 50 << 20
    with g.connect(timeout=30) as c:
        c.send(get("/api/size/%d" % n))
        r = read_response(c)
        assert (r.status, len(r.body)) == (200, n)
        assert r.body == payload(n)
        assert_reusable(c)


def test_chunked_response_is_relayed_chunked_and_decodes_exactly(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/chunked/300000"))
        r = read_response(c)
        assert (r.status, r.framing) == (200, "chunked")
        assert r.body == payload(300000)
        # The upstream's trailer must not break the framing either.
        c.send(get("/api/chunked/5000?trailers=1"))
        r = read_response(c)
        assert (r.status, r.framing, r.body) == (200, "chunked", payload(5000))
        assert_reusable(c)


def test_close_delimited_response_is_reframed_as_chunked_for_http11(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/close/200000"))
        r = read_response(c)
        assert r.status == 200
        assert r.values("transfer-encoding") == ["chunked"]
        assert r.values("content-length") == []
        assert r.body == payload(200000)
        # Re-framed, the client's connection outlives the upstream's.
        assert_reusable(c)


def test_close_delimited_response_to_http10_client_ends_with_the_connection(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/close/200000", version="1.0"))
        r = read_response(c)
        assert r.status == 200
        assert r.values("transfer-encoding") == []
        assert r.framing in ("close", "length")
        assert r.body == payload(200000)
        assert is_closed(c)


def test_chunked_response_to_http10_client_is_not_sent_chunked(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/chunked/70000", version="1.0"))
        r = read_response(c)
        assert r.status == 200
        assert r.values("transfer-encoding") == []
        assert r.body == payload(70000)


def test_head_through_the_proxy_has_headers_and_no_body(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(req("HEAD", "/api/size/5000"))
        r = read_response(c, method="HEAD")
        assert r.status == 200
        assert r.get("content-length") == "5000"
        assert upstream.last().method == "HEAD"
        # No body bytes follow: the next response starts right away.
        c.send(req("HEAD", "/api/chunked/5000"))
        r = read_response(c, method="HEAD")
        assert r.status == 200
        c.send(get("/api/size/10"))
        r = read_response(c)
        assert (r.status, r.body) == (200, payload(10))
        assert_reusable(c)


def test_204_and_304_have_no_body_and_keep_the_connection(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/status/204"))
        r = read_head(c)
        assert r.status == 204
        assert r.values("transfer-encoding") == [] and r.values("content-length") == []
        c.send(get("/api/status/304"))
        r = read_head(c)
        assert r.status == 304
        assert r.values("transfer-encoding") == []
        assert r.get("etag") == '"v1"'
        assert_reusable(c)


def test_other_statuses_pass_through_with_their_body(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        for code in (201, 404, 418, 500, 503):
            c.send(get("/api/status/%d" % code))
            r = read_response(c)
            assert (r.status, r.body) == (code, b"status %d\n" % code)
        assert_reusable(c)


def test_repeated_headers_arrive_as_separate_lines(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/multi-headers"))
        r = read_response(c)
        assert (r.status, r.body) == (200, b"multi\n")
        # Set-Cookie cannot be folded into one line (RFC 6265 3).
        assert r.values("set-cookie") == [
            "a=1; Path=/", "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT"]
        assert [t.strip() for v in r.values("x-multi") for t in v.split(",")] == ["one", "two"]
        # One Server and one Date, whichever the proxy keeps.
        assert len(r.values("server")) == 1 and len(r.values("date")) == 1
        assert_reusable(c)


def test_103_early_hints_is_relayed_before_the_200(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/early-hints"))
        r = read_response(c)
        assert c.buf == b""
        assert (r.status, r.body) == (200, b"hinted\n")
        assert [i.status for i in r.interim] == [103]
        hint = r.interim[0]
        assert hint.raw_head.startswith(b"HTTP/1.1 103 ")
        assert hint.values("link") == ["</style.css>; rel=preload; as=style"]
        assert_reusable(c)


def test_103_raw_bytes_come_first(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/early-hints"))
        data = b""
        c.sock.settimeout(5)
        while b"hinted\n" not in data:
            chunk = c.sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.startswith(b"HTTP/1.1 103 ")
    assert data.index(b"HTTP/1.1 103 ") < data.index(b"HTTP/1.1 200 ")
    assert data.count(b"HTTP/1.1 200 ") == 1


def test_no_1xx_is_sent_to_an_http10_client(make_garcom, upstream):
    # RFC 9110 15.2: a server must not send a 1xx response to an HTTP/1.0 client.
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/early-hints", version="1.0"))
        r = read_response(c)
        assert r.interim == []
        assert (r.status, r.body) == (200, b"hinted\n")


def next_chunk(c):
    """One chunk of a chunked body as it arrives (b"" for the last)."""
    while b"\r\n" not in c.buf:
        more = c.sock.recv(65536)
        assert more, "closed mid-stream"
        c.buf += more
    size, c.buf = c.buf.split(b"\r\n", 1)
    n = int(size.split(b";")[0], 16)
    while len(c.buf) < n + 2:
        more = c.sock.recv(65536)
        assert more, "closed mid-chunk"
        c.buf += more
    assert c.buf[n:n + 2] == b"\r\n"
    data, c.buf = c.buf[:n], c.buf[n + 2:]
    return data


def test_server_sent_events_arrive_as_the_upstream_writes_them(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        t0 = time.monotonic()
        c.send(get("/api/sse/5", "Accept: text/event-stream"))
        r = read_head(c)
        assert r.status == 200
        assert r.get("content-type") == "text/event-stream"
        assert r.values("transfer-encoding") == ["chunked"]
        arrived, data = [], b""
        while True:
            chunk = next_chunk(c)
            if not chunk:
                break
            data += chunk
            while data.count(b"\n\n") > len(arrived):
                arrived.append(time.monotonic() - t0)
        assert_reusable(c)
    assert data == b"".join(b"id: %d\ndata: event %d\n\n" % (i, i) for i in range(5))
    assert arrived[0] < 0.5, arrived  # the first event is not held back
    gaps = [b - a for a, b in zip(arrived, arrived[1:])]
    assert all(0.1 < gap < 0.5 for gap in gaps), arrived


def test_1_gib_response_streams_without_growing_the_worker(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    worker = g.children()[0]
    n = 1 << 30
    with g.connect(timeout=30) as c:
        # Warm up the proxy path once, so pools and buffers exist.
        c.send(get("/api/size/100000"))
        assert read_response(c).body == payload(100000)
        time.sleep(0.1)
        base = rss_kib(worker)
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(worker))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            c.send(get("/api/size/%d" % n))
            r = read_head(c)
            assert r.status == 200 and r.get("content-length") == str(n)
            got = len(c.buf)
            c.buf = b""
            buf = bytearray(1 << 20)
            paused = False
            t0 = time.monotonic()
            while got < n:
                if not paused and got >= n // 2:
                    # A slow client: the upstream must be held back, not
                    # buffered for.
                    paused = True
                    time.sleep(0.5)
                k = c.sock.recv_into(buf, min(len(buf), n - got))
                assert k, "closed after %d of %d bytes" % (got, n)
                got += k
            took = time.monotonic() - t0
        finally:
            done.set()
            sampler.join()
        after = rss_kib(worker)
        assert_reusable(c)
    assert got == n
    growth = max(peak[0], after) - base
    assert growth < 1024, "worker RSS grew by %d KiB (base %d KiB), %.1f s" % (growth, base, took)
