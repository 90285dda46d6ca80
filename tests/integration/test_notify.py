"""systemd's notification protocol: READY=1 once every worker serves,
STOPPING=1 when a stop begins; nothing is needed when NOTIFY_SOCKET is
unset (every other test runs that way)."""
import os
import signal
import socket
import subprocess

from conftest import BINARY, wait_listening


def start_with_notify(g, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    g.proc = subprocess.Popen([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL, env=env)
    return sock


def test_ready_comes_once_every_worker_serves_then_stopping(make_garcom, tmp_path):
    g = make_garcom(workers=2)
    g.write("index.html", "hi")
    sock = start_with_notify(g, tmp_path)
    msg = sock.recv(4096).decode()
    assert msg.startswith("READY=1\n")
    assert "STATUS=serving: 2 workers, 1 address" in msg
    # Ready means serving: both workers have their sockets up.
    assert len(g.children()) == 2
    with g.connect() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[2] == b"hi"
    g.proc.send_signal(signal.SIGTERM)
    assert sock.recv(4096).decode() == "STOPPING=1"
    assert g.proc.wait(10) == 0
    sock.close()


def test_single_process_mode_notifies_too(make_garcom, tmp_path):
    g = make_garcom(extra="master_process = false;")
    g.write("index.html", "solo")
    sock = start_with_notify(g, tmp_path)
    assert sock.recv(4096).decode().startswith("READY=1\n")
    wait_listening(g.port, g.proc)
    g.proc.send_signal(signal.SIGTERM)
    assert sock.recv(4096).decode() == "STOPPING=1"
    assert g.proc.wait(10) == 0
    sock.close()


def test_abstract_notify_socket_is_understood(make_garcom):
    g = make_garcom(workers=1)
    g.write("index.html", "x")
    name = "garcom-test-%d" % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name)
    g.proc = subprocess.Popen([BINARY, "-c", g.conf], stdin=subprocess.DEVNULL, env=env)
    assert sock.recv(4096).decode().startswith("READY=1\n")
    sock.close()


def test_reload_sends_reloading_then_ready(make_garcom, tmp_path):
    g = make_garcom(workers=1)
    g.write("index.html", "hi")
    sock = start_with_notify(g, tmp_path)
    assert sock.recv(4096).decode().startswith("READY=1\n")
    g.proc.send_signal(signal.SIGHUP)
    msg = sock.recv(4096).decode()
    assert msg.startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert int(msg.split("MONOTONIC_USEC=")[1]) > 0
    assert sock.recv(4096).decode().startswith("READY=1\n")
    sock.close()
