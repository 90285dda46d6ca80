"""precompressed = true: FILE.br or FILE.gz beside FILE, chosen by
Accept-Encoding with its q-values; Content-Encoding, Vary, the type of
FILE, the variant's own ETag, ranges over the encoded bytes."""
import gzip

from statichelp import etag_is_strong, exchange, get, head

CSS = b"body { color: #123456; }\n" * 40
GZ = gzip.compress(CSS, mtime=0)
BR = b"\x1b\x03not-really-brotli-but-the-exact-bytes-of-style.css.br"
JS = b"export const x = 1;\n" * 50
JS_GZ = gzip.compress(JS, mtime=0)


def site(make_garcom, server_extra="precompressed = true;"):
    g = make_garcom(server_extra=server_extra)
    g.write("style.css", CSS)
    g.write("style.css.gz", GZ)
    g.write("style.css.br", BR)
    g.write("app.js", JS)
    g.write("app.js.gz", JS_GZ)  # no .br beside it
    g.write("plain.txt", "no variants")
    return g.start()


def fetch(g, target, accept=None, *more):
    hdrs = ([b"Accept-Encoding: " + accept] if accept is not None else []) + list(more)
    return exchange(g, get(target, *hdrs))


def test_gzip_variant_served_when_gzip_accepted(make_garcom):
    g = site(make_garcom)
    status, h, body = fetch(g, b"/style.css", b"gzip")
    assert (status, body) == (200, GZ)
    assert h["content-encoding"] == "gzip"
    assert h["content-type"] == "text/css; charset=utf-8"
    assert h["content-length"] == str(len(GZ))
    assert "accept-encoding" in [v.strip().lower() for v in h["vary"].split(",")]
    assert gzip.decompress(body) == CSS


def test_br_variant_served_when_br_accepted(make_garcom):
    g = site(make_garcom)
    status, h, body = fetch(g, b"/style.css", b"br")
    assert (status, body) == (200, BR)
    assert h["content-encoding"] == "br"
    assert h["content-type"] == "text/css; charset=utf-8"
    assert "accept-encoding" in [v.strip().lower() for v in h["vary"].split(",")]


def test_br_preferred_when_both_allowed_with_equal_q(make_garcom):
    g = site(make_garcom)
    for accept in (b"gzip, br", b"br, gzip", b"gzip, deflate, br, zstd", b"gzip;q=0.5, br;q=0.5"):
        status, h, body = fetch(g, b"/style.css", accept)
        assert (status, h["content-encoding"], body) == (200, "br", BR), accept


def test_q_values_are_honoured(make_garcom):
    g = site(make_garcom)
    status, h, body = fetch(g, b"/style.css", b"br;q=0, gzip")
    assert (status, h.get("content-encoding"), body) == (200, "gzip", GZ)
    status, h, body = fetch(g, b"/style.css", b"br;q=0.5, gzip;q=0.8")
    assert (status, h.get("content-encoding"), body) == (200, "gzip", GZ)
    status, h, body = fetch(g, b"/style.css", b"br;q=0.9, gzip;q=0.8")
    assert (status, h.get("content-encoding"), body) == (200, "br", BR)
    status, h, body = fetch(g, b"/style.css", b"gzip;q=0")
    assert (status, h.get("content-encoding"), body) == (200, None, CSS)
    status, h, body = fetch(g, b"/style.css", b"gzip;q=0.000, br;q=0")
    assert (status, h.get("content-encoding"), body) == (200, None, CSS)
    status, h, body = fetch(g, b"/style.css", b"GZIP ; Q=1")
    assert (status, h.get("content-encoding"), body) == (200, "gzip", GZ)


def test_identity_when_no_encoding_is_accepted(make_garcom):
    g = site(make_garcom)
    for accept in (None, b"identity", b"deflate", b""):
        status, h, body = fetch(g, b"/style.css", accept)
        assert (status, body) == (200, CSS), accept
        assert "content-encoding" not in h
        assert h["content-type"] == "text/css; charset=utf-8"


def test_only_existing_variants_are_chosen(make_garcom):
    g = site(make_garcom)
    status, h, body = fetch(g, b"/app.js", b"br, gzip")
    assert (status, h["content-encoding"], body) == (200, "gzip", JS_GZ)
    assert h["content-type"] == "text/javascript; charset=utf-8"
    status, h, body = fetch(g, b"/app.js", b"br")
    assert (status, body) == (200, JS) and "content-encoding" not in h
    status, h, body = fetch(g, b"/plain.txt", b"br, gzip")
    assert (status, body) == (200, b"no variants") and "content-encoding" not in h


