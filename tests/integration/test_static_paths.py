"""Which file a path names, and which it may never name: percent-decoding
once, dot segments, traversal, symlinks, dotfiles, permissions, directories
and their listings. Raw request bytes in, the exact answer checked."""
import html
import os
import re
import urllib.parse

from statichelp import exchange, get, head, make_unprivileged, set_mtime

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"


def site_with_secret(make_garcom, **kw):
    """A docroot at TMP/www, and TMP/secret.txt just outside it."""
    g = make_garcom(**kw)
    g.write("index.html", "index")
    g.write("sub/x.txt", "sub x")
    g.write("x.txt", "root x")
    with open(os.path.join(g.tmp, "secret.txt"), "wb") as f:
        f.write(SECRET)
    os.makedirs(os.path.join(g.tmp, "outside"))
    with open(os.path.join(g.tmp, "outside", "secret.txt"), "wb") as f:
        f.write(SECRET)
    return g


# ---- percent-decoding and dot segments

def test_percent_encoding_is_decoded_once(make_garcom):
    g = make_garcom()
    g.write("a b.txt", "space")
    g.write("%41.txt", "literal percent-4-1")
    g.write("A.txt", "capital A")
    g.start()
    assert exchange(g, get(b"/a%20b.txt"))[::2] == (200, b"space")
    assert exchange(g, get(b"/%41.txt"))[::2] == (200, b"capital A")
    # %25 is '%': decoded once it names the file literally called %41.txt
    assert exchange(g, get(b"/%2541.txt"))[::2] == (200, b"literal percent-4-1")


def test_decoding_details_slash_plus_and_query(make_garcom):
    g = site_with_secret(make_garcom)
    g.write("a+b.txt", "plus is a plus")
    g.start()
    assert exchange(g, get(b"/sub%2fx.txt"))[::2] == (200, b"sub x")
    assert exchange(g, get(b"/sub%2Fx.txt"))[::2] == (200, b"sub x")
    assert exchange(g, get(b"/a+b.txt"))[::2] == (200, b"plus is a plus")
    assert exchange(g, get(b"/a%2Bb.txt"))[::2] == (200, b"plus is a plus")
    assert exchange(g, get(b"/x.txt?a=1&b=../../secret.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/x.txt?%zz"))[::2] == (200, b"root x")  # the query is not a path


def test_overlong_names_are_404_not_a_crash(make_garcom):
    g = site_with_secret(make_garcom).start()
    status, _, _ = exchange(g, get(b"/" + b"a" * 300 + b".txt"))
    assert status == 404
    status, _, _ = exchange(g, get(b"/" + b"d/" * 2500 + b"x.txt"))
    assert status in (404, 414)
    assert exchange(g, get(b"/x.txt"))[::2] == (200, b"root x")


def test_decoded_nul_is_400(make_garcom):
    g = site_with_secret(make_garcom).start()
    for target in (b"/x.txt%00", b"/x.txt%00.html", b"/%00", b"/sub/%00/x.txt"):
        status, _, body = exchange(g, get(target))
        assert status == 400, target
        assert b"root x" not in body


def test_malformed_percent_escape_is_400(make_garcom):
    g = site_with_secret(make_garcom).start()
    for target in (b"/x.txt%", b"/x.txt%2", b"/%zz.txt", b"/x%g1.txt", b"/%%32e"):
        status, _, _ = exchange(g, get(target))
        assert status == 400, target


def test_dot_segments_inside_the_root_are_resolved(make_garcom):
    g = site_with_secret(make_garcom).start()
    assert exchange(g, get(b"/sub/./x.txt"))[::2] == (200, b"sub x")
    assert exchange(g, get(b"/sub/../x.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/sub/%2e%2e/x.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/sub/%2E/x.txt"))[::2] == (200, b"sub x")
    assert exchange(g, get(b"/./sub//x.txt"))[::2] == (200, b"sub x")


