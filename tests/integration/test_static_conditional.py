"""Validators and conditional requests on static files: ETag, Last-Modified,
If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since, and the
Cache-Control that `expires` sets. Raw request bytes in, exact answer out."""
import os

from statichelp import (etag_is_strong, eventually, exchange, get, head, http_date,
                        set_mtime)

MTIME = 1614834367  # Thu, 04 Mar 2021 05:06:07 GMT
BODY = b"conditional body\n"


def site(make_garcom, **kw):
    kw.setdefault("extra", 'file_cache_valid = "200ms";')
    g = make_garcom(**kw)
    g.page = g.write("page.txt", BODY)
    set_mtime(g.page, MTIME)
    g.write("other.txt", BODY)
    return g


def validators(g, target=b"/page.txt"):
    status, h, body = exchange(g, get(target))
    assert status == 200
    return h["etag"], h["last-modified"]


def test_file_response_has_strong_etag_and_exact_last_modified(make_garcom):
    g = site(make_garcom).start()
    status, h, body = exchange(g, get(b"/page.txt"))
    assert (status, body) == (200, BODY)
    assert etag_is_strong(h["etag"]), h["etag"]
    assert h["last-modified"] == "Thu, 04 Mar 2021 05:06:07 GMT"
    s2, h2, _ = exchange(g, head(b"/page.txt"), head_only=True)
    assert s2 == 200
    assert h2["etag"] == h["etag"] and h2["last-modified"] == h["last-modified"]
    # Stable across requests, different for a different file of the same
    # size and date (another inode).
    assert validators(g)[0] == h["etag"]
    set_mtime(os.path.join(g.root, "other.txt"), MTIME)
    assert validators(g, b"/other.txt")[0] != h["etag"]


def test_etag_changes_when_only_the_nanoseconds_of_mtime_change(make_garcom):
    g = site(make_garcom)
    set_mtime(g.page, MTIME, ns=100)
    g.start()
    before = validators(g)[0]
    set_mtime(g.page, MTIME, ns=200)  # same inode, size and second
    after, waited = eventually(lambda: validators(g)[0] != before and validators(g)[0])
    assert after and etag_is_strong(after), "ETag did not change within %.1fs" % waited


def test_etag_and_last_modified_change_when_the_file_changes(make_garcom):
    g = site(make_garcom).start()
    e1, lm1 = validators(g)
    with open(g.page, "wb") as f:
        f.write(b"new and longer content\n")
    set_mtime(g.page, MTIME + 3600)
    changed, _ = eventually(lambda: validators(g) != (e1, lm1))
    assert changed
    e2, lm2 = validators(g)
    assert e2 != e1 and etag_is_strong(e2)
    assert lm2 == "Thu, 04 Mar 2021 06:06:07 GMT"


def test_if_none_match_current_etag_is_304_without_body(make_garcom):
    g = site(make_garcom).start()
    etag, lm = validators(g)
    status, h, body = exchange(g, get(b"/page.txt", b"If-None-Match: " + etag.encode()))
    assert status == 304
    assert body == b""
    assert h["etag"] == etag
    assert h.get("last-modified") in (None, lm)
    assert "content-type" not in h or h["content-type"] == "text/plain; charset=utf-8"


def test_if_none_match_lists_star_and_weak_comparison(make_garcom):
    g = site(make_garcom).start()
    etag, _ = validators(g)
    e = etag.encode()
    for value in (b'"nope", ' + e, e + b', "nope"', b'"a","b",' + e, b"*", b"W/" + e,
                  b'"x", W/' + e, b" " + e + b" "):
        status, h, body = exchange(g, get(b"/page.txt", b"If-None-Match: " + value))
        assert (status, body) == (304, b""), value
        assert h["etag"] == etag
    for value in (b'"nope"', b'"nope", W/"nope2"', b'W/"' + e[1:-1] + b'x"', e[:-1] + b'x"'):
        status, h, body = exchange(g, get(b"/page.txt", b"If-None-Match: " + value))
        assert (status, body) == (200, BODY), value


def test_if_none_match_on_head_is_304(make_garcom):
    g = site(make_garcom).start()
    etag, _ = validators(g)
    status, h, body = exchange(g, head(b"/page.txt", b"If-None-Match: " + etag.encode()),
                               head_only=True)
    assert (status, body) == (304, b"")
    assert h["etag"] == etag


def test_if_modified_since_equal_date_is_304(make_garcom):
    g = site(make_garcom).start()
    etag, lm = validators(g)
    status, h, body = exchange(g, get(b"/page.txt", b"If-Modified-Since: " + lm.encode()))
    assert (status, body) == (304, b"")
    assert h["etag"] == etag


def test_if_modified_since_older_date_is_200(make_garcom):
    g = site(make_garcom).start()
    status, h, body = exchange(g, get(
        b"/page.txt", b"If-Modified-Since: " + http_date(MTIME - 60).encode()))
    assert (status, body) == (200, BODY)


def test_if_modified_since_invalid_date_is_ignored(make_garcom):
    g = site(make_garcom).start()
    for value in (b"yesterday", b"Thu, 04 Mar 2021 05:06:07", b""):
        status, _, body = exchange(g, get(b"/page.txt", b"If-Modified-Since: " + value))
        assert (status, body) == (200, BODY), value


