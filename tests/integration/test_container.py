"""The container image, without a container engine: the Dockerfile is read
(its stages, USER, EXPOSE, HEALTHCHECK and CMD), and the exact command line
of its CMD runs here with conf/container.conf, as the image's non-root user
would (nobody, when the tests run as root). Only what cannot exist on this
machine is rewritten, by this test and printed (pytest -s shows it): the
port 8080 becomes a free one on loopback, the docroot and the site-file
directory become temporary ones, and the image's paths of the binary and
the configuration become this tree's. The daemon must start, serve on IPv4
and IPv6, answer the HEALTHCHECK's own command, log errors to stderr and
requests to stdout, and stop cleanly on SIGTERM."""
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from conftest import BINARY, ROOT, free_port
from test_access_log import LINE

DOCKERFILE = os.path.join(ROOT, "Dockerfile")
CONF = os.path.join(ROOT, "conf", "container.conf")
ERROR_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(error|warn|info|debug)\] "
                        r"\d+#(master|\d+): \S.*$")


# ---- the Dockerfile

def instructions(path):
    """[(stage, INSTRUCTION, arguments)] with continuation lines joined."""
    out, stage, cur = [], -1, ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not cur and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            cur += line
            word, _, args = cur.strip().partition(" ")
            cur = ""
            word = word.upper()
            if word == "FROM":
                stage += 1
            out.append((stage, word, args.strip()))
    return out


def one(ins, word, stage=None):
    found = [a for s, w, a in ins if w == word and (stage is None or s == stage)]
    assert len(found) == 1, (word, found)
    return found[0]


def healthcheck(ins):
    """(options, argv) of HEALTHCHECK [--opt=value ...] CMD [json]."""
    args = one(ins, "HEALTHCHECK")
    opts = dict(re.findall(r"--([a-z-]+)=(\S+)", args))
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", args)
    assert m, "HEALTHCHECK must use the exec form: " + args
    return opts, json.loads(m.group(1))


def apt_packages(run_args):
    """The packages of every `apt-get install` in a RUN."""
    pkgs = []
    for part in re.split(r"&&|;", run_args):
        words = shlex.split(part)
        if "apt-get" in words and "install" in words:
            pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def seconds(text):
    m = re.fullmatch(r"(\d+)(s|m)", text)
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


def test_dockerfile_shape():
    ins = instructions(DOCKERFILE)
    froms = [a for _, w, a in ins if w == "FROM"]
    assert len(froms) == 2, froms
    assert froms[0].split() == ["debian:bookworm-slim", "AS", "build"]
    assert froms[1] == "debian:bookworm-slim"
    runs = " && ".join(a for s, w, a in ins if w == "RUN" and s == 0)
    assert re.search(r"\./configure\b.*&&\s*make\b.*&&\s*make install DESTDIR=/out", runs), runs

    # The build stage installs what tools/deps.sh calls the build deps.
    with open(os.path.join(ROOT, "tools", "deps.sh")) as f:
        build_deps = re.search(r'^pkgs="([^"]+)"', f.read(), re.M).group(1).split()
    assert set(build_deps) <= set(apt_packages(runs)), build_deps

    # The runtime stage installs exactly the packages of the libraries the
    # binary links (as this machine's dpkg says), besides libc.
    ldd = subprocess.run(["ldd", BINARY], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"=> (/\S+) \(", ldd)
    owners = set()
    for lib in libs:
        real = os.path.realpath(lib)
        r = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
        if r.returncode != 0:  # /lib is a link to /usr/lib on Debian 12
            r = subprocess.run(["dpkg", "-S", real.replace("/usr/lib/", "/lib/", 1)],
                               capture_output=True, text=True, check=True)
        owners.add(r.stdout.split(":")[0])
    owners.discard("libc6")
    if os.environ.get("GARCOM_SANITIZED") == "1":
        # make check-asan's binary links the sanitizer runtimes, which the
        # image's (normal) build does not.
        owners -= {"libasan8", "libubsan1", "libstdc++6", "libgcc-s1"}
    runtime_runs = " && ".join(a for s, w, a in ins if w == "RUN" and s == 1)
    assert set(apt_packages(runtime_runs)) == owners, (apt_packages(runtime_runs), owners)

    user = one(ins, "USER", 1)
    assert user not in ("root", "0") and not user.startswith("0:")
    assert re.search(r"useradd\b.*\b%s\s*$" % re.escape(user), runtime_runs, re.S)
    assert one(ins, "EXPOSE").split() == ["8080"]
    opts, _ = healthcheck(ins)
    assert seconds(opts["timeout"]) <= seconds(opts["interval"])
    cmd = json.loads(one(ins, "CMD"))
    assert cmd == ["/usr/sbin/garcom", "-c", "/etc/garcom/container.conf"]


