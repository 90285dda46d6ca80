"""Methods on static locations (OPTIONS, HEAD, and 405 for the rest) and
error responses: the built-in bodies and the error_pages from the root."""
import os

from statichelp import exchange, get, head, make_unprivileged, req

PAGE = b"<h1>static page</h1>\n"
NOT_FOUND_PAGE = b"<html><body>custom not found page</body></html>\n"


def site(make_garcom, **kw):
    g = make_garcom(**kw)
    g.write("index.html", PAGE)
    g.write("data.json", b'{"a": 1}')
    g.write("dir/index.html", "dir index")
    return g


# ---- methods

def test_options_is_204_with_allow(make_garcom):
    g = site(make_garcom).start()
    for target in (b"/", b"/index.html", b"/data.json"):
        status, h, body = exchange(g, req(b"OPTIONS", target))
        assert (status, body) == (204, b""), target
        assert h["allow"] == "GET, HEAD, OPTIONS"
        assert "content-length" not in h or h["content-length"] == "0"


def test_other_methods_are_405_with_allow(make_garcom):
    g = site(make_garcom).start()
    for method in (b"POST", b"PUT", b"DELETE", b"PATCH"):
        for target in (b"/", b"/index.html", b"/missing.txt"):
            status, h, body = exchange(g, req(method, target))
            assert status == 405, (method, target)
            assert h["allow"] == "GET, HEAD, OPTIONS"
            assert PAGE not in body


def test_405_with_a_request_body_does_not_desync_the_connection(make_garcom):
    g = site(make_garcom).start()
    with g.connect() as c:
        c.send(b"PUT /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nGET / HTTP/")
        status, h, _ = c.response()
        assert status == 405
        assert h["allow"] == "GET, HEAD, OPTIONS"
        # Either the body was read and the connection goes on, or it closes;
        # the body is never taken as a request.
        if h.get("connection") == "close":
            assert c.closed_by_peer()
        else:
            c.send(get(b"/data.json"))
            assert c.response()[::2] == (200, b'{"a": 1}')


def test_head_has_the_headers_of_get_and_no_body(make_garcom):
    g = site(make_garcom).start()
    for target, first in ((b"/index.html", 200), (b"/missing", 404), (b"/dir", 301),
                          (b"/data.json", 200)):
        s1, h1, b1 = exchange(g, head(target), head_only=True)
        s2, h2, b2 = exchange(g, get(target))
        assert s1 == s2 == first, target
        assert b1 == b""
        h1.pop("date", None)
        h2.pop("date", None)
        assert h1 == h2, target
        assert h1.get("content-length") == str(len(b2))


def test_head_pipelined_with_get(make_garcom):
    g = site(make_garcom).start()
    with g.connect() as c:
        c.send(head(b"/index.html") + get(b"/data.json") + head(b"/missing") + get(b"/index.html"))
        assert c.response(head_only=True)[::2] == (200, b"")
        assert c.response()[::2] == (200, b'{"a": 1}')
        assert c.response(head_only=True)[0] == 404
        assert c.response()[::2] == (200, PAGE)


# ---- error bodies

def test_builtin_error_bodies_are_short_html(make_garcom):
    g = site(make_garcom).start()
    status, h, body = exchange(g, get(b"/missing.txt"))
    assert status == 404
    assert h["content-type"] == "text/html; charset=utf-8"
    assert h["content-length"] == str(len(body))
    assert b"404 Not Found" in body and len(body) < 1024
    status, h, body = exchange(g, req(b"DELETE", b"/"))
    assert status == 405
    assert h["content-type"] == "text/html; charset=utf-8"
    assert b"405" in body and len(body) < 1024


def test_error_page_is_served_from_the_root_with_the_original_status(make_garcom):
    g = site(make_garcom, server_extra='error_pages = [ "404 /404.html" ];')
    g.write("404.html", NOT_FOUND_PAGE)
    g.write(".env", "SECRET=1")
    g.start()
    for target in (b"/missing.txt", b"/no/such/dir/", b"/.env"):
        status, h, body = exchange(g, get(target))
        assert (status, body) == (404, NOT_FOUND_PAGE), target
        assert h["content-type"] == "text/html; charset=utf-8"
        assert h["content-length"] == str(len(NOT_FOUND_PAGE))
    # The page itself is still a normal file.
    assert exchange(g, get(b"/404.html"))[::2] == (200, NOT_FOUND_PAGE)


def test_error_page_keeps_its_own_content_type(make_garcom):
    g = site(make_garcom, server_extra='error_pages = [ "404 /errors/nf.txt" ];')
    g.write("errors/nf.txt", "not here\n")
    g.start()
    status, h, body = exchange(g, get(b"/missing"))
    assert (status, body) == (404, b"not here\n")
    assert h["content-type"] == "text/plain; charset=utf-8"


def test_error_page_with_several_statuses(make_garcom):
    g = make_unprivileged(make_garcom, server_extra='error_pages = [ "403 404 /err.html" ];')
    g.write("index.html", PAGE)
    g.write("err.html", "shared error page")
    locked = g.write("locked.txt", "LOCKED")
    os.chmod(locked, 0)
    g.start()
    assert exchange(g, get(b"/missing"))[::2] == (404, b"shared error page")
    assert exchange(g, get(b"/locked.txt"))[::2] == (403, b"shared error page")


def test_error_pages_list_with_two_entries(make_garcom):
    g = site(make_garcom, server_extra=(
        'error_pages = [ "404 /404.html", "405 /405.html" ];'))
    g.write("404.html", NOT_FOUND_PAGE)
    g.write("405.html", "method page")
    g.start()
    assert exchange(g, get(b"/missing"))[::2] == (404, NOT_FOUND_PAGE)
    status, h, body = exchange(g, req(b"DELETE", b"/"))
    assert (status, body) == (405, b"method page")
    assert h["allow"] == "GET, HEAD, OPTIONS"


def test_missing_error_page_falls_back_to_the_builtin_body(make_garcom):
    g = site(make_garcom, server_extra='error_pages = [ "404 /nope/404.html" ];').start()
    status, h, body = exchange(g, get(b"/missing.txt"))
    assert status == 404
    assert h["content-type"] == "text/html; charset=utf-8"
    assert b"404 Not Found" in body


def test_head_of_an_error_page_has_no_body(make_garcom):
    g = site(make_garcom, server_extra='error_pages = [ "404 /404.html" ];')
    g.write("404.html", NOT_FOUND_PAGE)
    g.start()
    status, h, body = exchange(g, head(b"/missing"), head_only=True)
    assert (status, body) == (404, b"")
    assert h["content-length"] == str(len(NOT_FOUND_PAGE))


def test_range_does_not_apply_to_an_error_page(make_garcom):
    g = site(make_garcom, server_extra='error_pages = [ "404 /404.html" ];')
    g.write("404.html", NOT_FOUND_PAGE)
    g.start()
    status, h, body = exchange(g, get(b"/missing", b"Range: bytes=0-3"))
    assert (status, body) == (404, NOT_FOUND_PAGE)
    assert "content-range" not in h


def test_conditional_headers_do_not_turn_an_error_page_into_304(make_garcom):
    g = site(make_garcom, server_extra='error_pages = [ "404 /404.html" ];')
    g.write("404.html", NOT_FOUND_PAGE)
    g.start()
    etag = exchange(g, get(b"/404.html"))[1]["etag"]
    status, _, body = exchange(g, get(b"/missing", b"If-None-Match: " + etag.encode()))
    assert (status, body) == (404, NOT_FOUND_PAGE)