def test_variant_has_its_own_etag(make_garcom):
    g = site(make_garcom)
    e_id = fetch(g, b"/style.css")[1]["etag"]
    e_gz = fetch(g, b"/style.css", b"gzip")[1]["etag"]
    e_br = fetch(g, b"/style.css", b"br")[1]["etag"]
    assert all(etag_is_strong(e) for e in (e_id, e_gz, e_br))
    assert len({e_id, e_gz, e_br}) == 3
    # Revalidation with the variant's ETag gives 304 for that variant ...
    status, h, body = fetch(g, b"/style.css", b"gzip", b"If-None-Match: " + e_gz.encode())
    assert (status, body) == (304, b"")
    assert h["etag"] == e_gz
    # ... but the identity ETag does not validate the gzip variant.
    status, _, body = fetch(g, b"/style.css", b"gzip", b"If-None-Match: " + e_id.encode())
    assert (status, body) == (200, GZ)


def test_ranges_apply_to_the_encoded_file(make_garcom):
    g = site(make_garcom)
    status, h, body = fetch(g, b"/style.css", b"gzip", b"Range: bytes=0-9")
    assert status == 206
    assert h["content-encoding"] == "gzip"
    assert h["content-range"] == "bytes 0-9/%d" % len(GZ)
    assert body == GZ[:10]
    status, h, body = fetch(g, b"/style.css", b"gzip", b"Range: bytes=-5")
    assert (status, body) == (206, GZ[-5:])
    assert h["content-range"] == "bytes %d-%d/%d" % (len(GZ) - 5, len(GZ) - 1, len(GZ))


def test_head_of_a_variant(make_garcom):
    g = site(make_garcom)
    status, h, body = exchange(g, head(b"/style.css", b"Accept-Encoding: gzip"), head_only=True)
    assert (status, body) == (200, b"")
    assert h["content-encoding"] == "gzip"
    assert h["content-length"] == str(len(GZ))


def test_precompressed_off_by_default(make_garcom):
    g = site(make_garcom, server_extra="")
    status, h, body = fetch(g, b"/style.css", b"br, gzip")
    assert (status, body) == (200, CSS)
    assert "content-encoding" not in h


def test_precompressed_per_location(make_garcom):
    g = make_garcom(server_extra='locations = ( { prefix = "/static/"; precompressed = true; } );')
    for d in ("static/", ""):
        g.write(d + "style.css", CSS)
        g.write(d + "style.css.gz", GZ)
    g.start()
    status, h, body = fetch(g, b"/static/style.css", b"gzip")
    assert (status, h.get("content-encoding"), body) == (200, "gzip", GZ)
    status, h, body = fetch(g, b"/style.css", b"gzip")
    assert (status, h.get("content-encoding"), body) == (200, None, CSS)


def test_the_gz_file_itself_is_served_as_is(make_garcom):
    g = site(make_garcom)
    status, h, body = fetch(g, b"/style.css.gz")
    assert (status, body) == (200, GZ)
    assert "content-encoding" not in h
    assert h["content-type"] in ("application/gzip", "application/x-gzip")


def test_416_and_412_of_a_file_with_variants_say_vary(make_garcom):
    """Which variant's size a 416 states, and which ETag a 412 compared,
    depends on Accept-Encoding: caches must know (RFC 9110 12.5.5)."""
    g = site(make_garcom)
    status, h, _ = fetch(g, b"/style.css", b"gzip", b"Range: bytes=999999-")
    assert status == 416
    assert h["content-range"] == "bytes */%d" % len(GZ)
    assert "accept-encoding" in [v.strip().lower() for v in h["vary"].split(",")]
    status, h, _ = fetch(g, b"/style.css", b"gzip", b'If-Match: "nope"')
    assert status == 412
    assert "accept-encoding" in [v.strip().lower() for v in h["vary"].split(",")]
    # A file without variants does not vary.
    status, h, _ = fetch(g, b"/plain.txt", b"gzip", b"Range: bytes=999999-")
    assert status == 416 and "vary" not in h
