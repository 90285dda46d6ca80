"""Reverse proxy: which URI and Host the upstream is asked for. As nginx's
proxy_pass: a location's prefix is replaced by the URL's path when the
proxy URL has one, and the request URI passes unchanged when it has none."""
import json

from proxyhelp import (HOST, app_garcom, fetch, get, location, proxy_garcom, read_response,
                       upstream_block)


def test_named_upstream_gets_the_request_uri_unchanged(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    r = fetch(g, get("/api/users/7?id=1&x=%41"))
    assert r.status == 200
    rec = upstream.last()
    assert (rec.method, rec.target, rec.version) == ("GET", "/api/users/7?id=1&x=%41", "HTTP/1.1")
    # The echo body is the upstream's own account of the same request.
    assert json.loads(r.body)["target"] == "/api/users/7?id=1&x=%41"


def test_url_with_a_path_replaces_the_location_prefix(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    assert fetch(g, get("/v2/x?q=1")).status == 200
    assert upstream.last().target == "/new/x?q=1"
    assert fetch(g, get("/v2/")).status == 200
    assert upstream.last().target == "/new/"
    assert fetch(g, get("/v2/deep/a%20b?a=b&c")).status == 200
    assert upstream.last().target == "/new/deep/a%20b?a=b&c"


def test_url_without_a_path_passes_percent_encoding_and_query_intact(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    r = fetch(g, get("/raw/a%2Fb%20c?x=%41"))
    assert r.status == 200
    assert upstream.last().target == "/raw/a%2Fb%20c?x=%41"


def test_method_and_http_version_toward_the_upstream(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    r = fetch(g, b"DELETE /api/items/3 HTTP/1.1\r\nHost: shop.example\r\n\r\n")
    assert r.status == 200
    assert (upstream.last().method, upstream.last().version) == ("DELETE", "HTTP/1.1")
    # An HTTP/1.0 client's request still goes out as HTTP/1.1 (the pool
    # needs persistent upstream connections).
    with g.connect() as c:
        c.send(b"GET /api/old HTTP/1.0\r\nHost: shop.example\r\n\r\n")
        r = read_response(c)
    assert r.status == 200
    assert upstream.last().version == "HTTP/1.1"


def test_client_host_is_passed_on_by_default(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    assert fetch(g, get("/api/echo", host="shop.example")).status == 200
    assert upstream.last().values("host") == ["shop.example"]
    assert fetch(g, get("/v2/echo", host="Shop.Example:8080")).status == 200
    assert upstream.last().values("host") == ["Shop.Example:8080"]


def test_preserve_host_false_sends_the_upstream_address(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, server_extra="preserve_host = false;")
    for target in ("/api/echo", "/v2/echo", "/raw/echo"):
        assert fetch(g, get(target, host="shop.example")).status == 200
        assert upstream.last().values("host") == [upstream.addr], target
        # The client's Host is still told, in X-Forwarded-Host.
        assert upstream.last().values("x-forwarded-host") == ["shop.example"], target


def test_preserve_host_per_location_overrides_the_server(make_garcom, make_upstream):
    up = make_upstream()
    locs = [location("/a/", "app", preserve_host=False),
            location("/b/", "app")]
    g = proxy_garcom(make_garcom, locs, [upstream_block("app", [up.addr])],
                     server_extra="preserve_host = true;")
    assert fetch(g, get("/a/echo")).status == 200
    assert up.last().values("host") == [up.addr]
    assert fetch(g, get("/b/echo")).status == 200
    assert up.last().values("host") == [HOST]

    locs = [location("/a/", "app", preserve_host=True), location("/b/", "app")]
    g = proxy_garcom(make_garcom, locs, [upstream_block("app", [up.addr])],
                     server_extra="preserve_host = false;")
    assert fetch(g, get("/a/echo")).status == 200
    assert up.last().values("host") == [HOST]
    assert fetch(g, get("/b/echo")).status == 200
    assert up.last().values("host") == [up.addr]


def test_static_locations_beside_proxied_ones_still_serve_files(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, start=False)
    g.write("index.html", "static page")
    g.start()
    r = fetch(g, get("/"))
    assert (r.status, r.body) == (200, b"static page")
    assert upstream.served() == []
