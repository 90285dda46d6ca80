"""Range requests on static files: single ranges, suffixes, clipping, 416,
multipart/byteranges, invalid headers ignored, If-Range, HEAD. Raw request
bytes in, the exact bytes of the answer checked."""
from statichelp import exchange, get, head, http_date, parse_byteranges, set_mtime

DATA = bytes((i * 7 + 3) % 251 for i in range(1000))
MTIME = 1614834367
BIG = (bytes(range(251)) * ((3 << 20) // 251 + 1))[:3 << 20]  # sendfile path


def site(make_garcom, **kw):
    g = make_garcom(**kw)
    set_mtime(g.write("data.bin", DATA), MTIME)
    set_mtime(g.write("big.bin", BIG), MTIME)
    g.write("text.txt", "0123456789abcdefghij")
    return g.start()


def ranged(g, spec, target=b"/data.bin", *more):
    return exchange(g, get(target, b"Range: " + spec, *more))


def test_whole_file_advertises_accept_ranges(make_garcom):
    g = site(make_garcom)
    status, h, body = exchange(g, get(b"/data.bin"))
    assert (status, body) == (200, DATA)
    assert h["accept-ranges"] == "bytes"
    assert "content-range" not in h


def test_range_first_last(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=0-9")
    assert status == 206
    assert h["content-range"] == "bytes 0-9/1000"
    assert h["content-length"] == "10"
    assert body == DATA[0:10]
    assert h["content-type"] == "application/octet-stream"
    status, h, body = ranged(g, b"bytes=100-199")
    assert (status, h["content-range"], body) == (206, "bytes 100-199/1000", DATA[100:200])
    status, h, body = ranged(g, b"bytes=999-999")
    assert (status, h["content-range"], body) == (206, "bytes 999-999/1000", DATA[999:])


def test_range_open_ended(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=990-")
    assert (status, h["content-range"], body) == (206, "bytes 990-999/1000", DATA[990:])
    status, h, body = ranged(g, b"bytes=0-")
    assert (status, h["content-range"], body) == (206, "bytes 0-999/1000", DATA)


def test_range_suffix(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=-10")
    assert (status, h["content-range"], body) == (206, "bytes 990-999/1000", DATA[990:])
    assert h["content-length"] == "10"


def test_range_suffix_longer_than_file(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=-5000")
    assert (status, h["content-range"], body) == (206, "bytes 0-999/1000", DATA)


def test_range_end_past_eof_is_clipped(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=500-5000")
    assert (status, h["content-range"], body) == (206, "bytes 500-999/1000", DATA[500:])
    assert h["content-length"] == "500"


def test_range_start_at_or_past_eof_is_416(make_garcom):
    g = site(make_garcom)
    for spec in (b"bytes=1000-", b"bytes=1000-2000", b"bytes=5000-6000"):
        status, h, body = ranged(g, spec)
        assert status == 416, spec
        assert h["content-range"] == "bytes */1000"
        assert DATA[:20] not in body


def test_invalid_range_header_is_ignored(make_garcom):
    g = site(make_garcom)
    for spec in (b"bytes=abc", b"items=0-1", b"bytes=", b"bytes=0-1x", b"bytes 0-1",
                 b"bytes=--1", b"bytes=1-2-3"):
        status, h, body = ranged(g, spec)
        assert (status, body) == (200, DATA), spec
        assert "content-range" not in h


def test_several_ranges_are_multipart_byteranges(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=0-9,20-29,-5")
    assert status == 206
    assert h["content-type"].startswith("multipart/byteranges; boundary=")
    assert "content-range" not in h
    assert int(h["content-length"]) == len(body)
    parts = parse_byteranges(h["content-type"], body)
    assert [(p["content-type"], p["content-range"], d) for p, d in parts] == [
        ("application/octet-stream", "bytes 0-9/1000", DATA[0:10]),
        ("application/octet-stream", "bytes 20-29/1000", DATA[20:30]),
        ("application/octet-stream", "bytes 995-999/1000", DATA[995:]),
    ]


def test_multipart_parts_carry_the_files_content_type(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=0-1, 10-12", b"/text.txt")
    assert status == 206
    parts = parse_byteranges(h["content-type"], body)
    assert [(p["content-type"], p["content-range"], d) for p, d in parts] == [
        ("text/plain; charset=utf-8", "bytes 0-1/20", b"01"),
        ("text/plain; charset=utf-8", "bytes 10-12/20", b"abc"),
    ]


def test_multipart_range_on_a_big_file(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=0-99999,2000000-2999999", b"/big.bin")
    assert status == 206
    parts = parse_byteranges(h["content-type"], body)
    assert [(p["content-range"], d) for p, d in parts] == [
        ("bytes 0-99999/%d" % len(BIG), BIG[:100000]),
        ("bytes 2000000-2999999/%d" % len(BIG), BIG[2000000:3000000]),
    ]


def test_range_in_the_middle_of_a_big_file(make_garcom):
    g = site(make_garcom)
    status, h, body = ranged(g, b"bytes=1048570-2097160", b"/big.bin")
    assert status == 206
    assert h["content-range"] == "bytes 1048570-2097160/%d" % len(BIG)
    assert body == BIG[1048570:2097161]


def test_if_range_with_current_etag_gives_206(make_garcom):
    g = site(make_garcom)
    etag = exchange(g, get(b"/data.bin"))[1]["etag"]
    status, h, body = ranged(g, b"bytes=0-9", b"/data.bin", b"If-Range: " + etag.encode())
    assert (status, h["content-range"], body) == (206, "bytes 0-9/1000", DATA[:10])


def test_if_range_with_stale_etag_gives_whole_file(make_garcom):
    g = site(make_garcom)
    etag = exchange(g, get(b"/data.bin"))[1]["etag"]
    for value in (b'"stale"', b"W/" + etag.encode()):  # a weak tag never matches If-Range
        status, h, body = ranged(g, b"bytes=0-9", b"/data.bin", b"If-Range: " + value)
        assert (status, body) == (200, DATA), value
        assert "content-range" not in h


def test_if_range_with_last_modified_date(make_garcom):
    g = site(make_garcom)
    lm = exchange(g, get(b"/data.bin"))[1]["last-modified"]
    assert lm == http_date(MTIME)
    status, h, body = ranged(g, b"bytes=0-9", b"/data.bin", b"If-Range: " + lm.encode())
    assert (status, h["content-range"], body) == (206, "bytes 0-9/1000", DATA[:10])
    stale = http_date(MTIME - 3600).encode()
    status, h, body = ranged(g, b"bytes=0-9", b"/data.bin", b"If-Range: " + stale)
    assert (status, body) == (200, DATA)


def test_head_with_range_has_206_headers_and_no_body(make_garcom):
    g = site(make_garcom)
    status, h, body = exchange(g, head(b"/data.bin", b"Range: bytes=10-19"), head_only=True)
    assert status == 206
    assert h["content-range"] == "bytes 10-19/1000"
    assert h["content-length"] == "10"
    assert body == b""


def test_range_with_matching_if_none_match_is_304(make_garcom):
    g = site(make_garcom)
    etag = exchange(g, get(b"/data.bin"))[1]["etag"]
    status, h, body = ranged(g, b"bytes=0-9", b"/data.bin", b"If-None-Match: " + etag.encode())
    assert (status, body) == (304, b"")


def test_range_responses_keep_validators(make_garcom):
    g = site(make_garcom)
    _, h200, _ = exchange(g, get(b"/data.bin"))
    status, h, _ = ranged(g, b"bytes=0-9")
    assert status == 206
    assert h["etag"] == h200["etag"]
    assert h["last-modified"] == h200["last-modified"]
    assert h["accept-ranges"] == "bytes"


def test_ranges_pipelined_on_one_connection(make_garcom):
    g = site(make_garcom)
    specs = [(b"0-0", DATA[0:1]), (b"-1", DATA[-1:]), (b"500-", DATA[500:]),
             (b"1-2", DATA[1:3])]
    with g.connect() as c:
        c.send(b"".join(get(b"/data.bin", b"Range: bytes=" + s) for s, _ in specs))
        for s, want in specs:
            status, _, body = c.response()
            assert (status, body) == (206, want), s


def test_range_on_a_missing_file_is_404(make_garcom):
    g = site(make_garcom)
    status, h, _ = ranged(g, b"bytes=0-9", b"/missing.bin")
    assert status == 404
    assert "content-range" not in h
