"""Bad input gets 400 (or the precise 4xx/5xx) and the connection closes;
the smuggling vectors of DESIGN.md section 6 are refused."""
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