def test_image_files_come_from_make_install(tmp_path):
    """What the runtime stage copies exists in a `make install` tree laid
    out as the build stage does (PREFIX=/usr), and the docroot of
    container.conf is in it."""
    ins = instructions(DOCKERFILE)
    dest = str(tmp_path / "out")
    subprocess.run(["make", "-s", "install", "DESTDIR=" + dest, "PREFIX=/usr"], cwd=ROOT,
                   check=True, capture_output=True)
    copies = [a.split() for s, w, a in ins if w == "COPY" and s == 1]
    assert copies
    for c in copies:
        if c[0] == "--from=build":
            assert c[1].startswith("/out/")
            assert os.path.exists(dest + c[1][len("/out"):]), c
        else:
            assert os.path.exists(os.path.join(ROOT, c[0])), c
    assert ["conf/container.conf", "/etc/garcom/container.conf"] in copies
    with open(CONF) as f:
        root = re.search(r'^\s*root = "([^"]+)";', f.read(), re.M).group(1)
    assert os.path.isfile(dest + root + "/index.html"), root


# ---- running it

def rewrite(text, port, docroot, sites):
    """The container's config for this machine: listen, root and sites
    only. Returns the new text; every changed line is one of those."""
    new = text.replace('"0.0.0.0:8080"', '"127.0.0.1:%d"' % port)
    new = new.replace('"[::]:8080"', '"[::1]:%d"' % port)
    new = re.sub(r'^(\s*root = )"[^"]*";', r'\1"%s";' % docroot, new, count=1, flags=re.M)
    new = re.sub(r'^(sites = )"[^"]*";', r'\1"%s/*.ini";' % sites, new, count=1, flags=re.M)
    diff = [l for l in difflib.unified_diff(text.splitlines(), new.splitlines(),
                                            "container.conf", "rewritten", lineterm="", n=0)]
    print("\n".join(diff))
    changed = [l for l in diff if l[:1] in "+-" and l[:3] not in ("+++", "---")]
    assert len(changed) == 6, changed  # three lines, each - and +
    assert all(re.search(r"listen =|root =|sites =", l) for l in changed), changed
    return new


class Drain(threading.Thread):
    """Collects a pipe's lines so the daemon never blocks on it."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe, self.lines = pipe, []
        self.start()

    def run(self):
        for line in self.pipe:
            self.lines.append(line.decode("ascii", "replace").rstrip("\n"))

    def wait_count(self, pattern, n, timeout=5.0):
        """Wait until n lines match (or time out: the caller's assert tells)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for l in self.lines if re.search(pattern, l)) >= n:
                return
            time.sleep(0.02)

    def wait_for(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, l) for l in self.lines):
                return
            time.sleep(0.02)
        raise AssertionError("no line matching %r in %r" % (pattern, self.lines))


def as_image_user():
    """Run as nobody when root, as the image's USER is not root."""
    if os.geteuid() != 0:
        return None

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return drop


