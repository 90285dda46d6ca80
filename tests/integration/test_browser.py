"""A small site served by garcom and loaded in headless Chromium: the page,
its stylesheet, a JavaScript module (which browsers run only when served
with a JavaScript type), a fetch() of JSON, a PNG and a WOFF2 font.

The module writes markers into the page; the DOM Chromium dumps shows that
it ran, what it fetched, and what the browser itself saw of every resource
(the Resource Timing entries carry each response's status). Each resource
is then fetched over a raw socket too, for its exact status and type."""
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

from statichelp import exchange, get

CHROMIUM = "/usr/bin/chromium"


def tiny_png(width=3, height=2):
    """A valid RGB PNG, one colour, built with zlib and struct."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


INDEX = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>garcom sample site</title>
<link rel="stylesheet" href="/css/site.css">
<script type="module" src="/app.mjs"></script>
</head>
<body>
<h1 id="title">Sample site</h1>
<p class="fancy">Text set in the test font.</p>
<img id="logo" src="/img/logo.png" alt="logo">
<ul id="out"></ul>
</body>
</html>
"""

CSS = b"""@font-face {
  font-family: "TestFont";
  src: url("/fonts/test.woff2") format("woff2");
  font-display: swap;
}
.fancy { font-family: "TestFont", sans-serif; }
#title { color: rgb(1, 2, 3); }
"""

MODULE = b"""// Runs only if served with a JavaScript MIME type.
const out = document.getElementById("out");
function mark(text) {
  const li = document.createElement("li");
  li.textContent = text;
  out.appendChild(li);
}
mark("module-ran");

const r = await fetch("/data.json");
const data = await r.json();
mark("json-status:" + r.status);
mark("json-type:" + r.headers.get("content-type"));
mark("json-value:" + data.value);

const img = document.getElementById("logo");
if (!img.complete) {
  await new Promise((res) => {
    img.addEventListener("load", res);
    img.addEventListener("error", res);
  });
}
mark("img:" + img.naturalWidth + "x" + img.naturalHeight);

const title = document.getElementById("title");
mark("css-color:" + getComputedStyle(title).color);

// The font bytes are not a real font: wait for the attempt, whatever it gives.
try { await document.fonts.load('16px "TestFont"'); } catch (e) {}
await document.fonts.ready;

for (const e of performance.getEntriesByType("resource")) {
  mark("resource:" + new URL(e.name).pathname + ":" + e.responseStatus);
}
mark("done");
"""

JSON = b'{"value": "forty-two-from-json", "n": 42}\n'
PNG = tiny_png()
WOFF2 = b"wOF2" + bytes(range(256)) * 4  # any bytes: the check is the serving

RESOURCES = {
    "/": ("text/html; charset=utf-8", INDEX),
    "/css/site.css": ("text/css; charset=utf-8", CSS),
    "/app.mjs": ("text/javascript; charset=utf-8", MODULE),
    "/data.json": ("application/json; charset=utf-8", JSON),
    "/img/logo.png": ("image/png", PNG),
    "/fonts/test.woff2": ("font/woff2", WOFF2),
}


@pytest.fixture
def site(make_garcom):
    g = make_garcom()
    g.write("index.html", INDEX)
    g.write("css/site.css", CSS)
    g.write("app.mjs", MODULE)
    g.write("data.json", JSON)
    g.write("img/logo.png", PNG)
    g.write("fonts/test.woff2", WOFF2)
    return g.start()


def dump_dom(url):
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed: apt-get install chromium")
    profile = tempfile.mkdtemp(prefix="garcom-chromium-")
    try:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--no-proxy-server", "--user-data-dir=" + profile,
             "--virtual-time-budget=5000", "--dump-dom", url],
            capture_output=True, timeout=90)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-2000:]
    return out.stdout.decode("utf-8", errors="replace")


def test_png_helper_writes_a_valid_png():
    png = tiny_png(3, 2)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (3, 2)


def test_sample_site_loads_in_headless_chromium(site):
    dom = dump_dom("http://127.0.0.1:%d/" % site.port)
    assert "<li>module-ran</li>" in dom, dom[-3000:]
    assert "<li>json-status:200</li>" in dom
    assert "<li>json-type:application/json; charset=utf-8</li>" in dom
    assert "<li>json-value:forty-two-from-json</li>" in dom
    assert "<li>img:3x2</li>" in dom
    assert "<li>css-color:rgb(1, 2, 3)</li>" in dom
    assert "<li>done</li>" in dom
    # What the browser saw of each subresource: requested, and answered 200.
    for path in ("/css/site.css", "/app.mjs", "/data.json", "/img/logo.png",
                 "/fonts/test.woff2"):
        assert "<li>resource:%s:200</li>" % path in dom, (path, dom[-3000:])


def test_every_resource_of_the_site_is_served_with_its_type(site):
    for path, (ctype, data) in RESOURCES.items():
        status, h, body = exchange(site, get(path.encode()))
        assert (status, h["content-type"], body) == (200, ctype, data), path
    # The stylesheet references the font the server answers for.
    assert b'url("/fonts/test.woff2") format("woff2")' in CSS
