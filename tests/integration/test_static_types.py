"""Content-Type from the file's extension: the built-in table, the charset on
text types, and a mime.types file that adds or overrides entries."""

from statichelp import exchange, get, head

# Exactly what the issue fixes.
EXACT = {
    "page.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "mod.mjs": "text/javascript; charset=utf-8",
    "data.json": "application/json; charset=utf-8",
    "notes.txt": "text/plain; charset=utf-8",
    "image.svg": "image/svg+xml; charset=utf-8",
    "image.png": "image/png",
    "photo.jpg": "image/jpeg",
    "photo.jpeg": "image/jpeg",
    "anim.gif": "image/gif",
    "pic.webp": "image/webp",
    "pic.avif": "image/avif",
    "font.woff": "font/woff",
    "font.woff2": "font/woff2",
    "font.ttf": "font/ttf",
    "font.otf": "font/otf",
    "code.wasm": "application/wasm",
    "doc.pdf": "application/pdf",
    "movie.mp4": "video/mp4",
    "movie.webm": "video/webm",
    "song.mp3": "audio/mpeg",
    "archive.zip": "application/zip",
    "unknown.qqq": "application/octet-stream",
    "noextension": "application/octet-stream",
    "app.min.js": "text/javascript; charset=utf-8",
    "UPPER.PNG": "image/png",
    "Mixed.Css": "text/css; charset=utf-8",
}

# Where the issue names the extension but more than one registered type is
# in common use: any of these.
ONE_OF = {
    "app.js.map": ("application/json; charset=utf-8", "application/json"),
    "favicon.ico": ("image/x-icon", "image/vnd.microsoft.icon"),
    "feed.xml": ("text/xml; charset=utf-8", "application/xml; charset=utf-8"),
    "sound.ogg": ("audio/ogg", "application/ogg"),
    "archive.tar.gz": ("application/gzip", "application/x-gzip"),
}


def typed_site(make_garcom, **kw):
    g = make_garcom(**kw)
    for name in list(EXACT) + list(ONE_OF):
        g.write("t/" + name, "content of " + name)
    return g


def test_builtin_types_and_charset_on_text(make_garcom):
    g = typed_site(make_garcom).start()
    wrong = {}
    for name, want in EXACT.items():
        status, h, body = exchange(g, get(b"/t/" + name.encode()))
        assert (status, body) == (200, b"content of " + name.encode()), name
        if h.get("content-type") != want:
            wrong[name] = h.get("content-type")
    assert wrong == {}


def test_builtin_types_with_more_than_one_registered_name(make_garcom):
    g = typed_site(make_garcom).start()
    wrong = {}
    for name, allowed in ONE_OF.items():
        status, h, _ = exchange(g, get(b"/t/" + name.encode()))
        assert status == 200, name
        if h.get("content-type") not in allowed:
            wrong[name] = h.get("content-type")
    assert wrong == {}


def test_head_has_the_content_type_of_get(make_garcom):
    g = typed_site(make_garcom).start()
    for name in ("mod.mjs", "font.woff2", "code.wasm"):
        s1, h1, _ = exchange(g, head(b"/t/" + name.encode()), head_only=True)
        s2, h2, _ = exchange(g, get(b"/t/" + name.encode()))
        assert (s1, s2) == (200, 200)
        assert h1["content-type"] == h2["content-type"] == EXACT[name]


def with_mime_types(make_garcom, tmp_path, text):
    path = tmp_path / "mime.types"
    path.write_text(text)
    return make_garcom(extra='mime_types = "%s";' % path)


def test_mime_types_file_adds_types(make_garcom, tmp_path):
    g = with_mime_types(make_garcom, tmp_path, (
        "# comments and blank lines as in /etc/mime.types\n"
        "\n"
        "text/x-foo\t\t\t\tfoo\n"
        "application/x-bar   bar baz\n"
        "application/x-lonely\n"))
    for name in ("x.foo", "x.bar", "x.baz", "x.css", "x.png"):
        g.write(name, name)
    g.start()

    def ctype(name):
        status, h, body = exchange(g, get(b"/" + name.encode()))
        assert (status, body) == (200, name.encode())
        return h["content-type"]

    assert ctype("x.foo") == "text/x-foo; charset=utf-8"
    assert ctype("x.bar") == "application/x-bar"
    assert ctype("x.baz") == "application/x-bar"
    # The built-in table is still there for everything else.
    assert ctype("x.css") == "text/css; charset=utf-8"
    assert ctype("x.png") == "image/png"


def test_mime_types_file_overrides_builtin(make_garcom, tmp_path):
    g = with_mime_types(make_garcom, tmp_path,
                        "application/x-custom html\nimage/x-special png\n")
    g.write("index.html", "<p>custom</p>")
    g.write("a.png", "png")
    g.write("a.js", "js")
    g.start()
    status, h, body = exchange(g, get(b"/index.html"))
    assert (status, body) == (200, b"<p>custom</p>")
    assert h["content-type"] == "application/x-custom"
    assert exchange(g, get(b"/a.png"))[1]["content-type"] == "image/x-special"
    assert exchange(g, get(b"/a.js"))[1]["content-type"] == "text/javascript; charset=utf-8"
