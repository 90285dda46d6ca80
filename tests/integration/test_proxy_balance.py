"""Reverse proxy: how requests are spread over an upstream's servers —
round robin, weighted, least connections."""
from proxyhelp import eventually, get, location, proxy_garcom, read_response, upstream_block


def run(g, n, target="/api/echo"):
    with g.connect() as c:
        for i in range(n):
            c.send(get("%s?%d" % (target, i)))
            assert read_response(c).status == 200, i


def test_round_robin_spreads_requests_evenly(make_garcom, make_upstream):
    a, b = make_upstream(name="a"), make_upstream(name="b")
    g = proxy_garcom(make_garcom, [location("/api/", "app")],
                     [upstream_block("app", [a.addr, b.addr], balance="round_robin")])
    run(g, 100)
    na, nb = len(a.served()), len(b.served())
    assert na + nb == 100
    assert 40 <= na <= 60 and 40 <= nb <= 60, (na, nb)


def test_round_robin_is_the_default(make_garcom, make_upstream):
    a, b = make_upstream(name="a"), make_upstream(name="b")
    g = proxy_garcom(make_garcom, [location("/api/", "app")],
                     [upstream_block("app", [a.addr, b.addr], balance=None)])
    run(g, 40)
    assert 12 <= len(a.served()) <= 28, (len(a.served()), len(b.served()))


def test_weights_3_to_1_send_about_three_quarters_to_the_heavier(make_garcom, make_upstream):
    a, b = make_upstream(name="a"), make_upstream(name="b")
    g = proxy_garcom(make_garcom, [location("/api/", "app")],
                     [upstream_block("app", [(a.addr, 3), (b.addr, 1)])])
    run(g, 100)
    na, nb = len(a.served()), len(b.served())
    assert na + nb == 100
    assert 65 <= na <= 85, (na, nb)


def test_least_conn_prefers_the_server_with_fewer_active_connections(make_garcom, make_upstream):
    a, b = make_upstream(name="a"), make_upstream(name="b")
    g = proxy_garcom(make_garcom, [location("/api/", "app")],
                     [upstream_block("app", [a.addr, b.addr], balance="least_conn",
                                     read_timeout="5s")])
    with g.connect(timeout=10) as slow:
        slow.send(get("/api/slow-head/2000"))
        assert eventually(lambda: len(a.requests) + len(b.requests) == 1, timeout=3)
        busy, idle = (a, b) if a.requests else (b, a)
        # While the slow request holds a connection to one server, every
        # new request goes to the other.
        run(g, 6)
        assert len(idle.served()) == 6, (len(a.served()), len(b.served()))
        assert len(busy.served()) == 1
        assert read_response(slow).status == 200
