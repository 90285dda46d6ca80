"""Large files go out with sendfile, whole and exact; a client that stops
reading blocks nobody else and is cut off after timeouts.send."""
import hashlib
import os
import socket
import struct
import threading
import time

import pytest

from statichelp import download_sha256, exchange, get, head, read_head

SIZE = 50 << 20  # 50 MiB


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A 50 MiB file of random bytes, each MiB tagged with its index, and
    its sha256."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    block = os.urandom(1 << 20)
    sha = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(SIZE >> 20):
            chunk = struct.pack(">I", i) + block[4:]
            sha.update(chunk)
            f.write(chunk)
    return str(path), sha.hexdigest()


def serve_big(make_garcom, big_file, **kw):
    g = make_garcom(**kw)
    g.write("index.html", "small page")
    dst = os.path.join(g.root, "big.bin")
    if same_fs(big_file[0], g.root):
        os.link(big_file[0], dst)  # no 50 MiB copy per test
    else:
        copy(big_file[0], dst)
    return g.start()


def same_fs(a, b):
    return os.stat(a).st_dev == os.stat(b).st_dev


def copy(src, dst):
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while True:
            b = fi.read(1 << 20)
            if not b:
                break
            fo.write(b)


def test_50_mib_file_arrives_whole_and_exact(make_garcom, big_file):
    g = serve_big(make_garcom, big_file)
    with g.connect(timeout=60) as c:
        status, h, digest, n = download_sha256(c.sock, b"/big.bin")
        assert status == 200
        assert h["content-length"] == str(SIZE)
        assert h["content-type"] == "application/octet-stream"
        assert h["accept-ranges"] == "bytes"
        assert (n, digest) == (SIZE, big_file[1])
        # The connection is still in step after 50 MiB.
        c.send(get(b"/index.html"))
        assert c.response()[::2] == (200, b"small page")


def test_head_of_the_large_file(make_garcom, big_file):
    g = serve_big(make_garcom, big_file)
    status, h, body = exchange(g, head(b"/big.bin"), head_only=True)
    assert (status, body) == (200, b"")
    assert h["content-length"] == str(SIZE)


def test_range_across_a_mib_boundary_of_the_large_file(make_garcom, big_file):
    g = serve_big(make_garcom, big_file)
    with open(big_file[0], "rb") as f:
        f.seek(10 * (1 << 20) - 100)
        want = f.read(1000)
    lo = 10 * (1 << 20) - 100
    status, h, body = exchange(g, get(b"/big.bin", b"Range: bytes=%d-%d" % (lo, lo + 999)))
    assert status == 206
    assert h["content-range"] == "bytes %d-%d/%d" % (lo, lo + 999, SIZE)
    assert body == want


def test_three_concurrent_downloads_on_one_worker_are_exact(make_garcom, big_file):
    g = serve_big(make_garcom, big_file, workers=1)
    results = [None] * 3

    def fetch(i):
        try:
            with g.connect(timeout=60) as c:
                results[i] = download_sha256(c.sock, b"/big.bin")[2:]
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [(big_file[1], SIZE)] * 3


def stalled_connection(g):
    """A connection that asks for the big file and then reads nothing; a
    small receive buffer so that the server's writes stop early."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    s.settimeout(10)
    s.connect(("127.0.0.1", g.port))
    s.sendall(get(b"/big.bin"))
    return s


def test_stalled_reader_blocks_nobody_else(make_garcom, big_file):
    g = serve_big(make_garcom, big_file, workers=1)
    stalled = [stalled_connection(g) for _ in range(3)]
    try:
        time.sleep(0.3)  # the worker has filled their buffers and waits
        worst = 0.0
        for _ in range(20):
            t0 = time.monotonic()
            status, _, body = exchange(g, get(b"/index.html"), timeout=5)
            worst = max(worst, time.monotonic() - t0)
            assert (status, body) == (200, b"small page")
        assert worst < 0.5, "a request took %.2fs beside stalled readers" % worst
        # A whole other download still goes through, exact.
        with g.connect(timeout=60) as c:
            assert download_sha256(c.sock, b"/big.bin")[2:] == (big_file[1], SIZE)
    finally:
        for s in stalled:
            s.close()


def test_stalled_reader_is_cut_off_after_send_timeout(make_garcom, big_file):
    g = serve_big(make_garcom, big_file, workers=1, extra='timeouts = { send = "1s"; };')
    s = stalled_connection(g)
    try:
        status, h, rest = read_head(s)
        assert status == 200 and h["content-length"] == str(SIZE)
        time.sleep(3)  # read nothing: the server gives up after 1 s
        got = len(rest)
        closed = False
        s.settimeout(5)
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < 10:
                chunk = s.recv(1 << 20)
                if not chunk:
                    closed = True
                    break
                got += len(chunk)
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
        assert closed, "connection still open, %d bytes received" % got
        assert got < SIZE
    finally:
        s.close()
    # The worker serves on.
    assert exchange(g, get(b"/index.html"))[::2] == (200, b"small page")


def test_client_that_resets_mid_transfer_leaves_the_worker_serving(make_garcom, big_file):
    g = serve_big(make_garcom, big_file, workers=1)
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        s.sendall(get(b"/big.bin"))
        got = 0
        while got < (1 << 20):
            got += len(s.recv(65536))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST with most of the file unsent
    assert exchange(g, get(b"/index.html"))[::2] == (200, b"small page")
    with g.connect(timeout=60) as c:
        assert download_sha256(c.sock, b"/big.bin")[2:] == (big_file[1], SIZE)
