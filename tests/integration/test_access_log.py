"""The access log: nginx's combined format followed by the request time,
the upstream address and the upstream time (microseconds, "-" when not
proxied), one line per request, buffered and written within a second, escaped so a
client cannot forge lines, reopened on SIGUSR1 (logrotate); or JSON."""
import os
import re
import signal
import time

LINE = re.compile(r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                  r'"([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" '
                  r'(\d+) (\S+) (\d+|-)$')


# The fixture's readiness check, in either format.
PROBES = ('"HEAD / HTTP/1.1" ', '"method":"HEAD","uri":"/"')


def read_lines(path, want, timeout=3.0):
    """The log's lines, without the fixture's start-up probe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = [l for l in f.read().splitlines()
                         if not any(p in l for p in PROBES)]
            if len(lines) >= want:
                return lines
        time.sleep(0.02)
    raise AssertionError("expected %d lines in %s" % (want, path))


def test_each_request_gets_a_combined_format_line(make_garcom, tmp_path):
    log = str(tmp_path / "access.log")
    g = make_garcom(server_extra='access_log = "%s";' % log)
    g.write("index.html", "hello")
    g.start()
    with g.connect() as c:
        c.send(b"GET /index.html?a=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: tester/1\r\n"
               b"Referer: http://ref.example/\r\n\r\n")
        assert c.response()[0] == 200
        c.send(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[0] == 404
        c.send(b"HEAD /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response(head_only=True)[0] == 200
    lines = read_lines(log, 3)
    m = [LINE.match(l) for l in lines]
    assert all(m), lines
    assert m[0].group(1) == "127.0.0.1"
    assert m[0].group(3, 4, 5, 6, 7) == ("GET /index.html?a=1 HTTP/1.1", "200", "5",
                                         "http://ref.example/", "tester/1")
    assert m[1].group(3, 4, 6, 7) == ("GET /missing HTTP/1.1", "404", "-", "-")
    assert m[2].group(3, 4, 5) == ("HEAD /index.html HTTP/1.1", "200", "0")


def test_quotes_and_control_bytes_are_escaped(make_garcom, tmp_path):
    log = str(tmp_path / "access.log")
    g = make_garcom(server_extra='access_log = "%s";' % log)
    g.write("index.html", "x")
    g.start()
    g.request(b'GET /x%22y HTTP/1.1\r\nHost: t\r\nUser-Agent: a" 200 0 "forged\\\r\n\r\n')
    lines = read_lines(log, 1)
    assert len(lines) == 1
    assert re.search(r'"a\\x22 200 0 \\x22forged\\x5C" \d+ - -$', lines[0]), lines[0]
    assert LINE.match(lines[0])


def test_sigusr1_reopens_the_log_after_rotation(make_garcom, tmp_path):
    log = str(tmp_path / "access.log")
    g = make_garcom(server_extra='access_log = "%s";' % log)
    g.write("index.html", "x")
    g.start()
    g.request(b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n")
    read_lines(log, 1)
    os.rename(log, log + ".1")
    g.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.3)
    g.request(b"GET /second HTTP/1.1\r\nHost: t\r\n\r\n")
    lines = read_lines(log, 1)
    assert "GET /second" in lines[0]
    with open(log + ".1") as f:
        old = f.read()
    assert "GET /first" in old and "GET /second" not in old


def test_access_log_off_writes_nothing(make_garcom, tmp_path):
    g = make_garcom(server_extra='access_log = "off";')
    g.write("index.html", "x")
    g.start()
    g.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert not [f for f in os.listdir(g.tmp) if "access" in f]


def test_json_format_gives_valid_json_for_any_request_bytes(make_garcom, tmp_path):
    import json
    log = str(tmp_path / "access.json")
    g = make_garcom(extra='access_log_format = "json";',
                    server_extra='access_log = "%s";' % log)
    g.write("index.html", "hello")
    g.start()
    g.request(b'GET /index.html?q=%22x HTTP/1.1\r\nHost: t\r\n'
              b'User-Agent: a"b\\c \xc3\xa9 \xff end\r\nReferer: r\r\n\r\n')
    g.request(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
    lines = read_lines(log, 2)
    records = [json.loads(l) for l in lines]
    assert records[0]["method"] == "GET"
    assert records[0]["uri"] == "/index.html?q=%22x"
    assert records[0]["status"] == 200 and records[0]["body_bytes_sent"] == 5
    assert records[0]["remote_addr"] == "127.0.0.1"
    assert records[0]["user_agent"] == 'a"b\\c \u00c3\u00a9 \u00ff end'
    assert records[0]["referer"] == "r"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", records[0]["time"])
    assert records[1]["status"] == 404 and records[1]["user_agent"] == ""


# ---- request and upstream times

def test_static_lines_have_a_request_time_and_no_upstream(make_garcom, tmp_path):
    log = str(tmp_path / "access.log")
    g = make_garcom(server_extra='access_log = "%s";' % log)
    g.write("index.html", "hello")
    g.start()
    # The head in two writes 300 ms apart: the time counts from its first byte.
    with g.connect() as c:
        c.send(b"GET /index.html HTTP/1.1\r\nHo")
        time.sleep(0.3)
        c.send(b"st: t\r\n\r\n")
        assert c.response()[0] == 200
        c.send(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[0] == 200
    lines = read_lines(log, 2)
    m = [LINE.match(l) for l in lines]
    assert all(m), lines
    slow, fast = int(m[0].group(8)), int(m[1].group(8))
    assert 300000 <= slow < 5000000, lines[0]
    assert fast < 300000, lines[1]
    assert m[0].group(9, 10) == ("-", "-") and m[1].group(9, 10) == ("-", "-")


def proxied(make_garcom, tmp_path, up, json_format=False):
    from proxyhelp import app_garcom
    log = str(tmp_path / ("access.json" if json_format else "access.log"))
    extra = 'access_log_format = "json";' if json_format else ""
    g = app_garcom(make_garcom, up, extra=extra, server_extra='access_log = "%s";' % log)
    return g, log


def test_slow_upstream_time_and_address_in_the_combined_line(make_garcom, upstream, tmp_path):
    from proxyhelp import get
    g, log = proxied(make_garcom, tmp_path, upstream)
    assert g.request(get("/api/slow-head/400"))[0] == 200
    assert g.request(get("/api/size/10"))[0] == 200
    lines = read_lines(log, 2)
    m = [LINE.match(l) for l in lines]
    assert all(m), lines
    req_us, addr, up_us = int(m[0].group(8)), m[0].group(9), int(m[0].group(10))
    assert addr == upstream.addr
    assert 400000 <= up_us < 5000000, lines[0]
    assert req_us >= up_us, lines[0]
    assert m[1].group(9) == upstream.addr and int(m[1].group(10)) < 400000, lines[1]


def test_refused_upstream_is_logged_with_its_address(make_garcom, tmp_path):
    from proxyhelp import proxy_garcom, location, upstream_block, get
    from upstream import refusing_port
    holder = refusing_port()
    port = holder.getsockname()[1]
    try:
        log = str(tmp_path / "access.log")
        addr = "127.0.0.1:%d" % port
        g = proxy_garcom(make_garcom, [location("/api/", "app")],
                         [upstream_block("app", [addr])],
                         server_extra='access_log = "%s";' % log)
        assert g.request(get("/api/x"))[0] == 502
        m = LINE.match(read_lines(log, 1)[0])
        assert m and m.group(4) == "502" and m.group(9) == addr
        assert int(m.group(10)) < 1000000
    finally:
        holder.close()


def test_json_lines_have_request_and_upstream_times(make_garcom, upstream, tmp_path):
    import json
    from proxyhelp import get
    g, log = proxied(make_garcom, tmp_path, upstream, json_format=True)
    g.write("index.html", "x")
    assert g.request(get("/api/slow-head/300"))[0] == 200
    assert g.request(get("/index.html"))[0] == 200
    a, b = [json.loads(l) for l in read_lines(log, 2)]
    assert a["upstream_addr"] == upstream.addr
    assert 300000 <= a["upstream_time_us"] < 5000000
    assert a["request_time_us"] >= a["upstream_time_us"]
    assert b["upstream_addr"] is None and b["upstream_time_us"] is None
    assert isinstance(b["request_time_us"], int) and 0 <= b["request_time_us"] < 300000


def test_stdout_log_lines_stay_whole_from_two_workers_on_one_pipe(make_garcom):
    """access_log = "stdout" (containers): two workers write into one pipe
    that its reader leaves full for a while; no line is cut into another."""
    import subprocess
    import threading
    from conftest import BINARY, wait_listening
    g = make_garcom(workers=2, server_extra='access_log = "stdout";')
    g.write("index.html", "x")
    g.proc = subprocess.Popen([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE)
    wait_listening(g.port, g.proc)
    target = b"/" + b"a" * 1500 + b"?"  # a few lines fill PIPE_BUF

    def client(k):  # a worker blocked on the full pipe answers late
        with g.connect(timeout=30) as c:
            for i in range(150):
                c.send(b"GET " + target + b"%d-%d HTTP/1.1\r\nHost: t\r\n\r\n" % (k, i))
                assert c.response()[0] == 404

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    data = []

    def slow_reader():  # the pipe (64 KiB) stays nearly full: writers block
        time.sleep(0.5)
        while True:
            chunk = os.read(g.proc.stdout.fileno(), 8192)
            if not chunk:
                break
            data.append(chunk)
            time.sleep(0.001)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    for t in threads:
        t.join(60)
    g.stop()
    reader.join(10)
    lines = [l for l in b"".join(data).decode("ascii").splitlines() if "/aaa" in l]
    assert len(lines) == 8 * 150
    assert all(LINE.match(l) for l in lines), [l for l in lines if not LINE.match(l)][:2]
    assert len(set(l.split('"')[1] for l in lines)) == 8 * 150


# ---- requests refused before routing (nginx logs them too)

def send_raw(g, raw, close_after=False, timeout=5.0):
    """Send raw bytes on a new connection; return what comes back until the
    server closes (or, with close_after, close at once without reading)."""
    import socket
    s = socket.create_connection(("127.0.0.1", g.port), timeout=timeout)
    try:
        if raw:
            s.sendall(raw)
        if close_after:
            return b""
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def status_line(got):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", got)
    return int(m.group(1)) if m else None


def rejecting_garcom(make_garcom, tmp_path, extra="", log_name="access.log"):
    log = str(tmp_path / log_name)
    g = make_garcom(extra='timeouts = { header = "1s"; keepalive = "1s"; }; '
                          'limits = { uri_size = 256; header_size = 2048; headers = 8; '
                          'body_size = 100; };' + extra,
                    server_extra='access_log = "%s";' % log)
    g.write("index.html", "hello")
    g.start()
    return g, log


# What each refused request sends, the status it gets, and the request line
# the log shows for it (the bytes received up to the first line break).
REJECTED = [
    (b"G@T / HTTP/1.1\r\nHost: t\r\n\r\n", 400, "G@T / HTTP/1.1"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400,
     "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03"),
    (b'GET /a"b HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\n', 400, "GET /a\\x22b HTTP/1.1"),
    (b"GET /" + b"u" * 400 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, None),
    (b"GET /big HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n", 431,
     "GET /big HTTP/1.1"),
    (b"GET /many HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(12))
     + b"\r\n", 431, "GET /many HTTP/1.1"),
    (b"GET /v2 HTTP/2.0\r\nHost: t\r\n\r\n", 505, "GET /v2 HTTP/2.0"),
    (b"POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
     "POST /te HTTP/1.1"),
    (b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", 413,
     "POST /big HTTP/1.1"),
]


def test_each_refused_request_gets_one_line_with_its_status(make_garcom, tmp_path):
    g, log = rejecting_garcom(make_garcom, tmp_path)
    for raw, status, _ in REJECTED:
        assert status_line(send_raw(g, raw)) == status, raw[:60]
    lines = read_lines(log, len(REJECTED))
    assert len(lines) == len(REJECTED), lines
    for line, (raw, status, request) in zip(lines, REJECTED):
        m = LINE.match(line)
        assert m, line
        assert m.group(1) == "127.0.0.1"
        assert int(m.group(4)) == status, line
        assert int(m.group(5)) > 0, line  # the error page was sent
        assert m.group(9, 10) == ("-", "-")
        if request is None:  # 414: the line as far as it was read
            assert re.fullmatch(r"GET /u+( HTTP/1\.1)?", m.group(3)), line
            assert len(m.group(3)) > 256
        else:
            assert m.group(3) == request, line


def test_refused_request_keeps_what_was_read_of_its_headers(make_garcom, tmp_path):
    g, log = rejecting_garcom(make_garcom, tmp_path)
    raw = (b"POST /up HTTP/1.1\r\nHost: t\r\nUser-Agent: up/1\r\nReferer: http://r/\r\n"
           b"Content-Length: 999\r\n\r\n")
    assert status_line(send_raw(g, raw)) == 413
    m = LINE.match(read_lines(log, 1)[0])
    assert m and m.group(3, 4, 6, 7) == ("POST /up HTTP/1.1", "413", "http://r/", "up/1")


def test_partial_head_timing_out_is_logged_408(make_garcom, tmp_path):
    g, log = rejecting_garcom(make_garcom, tmp_path)
    t0 = time.monotonic()
    got = send_raw(g, b"GET /slow HTTP/1.1\r\nHost: t\r\nUser-Agent: whole/1\r\n"
                      b"Referer: http://ha")
    assert status_line(got) == 408
    assert time.monotonic() - t0 >= 0.9
    line = read_lines(log, 1)[0]
    m = LINE.match(line)
    # Header lines that ended are known; the one cut short is not (nginx).
    assert m and m.group(3, 4, 6, 7) == ("GET /slow HTTP/1.1", "408", "-", "whole/1"), line
    assert 900000 <= int(m.group(8)) < 10000000, line  # the header timeout
    # A request line cut short is logged as far as it came.
    assert status_line(send_raw(g, b"GET /hal")) == 408
    m = LINE.match(read_lines(log, 2)[1])
    assert m and m.group(3, 4) == ("GET /hal", "408")


def test_head_cut_short_by_the_client_is_logged_400_with_nothing_sent(make_garcom, tmp_path):
    g, log = rejecting_garcom(make_garcom, tmp_path)
    send_raw(g, b"GET /cut HTTP/1.1\r\nHost: t\r\nUser-Agent: last/1\r\n", close_after=True)
    m = LINE.match(read_lines(log, 1)[0])
    assert m and m.group(3, 4, 5, 7) == ("GET /cut HTTP/1.1", "400", "0", "last/1")


def test_silent_connection_gets_no_line(make_garcom, tmp_path):
    import socket
    g, log = rejecting_garcom(make_garcom, tmp_path)
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        # Closed by the header timeout (1 s), with nothing said.
        assert s.recv(100) == b""
    send_raw(g, b"", close_after=True)  # connected and left: nothing either
    # A keep-alive connection that goes quiet after its request: one line.
    with g.connect() as c:
        c.send(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[0] == 200
        assert c.closed_by_peer(timeout=5)
    time.sleep(1.2)  # past the flush
    lines = read_lines(log, 1)
    assert len(lines) == 1 and '"GET /index.html HTTP/1.1" 200 ' in lines[0], lines


def test_valid_request_after_a_refused_one_logs_normally(make_garcom, tmp_path):
    g, log = rejecting_garcom(make_garcom, tmp_path)
    assert status_line(send_raw(g, b"BAD\x01 / HTTP/1.1\r\n\r\n")) == 400
    with g.connect() as c:
        c.send(b"GET /index.html?after HTTP/1.1\r\nHost: t\r\nUser-Agent: ok/1\r\n\r\n")
        assert c.response()[0] == 200
        # On a kept-alive connection, a refused request after a good one.
        c.send(b"GET /x HTTP/9.9\r\nHost: t\r\n\r\n")
        assert c.response()[0] == 505
    assert g.request(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")[0] == 404
    lines = read_lines(log, 4)
    m = [LINE.match(l) for l in lines]
    assert all(m), lines
    assert m[0].group(3, 4) == ("BAD\\x01 / HTTP/1.1", "400")
    assert m[1].group(3, 4, 7) == ("GET /index.html?after HTTP/1.1", "200", "ok/1")
    assert m[2].group(3, 4, 7) == ("GET /x HTTP/9.9", "505", "-")
    assert m[3].group(3, 4) == ("GET /missing HTTP/1.1", "404")


def test_refused_request_pipelined_after_good_ones_is_logged_after_them(make_garcom, tmp_path):
    g, log = rejecting_garcom(make_garcom, tmp_path)
    got = send_raw(g, b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"\r\nGET /third HTTP/1.1\r\nHost: t\r\nBad\x00: x\r\n\r\n")
    assert [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", got)] == [200, 404, 400]
    m = [LINE.match(l) for l in read_lines(log, 3)]
    assert all(m)
    assert [x.group(3, 4) for x in m] == [("GET /index.html HTTP/1.1", "200"),
                                          ("GET /missing HTTP/1.1", "404"),
                                          ("GET /third HTTP/1.1", "400")]


def test_refused_request_goes_to_the_default_server_of_its_address(make_garcom, tmp_path):
    """Two servers on one address, each with its log: a refused request is
    logged by the default one, unless its Host header was read (then the
    server it names, as nginx does); another address has its own default."""
    import socket
    from conftest import free_port
    default_log, named_log, other_log = (str(tmp_path / n) for n in ("d.log", "n.log", "o.log"))
    other_port = free_port()
    g = make_garcom(extra='timeouts = { header = "1s"; };',
                    server_extra='access_log = "%s"; }, '
                    '{ listen = "127.0.0.1:PORT"; server_names = ["named.test"]; '
                    'root = "ROOT"; access_log = "%s"; }, '
                    '{ listen = "127.0.0.1:%d"; root = "ROOT"; access_log = "%s";'
                    % (default_log, named_log, other_port, other_log))
    with open(g.conf) as f:
        conf = f.read().replace("PORT", str(g.port)).replace("ROOT", g.root)
    with open(g.conf, "w") as f:
        f.write(conf)
    g.write("index.html", "x")
    g.start()
    assert status_line(send_raw(g, b"GET /d HTTP/1.1\r\nX : y\r\nHost: named.test\r\n\r\n")) == 400
    assert status_line(send_raw(g, b"GET /n HTTP/1.1\r\nHost: named.test\r\nX : y\r\n\r\n")) == 400
    assert status_line(send_raw(g, b"GET /n2 HTTP/1.1\r\nHost: named.test\r\n")) == 408
    with socket.create_connection(("127.0.0.1", other_port), timeout=5) as s:
        s.sendall(b"GET /o HTTP/3.0\r\n\r\n")
        assert status_line(s.recv(100)) == 505
    d = read_lines(default_log, 1)
    n = read_lines(named_log, 2)
    o = read_lines(other_log, 1)
    assert len(d) == 1 and '"GET /d HTTP/1.1" 400 ' in d[0], d
    assert len(n) == 2 and '"GET /n HTTP/1.1" 400 ' in n[0] and '"GET /n2 HTTP/1.1" 408 ' in n[1], n
    assert len(o) == 1 and '"GET /o HTTP/3.0" 505 ' in o[0], o


def test_refused_requests_give_valid_json(make_garcom, tmp_path):
    import json
    g, log = rejecting_garcom(make_garcom, tmp_path, extra='access_log_format = "json";',
                              log_name="access.json")
    assert status_line(send_raw(g, b'G"T\\ /\xff\x01 HTTP/1.1\r\n\r\n')) == 400
    assert status_line(send_raw(g, b"GET /a HTTP/1.1\r\nHost: t\r\nUser-Agent: j/1\r\n"
                                   b"Content-Length: 500\r\n\r\n")) == 413
    send_raw(g, b"GET /cut", close_after=True)
    a, b, c = [json.loads(l) for l in read_lines(log, 3)]
    assert a["request"] == 'G"T\\ /\u00ff\u0001 HTTP/1.1' and a["status"] == 400
    assert a["method"] == a["uri"] == a["protocol"] == "" and a["user_agent"] == ""
    assert b["request"] == "GET /a HTTP/1.1" and b["status"] == 413
    assert b["user_agent"] == "j/1" and b["body_bytes_sent"] > 0
    assert c["request"] == "GET /cut" and c["status"] == 400 and c["body_bytes_sent"] == 0
    assert c["upstream_addr"] is None and isinstance(c["request_time_us"], int)
