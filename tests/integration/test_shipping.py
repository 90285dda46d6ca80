"""What is shipped: `make install` lays out the tree under DESTDIR and
`make uninstall` removes it; the man page documents every key the loaders
accept (main file and site files)."""
import os
import re
import subprocess

from conftest import ROOT


def test_install_tree_and_uninstall(tmp_path):
    dest = str(tmp_path / "stage")
    run = dict(cwd=ROOT, capture_output=True, text=True, timeout=300)
    r = subprocess.run(["make", "install", "DESTDIR=" + dest, "PREFIX=/usr"], **run)
    assert r.returncode == 0, r.stderr
    want = ["usr/sbin/garcom", "etc/garcom/garcom.conf", "etc/garcom/sites.d",
            "usr/share/man/man8/garcom.8", "usr/share/man/man5/garcom.conf.5",
            "usr/lib/systemd/system/garcom.service", "usr/share/garcom/html/index.html"]
    for path in want:
        assert os.path.exists(os.path.join(dest, path)), path
    unit = open(os.path.join(dest, "usr/lib/systemd/system/garcom.service")).read()
    assert "ExecStart=/usr/sbin/garcom -c /etc/garcom/garcom.conf" in unit
    assert "Type=notify" in unit and "@" not in unit.replace("@.service", "")
    conf = open(os.path.join(dest, "etc/garcom/garcom.conf")).read()
    assert "@" not in re.sub(r"#.*", "", conf)  # every placeholder replaced
    r = subprocess.run(["make", "uninstall", "DESTDIR=" + dest, "PREFIX=/usr"], **run)
    assert r.returncode == 0, r.stderr
    for path in ("usr/sbin/garcom", "usr/share/man/man8/garcom.8",
                 "usr/lib/systemd/system/garcom.service"):
        assert not os.path.exists(os.path.join(dest, path)), path
    # The operator's configuration is kept, as packages do.
    assert os.path.exists(os.path.join(dest, "etc/garcom/garcom.conf"))


def keys_in(path, pattern):
    with open(os.path.join(ROOT, path)) as f:
        return set(re.findall(pattern, f.read()))


def test_man_page_documents_every_key():
    main_keys = keys_in("src/config_schema.c", r'KEY\("([a-z_]+)"')
    site_keys = keys_in("src/sites.c", r'\[K_[A-Z_]+\] = \{ "([a-z_]+)"')
    assert len(main_keys) > 40 and len(site_keys) > 10
    with open(os.path.join(ROOT, "man", "garcom.conf.5")) as f:
        page = f.read()
    missing = sorted(k for k in main_keys | site_keys if not re.search(r"\b%s\b" % k, page))
    assert missing == []


def test_man_pages_are_lint_clean():
    pages = [os.path.join(ROOT, "man", p) for p in ("garcom.8", "garcom.conf.5")]
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning"] + pages,
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
