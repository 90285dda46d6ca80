"""The first cut of HTTP: static GET/HEAD, keep-alive, pipelining, errors.
Raw request bytes in, the exact answer checked."""
import http.client
import re
import subprocess

from conftest import BINARY

GET = b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n"


def test_get_index_html_with_standard_headers(garcom):
    status, h, body = garcom.request(GET % b"/")
    assert status == 200
    assert body == b"<h1>hello from garcom</h1>\n"
    assert h["content-length"] == str(len(body))
    assert h["content-type"] == "text/html; charset=utf-8"
    assert h["server"] == "garcom"
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", h["date"])
    assert "last-modified" in h and h["etag"].startswith('"')


def test_http_client_library_reads_a_file(garcom):
    garcom.write("docs/readme.txt", "plain text\n")
    conn = http.client.HTTPConnection("127.0.0.1", garcom.port, timeout=5)
    conn.request("GET", "/docs/readme.txt")
    r = conn.getresponse()
    assert r.status == 200
    assert r.read() == b"plain text\n"
    assert r.getheader("Content-Type") == "text/plain; charset=utf-8"
    conn.close()


def test_curl_gets_the_page(garcom):
    out = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:%d/" % garcom.port],
        capture_output=True, check=True, timeout=10)
    body, code = out.stdout.rsplit(b"\n", 1)
    assert code == b"200"
    assert body == b"<h1>hello from garcom</h1>\n"


def test_head_has_get_headers_and_no_body(garcom):
    with garcom.connect() as c:
        c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + GET % b"/")
        s1, h1, b1 = c.response(head_only=True)
        s2, h2, b2 = c.response()
    assert (s1, s2) == (200, 200)
    assert b1 == b""
    assert h1["content-length"] == h2["content-length"] == str(len(b2))
    assert h1["content-type"] == h2["content-type"]
    assert h1["etag"] == h2["etag"]


def test_missing_file_is_404_without_echoing_the_path(garcom):
    status, h, body = garcom.request(GET % b"/<script>alert(1)</script>")
    assert status == 404
    assert b"script" not in body
    assert b"404 Not Found" in body


def test_other_methods_get_405_with_allow(garcom):
    for method in (b"DELETE", b"PUT", b"PATCH"):
        status, h, _ = garcom.request(method + b" / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status == 405, method
        assert h["allow"] == "GET, HEAD, OPTIONS"


def test_options_gets_204_with_allow(garcom):
    status, h, body = garcom.request(b"OPTIONS / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (status, body) == (204, b"")
    assert h["allow"] == "GET, HEAD, OPTIONS"
    assert "content-length" not in h


def test_post_with_body_gets_405_and_close(garcom):
    with garcom.connect() as c:
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        status, h, _ = c.response()
        assert status == 405
        assert h["connection"] == "close"
        assert c.closed_by_peer()


def test_directory_without_slash_redirects_keeping_query(garcom):
    garcom.write("sub/index.html", "sub index")
    status, h, _ = garcom.request(GET % b"/sub?x=1")
    assert status == 301
    assert h["location"] == "/sub/?x=1"
    status, _, body = garcom.request(GET % b"/sub/")
    assert (status, body) == (200, b"sub index")


def test_directory_without_index_is_404(garcom):
    garcom.write("empty/.keep", "")
    status, _, _ = garcom.request(GET % b"/empty/")
    assert status == 404


def test_traversal_never_leaves_the_root(garcom):
    for target in (b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd",
                   b"/..%2f..%2fetc/passwd", b"/a/../../etc/passwd"):
        status, _, body = garcom.request(GET % target)
        assert status in (400, 404), target
        assert b"root:" not in body


def test_dotfiles_are_hidden(garcom):
    garcom.write(".env", "SECRET=1")
    garcom.write(".git/config", "[core]")
    for target in (b"/.env", b"/.git/config"):
        status, _, body = garcom.request(GET % target)
        assert status == 404
        assert b"SECRET" not in body and b"core" not in body


def test_keep_alive_serves_many_requests_on_one_connection(garcom):
    with garcom.connect() as c:
        for _ in range(20):
            c.send(GET % b"/")
            status, h, body = c.response()
            assert status == 200 and "connection" not in h


def test_connection_close_is_honoured(garcom):
    with garcom.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        status, h, _ = c.response()
        assert status == 200
        assert h["connection"] == "close"
        assert c.closed_by_peer()


def test_http10_closes_unless_keep_alive_asked(garcom):
    with garcom.connect() as c:
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        status, h, _ = c.response()
        assert status == 200 and h["connection"] == "close"
        assert c.closed_by_peer()
    with garcom.connect() as c:
        for _ in range(3):
            c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, h, _ = c.response()
            assert status == 200 and h["connection"] == "keep-alive"


def test_100_pipelined_requests_come_back_in_order(garcom):
    for i in range(10):
        garcom.write("f%d.txt" % i, "file number %d\n" % i)
    wire = b"".join(GET % (b"/f%d.txt" % (i % 10)) for i in range(100))
    with garcom.connect() as c:
        c.send(wire)
        for i in range(100):
            status, _, body = c.response()
            assert status == 200
            assert body == b"file number %d\n" % (i % 10)


def test_request_sent_one_byte_at_a_time_is_answered(garcom):
    import time
    raw = GET % b"/"
    with garcom.connect() as c:
        for b in raw:
            c.send(bytes([b]))
            time.sleep(0.002)
        status, _, body = c.response()
    assert status == 200 and body == b"<h1>hello from garcom</h1>\n"


def test_large_file_goes_out_whole(garcom):
    data = bytes(range(256)) * 4096 * 3  # 3 MiB: sendfile path
    garcom.write("big.bin", data)
    with garcom.connect(timeout=20) as c:
        c.send(GET % b"/big.bin")
        status, h, body = c.response()
    assert status == 200
    assert h["content-type"] == "application/octet-stream"
    assert body == data


def test_version_and_help(tmp_path):
    v = subprocess.run([BINARY, "-v"], capture_output=True, text=True, timeout=5)
    assert v.returncode == 0 and v.stdout.startswith("garcom ")
    h = subprocess.run([BINARY, "-h"], capture_output=True, text=True, timeout=5)
    assert h.returncode == 0
    for flag in ("-c FILE", "-t", "-T", "-p PIDFILE", "-v", "-h"):
        assert flag in h.stdout
