"""Master and workers: SO_REUSEPORT sockets per worker, supervision, clean
stops, and the configuration check on the command line."""
import os
import re
import signal
import subprocess
import threading
import time

from conftest import BINARY, ROOT

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped meanwhile
        return False


def listening_sockets(port):
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True,
                         text=True, check=True).stdout
    return [l for l in out.splitlines() if l.strip()]


def conn_owners(port):
    """client port -> pid of the worker holding the accepted socket."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", "sport = :%d" % port],
                         capture_output=True, text=True, check=True).stdout
    owners = {}
    for line in out.splitlines():
        cols = line.split()
        peer = cols[3] if len(cols) > 3 else ""
        m = re.search(r"pid=(\d+)", line)
        if m and ":" in peer:
            owners[int(peer.rsplit(":", 1)[1])] = int(m.group(1))
    return owners


def test_two_workers_each_have_a_socket_and_both_serve(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "hi")
    g.start()
    assert len(listening_sockets(g.port)) == 2
    conns = [g.connect() for _ in range(40)]
    for c in conns:
        for _ in range(5):
            c.send(GET)
            assert c.response()[0] == 200
    for c in conns:
        c.close()
    assert g.stop() == 0
    served = re.findall(r"worker (\d) exiting: (\d+) requests", g.log_text())
    counts = {w: int(n) for w, n in served}
    assert set(counts) == {"0", "1"}, g.log_text()
    assert counts["0"] > 0 and counts["1"] > 0
    assert counts["0"] + counts["1"] >= 200


def test_killed_worker_is_replaced_and_only_its_connections_fail(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "hi")
    g.start()
    workers = g.children()
    assert len(workers) == 2
    clients = [g.connect(timeout=3) for _ in range(16)]
    for c in clients:
        c.send(GET)
        assert c.response()[0] == 200
    owners = conn_owners(g.port)
    port_of = [c.sock.getsockname()[1] for c in clients]
    assert all(p in owners for p in port_of)
    victim = workers[0]
    errors = [0] * len(clients)
    stop = threading.Event()

    def load(i):
        c = clients[i]
        while not stop.is_set():
            try:
                c.send(GET)
                assert c.response()[0] == 200
            except (OSError, EOFError):
                errors[i] += 1
                c.close()
                c = g.connect(timeout=3)  # a new connection must work
                clients[i] = c

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    time.sleep(0.3)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced_after = None
    while time.monotonic() - killed_at < 3:
        now = [p for p in g.children() if alive(p)]
        if len(now) == 2 and victim not in now:
            replaced_after = time.monotonic() - killed_at
            break
        time.sleep(0.01)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(10)
    for c in clients:
        c.close()
    assert replaced_after is not None and replaced_after < 1.0
    for i, p in enumerate(port_of):
        if owners[p] == victim:
            assert errors[i] <= 1
        else:
            assert errors[i] == 0, "a connection of the surviving worker failed"
    assert sum(errors) >= 1  # the victim held some of the 16 connections
    # The new worker serves.
    status, _, _ = g.request(GET)
    assert status == 200


def test_sigterm_stops_master_and_workers(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "hi")
    g.start()
    workers = g.children()
    assert g.stop(signal.SIGTERM) == 0
    deadline = time.monotonic() + 2
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(p) for p in workers)


def test_workers_exit_when_the_master_is_killed(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "hi")
    g.start()
    workers = g.children()
    g.proc.kill()
    g.proc.wait()
    deadline = time.monotonic() + 2
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(p) for p in workers)


def test_single_process_mode_serves(make_garcom):
    g = make_garcom(extra="master_process = false;")
    g.write("index.html", "solo")
    g.start()
    assert g.children() == []
    assert g.request(GET)[2] == b"solo"
    assert g.stop() == 0


def test_check_config_reports_misspelled_key_with_file_and_line(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    conf = tmp_path / "bad.conf"
    conf.write_text('error_log = "stderr";\n\nwokers = 2;\n'
                    'servers = ( { listen = "127.0.0.1:1"; root = "%s"; } );\n' % root)
    r = subprocess.run([BINARY, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "%s:3: unknown key 'wokers'" % conf in r.stderr


def test_check_config_accepts_a_valid_file_and_T_prints_it(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    conf = tmp_path / "good.conf"
    conf.write_text('workers = 3;\nservers = ( { listen = "127.0.0.1:1"; root = "%s"; } );\n' % root)
    r = subprocess.run([BINARY, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([BINARY, "-T", "-c", str(conf)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert re.search(r"^workers = 3;", r.stdout, re.M)


def test_bundled_config_is_valid():
    r = subprocess.run([BINARY, "-t", "-c", os.path.join(ROOT, "conf", "garcom.conf")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr


def test_wrk_64_keepalive_connections_see_no_errors(make_garcom):
    g = make_garcom(workers=2)
    g.write("index.html", "x" * 1024)
    g.start()
    r = subprocess.run(["wrk", "-t2", "-c64", "-d3s", "http://127.0.0.1:%d/" % g.port],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "Socket errors" not in r.stdout, r.stdout
    assert "Non-2xx" not in r.stdout, r.stdout
    m = re.search(r"(\d+) requests in", r.stdout)
    assert m and int(m.group(1)) > 1000, r.stdout


def test_sigterm_lets_a_response_in_flight_finish(make_garcom):
    g = make_garcom(workers=1)
    data = os.urandom(1 << 20) * 16  # 16 MiB: still sending when the signal comes
    g.write("big.bin", data)
    g.write("index.html", "x")
    g.start()
    idle = g.connect()
    idle.send(GET)
    assert idle.response()[0] == 200
    c = g.connect(timeout=10)
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
    first = c.sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    g.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    # The idle keep-alive connection is closed at once...
    assert idle.closed_by_peer(timeout=2)
    # ...the transfer in flight completes, then the connection closes.
    got = bytearray(first)
    while True:
        chunk = c.sock.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    head, body = bytes(got).split(b"\r\n\r\n", 1)
    assert b"Connection: close" in head or len(body) == len(data)
    assert body == data
    assert g.proc.wait(10) == 0


def proc_ids(pid):
    """(uid, gid, groups, no_new_privs) of a process, from /proc."""
    with open("/proc/%d/status" % pid) as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    return (int(status["Uid"].split()[1]), int(status["Gid"].split()[1]),
            status["Groups"].split(), int(status["NoNewPrivs"]))


def test_workers_drop_to_user_and_group_when_started_as_root(make_garcom):
    import pwd
    import grp
    if os.geteuid() != 0:
        # Nothing to drop: the check below is about a root start.
        g = make_garcom(workers=1)
        g.write("index.html", "x")
        g.start()
        assert proc_ids(g.children()[0])[0] == os.geteuid()
        return
    nobody = pwd.getpwnam("nobody")
    nogroup = grp.getgrnam("nogroup")
    g = make_garcom(workers=2, extra='user = "nobody"; group = "nogroup";')
    os.chmod(g.tmp, 0o755)
    g.write("index.html", "dropped")
    g.start()
    assert proc_ids(g.proc.pid)[0] == 0  # the master keeps root to reload
    # The daemon answered through one worker; the other may still be
    # starting (it drops after opening its sockets and logs).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
            len(g.children()) < 2 or any(proc_ids(p)[0] == 0 for p in g.children())):
        time.sleep(0.05)
    for pid in g.children():
        uid, gid, groups, nnp = proc_ids(pid)
        assert (uid, gid) == (nobody.pw_uid, nogroup.gr_gid)
        assert groups == [str(nogroup.gr_gid)]
        assert nnp == 1
    assert g.request(GET)[2] == b"dropped"
