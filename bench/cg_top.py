#!/usr/bin/python3
"""Where a request's instructions go: the per-function difference of two
callgrind profiles of the same server, one that served N requests and one
that served 2N, divided by N. Start-up, configuration and shutdown cancel out;
what is left is the cost of one request, function by function.

usage: cg_top.py [--inclusive] [--top K] SHORT.out LONG.out N

Prints a Markdown table of the K functions (default 10) with the most
instructions per request: self cost (the function's own instructions), or
with --inclusive the cost including its callees. Reads the files through
callgrind_annotate (valgrind's own tool), so symbols resolve as it does."""
import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)\s*$")


def costs(path, inclusive):
    """{function: Ir} from callgrind_annotate's listing of every function."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
         "--threshold=100", "--auto=no", path],
        check=True, capture_output=True, text=True).stdout
    table = {}
    started = False
    for line in out.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started or line.startswith("-"):
            continue
        m = LINE.match(line)
        if m:
            name = m.group(2)
            table[name] = table.get(name, 0) + int(m.group(1).replace(",", ""))
    return table


def short(name):
    """"./src/http.c:http_serve [/path/garcom]" -> ("http.c:http_serve", "garcom")."""
    obj = ""
    m = re.match(r"^(.*?)\s+\[(.*)\]$", name)
    if m:
        name, obj = m.group(1), m.group(2).rsplit("/", 1)[-1]
    file, _, fn = name.rpartition(":")
    file = file.rsplit("/", 1)[-1] if file not in ("", "???") else ""
    return (file + ":" + fn if file else fn), obj


def main():
    args = sys.argv[1:]
    inclusive = "--inclusive" in args
    args = [a for a in args if a != "--inclusive"]
    top = 10
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    small, large, n = costs(args[0], inclusive), costs(args[1], inclusive), int(args[2])
    per = {k: (large.get(k, 0) - small.get(k, 0)) / n for k in set(small) | set(large)}
    total = sum(v for v in per.values()) if not inclusive else None
    if inclusive:
        # Every request runs under main and the C start-up: not news.
        skip = re.compile(r"\(below main\)|__libc_start_main|(^|:)0x[0-9a-f]+\s|^\S*:main \[")
        per = {k: v for k, v in per.items() if not skip.search(k)}
    rows = sorted(per.items(), key=lambda kv: -kv[1])[:top]
    kind = "inclusive" if inclusive else "self"
    print("| instructions per request (%s) | %s | function | object |"
          % (kind, "share" if total else "—"))
    print("|---:|---:|---|---|")
    for name, v in rows:
        fn, obj = short(name)
        share = "%.1f%%" % (100.0 * v / total) if total else ""
        print("| {:,.0f} | {} | `{}` | {} |".format(v, share, fn, obj))


if __name__ == "__main__":
    main()