def test_traversal_never_serves_the_secret_outside_the_root(make_garcom):
    g = site_with_secret(make_garcom).start()
    targets = (
        b"/../secret.txt",
        b"/../../secret.txt",
        b"/sub/../../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/%2E%2E/secret.txt",
        b"/.%2e/secret.txt",
        b"/..%2fsecret.txt",
        b"/..%2Fsecret.txt",
        b"/sub/..%2f..%2fsecret.txt",
        b"/%2e%2e%2fsecret.txt",
        b"/..%2foutside/secret.txt",
        b"/%2e%2e/outside/secret.txt",
        b"/../www/../secret.txt",
        b"/sub/../../www/../secret.txt",
    )
    for target in targets:
        status, _, body = exchange(g, get(target))
        assert status in (400, 404), target
        assert SECRET not in body, target


def test_double_encoded_dots_are_a_literal_name_not_a_climb(make_garcom):
    g = site_with_secret(make_garcom)
    g.write("%2e%2e/secret.txt", "inside, under a strange name")
    g.start()
    # Decoded once, %252e%252e is the name "%2e%2e": a directory in the root.
    assert exchange(g, get(b"/%252e%252e/secret.txt"))[::2] == (
        200, b"inside, under a strange name")
    for target in (b"/%252e%252e%252fsecret.txt", b"/sub/%252e%252e/%252e%252e/secret.txt",
                   b"/%252E%252E/secret.txt"):
        status, _, body = exchange(g, get(target))
        assert status == 404, target
        assert SECRET not in body


def test_nul_cannot_truncate_the_name(make_garcom):
    g = site_with_secret(make_garcom).start()
    for target in (b"/../secret.txt%00.html", b"/secret.txt%00", b"/%2e%2e/secret.txt%00.png"):
        status, _, body = exchange(g, get(target))
        assert status in (400, 404), target
        assert SECRET not in body


def test_absolute_form_target_cannot_climb_either(make_garcom):
    g = site_with_secret(make_garcom).start()
    for target in (b"http://t/../secret.txt", b"http://t/%2e%2e/secret.txt"):
        status, _, body = exchange(g, get(target))
        assert status in (400, 404), target
        assert SECRET not in body


# ---- symlinks

def add_links(g):
    os.symlink("x.txt", os.path.join(g.root, "link.txt"))
    os.symlink("../x.txt", os.path.join(g.root, "sub", "up.txt"))
    os.symlink("sub", os.path.join(g.root, "linkdir"))
    os.symlink("../secret.txt", os.path.join(g.root, "out.txt"))
    os.symlink(os.path.join(g.tmp, "secret.txt"), os.path.join(g.root, "abs-out.txt"))
    os.symlink("../outside", os.path.join(g.root, "outdir"))
    os.symlink("../../secret.txt", os.path.join(g.root, "sub", "out2.txt"))


def test_symlinks_inside_the_root_are_followed_by_default(make_garcom):
    g = site_with_secret(make_garcom)
    add_links(g)
    g.start()
    assert exchange(g, get(b"/link.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/sub/up.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/linkdir/x.txt"))[::2] == (200, b"sub x")


def test_symlinks_leading_outside_the_root_are_404_by_default(make_garcom):
    g = site_with_secret(make_garcom)
    add_links(g)
    g.start()
    for target in (b"/out.txt", b"/abs-out.txt", b"/outdir/secret.txt", b"/sub/out2.txt"):
        status, _, body = exchange(g, get(target))
        assert status == 404, target
        assert SECRET not in body


def test_follow_symlinks_inside_set_explicitly(make_garcom):
    g = site_with_secret(make_garcom, server_extra='follow_symlinks = "inside";')
    add_links(g)
    g.start()
    assert exchange(g, get(b"/link.txt"))[::2] == (200, b"root x")
    status, _, body = exchange(g, get(b"/outdir/secret.txt"))
    assert status == 404 and SECRET not in body


def test_follow_symlinks_always_follows_links_outside(make_garcom):
    g = site_with_secret(make_garcom, server_extra='follow_symlinks = "always";')
    add_links(g)
    g.start()
    assert exchange(g, get(b"/link.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/out.txt"))[::2] == (200, SECRET)
    assert exchange(g, get(b"/abs-out.txt"))[::2] == (200, SECRET)
    assert exchange(g, get(b"/outdir/secret.txt"))[::2] == (200, SECRET)
    # Following links never makes '..' in the URL climb out.
    status, _, body = exchange(g, get(b"/../secret.txt"))
    assert status in (400, 404) and SECRET not in body