def http_get(host, port, path):
    import socket
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nUser-Agent: container-test\r\n"
                   "Connection: close\r\n\r\n" % path).encode())
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_the_image_command_runs_serves_and_stops(tmp_path):
    ins = instructions(DOCKERFILE)
    cmd = json.loads(one(ins, "CMD"))
    opts, health = healthcheck(ins)

    work = tempfile.mkdtemp(prefix="garcom-container-")
    proc = None
    try:
        os.chmod(work, 0o755)
        docroot = os.path.join(work, "html")
        sites = os.path.join(work, "sites.d")
        os.makedirs(docroot)
        os.makedirs(sites)
        for d in (docroot, sites):
            os.chmod(d, 0o755)
        shutil.copy(os.path.join(ROOT, "www", "index.html"), docroot)
        os.chmod(os.path.join(docroot, "index.html"), 0o644)
        port = free_port()
        with open(CONF) as f:
            conf_text = rewrite(f.read(), port, docroot, sites)
        conf = os.path.join(work, "container.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        os.chmod(conf, 0o644)

        # The file as shipped fails -t here only for its docroot, which
        # exists in the image and not on this machine.
        r = subprocess.run([BINARY, "-t", "-c", CONF], capture_output=True, text=True)
        if r.returncode != 0:
            errors = [l for l in r.stderr.splitlines() if re.match(r".*:\d+: ", l)]
            assert len(errors) == 1 and "root '/usr/share/garcom/html'" in errors[0], r.stderr
        r = subprocess.run([BINARY, "-t", "-c", conf], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

        # The image's command, with this tree's binary and the rewritten file.
        argv = [BINARY if a == "/usr/sbin/garcom" else a for a in cmd]
        argv = [conf if a == "/etc/garcom/container.conf" else a for a in argv]
        assert argv == [BINARY, "-c", conf]
        hc = [a.replace("/dev/tcp/127.0.0.1/8080", "/dev/tcp/127.0.0.1/%d" % port)
              for a in health]
        assert hc != health  # the health check names the port it checks
        print("CMD:", argv, "\nHEALTHCHECK:", hc)

        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=as_image_user())
        out, err = Drain(proc.stdout), Drain(proc.stderr)
        err.wait_for(r"\[info\] \d+#master: all \d+ workers serve")

        def health_ok():
            return subprocess.run(hc, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=seconds(opts["timeout"]) + 2).returncode == 0

        if os.geteuid() == 0:  # really not root, as USER in the image
            with open("/proc/%d/status" % proc.pid) as f:
                assert re.search(r"^Uid:\s+65534\s", f.read(), re.M)
        assert health_ok()
        status, body = http_get("127.0.0.1", port, "/")
        assert status == 200 and b"garcom" in body
        status, body = http_get("::1", port, "/")
        assert status == 200
        status, body = http_get("127.0.0.1", port, "/metrics")
        assert status == 200 and re.search(rb"^garcom_\w+ \d+", body, re.M), body[:200]
        assert http_get("127.0.0.1", port, "/missing")[0] == 404

        # Requests on stdout: the access log, each worker's lines written
        # within a second.
        out.wait_for(r'"GET /missing HTTP/1.1" 404 ')
        out.wait_count(r'"container-test"', 4)
        out.wait_count(r'"GET /metrics HTTP/1.1" 200', 2)
        requests = [l for l in out.lines if '"container-test"' in l]
        assert len(requests) == 4 and all(LINE.match(l) for l in requests), out.lines
        assert any(l.startswith("::1 ") for l in requests)
        health_lines = [l for l in out.lines if '"GET /metrics HTTP/1.1" 200' in l]
        assert len(health_lines) == 2  # the health check's and ours

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        out.join(5)
        err.join(5)
        assert not health_ok()  # the check can fail: nothing listens now
        assert err.lines and all(ERROR_LINE.match(l) for l in err.lines), err.lines
        assert any("signal 15" in l for l in err.lines)
        assert re.search(r"#master: garcom stopped$", err.lines[-1]), err.lines
        if os.geteuid() == 0:
            assert not [l for l in err.lines if "[error]" in l or "[warn]" in l], err.lines
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
