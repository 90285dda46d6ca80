"""Site files: INI files named by the main file's `sites` glob add servers
served by the real daemon, and `garcom -t` reports their errors with the
site file's name and line."""
import os
import subprocess

from conftest import BINARY, free_port, wait_listening


def write_site(g, name, text, pages=None):
    """sites.d/NAME beside the main file, and files under sites.d/."""
    d = os.path.join(g.tmp, "sites.d")
    os.makedirs(d, exist_ok=True)
    for rel, body in (pages or {}).items():
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(body)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def get(port, host, path):
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def test_site_file_servers_are_served(make_garcom):
    g = make_garcom(extra='sites = "sites.d/*.ini";')
    g.write("index.html", "main\n")
    port2 = free_port()
    write_site(
        g, "shop.ini",
        "; dropped in by an operator\n"
        "[server]\n"
        "listen = 127.0.0.1:%d\n"
        "server_name = shop.example\n"
        "root = shop   ; relative to this file's directory\n"
        "\n"
        "[server]\n"
        "listen = 127.0.0.1:%d\n"
        "root = other\n"
        "[location /docs/]\n"
        "root = docs\n" % (g.port, port2),
        pages={"shop/index.html": "shop\n", "other/index.html": "other\n",
               "docs/docs/a.txt": "docs\n"})
    g.start()
    wait_listening(port2, g.proc)
    assert get(g.port, "t", "/") == (200, b"main\n")
    assert get(g.port, "shop.example", "/") == (200, b"shop\n")
    assert get(port2, "x", "/") == (200, b"other\n")
    assert get(port2, "x", "/docs/a.txt") == (200, b"docs\n")

    r = subprocess.run([BINARY, "-T", "-c", g.conf], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert '"shop.example"' in r.stdout
    assert '"127.0.0.1:%d"' % port2 in r.stdout
    assert 'prefix = "/docs/"' in r.stdout


def test_check_reports_site_file_errors(make_garcom):
    g = make_garcom(extra='sites = "sites.d/*.ini";')
    good = write_site(g, "a.ini", "[server]\nlisten = 127.0.0.1:%d\nroot = /tmp\n"
                      % free_port())
    bad = write_site(g, "b.ini",
                     "[server]\n"
                     "listen = 127.0.0.1:99999\n"
                     "rot = /tmp\n"
                     "server_name = " + "x" * 300 + "\n")
    r = subprocess.run([BINARY, "-t", "-c", g.conf], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1
    assert "%s:2: invalid listen address '127.0.0.1:99999'" % bad in r.stderr
    assert "%s:3: unknown key 'rot' (did you mean 'root'?)" % bad in r.stderr
    assert "%s:4: line too long\n" % bad in r.stderr
    assert good not in r.stderr

    # Fixed, the same check passes.
    write_site(g, "b.ini", "[server]\nlisten = 127.0.0.1:%d\nroot = /tmp\n"
               % free_port())
    r = subprocess.run([BINARY, "-t", "-c", g.conf], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