def test_follow_symlinks_never_refuses_any_link_in_the_path(make_garcom):
    g = site_with_secret(make_garcom, server_extra='follow_symlinks = "never";')
    add_links(g)
    g.start()
    for target in (b"/link.txt", b"/sub/up.txt", b"/linkdir/x.txt", b"/out.txt",
                   b"/outdir/secret.txt"):
        status, _, body = exchange(g, get(target))
        assert status == 404, target
        assert SECRET not in body and b"root x" not in body and b"sub x" not in body
    assert exchange(g, get(b"/x.txt"))[::2] == (200, b"root x")
    assert exchange(g, get(b"/sub/x.txt"))[::2] == (200, b"sub x")


def test_follow_symlinks_per_location(make_garcom):
    g = site_with_secret(make_garcom, server_extra=(
        'locations = ( { prefix = "/open/"; follow_symlinks = "always"; },'
        ' { prefix = "/strict/"; follow_symlinks = "never"; } );'))
    g.write("open/.keep", "")
    g.write("strict/x.txt", "strict x")
    os.symlink("../../secret.txt", os.path.join(g.root, "open", "s.txt"))
    os.symlink("x.txt", os.path.join(g.root, "strict", "l.txt"))
    os.symlink("../secret.txt", os.path.join(g.root, "out.txt"))
    g.start()
    assert exchange(g, get(b"/open/s.txt"))[::2] == (200, SECRET)
    assert exchange(g, get(b"/strict/x.txt"))[::2] == (200, b"strict x")
    assert exchange(g, get(b"/strict/l.txt"))[0] == 404
    status, _, body = exchange(g, get(b"/out.txt"))
    assert status == 404 and SECRET not in body


def test_symlink_loop_is_an_error_not_a_hang(make_garcom):
    g = site_with_secret(make_garcom)
    os.symlink("loop-b", os.path.join(g.root, "loop-a"))
    os.symlink("loop-a", os.path.join(g.root, "loop-b"))
    os.symlink("self", os.path.join(g.root, "self"))
    g.start()
    for target in (b"/loop-a", b"/loop-b/x.txt", b"/self"):
        status, _, _ = exchange(g, get(target))
        assert status in (403, 404), target
    assert exchange(g, get(b"/x.txt"))[::2] == (200, b"root x")


# ---- dotfiles

def dotted_site(make_garcom, **kw):
    g = make_garcom(**kw)
    g.write(".env", "SECRET_ENV=1")
    g.write(".git/config", "[core] secret git config")
    g.write("sub/.hidden", "hidden file")
    g.write(".well-known/acme-challenge/token123", "acme token body")
    g.write(".well-known/security.txt", "Contact: mailto:a@example.com\n")
    g.write("visible.txt", "visible")
    return g


def test_dotfiles_and_dot_directories_are_404_by_default(make_garcom):
    g = dotted_site(make_garcom).start()
    for target in (b"/.env", b"/.git/config", b"/.git/", b"/.git", b"/sub/.hidden",
                   b"/%2eenv", b"/%2egit/config", b"/sub/%2Ehidden", b"/sub/../.env"):
        status, _, body = exchange(g, get(target))
        assert status == 404, target
        assert b"SECRET_ENV" not in body and b"secret git" not in body and b"hidden file" not in body
    assert exchange(g, get(b"/visible.txt"))[::2] == (200, b"visible")


def test_well_known_is_always_served(make_garcom):
    g = dotted_site(make_garcom).start()
    assert exchange(g, get(b"/.well-known/acme-challenge/token123"))[::2] == (200, b"acme token body")
    status, h, body = exchange(g, get(b"/.well-known/security.txt"))
    assert (status, body) == (200, b"Contact: mailto:a@example.com\n")
    assert h["content-type"] == "text/plain; charset=utf-8"


def test_serve_dotfiles_true_serves_them(make_garcom):
    g = dotted_site(make_garcom, server_extra="serve_dotfiles = true;").start()
    assert exchange(g, get(b"/.env"))[::2] == (200, b"SECRET_ENV=1")
    assert exchange(g, get(b"/.git/config"))[::2] == (200, b"[core] secret git config")
    assert exchange(g, get(b"/sub/.hidden"))[::2] == (200, b"hidden file")
    assert exchange(g, get(b"/.well-known/acme-challenge/token123"))[::2] == (200, b"acme token body")


