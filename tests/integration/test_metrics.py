"""A status location answers with every worker's counters summed, in the
Prometheus text format."""
import re
import signal
import time

GET = b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def metrics(g):
    status, h, body = g.request(GET % b"/metrics")
    assert status == 200
    assert h["content-type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# TYPE garcom_\w+ (counter|gauge)", line), line
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = int(value)
    return values


def test_counters_are_summed_over_all_workers(make_garcom):
    g = make_garcom(workers=2, server_extra='locations = ( { prefix = "/metrics"; exact = true; status = true; } );')
    g.write("index.html", "x" * 100)
    g.start()
    before = metrics(g)
    for _ in range(40):  # new connections: both workers take some
        assert g.request(GET % b"/")[0] == 200
    for _ in range(5):
        assert g.request(GET % b"/missing")[0] == 404
    after = metrics(g)
    assert after['garcom_requests_total{class="2xx"}'] - before['garcom_requests_total{class="2xx"}'] == 41
    assert after['garcom_requests_total{class="4xx"}'] - before['garcom_requests_total{class="4xx"}'] == 5
    assert after["garcom_connections_accepted_total"] - before["garcom_connections_accepted_total"] == 46
    assert after["garcom_response_body_bytes_total"] - before["garcom_response_body_bytes_total"] >= 4000
    assert after["garcom_connections_active"] >= 1  # the one asking
    assert set(after) >= {"garcom_reloads_total", "garcom_worker_restarts_total",
                          "garcom_upstream_connects_total", "garcom_timeouts_total"}


def test_reloads_and_restarts_are_counted(make_garcom):
    import os
    g = make_garcom(workers=1, server_extra='locations = ( { prefix = "/metrics"; status = true; } );')
    g.write("index.html", "x")
    g.start()
    assert metrics(g)["garcom_reloads_total"] == 0
    g.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "reload done" not in g.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert metrics(g)["garcom_reloads_total"] == 1
    os.kill(g.children()[0], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if metrics(g)["garcom_worker_restarts_total"] == 1:
                break
        except OSError:
            pass
        time.sleep(0.05)
    assert metrics(g)["garcom_worker_restarts_total"] == 1


def test_status_location_refuses_other_methods(make_garcom):
    g = make_garcom(server_extra='locations = ( { prefix = "/metrics"; status = true; } );')
    g.write("index.html", "x")
    g.start()
    status, h, _ = g.request(b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
    assert status == 405 and h["allow"] == "GET, HEAD"
