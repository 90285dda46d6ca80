"""The per-worker open-file cache never serves a changed, deleted or new file
wrongly for longer than file_cache_valid (here 200 ms; polled up to 2 s)."""
import os
import time

from statichelp import exchange, eventually, get, set_mtime

VALID = 'file_cache_valid = "200ms";'
LIMIT = 2.0  # 200 ms and a generous margin for a loaded machine


def body_of(g, target):
    status, _, body = exchange(g, get(target))
    return status, body


def settle(g, target, want):
    """Poll until target answers want; return seconds waited (or fail)."""
    ok, waited = eventually(lambda: body_of(g, target) == want, timeout=LIMIT)
    assert ok, "%r still %r after %.1fs" % (target, body_of(g, target), waited)
    return waited


def test_changed_size_is_served_fresh(make_garcom):
    g = make_garcom(extra=VALID)
    p = g.write("f.txt", "one")
    g.start()
    for _ in range(3):  # warm the cache
        assert body_of(g, b"/f.txt") == (200, b"one")
    with open(p, "wb") as f:
        f.write(b"three, longer")
    settle(g, b"/f.txt", (200, b"three, longer"))


def test_same_size_new_content_and_mtime_is_served_fresh(make_garcom):
    g = make_garcom(extra=VALID)
    p = g.write("f.txt", "AAAA")
    set_mtime(p, 1614834367)
    g.start()
    for _ in range(3):
        assert body_of(g, b"/f.txt") == (200, b"AAAA")
    etag = exchange(g, get(b"/f.txt"))[1]["etag"]
    with open(p, "wb") as f:
        f.write(b"BBBB")
    set_mtime(p, 1614834367 + 10)
    settle(g, b"/f.txt", (200, b"BBBB"))
    assert exchange(g, get(b"/f.txt"))[1]["etag"] != etag


def test_answers_while_changing_are_old_or_new_never_torn(make_garcom):
    g = make_garcom(extra=VALID)
    p = g.write("f.txt", "old-old-old")
    g.start()
    assert body_of(g, b"/f.txt") == (200, b"old-old-old")
    tmp = os.path.join(g.root, ".f.txt.tmp")
    with open(tmp, "wb") as f:
        f.write(b"new content, of another size")
    os.rename(tmp, p)  # how deploys replace files: a new inode
    t0 = time.monotonic()
    seen_new = False
    while time.monotonic() - t0 < LIMIT:
        got = body_of(g, b"/f.txt")
        assert got in ((200, b"old-old-old"), (200, b"new content, of another size")), got
        if got[1].startswith(b"new"):
            seen_new = True
            break
        time.sleep(0.02)
    assert seen_new
    # Once fresh, it stays fresh.
    for _ in range(5):
        assert body_of(g, b"/f.txt") == (200, b"new content, of another size")


def test_replaced_large_file_is_served_fresh(make_garcom):
    g = make_garcom(extra=VALID + ' file_cache_max_size = "64k";')
    old = bytes(range(256)) * 800     # 200 KiB: larger than the memory cache
    new = bytes(reversed(range(256))) * 800
    p = g.write("big.bin", old)
    g.start()
    assert body_of(g, b"/big.bin") == (200, old)
    tmp = os.path.join(g.root, "big.bin.tmp")
    with open(tmp, "wb") as f:
        f.write(new)
    os.rename(tmp, p)
    settle(g, b"/big.bin", (200, new))


def test_small_file_replaced_in_place_is_served_fresh(make_garcom):
    g = make_garcom(extra=VALID + ' file_cache_max_size = "64k";')
    p = g.write("small.txt", b"x" * 1000)
    set_mtime(p, 1614834367)
    g.start()
    for _ in range(3):
        assert body_of(g, b"/small.txt") == (200, b"x" * 1000)
    with open(p, "r+b") as f:
        f.write(b"y" * 1000)
    set_mtime(p, 1614834367 + 1)
    settle(g, b"/small.txt", (200, b"y" * 1000))


def test_deleted_file_becomes_404(make_garcom):
    g = make_garcom(extra=VALID)
    p = g.write("gone.txt", "here")
    g.start()
    for _ in range(3):
        assert body_of(g, b"/gone.txt") == (200, b"here")
    os.unlink(p)
    ok, waited = eventually(lambda: body_of(g, b"/gone.txt")[0] == 404, timeout=LIMIT)
    assert ok, "still served %.1fs after deletion" % waited


def test_new_file_appears(make_garcom):
    g = make_garcom(extra=VALID)
    g.write("index.html", "x")
    g.start()
    for _ in range(3):  # a negative answer may be cached too
        assert body_of(g, b"/new.txt")[0] == 404
    g.write("new.txt", "brand new")
    settle(g, b"/new.txt", (200, b"brand new"))


def test_new_index_file_appears_in_a_directory(make_garcom):
    g = make_garcom(extra=VALID)
    g.write("d/other.txt", "x")
    g.start()
    assert body_of(g, b"/d/")[0] == 404
    g.write("d/index.html", "now indexed")
    settle(g, b"/d/", (200, b"now indexed"))


def test_cache_disabled_sees_changes_at_once(make_garcom):
    g = make_garcom(extra="file_cache_entries = 0;")
    p = g.write("f.txt", "first")
    g.start()
    assert body_of(g, b"/f.txt") == (200, b"first")
    with open(p, "wb") as f:
        f.write(b"second!")
    assert body_of(g, b"/f.txt") == (200, b"second!")
    os.unlink(p)
    assert body_of(g, b"/f.txt")[0] == 404


def test_tiny_cache_still_serves_every_file_right(make_garcom):
    g = make_garcom(extra='file_cache_entries = 2; file_cache_valid = "1s";')
    for i in range(10):
        g.write("f%d.txt" % i, "file %d" % i)
    g.start()
    with g.connect() as c:
        for round_ in range(3):
            for i in range(10):
                c.send(get(b"/f%d.txt" % i))
                assert c.response()[::2] == (200, b"file %d" % i)


def test_a_kept_whole_head_says_what_a_built_one_says(make_garcom):
    """A small file's 200 kept alive under HTTP/1.1 leaves with a head kept
    whole in the cache entry, rebuilt when the second changes; closing or
    HTTP/1.0 answers build theirs. They must agree, Date included."""
    from email.utils import parsedate_to_datetime
    g = make_garcom()
    g.write("k.txt", "kept")
    g.start()
    req = b"GET /k.txt HTTP/1.1\r\nHost: t\r\n\r\n"
    with g.connect() as c:
        c.send(req * 3)  # pipelined: three answers in one batch
        kept = [c.response() for _ in range(3)]
        built = g.request(b"GET /k.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        old = g.request(b"GET /k.txt HTTP/1.0\r\n\r\n")
        for status, headers, body in kept + [built, old]:
            assert (status, body) == (200, b"kept")
            assert abs(parsedate_to_datetime(headers["date"]).timestamp() - time.time()) < 2
        same = {k: v for k, v in kept[0][1].items() if k != "date"}
        for _, headers, _ in kept[1:] + [built, old]:
            assert {k: v for k, v in headers.items() if k not in ("date", "connection")} == same
        assert "connection" not in same and built[1]["connection"] == "close"
        # A new second: the kept head is rebuilt with the new Date.
        first = parsedate_to_datetime(kept[0][1]["date"]).timestamp()
        time.sleep(1.2)
        c.send(req)
        status, headers, body = c.response()
        assert (status, body) == (200, b"kept")
        assert parsedate_to_datetime(headers["date"]).timestamp() > first