def test_serve_dotfiles_per_location(make_garcom):
    g = dotted_site(make_garcom, server_extra=(
        'locations = ( { prefix = "/pub/"; serve_dotfiles = true; } );'))
    g.write("pub/.profile", "public dotfile")
    g.start()
    assert exchange(g, get(b"/pub/.profile"))[::2] == (200, b"public dotfile")
    assert exchange(g, get(b"/.env"))[0] == 404
    assert exchange(g, get(b"/sub/.hidden"))[0] == 404


# ---- permissions

def test_file_the_worker_cannot_read_is_403(make_garcom):
    g = make_unprivileged(make_garcom)
    g.write("ok.txt", "readable")
    locked = g.write("locked.txt", "LOCKED CONTENT")
    os.chmod(locked, 0)
    g.start()
    assert exchange(g, get(b"/ok.txt"))[::2] == (200, b"readable")
    status, _, body = exchange(g, get(b"/locked.txt"))
    assert status == 403
    assert b"LOCKED CONTENT" not in body
    status, _, body = exchange(g, head(b"/locked.txt"), head_only=True)
    assert status == 403


# ---- directories

def test_directory_without_slash_is_301_to_slash_keeping_the_query(make_garcom):
    g = make_garcom()
    g.write("docs/index.html", "docs index")
    g.write("docs/deep/er/index.html", "deeper")
    g.start()
    status, h, _ = exchange(g, get(b"/docs"))
    assert status == 301 and h["location"] == "/docs/"
    status, h, _ = exchange(g, get(b"/docs?a=1&b=%20"))
    assert status == 301 and h["location"] == "/docs/?a=1&b=%20"
    status, h, _ = exchange(g, get(b"/docs/deep/er?x"))
    assert status == 301 and h["location"] == "/docs/deep/er/?x"
    status, h, body = exchange(g, head(b"/docs"), head_only=True)
    assert status == 301 and h["location"] == "/docs/" and body == b""
    assert exchange(g, get(b"/docs/"))[::2] == (200, b"docs index")
    assert exchange(g, get(b"/docs/deep/er/"))[::2] == (200, b"deeper")


def test_directory_redirect_of_an_encoded_name_stays_encoded(make_garcom):
    g = make_garcom()
    g.write("my dir/index.html", "spaced dir")
    g.start()
    status, h, _ = exchange(g, get(b"/my%20dir"))
    assert status == 301 and h["location"] == "/my%20dir/"
    assert exchange(g, get(h["location"].encode()))[::2] == (200, b"spaced dir")


def test_directory_redirect_cannot_inject_headers(make_garcom):
    g = make_garcom()
    g.write("a\r\nSet-Cookie: x=1/index.html", "crlf dir")
    g.start()
    with g.connect() as c:
        c.send(get(b"/a%0D%0ASet-Cookie:%20x=1"))
        status, h, _ = c.response()
    assert status in (301, 400, 404)
    assert "set-cookie" not in h
    if status == 301:
        assert "\r" not in h["location"] and "\n" not in h["location"]
        assert h["location"].startswith("/a")


def test_directory_redirect_is_never_protocol_relative(make_garcom):
    g = make_garcom()
    g.write("evil.example/index.html", "not an open redirect")
    g.start()
    for target in (b"//evil.example", b"///evil.example", b"/.//evil.example"):
        status, h, _ = exchange(g, get(target))
        if status == 301:
            loc = h["location"]
            assert not loc.startswith("//") and not loc.startswith("/\\"), (target, loc)
        else:
            assert status in (400, 404), target


def test_directory_without_index_is_404_when_autoindex_is_off(make_garcom):
    g = make_garcom()
    g.write("files/a.txt", "a")
    g.start()
    status, _, body = exchange(g, get(b"/files/"))
    assert status == 404
    assert b"a.txt" not in body


def test_custom_index_names_are_tried_in_order(make_garcom):
    g = make_garcom(server_extra='index = [ "default.htm", "index.html" ];')
    g.write("a/index.html", "a index")
    g.write("b/default.htm", "b default")
    g.write("b/index.html", "b index")
    g.start()
    assert exchange(g, get(b"/a/"))[::2] == (200, b"a index")
    assert exchange(g, get(b"/b/"))[::2] == (200, b"b default")


