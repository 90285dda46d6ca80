"""A short scenario under valgrind's memcheck: the worker (master_process =
false, so the process valgrind watches is the one that serves) reads no
uninitialised memory, writes nowhere it should not, and leaks nothing,
through static files, errors, a proxied exchange and a drain at SIGTERM."""
import os
import re
import shutil
import signal

import pytest

from proxyhelp import app_garcom

VALGRIND = shutil.which("valgrind")

pytestmark = [
    pytest.mark.skipif(VALGRIND is None, reason="valgrind not installed (tools/deps.sh check installs it)"),
    pytest.mark.skipif(os.environ.get("GARCOM_SANITIZED") == "1",
                       reason="a sanitizer build cannot run under valgrind; make check runs this"),
]


def test_worker_has_no_memory_errors_and_no_leaks(make_garcom, upstream, tmp_path):
    vlog = str(tmp_path / "memcheck.log")
    g = app_garcom(make_garcom, upstream, extra="master_process = false;",
                   server_extra='access_log = "%s";' % (tmp_path / "access.log"), start=False)
    g.write("index.html", "hello")
    g.write("big.bin", os.urandom(300000))
    g.start(wrapper=[VALGRIND, "--tool=memcheck", "--leak-check=full",
                     "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                     "--log-file=" + vlog], timeout=60)
    with g.connect(timeout=30) as c:
        for raw, want in [
            (b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            (b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=5-9,100-200\r\n\r\n", 206),
            (b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n", 404),
            (b"GET /api/size/5000 HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            (b"POST /api/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n", 200),
            (b"GET /api/size/10 HTTP/1.1\r\nHost: a\r\n\r\n", 200),
        ]:
            c.send(raw)
            status, _, _ = c.response()
            assert status == want, raw
    status, _, _ = g.request(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", timeout=30)
    assert status == 400
    with g.connect(timeout=30) as c:
        c.send(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, body = c.response()
        assert status == 200 and len(body) == 300000
        # Left open: the drain at SIGTERM closes it.
        g.proc.send_signal(signal.SIGTERM)
        rc = g.proc.wait(60)
    with open(vlog) as f:
        report = f.read()
    assert rc == 0, report[-3000:]
    assert re.search(r"ERROR SUMMARY: 0 errors", report), report[-3000:]
    # Leaks count as errors above (--errors-for-leak-kinds); say it plainly.
    assert not re.search(r"(definitely|indirectly) lost: [1-9]", report), report[-3000:]