def test_if_none_match_takes_precedence_over_if_modified_since(make_garcom):
    g = site(make_garcom).start()
    etag, lm = validators(g)
    # The ETag does not match: 200, although the date alone would give 304.
    status, _, body = exchange(g, get(b"/page.txt", b'If-None-Match: "nope"',
                                      b"If-Modified-Since: " + lm.encode()))
    assert (status, body) == (200, BODY)
    # The ETag matches: 304, although the date alone would give 200.
    status, h, body = exchange(g, get(b"/page.txt", b"If-None-Match: " + etag.encode(),
                                      b"If-Modified-Since: " + http_date(MTIME - 60).encode()))
    assert (status, body) == (304, b"")
    assert h["etag"] == etag


def test_if_match_uses_strong_comparison(make_garcom):
    g = site(make_garcom).start()
    etag, _ = validators(g)
    e = etag.encode()
    for value in (e, b"*", b'"nope", ' + e):
        status, _, body = exchange(g, get(b"/page.txt", b"If-Match: " + value))
        assert (status, body) == (200, BODY), value
    for value in (b'"nope"', b"W/" + e, b'"nope", W/' + e):
        status, _, body = exchange(g, get(b"/page.txt", b"If-Match: " + value))
        assert status == 412, value
        assert body != BODY


def test_if_match_fails_on_head_too(make_garcom):
    g = site(make_garcom).start()
    status, _, body = exchange(g, head(b"/page.txt", b'If-Match: "nope"'), head_only=True)
    assert (status, body) == (412, b"")


def test_if_unmodified_since(make_garcom):
    g = site(make_garcom).start()
    _, lm = validators(g)
    status, _, body = exchange(g, get(b"/page.txt", b"If-Unmodified-Since: " + lm.encode()))
    assert (status, body) == (200, BODY)
    status, _, body = exchange(g, get(
        b"/page.txt", b"If-Unmodified-Since: " + http_date(MTIME + 86400).encode()))
    assert (status, body) == (200, BODY)
    status, _, body = exchange(g, get(
        b"/page.txt", b"If-Unmodified-Since: " + http_date(MTIME - 1).encode()))
    assert status == 412
    assert body != BODY


def test_if_match_is_checked_before_if_none_match(make_garcom):
    g = site(make_garcom).start()
    etag, _ = validators(g)
    status, _, _ = exchange(g, get(b"/page.txt", b'If-Match: "nope"',
                                   b"If-None-Match: " + etag.encode()))
    assert status == 412


def test_stale_validators_get_the_new_file(make_garcom):
    g = site(make_garcom).start()
    etag, lm = validators(g)
    with open(g.page, "wb") as f:
        f.write(b"replaced\n")
    set_mtime(g.page, MTIME + 60)

    def fresh():
        s, _, b = exchange(g, get(b"/page.txt", b"If-None-Match: " + etag.encode()))
        return (s, b) == (200, b"replaced\n")

    ok, waited = eventually(fresh)
    assert ok, "old ETag still matched after %.1fs" % waited
    status, _, body = exchange(g, get(b"/page.txt", b"If-Modified-Since: " + lm.encode()))
    assert (status, body) == (200, b"replaced\n")


# ---- expires

def expires_site(make_garcom, server_extra):
    g = make_garcom(server_extra=server_extra)
    for d in ("", "assets/", "forever/", "nocache/", "hour/"):
        g.write(d + "f.txt", "f")
    return g.start()


def cache_control(g, target):
    status, h, _ = exchange(g, get(target))
    assert status == 200, target
    return h.get("cache-control")


def test_no_cache_control_by_default(make_garcom):
    g = expires_site(make_garcom, "")
    assert cache_control(g, b"/f.txt") is None
    assert cache_control(g, b"/assets/f.txt") is None


def test_expires_per_location(make_garcom):
    g = expires_site(make_garcom, (
        'locations = ( { prefix = "/assets/"; expires = "7d"; },'
        ' { prefix = "/forever/"; expires = "max"; },'
        ' { prefix = "/nocache/"; expires = "off"; },'
        ' { prefix = "/hour/"; expires = 3600; } );'))
    assert cache_control(g, b"/assets/f.txt") == "max-age=604800"
    assert cache_control(g, b"/forever/f.txt") == "max-age=315360000"
    assert cache_control(g, b"/nocache/f.txt") is None
    assert cache_control(g, b"/hour/f.txt") == "max-age=3600"
    assert cache_control(g, b"/f.txt") is None


def test_expires_on_the_server_is_inherited_and_can_be_turned_off(make_garcom):
    g = expires_site(make_garcom, (
        'expires = 3600; locations = ( { prefix = "/nocache/"; expires = "off"; },'
        ' { prefix = "/assets/"; expires = "7d"; } );'))
    assert cache_control(g, b"/f.txt") == "max-age=3600"
    assert cache_control(g, b"/forever/f.txt") == "max-age=3600"
    assert cache_control(g, b"/nocache/f.txt") is None
    assert cache_control(g, b"/assets/f.txt") == "max-age=604800"


def test_expires_header_also_on_head(make_garcom):
    g = expires_site(make_garcom, 'locations = ( { prefix = "/assets/"; expires = "7d"; } );')
    status, h, _ = exchange(g, head(b"/assets/f.txt"), head_only=True)
    assert status == 200 and h["cache-control"] == "max-age=604800"
