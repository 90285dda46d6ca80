"""Reverse proxy: upstream connections are kept alive and reused, and a
pooled connection the upstream closed while idle costs the client nothing."""
import json
import socket
import time

from proxyhelp import (app_garcom, assert_reusable, eventually, fetch, get, read_head,
                       read_response, req)
from upstream import payload


def test_1000_sequential_requests_use_a_handful_of_upstream_connections(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    clients = [g.connect()]
    try:
        for i in range(1000):
            if i == 500:  # the second half over four client connections
                clients += [g.connect() for _ in range(3)]
            c = clients[i % len(clients)]
            c.send(get("/api/echo?i=%d" % i))
            r = read_response(c)
            assert r.status == 200, (i, r)
    finally:
        for c in clients:
            c.close()
    assert len(upstream.served()) == 1000
    assert upstream.accepted <= 4, "%d upstream connections for 1000 requests" % upstream.accepted


def test_each_request_on_a_pooled_connection_is_framed_apart(make_garcom, upstream):
    # Bodies of every framing, one after another over the same upstream
    # connection: a mistake in where one response ends shows in the next.
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        for target in ("/api/size/1000", "/api/chunked/1000", "/api/status/204",
                       "/api/size/1", "/api/chunked/1?trailers=1", "/api/status/304",
                       "/api/echo"):
            c.send(get(target))
            r = read_response(c)
            assert r.status in (200, 204, 304), (target, r)
        assert json.loads(r.body)["target"] == "/api/echo"
        c.send(req("HEAD", "/api/size/100"))
        assert read_response(c, "HEAD").status == 200
        c.send(req("POST", "/api/echo", "Content-Length: 3", body=b"abc"))
        assert json.loads(read_response(c).body)["body_length"] == 3
        assert_reusable(c)
    assert upstream.accepted == 1
    assert not upstream.errors


def test_pooled_connection_closed_by_upstream_while_idle_is_replaced(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    upstream.close_after = 1  # closes the connection right after answering
    with g.connect() as c:
        c.send(get("/api/echo?first"))
        assert read_response(c).status == 200
        time.sleep(0.2)  # the upstream's FIN is in before the next request
        c.send(get("/api/echo?second"))
        r = read_response(c)
        assert r.status == 200
        assert json.loads(r.body)["target"] == "/api/echo?second"
    assert [x.target for x in upstream.served()] == ["/api/echo?first", "/api/echo?second"]
    assert upstream.accepted == 2


def test_get_on_a_reused_connection_the_upstream_dropped_is_retried_on_a_fresh_one(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/echo?first"))
        assert read_response(c).status == 200
        # The upstream closes the idle connection just as garcom reuses it:
        # it reads the request and closes without a byte of answer.
        upstream.drop_reused = 1
        c.send(get("/api/echo?second"))
        r = read_response(c)
        assert r.status == 200
        assert json.loads(r.body)["target"] == "/api/echo?second"
        assert_reusable(c)
    assert upstream.drop_reused == 0, "garcom did not reuse the pooled connection"
    dropped = [x for x in upstream.requests if x.dropped]
    assert [x.target for x in dropped] == ["/api/echo?second"]
    assert upstream.served()[-1].target == "/api/echo?second"
    assert upstream.served()[-1].conn_id != dropped[0].conn_id


def test_pipelined_proxied_requests_are_answered_in_order(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/echo?1") + get("/api/size/3000") + req("HEAD", "/api/size/9")
               + get("/api/chunked/2000") + get("/api/echo?5"))
        assert json.loads(read_response(c).body)["target"] == "/api/echo?1"
        assert read_response(c).body == payload(3000)
        assert read_response(c, "HEAD").get("content-length") == "9"
        assert read_response(c).body == payload(2000)
        assert json.loads(read_response(c).body)["target"] == "/api/echo?5"
        assert_reusable(c)


def test_idle_pool_keeps_at_most_keepalive_connections(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, keepalive=2)
    clients = [g.connect() for _ in range(6)]
    try:
        for c in clients:  # six at once: six upstream connections
            c.send(get("/api/slow-head/300"))
        for c in clients:
            assert read_response(c).status == 200
    finally:
        for c in clients:
            c.close()
    assert upstream.accepted == 6
    # Four of them are closed; two wait in the pool and serve what follows.
    assert eventually(lambda: upstream.open <= 2, timeout=2), upstream.open
    assert upstream.open == 2
    with g.connect() as c:
        for i in range(10):
            c.send(get("/api/echo?%d" % i))
            assert read_response(c).status == 200
    assert upstream.accepted == 6


def test_client_abort_mid_download_does_not_leak_into_the_next_request(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/size/%d" % (50 << 20)))
        assert read_head(c).status == 200
        got = len(c.buf)
        while got < (1 << 20):
            got += len(c.sock.recv(65536))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    for i in range(3):
        r = fetch(g, get("/api/echo?after%d" % i))
        assert r.status == 200
        assert json.loads(r.body)["target"] == "/api/echo?after%d" % i
    assert not upstream.errors


def test_client_abort_mid_upload_does_not_leak_into_the_next_request(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='limits = { body_size = "8m"; };')
    with g.connect() as c:
        c.send(req("POST", "/api/echo", "Content-Length: %d" % (4 << 20)) + payload(100000))
        assert eventually(lambda: upstream.requests and upstream.requests[-1].body_length > 0,
                          timeout=3)
    # The upstream saw a request whose body never ended: its connection
    # cannot carry another request.
    for i in range(3):
        r = fetch(g, get("/api/echo?after%d" % i))
        assert r.status == 200
        assert json.loads(r.body)["target"] == "/api/echo?after%d" % i
    assert not upstream.errors
    first = upstream.requests[0]
    assert not first.complete
    assert all(x.conn_id != first.conn_id for x in upstream.requests[1:])