def autoindex_site(make_garcom, **kw):
    g = make_garcom(**kw)
    files = {
        "<b>&x.txt": b"tricky name",
        "a.txt": b"A" * 12345,
        "B.txt": b"bee",
        "with space.txt": b"spaced",
        "caf\u00e9.txt": "caf\u00e9".encode(),
        "z\"q'.txt": b"quotes",
    }
    for name, data in files.items():
        p = g.write("files/" + name, data)
        set_mtime(p, 1614834367)  # Thu, 04 Mar 2021 05:06:07 GMT
    g.write("files/zeta/inner.txt", "inner")
    g.write("files/.hidden", "dot")
    g.write("withindex/index.html", "the index wins")
    g.write("withindex/other.txt", "other")
    return g, files


def listed_links(body):
    """[(href, text)] of every link in a listing, entities decoded."""
    return [(html.unescape(h), html.unescape(t))
            for h, t in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', body)]


def as_browser_would_request(directory, href):
    """Resolve an href as a browser does: relative to the directory, with
    what may not appear raw in a request target percent-encoded."""
    path = href if href.startswith("/") else directory + href
    return urllib.parse.quote(path, safe="/%:@!$&'()*+,;=-._~?").encode("ascii")


def test_autoindex_lists_escaped_sorted_names_with_sizes_and_dates(make_garcom):
    g, files = autoindex_site(make_garcom, server_extra="autoindex = true;")
    g.start()
    status, h, raw = exchange(g, get(b"/files/"))
    assert status == 200
    assert h["content-type"] == "text/html; charset=utf-8"
    body = raw.decode("utf-8")
    # Every name escaped: never raw markup from a file name.
    assert "&lt;b&gt;&amp;x.txt" in body
    assert "<b>" not in body
    texts = [t.rstrip("/") for _, t in listed_links(body)]
    for name in files:
        assert name in texts, name
    assert "zeta" in texts
    assert "zeta/" in body
    # Sorted: the files among themselves, in byte order of their names.
    shown = [t for t in texts if t in files]
    assert shown == sorted(files, key=lambda n: n.encode())
    # Size in bytes and the date (GMT), beside the file's link.
    m = re.search(r'<a href="[^"]*">a\.txt</a>(.*?)(<a |</pre>|</table>|$)', body, re.S)
    assert m, body
    assert "12345" in m.group(1)
    assert "2021" in m.group(1) and "05:06" in m.group(1)
    # Dotfiles stay hidden from the listing too.
    assert ".hidden" not in body


def test_autoindex_links_lead_to_the_files(make_garcom):
    g, files = autoindex_site(make_garcom, server_extra="autoindex = true;")
    g.start()
    body = exchange(g, get(b"/files/"))[2].decode("utf-8")
    links = dict((text.rstrip("/"), href) for href, text in listed_links(body))
    for name, data in files.items():
        target = as_browser_would_request("/files/", links[name])
        assert exchange(g, get(target))[::2] == (200, data), (name, target)
    target = as_browser_would_request("/files/", links["zeta"])
    assert exchange(g, get(target))[::2] == (200, exchange(g, get(b"/files/zeta/"))[2])
    assert b"inner.txt" in exchange(g, get(target))[2]


def test_autoindex_index_file_still_wins(make_garcom):
    g, _ = autoindex_site(make_garcom, server_extra="autoindex = true;")
    g.start()
    assert exchange(g, get(b"/withindex/"))[::2] == (200, b"the index wins")


def test_autoindex_per_location(make_garcom):
    g, _ = autoindex_site(make_garcom, server_extra=(
        'locations = ( { prefix = "/files/"; autoindex = true; } );'))
    g.start()
    status, _, body = exchange(g, get(b"/files/"))
    assert status == 200 and b"B.txt" in body
    g.write("nolist/a.txt", "a")
    assert exchange(g, get(b"/nolist/"))[0] == 404


def test_autoindex_head_has_no_body(make_garcom):
    g, _ = autoindex_site(make_garcom, server_extra="autoindex = true;")
    g.start()
    s1, h1, b1 = exchange(g, head(b"/files/"), head_only=True)
    s2, h2, b2 = exchange(g, get(b"/files/"))
    assert (s1, s2) == (200, 200) and b1 == b""
    assert h1["content-type"] == h2["content-type"] == "text/html; charset=utf-8"
