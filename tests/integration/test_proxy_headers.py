"""Reverse proxy: the headers garcom adds toward the upstream (X-Forwarded-*,
X-Real-IP, Via), what it believes only from trusted proxies, and the
hop-by-hop headers it removes in both directions."""
from proxyhelp import (app_garcom, assert_reusable, connect_from, fetch, get, location,
                       proxy_garcom, read_response, upstream_block)

SPOOF = ("X-Forwarded-For: 203.0.113.9", "X-Real-IP: 203.0.113.9",
         "Forwarded: for=203.0.113.9;proto=https", "X-Forwarded-Proto: https",
         "X-Forwarded-Host: evil.example")


def test_forwarding_headers_are_added_toward_the_upstream(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    r = fetch(g, get("/api/echo", host="shop.example"))
    assert r.status == 200
    rec = upstream.last()
    assert rec.values("x-forwarded-for") == ["127.0.0.1"]
    assert rec.values("x-real-ip") == ["127.0.0.1"]
    assert rec.values("x-forwarded-proto") == ["http"]
    assert rec.values("x-forwarded-host") == ["shop.example"]
    assert rec.values("via") == ["1.1 garcom"]


def test_untrusted_client_cannot_spoof_forwarding_headers(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='trusted_proxies = [ "127.0.0.2/32" ];')
    assert fetch(g, get("/api/echo", *SPOOF, host="shop.example")).status == 200
    rec = upstream.last()
    assert rec.values("x-forwarded-for") == ["127.0.0.1"]
    assert rec.values("x-real-ip") == ["127.0.0.1"]
    assert rec.values("x-forwarded-proto") == ["http"]
    assert rec.values("x-forwarded-host") == ["shop.example"]
    assert not any("203.0.113.9" in v or "https" in v for v in rec.values("forwarded")), rec.headers
    assert not any("203.0.113.9" in v or "evil" in v for _, v in rec.headers), rec.headers


def test_trusted_proxy_gets_its_address_appended_to_x_forwarded_for(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='trusted_proxies = [ "127.0.0.2/32" ];')
    with connect_from(g, "127.0.0.2") as c:
        c.send(get("/api/echo", "X-Forwarded-For: 203.0.113.9"))
        assert read_response(c).status == 200
        assert upstream.last().values("x-forwarded-for") == ["203.0.113.9, 127.0.0.2"]
        assert len(upstream.last().values("x-forwarded-proto")) == 1
        assert len(upstream.last().values("x-real-ip")) == 1
        # Several header lines are one list, in order.
        c.send(get("/api/echo", "X-Forwarded-For: 203.0.113.9",
                   "X-Forwarded-For: 198.51.100.7"))
        assert read_response(c).status == 200
        assert upstream.last().values("x-forwarded-for") == [
            "203.0.113.9, 198.51.100.7, 127.0.0.2"]
        # Without one, the chain starts with the proxy itself.
        c.send(get("/api/echo"))
        assert read_response(c).status == 200
        assert upstream.last().values("x-forwarded-for") == ["127.0.0.2"]


def test_client_outside_trusted_proxies_is_untrusted_even_if_the_list_is_set(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='trusted_proxies = [ "127.0.0.2/32" ];')
    with connect_from(g, "127.0.0.3") as c:
        c.send(get("/api/echo", "X-Forwarded-For: 203.0.113.9", "X-Real-IP: 203.0.113.9"))
        assert read_response(c).status == 200
    assert upstream.last().values("x-forwarded-for") == ["127.0.0.3"]
    assert upstream.last().values("x-real-ip") == ["127.0.0.3"]


def test_trusted_proxies_match_by_cidr_prefix(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, extra='trusted_proxies = [ "127.0.0.0/30" ];')
    for source, xff in (("127.0.0.2", "203.0.113.9, 127.0.0.2"),
                        ("127.0.0.3", "203.0.113.9, 127.0.0.3"),
                        ("127.0.0.5", "127.0.0.5")):
        with connect_from(g, source) as c:
            c.send(get("/api/echo", "X-Forwarded-For: 203.0.113.9"))
            assert read_response(c).status == 200
        assert upstream.last().values("x-forwarded-for") == [xff], source


def test_via_false_leaves_via_out(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream, server_extra="via = false;")
    assert fetch(g, get("/api/echo")).status == 200
    assert upstream.last().values("via") == []
    assert upstream.last().values("x-forwarded-for") == ["127.0.0.1"]


def test_via_per_location_overrides_the_server(make_garcom, make_upstream):
    up = make_upstream()
    locs = [location("/quiet/", "app", via=False), location("/loud/", "app")]
    g = proxy_garcom(make_garcom, locs, [upstream_block("app", [up.addr])],
                     server_extra="via = true;")
    assert fetch(g, get("/quiet/echo")).status == 200
    assert up.last().values("via") == []
    assert fetch(g, get("/loud/echo")).status == 200
    assert up.last().values("via") == ["1.1 garcom"]


HOP_REQUEST = ("Connection: X-Client-Secret", "X-Client-Secret: 1", "Keep-Alive: 300",
               "TE: trailers", "Proxy-Connection: keep-alive", "X-End-To-End: kept")


def test_hop_by_hop_request_headers_do_not_reach_the_upstream(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/echo", *HOP_REQUEST))
        assert read_response(c).status == 200
        assert_reusable(c)
    rec = upstream.last()
    names = rec.names()
    for gone in ("x-client-secret", "keep-alive", "te", "proxy-connection",
                 "transfer-encoding", "upgrade", "trailer"):
        assert gone not in names, (gone, rec.headers)
    # garcom's own Connection header toward its pool, if any, names nothing
    # of the client's.
    for v in rec.values("connection"):
        assert v.strip().lower() in ("keep-alive", "close"), rec.headers
    assert rec.values("x-end-to-end") == ["kept"]
    assert not upstream.errors


def test_fields_named_by_a_second_connection_line_do_not_reach_the_upstream(make_garcom,
                                                                              upstream):
    # A list may be split over several lines (RFC 9110 5.3): every
    # Connection line counts, not only the first.
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/echo", "Connection: keep-alive", "Connection: X-Second",
                   "X-Second: 1", "X-Kept: yes"))
        assert read_response(c).status == 200
    rec = upstream.last()
    assert "x-second" not in rec.names(), rec.headers
    assert rec.values("x-kept") == ["yes"]


