"""Bugs the fuzz targets (tests/fuzz) found, checked against the real daemon.
Each test names the committed input in tests/fuzz/regressions/ that
`make fuzz` replays."""
import json
import os
import re
import signal
import socket
import threading
import time

from proxyhelp import (app_garcom, assert_reusable, get, location, proxy_garcom,
                       read_response)


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


class RawUpstream:
    """Answers every connection with fixed bytes once it has read a head,
    then keeps it open a moment (a tunnel would carry on) and closes."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        break
                    buf += d
                c.sendall(self.answer)
                time.sleep(0.5)

    def close(self):
        self.sock.close()


def test_101_without_upgrade_header_is_a_bad_gateway(make_garcom):
    # regressions/proxy/101-without-upgrade: the upstream's 101 named no
    # protocol (its Upgrade line was lost in a broken status line); garcom
    # relayed a 101 without Upgrade, which a client takes for an interim
    # response, and then the tunnel's bytes as the next response.
    up = RawUpstream(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\nPONG")
    try:
        g = proxy_garcom(make_garcom, [location("/ws/", "http://%s" % up.addr)])
        with g.connect() as c:
            c.send(get("/ws/x", "Connection: Upgrade", "Upgrade: websocket"))
            r = read_response(c)
            assert r.status == 502, r
    finally:
        up.close()


def test_1xx_response_with_content_is_a_bad_gateway_not_relayed_headless(make_garcom):
    # regressions/proxy/1xx-with-body: llhttp reads content for a 1xx that
    # has Content-Length or chunked (other than 100, 102, 103); garcom sent
    # those bytes to the client before any status line.
    up = RawUpstream(b"HTTP/1.1 150 Odd\r\nContent-Length: 5\r\n\r\nhello"
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    try:
        g = proxy_garcom(make_garcom, [location("/api/", "http://%s" % up.addr)])
        with g.connect() as c:
            c.send(get("/api/x"))
            c.sock.settimeout(5)
            first = c.sock.recv(9)
            assert first == b"HTTP/1.1 ", first
            c.buf = first
            r = read_response(c)
            assert r.status == 502, r
    finally:
        up.close()


def test_reload_with_an_include_of_a_directory_keeps_the_master(make_garcom):
    # regressions/config/include-directory: libconfig's scanner exits the
    # process when @include names a directory; on SIGHUP that process was
    # the master, so the whole server went down.
    g = make_garcom(workers=1)
    g.write("index.html", "still here")
    g.start()
    workers = g.children()
    os.mkdir(os.path.join(g.tmp, "conf.d"))
    with open(g.conf) as f:
        text = f.read()
    with open(g.conf, "w") as f:
        f.write(text.replace("workers = 1;", 'workers = 1;\n@include "conf.d"'))
    g.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "is a directory" not in g.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert g.proc.poll() is None, "the master exited on the reload"
    assert re.search(r"%s:2: @include \"conf.d\": .*conf.d is a directory" % re.escape(g.conf),
                     g.log_text())
    assert g.children() == workers
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.endswith(b"still here")


def test_status_line_without_a_code_is_a_bad_gateway(make_garcom):
    # regressions/proxy/status-code-missing: llhttp 8.1 reads
    # "HTTP/1.1 \n" as a status line with code 0; garcom relayed it as an
    # interim "HTTP/1.1 0 Unknown" before the real answer.
    up = RawUpstream(b"HTTP/1.1 \nContent-Length: 0\r\n\r\n"
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    try:
        g = proxy_garcom(make_garcom, [location("/api/", "http://%s" % up.addr)])
        with g.connect() as c:
            c.send(get("/api/x"))
            c.sock.settimeout(5)
            first = c.sock.recv(12)
            assert first == b"HTTP/1.1 502", first
    finally:
        up.close()


def test_204_with_a_transfer_encoding_has_no_body(make_garcom):
    # regressions/proxy/204-with-transfer-encoding: llhttp 8.1 reads a
    # body until the close after a 204 with a Transfer-Encoding; garcom
    # relayed those bytes after the 204's head, where the client reads
    # them as the next response. A 204 ends at its empty line (RFC 9112
    # 6.3).
    up = RawUpstream(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\nX-A: b\r\n\r\n"
                     b"HTTP/1.1 666 JUNK\r\n\r\n")
    try:
        g = proxy_garcom(make_garcom, [location("/api/", "http://%s" % up.addr)])
        with g.connect() as c:
            for _ in range(2):
                c.send(get("/api/x"))
                r = read_response(c)
                assert r.status == 204, r
                assert r.get("x-a") == "b"
            assert b"666" not in c.buf
    finally:
        up.close()
