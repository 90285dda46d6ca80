"""A real log analyser reads the access log: Debian's goaccess, with its
built-in COMBINED format, parses every line that real requests produced
(many statuses, odd bytes in the URL and the User-Agent, proxied requests
with the fields garcom adds after the User-Agent, requests refused before
routing with whatever their request line held) and counts none invalid.
The figures are goaccess's own, read from its JSON report."""
import json
import re
import shutil
import subprocess

from proxyhelp import app_garcom, get, req
from test_access_log import LINE

GOACCESS = shutil.which("goaccess")

# User-Agents a client may send: quotes, a backslash, UTF-8, a byte that is
# not UTF-8, a tab; each must stay inside its quoted field.
AGENTS = [b'a"b', b"back\\slash", b"caf\xc3\xa9/1.0", b"\xff\xfe raw", b"tab\there",
          b'Mozilla/5.0 (X11; Linux x86_64) "quoted" \\"', b"-"]

# Requests and the status each gets; targets with odd (but valid) bytes.
STATIC = [
    (get("/index.html"), 200),
    (get("/missing"), 404),
    (req("HEAD", "/index.html"), 200),
    (get("/index.html", "Range: bytes=0-1"), 206),
    (get("/index.html", "Range: bytes=999-"), 416),
    (req("DELETE", "/index.html"), 405),
    (req("OPTIONS", "/index.html"), 204),
    (get('/a%20b?q="x"&y=<script>'), 404),
    (get("/x?a=\\&b='c'"), 404),
    (get("/tab%09x%FF?z=%00"), 404),
    (get("/dir"), 301),
    (get("/index.html", version="1.0", host=None), 200),
]
# Requests refused before routing: logged too, with the request line as far
# as it came (escaped), the status, and "-" for what is not known.
REJECTED = [
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400),  # TLS on plain HTTP
    (b'G"T /x HTTP/1.1\r\nHost: t\r\n\r\n', 400),
    (b"GET /" + b"u" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    (b"GET /x HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /x HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    (b"GET /slow?q=\"1\" HTTP/1.1\r\nHost: t\r\nUser-Agent: half", 408),
    (b"GET /hal", 408),
]
PROXIED = [
    (get("/api/size/10"), 200),
    (get("/api/status/503"), 503),
    (get("/api/status/418"), 418),
    (get("/api/slow-head/50"), 200),
    (get("/api/chunked/100"), 200),
]


def status_of(g, raw):
    """Send one request on its own connection; read to the close."""
    with g.connect() as c:
        c.send(raw)
        got = b""
        while True:
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            got += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", got)
    return int(m.group(1)) if m else None


def goaccess_report(log, out):
    subprocess.run([GOACCESS, log, "--log-format=COMBINED", "--no-global-config",
                    "-o", out], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    # goaccess decodes %XX in URLs into its report: not always UTF-8.
    with open(out, encoding="latin-1") as f:
        return json.load(f)["general"]


def test_goaccess_parses_every_line(make_garcom, upstream, tmp_path):
    assert GOACCESS, "goaccess is missing: sh tools/deps.sh check installs it"
    log = str(tmp_path / "access.log")
    g = app_garcom(make_garcom, upstream, server_extra='access_log = "%s";' % log,
                   extra='timeouts = { header = "1s"; };', start=False)
    g.write("index.html", "hello")
    g.write("dir/index.html", "in dir")
    g.start()
    sent = 0
    for i, (raw, status) in enumerate(STATIC + PROXIED):
        ua = AGENTS[i % len(AGENTS)]
        raw = raw.replace(b"\r\n\r\n", b"\r\nUser-Agent: " + ua + b"\r\n"
                          b"Referer: http://ref.example/p?q=\"1\"\r\n"
                          b"Connection: close\r\n\r\n", 1)
        assert status_of(g, raw) == status, raw
        sent += 1
    for raw, status in REJECTED:
        assert status_of(g, raw) == status, raw[:60]
        sent += 1
    g.stop()  # flushes the buffered lines

    with open(log, "rb") as f:
        lines = f.read().decode("ascii").splitlines()  # escaped: ASCII only
    assert len(lines) >= sent  # the fixture's start-up probe is one more
    assert all(LINE.match(l) for l in lines), lines
    assert sum(1 for l in lines if " %s " % upstream.addr in l) == len(PROXIED)
    refused = [LINE.match(l).group(4) for l in lines[-len(REJECTED):]]
    assert refused == [str(s) for _, s in REJECTED], lines[-len(REJECTED):]

    general = goaccess_report(log, str(tmp_path / "report.json"))
    assert general["failed_requests"] == 0, general
    assert general["total_requests"] == len(lines), general
    assert general["valid_requests"] == len(lines), general

    # The check can fail: a line goaccess cannot read is counted as such.
    bad = str(tmp_path / "bad.log")
    with open(bad, "w") as f:
        f.write("\n".join(lines) + "\nnot a log line at all\n")
    general = goaccess_report(bad, str(tmp_path / "bad.json"))
    assert general["failed_requests"] == 1, general
    assert general["valid_requests"] == len(lines), general