def test_hop_by_hop_response_headers_do_not_reach_the_client(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/hop"))
        r = read_response(c)
        assert (r.status, r.body) == (200, b"hop\n")
        names = r.names()
        # X-Other is named by a second Connection line.
        for gone in ("x-secret", "x-other", "keep-alive", "proxy-connection", "upgrade"):
            assert gone not in names, (gone, r.headers)
        for v in r.values("connection"):
            assert v.strip().lower() in ("keep-alive", "close"), r.headers
        assert r.values("x-visible") == ["yes"]
        assert r.values("content-type") == ["text/plain"]
        assert_reusable(c)


def test_chunked_response_reaches_the_client_without_the_upstream_trailer_header(make_garcom, upstream):
    # Trailer names the upstream's trailer fields: hop-by-hop in this spec.
    g = app_garcom(make_garcom, upstream)
    with g.connect() as c:
        c.send(get("/api/chunked/3000?trailers=1"))
        r = read_response(c)
        assert r.status == 200 and len(r.body) == 3000
        assert "trailer" not in r.names(), r.headers
        assert_reusable(c)


def test_end_to_end_request_headers_pass_in_order_and_intact(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    big = "v" * 6000  # under limits.header_size (8 KiB by default)
    sent = [("X-A", "1"), ("Cookie", "s=1; t=2"), ("X-B", "two words"), ("X-A", "3"),
            ("X-Big", big), ("Accept", "*/*")]
    assert fetch(g, get("/api/echo", *["%s: %s" % kv for kv in sent])).status == 200
    rec = upstream.last()
    names = {k.lower() for k, _ in sent}
    assert [(k, v) for k, v in rec.headers if k.lower() in names] == sent
    assert not upstream.errors


def test_absolute_form_target_is_sent_in_origin_form(make_garcom, upstream):
    g = app_garcom(make_garcom, upstream)
    r = fetch(g, b"GET http://shop.example/api/echo?q=1 HTTP/1.1\r\nHost: shop.example\r\n\r\n")
    assert r.status == 200
    assert upstream.last().target == "/api/echo?q=1"
