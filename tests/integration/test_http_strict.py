"""Bad input gets 400 (or the precise 4xx/5xx) and the connection closes;
the smuggling vectors of DESIGN.md section 6 are refused."""
import socket

import pytest

BAD = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                            # no Host in 1.1
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),       # two Hosts
    (b"GET /\r\n\r\n", 400),                                      # HTTP/0.9
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),    # obs-fold
    (b"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400),       # empty name
    (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),                 # space before colon
    (b"GET / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),                   # head ends in \r\rX
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
]


@pytest.mark.parametrize("raw,expected", BAD, ids=[repr(r[:40]) for r, _ in BAD])
def test_malformed_request_gets_error_and_close(garcom, raw, expected):
    with garcom.connect() as c:
        c.send(raw)
        status, h, body = c.response()
        assert status == expected
        assert h["connection"] == "close"
        assert c.closed_by_peer()


def test_data_after_connection_close_is_not_answered(garcom):
    with garcom.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
               b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, _ = c.response()
        assert status == 200
        assert c.closed_by_peer()  # no second response


def test_head_larger_than_header_size_is_431(garcom):
    with garcom.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        status, _, _ = c.response()
        assert status == 431


def test_bad_request_leaves_other_connections_served(garcom):
    with garcom.connect() as good:
        good.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert good.response()[0] == 200
        assert garcom.request(b"\x00\x01\x02 nonsense\r\n\r\n")[0] == 400
        good.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert good.response()[0] == 200


FOLDED_EMPTY_FIRST_LINE = [
    b"GET / HTTP/1.1\r\nHost:\r\n b.example\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Foo:\r\n bar\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
]


@pytest.mark.parametrize("raw", FOLDED_EMPTY_FIRST_LINE)
def test_fold_after_an_empty_first_line_is_refused(garcom, raw):
    status, h, _ = garcom.request(raw)
    assert status == 400


def test_directory_redirect_never_points_to_another_host(garcom):
    garcom.write("dir/index.html", "d")
    for target in (b"//evil.example/../dir", b"/\\evil.example/../dir",
                   b"http://evil.example/dir"):
        status, h, _ = garcom.request(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status == 301, target
        assert h["location"] == "/dir/", target


def test_redirect_location_is_percent_encoded(garcom):
    garcom.write("a b/index.html", "d")
    status, h, _ = garcom.request(b"GET /a%20b?q=1 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert status == 301
    assert h["location"] == "/a%20b/?q=1"


def test_whole_head_over_header_size_in_one_packet_is_431(garcom):
    # 9000 bytes: over the 8192 limit but under the read buffer.
    pad = b"X-Pad: " + b"a" * (9000 - 60) + b"\r\n"
    status, _, _ = garcom.request(b"GET / HTTP/1.1\r\nHost: t\r\n" + pad + b"\r\n")
    assert status == 431


def test_trailing_whitespace_in_host_is_ignored(make_garcom):
    g = make_garcom()
    g.write("index.html", "default")
    other = g.tmp + "/other"
    import os
    os.makedirs(other)
    with open(other + "/index.html", "w") as f:
        f.write("b site")
    with open(g.conf) as f:
        conf = f.read()
    conf = conf.replace("servers = ( {", 'servers = ( { listen = "127.0.0.1:%d"; '
                        'server_names = [ "b.example" ]; root = "%s"; }, {' % (g.port, other))
    with open(g.conf, "w") as f:
        f.write(conf)
    g.start()
    status, _, body = g.request(b"GET / HTTP/1.1\r\nHost: b.example \t\r\n\r\n")
    assert (status, body) == (200, b"b site")


def test_https_absolute_form_maps_to_the_path(garcom):
    status, _, body = garcom.request(b"GET https://example.com/index.html HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (status, body) == (200, b"<h1>hello from garcom</h1>\n")


def test_upgrade_request_does_not_break_the_next_pipelined_one(garcom):
    with garcom.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
               b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[0] == 200
        assert c.response()[0] == 200


def test_connect_is_refused(garcom):
    status, h, _ = garcom.request(b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n")
    assert status == 405
    assert h["connection"] == "close"


def test_blank_line_after_a_request_brings_no_408(make_garcom):
    g = make_garcom(extra='timeouts = { header = "300ms"; };')
    g.write("index.html", "x")
    g.start()
    with g.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n\r\n")
        assert c.response()[0] == 200
        import time
        time.sleep(0.8)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        status, h, _ = c.response()
        assert status == 200


def test_uri_longer_than_uri_size_is_414(garcom):
    # The default limits.uri_size is 4k: a 5000-byte target in a head that
    # header_size (8k) would take.
    with garcom.connect() as c:
        c.send(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        status, h, _ = c.response()
        assert status == 414
        assert h["connection"] == "close"
        assert c.closed_by_peer()
    # Just under it is fine (404: no such file).
    status, _, _ = garcom.request(b"GET /" + b"a" * 4000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 404


def test_limits_uri_size_and_headers_are_configurable(make_garcom):
    g = make_garcom(extra="limits = { uri_size = 512; headers = 5; };")
    g.write("index.html", "ok")
    g.start()
    status, _, _ = g.request(b"GET /" + b"a" * 600 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 414
    four = b"".join(b"X-%d: v\r\n" % i for i in range(4))  # Host + 4 = 5
    status, _, _ = g.request(b"GET / HTTP/1.1\r\nHost: a\r\n" + four + b"\r\n")
    assert status == 200
    with g.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n" + four + b"X-5: v\r\n\r\n")
        status, h, _ = c.response()
        assert status == 431
        assert h["connection"] == "close"


def test_more_than_100_header_fields_is_431(garcom):
    many = b"".join(b"X-%d: v\r\n" % i for i in range(100))
    status, _, _ = garcom.request(b"GET / HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n")
    assert status == 431


def test_blank_lines_now_and_then_do_not_hold_off_the_header_timeout(make_garcom):
    # One blank line is ignored (RFC 9112 2.2); a CRLF every 200 ms must
    # not re-arm timeouts.header for ever.
    import time
    g = make_garcom(extra='timeouts = { header = "500ms"; };')
    g.write("index.html", "x")
    g.start()
    with g.connect() as c:
        start = time.monotonic()
        answer = b""
        while time.monotonic() - start < 4:
            try:
                c.send(b"\r\n")
            except OSError:
                break
            c.sock.settimeout(0.2)
            try:
                data = c.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            answer += data
        assert time.monotonic() - start < 2.5, "still open after %.1f s" % (time.monotonic() - start)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:60]
