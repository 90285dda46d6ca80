"""Reverse proxy: WebSocket and other Upgrade handshakes pass through, and
after the upstream's 101 the two connections are spliced into a byte tunnel
that closes as a whole and times out when idle (timeouts.tunnel)."""
import asyncio
import os
import threading
import time

import pytest

from proxyhelp import (app_garcom, assert_reusable, eventually, get, is_closed, location,
                       proxy_garcom, read_response)
from upstream import ws_accept

try:
    import websockets
except ImportError:  # only the library-to-library test needs it
    websockets = None

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
HANDSHAKE = ("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Key: " + KEY)
TUNNEL = 'timeouts = { tunnel = "2s"; };'


class WsEcho:
    """The websockets library's server, echoing every message, on its own
    event loop in a thread; records each handshake's headers."""

    def __init__(self):
        self.handshakes = []  # (path, [(name, value)])
        self.closed = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(websockets.serve(
                self._echo, "127.0.0.1", 0, process_request=self._record, compression=None))
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(5)

    async def _record(self, path, headers):
        self.handshakes.append((path, list(headers.raw_items())))
        return None

    async def _echo(self, ws, *_):
        try:
            async for msg in ws:
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.append(time.monotonic())

    def stop(self):
        async def close():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def ws_echo():
    if websockets is None:
        pytest.skip("python3-websockets is not installed")
    s = WsEcho()
    yield s
    s.stop()


def test_websocket_messages_echo_through_the_proxy(make_garcom, ws_echo):
    g = proxy_garcom(make_garcom, [location("/ws/", "http://127.0.0.1:%d" % ws_echo.port)])
    big = os.urandom(200000)

    async def client():
        uri = "ws://127.0.0.1:%d/ws/chat?room=1" % g.port
        async with websockets.connect(uri, compression=None, open_timeout=5,
                                      close_timeout=2) as ws:
            replies = []
            for msg in ("hello", big, "", "bye"):
                await ws.send(msg)
                replies.append(await asyncio.wait_for(ws.recv(), 5))
            return replies

    replies = asyncio.run(asyncio.wait_for(client(), 20))
    assert replies == ["hello", big, "", "bye"]
    path, headers = ws_echo.handshakes[0]
    assert path == "/ws/chat?room=1"
    h = {}
    for k, v in headers:
        h.setdefault(k.lower(), []).append(v)
    assert h["upgrade"] == ["websocket"]
    assert "upgrade" in [t.strip().lower() for v in h["connection"] for t in v.split(",")]
    assert len(h["sec-websocket-key"]) == 1
    assert h["sec-websocket-version"] == ["13"]


def open_tunnel(g, target="/api/upgrade"):
    c = g.connect()
    c.send(get(target, *HANDSHAKE))
    r = read_response(c)
    assert r.status == 101, r
    return c, r


def test_upgrade_handshake_reaches_upstream_and_101_reaches_client(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=TUNNEL)
    c, r = open_tunnel(g)
    with c:
        assert r.raw_head.startswith(b"HTTP/1.1 101 ")
        assert r.values("upgrade") == ["websocket"]
        assert [v.lower() for v in r.values("connection")] == ["upgrade"]
        assert r.values("sec-websocket-accept") == [ws_accept(KEY)]
        assert r.values("transfer-encoding") == [] and r.values("content-length") == []
    rec = upstream.last()
    assert rec.values("upgrade") == ["websocket"]
    assert "upgrade" in [t.strip().lower() for v in rec.values("connection") for t in v.split(",")]
    assert rec.values("sec-websocket-key") == [KEY]


def test_tunnel_carries_raw_bytes_both_ways(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=TUNNEL)
    c, _ = open_tunnel(g)
    with c:
        # Not HTTP, not even WebSocket frames: after the 101 garcom parses
        # nothing.
        for data in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\xff" * 5000, os.urandom(1 << 20)):
            c.send(data)
            got = c.buf
            c.buf = b""
            while len(got) < len(data):
                more = c.sock.recv(1 << 20)
                assert more, "tunnel closed after %d bytes" % len(got)
                got += more
            assert got == data


def test_client_closing_the_tunnel_closes_the_upstream_side(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='timeouts = { tunnel = "30s"; };')
    c, _ = open_tunnel(g)
    c.send(b"ping")
    assert c.sock.recv(16) == b"ping"
    c.close()
    t0 = time.monotonic()
    deadline = t0 + 2
    while not upstream.tunnel_closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream.tunnel_closed, "the upstream side stayed open"
    assert upstream.tunnel_closed[0] - t0 < 1.0


def test_upstream_closing_the_tunnel_closes_the_client_side(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='timeouts = { tunnel = "30s"; };')
    with g.connect() as c:
        c.send(get("/api/upgrade/close", *HANDSHAKE))
        assert read_response(c).status == 101
        c.send(b"last words")
        t0 = time.monotonic()
        assert is_closed(c, timeout=3)
        assert c.buf == b"last words"  # the echo came before the close
        assert time.monotonic() - t0 < 1.0


def test_idle_tunnel_is_closed_after_the_tunnel_timeout(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=TUNNEL)
    c, _ = open_tunnel(g)
    with c:
        c.send(b"x")
        assert c.sock.recv(16) == b"x"
        t0 = time.monotonic()
        assert is_closed(c, timeout=5), "idle tunnel still open after 5 s"
        took = time.monotonic() - t0
    assert 1.5 < took < 3.5, took
    assert eventually(lambda: upstream.tunnel_closed, timeout=1), "the upstream side stayed open"


def test_busy_tunnel_outlives_the_tunnel_and_read_timeouts(make_garcom, upstream):
    # read_timeout (1 s) is for a response head or body, not for a tunnel.
    g = app_garcom(make_garcom, upstream, extra=TUNNEL, read_timeout="1s")
    c, _ = open_tunnel(g)
    with c:
        for i in range(3):  # 4.5 s in all, idle 1.5 s at a time
            time.sleep(1.5)
            c.send(b"%d" % i)
            assert c.sock.recv(16) == b"%d" % i


def test_upgrade_refused_by_the_upstream_keeps_the_connection_http(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra=TUNNEL)
    with g.connect() as c:
        # /echo answers 200: no tunnel, the connection stays HTTP.
        c.send(get("/api/echo", *HANDSHAKE))
        r = read_response(c)
        assert r.status == 200
        assert r.values("upgrade") == []
        assert_reusable(c)
