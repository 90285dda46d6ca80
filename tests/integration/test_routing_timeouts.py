"""Server choice by Host, locations by decoded path, and the deadlines that
close idle or slow connections."""
import os
import time

GET = "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"


def set_servers(g, text):
    """Replace the configuration's servers list with text."""
    with open(g.conf) as f:
        head = f.read().split("servers = ")[0]
    with open(g.conf, "w") as f:
        f.write(head + text)


def two_sites(make_garcom):
    g = make_garcom()
    other = os.path.join(g.tmp, "other")
    assets = os.path.join(g.tmp, "assets")
    # As in nginx, a location's root gets the whole path appended:
    # /assets/x is served from ASSETS_ROOT/assets/x.
    for d, text in ((other, "other site"), (os.path.join(assets, "assets"), "asset file")):
        os.makedirs(d)
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write(text)
    g.write("index.html", "default site")
    g.write("assets/index.html", "not from the location root")
    # Three servers on one address.
    set_servers(g, (
        'servers = (\n'
        '  { listen = "127.0.0.1:%d"; root = "%s";\n'
        '    locations = ( { prefix = "/assets/"; root = "%s"; } ); },\n'
        '  { listen = "127.0.0.1:%d"; server_names = [ "*.example.com" ]; root = "%s"; },\n'
        '  { listen = "127.0.0.1:%d"; server_names = [ "www.example.com" ]; root = "%s"; }\n'
        ');\n') % (g.port, g.root, assets, g.port, other, g.port, g.root))
    return g


def body(g, target, host):
    status, _, b = g.request((GET % (target, host)).encode())
    return status, b


def test_host_picks_the_server_exact_name_before_wildcard(make_garcom):
    g = two_sites(make_garcom).start()
    assert body(g, "/", "a.example.com") == (200, b"other site")
    assert body(g, "/", "www.example.com") == (200, b"default site")  # exact wins
    assert body(g, "/", "WWW.Example.COM:8080") == (200, b"default site")
    assert body(g, "/", "unknown.org") == (200, b"default site")      # default server


def test_location_prefix_matches_the_decoded_path(make_garcom):
    g = two_sites(make_garcom).start()
    assert body(g, "/assets/", "x") == (200, b"asset file")
    assert body(g, "/%61ssets/index.html", "x") == (200, b"asset file")
    assert body(g, "/x/../assets/", "x") == (200, b"asset file")
    assert body(g, "/", "x") == (200, b"default site")


def test_longest_prefix_wins_and_exact_matches_only_the_whole_path(make_garcom):
    g = make_garcom()
    assets = os.path.join(g.tmp, "assets")
    os.makedirs(os.path.join(assets, "assets"))
    with open(os.path.join(assets, "assets", "a.txt"), "w") as f:
        f.write("asset")
    g.write("index.html", "default site")
    set_servers(g, (
        'servers = ( { listen = "127.0.0.1:%d"; root = "%s"; locations = (\n'
        '  { prefix = "/assets/"; root = "%s"; },\n'
        '  { prefix = "/assets/deep/"; status = true; },\n'
        '  { prefix = "/m"; exact = true; status = true; } ); } );\n')
        % (g.port, g.root, assets))
    g.start()

    def status_page(target):
        status, b = body(g, target, "x")
        return status == 200 and b"garcom_" in b

    assert body(g, "/assets/a.txt", "x") == (200, b"asset")
    assert status_page("/assets/deep/")            # the longer prefix
    assert status_page("/assets/deep/x?y")
    assert status_page("/assets/x/../deep/z")      # matched after decoding
    assert body(g, "/assets/deep", "x")[0] == 404  # shorter than the prefix
    assert status_page("/m")                       # exact: the whole path
    assert status_page("/m?q=1")
    assert not status_page("/m/")
    assert not status_page("/mm")
    assert body(g, "/", "x") == (200, b"default site")


def test_slow_head_gets_408_after_header_timeout(make_garcom):
    g = make_garcom(extra='timeouts = { header = "300ms"; };')
    g.write("index.html", "x")
    g.start()
    with g.connect() as c:
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\n")
        for _ in range(3):  # trickle: each byte before the deadline
            time.sleep(0.1)
            c.send(b"X")
        status, h, _ = c.response()
        took = time.monotonic() - t0
        assert status == 408
        assert h["connection"] == "close"
        assert 0.25 < took < 2.0
        assert c.closed_by_peer()


def test_idle_keepalive_connection_is_closed_after_keepalive_timeout(make_garcom):
    g = make_garcom(extra='timeouts = { keepalive = "300ms"; };')
    g.write("index.html", "x")
    g.start()
    with g.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[0] == 200
        t0 = time.monotonic()
        assert c.closed_by_peer(timeout=3)
        assert 0.25 < time.monotonic() - t0 < 2.0


def test_requests_per_connection_limit_closes_after_the_last(make_garcom):
    g = make_garcom(extra='limits = { requests_per_connection = 3; };')
    g.write("index.html", "x")
    g.start()
    with g.connect() as c:
        for i in range(3):
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            status, h, _ = c.response()
            assert status == 200
        assert h["connection"] == "close"
        assert c.closed_by_peer()
