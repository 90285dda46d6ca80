"""Bugs the fuzz targets (tests/fuzz) found, checked against the real daemon.
Each test names the committed input in tests/fuzz/regressions/ that
`make fuzz` replays."""
import json
import socket
import time

from proxyhelp import app_garcom, assert_reusable, get, read_response


def test_request_arriving_while_a_pipelined_pair_is_proxied_is_answered(make_garcom, upstream):
    # regressions/request/pipelined-then-readable: after answering two
    # pipelined requests the read buffer was emptied but the second one's
    # start offset kept, so the head size check wrapped around and the
    # next request, already waiting on the socket, got a 431.
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/slow-head/300") + get("/api/echo?2"))
        time.sleep(0.1)  # arrives while the first is still at the upstream
        c.send(get("/api/echo?3"))
        assert read_response(c).status == 200
        assert json.loads(read_response(c).body)["target"] == "/api/echo?2"
        r = read_response(c)
        assert r.status == 200, r
        assert json.loads(r.body)["target"] == "/api/echo?3"
        assert_reusable(c)


def test_pipelined_pair_then_half_close_gets_two_answers_only(make_garcom, upstream):
    # The same bug seen by a client that half-closes after pipelining: a
    # third, spurious 431 answered its FIN.
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/slow-head/200") + get("/api/echo?2"))
        c.sock.shutdown(socket.SHUT_WR)
        data = b""
        c.sock.settimeout(5)
        while True:
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"HTTP/1.1 ") == 2, data
    assert b"HTTP/1.1 431" not in data
