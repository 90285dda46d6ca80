# count.sh: instructions and system calls per request (issue 7), counted, not
# timed: garcom, nginx and the floor (bench/floor.c) each serve a fixed number
# of requests from a deterministic client (bench/count_client.py, one request
# in flight) under `valgrind --tool=callgrind` (user-space instructions, Ir)
# and, separately, under `strace -f -c` (system calls).
# shellcheck shell=bash
#
# Every measurement runs the server twice, for N and for 2N requests, and
# takes (count(2N) - count(N)) / N: start-up, configuration, the first
# request's cache fills and shutdown cancel out. The counts are deterministic
# up to a few instructions (timers that fire once a second differ between
# runs), so they do not need the quiet machine that bench.sh does.
#
# Servers: garcom (master_process = false, one worker, access log off),
# Debian's nginx (master_process off, daemon off, one worker, sendfile on,
# access_log off, keepalive_requests high enough; no tcp_nopush, whose two
# setsockopt calls per request the issue's "7 system calls" does not count)
# and the floor (its keep-alive port, and its close port for "close").
#
# Rows (ROWS, default all):
#   keepalive  GET /small.html (FILE_SIZE bytes), N requests on one connection
#   close      N connections, one request each with Connection: close
#   proxy      GET /p/small.html on one connection, garcom and nginx proxying
#              to one shared upstream (a plain nginx, not counted) over
#              kept-alive upstream connections
#   accesslog  keepalive again with the access log on (garcom's default
#              format to a file; nginx's combined to a file): the extra cost
#
# Knobs (environment): N=1000 (requests in the short run), ROWS, FILE_SIZE,
# ONLY (e.g. "garcom": count only these servers; the others' columns stay empty),
# CG_OPTS (more callgrind options, e.g. --dump-instr=yes for callgrind_annotate
# per instruction),
# GARCOM=src/garcom, NGINX_BIN=nginx, FLOOR=bench/floor,
# OUT=bench/out (emptied at the start; keeps the callgrind profiles, the
# strace summaries, the configurations and the servers' logs).
#
# The profiles stay in $OUT, named callgrind.SERVER.VARIANT.MODE.PATH.REQUESTS.out
# (e.g. callgrind.garcom.plain.keepalive._small.html.2000.out; VARIANT "log"
# is the access-log run): callgrind_annotate shows where a whole run's
# instructions go, start-up included; bench/cg_top.py [--inclusive] SHORT LONG N
# differences two runs into one request's, function by function (the tables
# printed at the end).
#
# Traffic goes to 127.0.0.1 only. Every process started here is stopped by
# its PID on exit, failure or signal.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
N=${N:-1000}
ONLY=${ONLY:-}
ROWS=${ROWS:-keepalive close proxy accesslog}
FILE_SIZE=${FILE_SIZE:-1024}
GARCOM=${GARCOM:-$top/src/garcom}
NGINX_BIN=${NGINX_BIN:-nginx}
FLOOR=${FLOOR:-$top/bench/floor}
OUT=${OUT:-$top/bench/out}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
CLIENT=("$PY" "$here/count_client.py")

# nginx reads NGINX as a list of inherited listening sockets.
unset NGINX
die() { echo "count: $*" >&2; exit 1; }
for v in N FILE_SIZE; do
	case ${!v} in ''|*[!0-9]*) die "$v must be a positive integer, not '${!v}'" ;; esac
	[ "${!v}" -gt 0 ] || die "$v must be > 0"
done
for r in $ROWS; do
	case $r in keepalive|close|proxy|accesslog) ;; *) die "unknown row '$r' (keepalive, close, proxy, accesslog)" ;; esac
done
for t in valgrind strace callgrind_annotate ss "$NGINX_BIN" "$PY"; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (sh tools/deps.sh bench installs it)"
done
[ -x "$GARCOM" ] || die "$GARCOM not built (run make)"
[ -x "$FLOOR" ] || die "$FLOOR not built (make bench/floor)"
want() { case " $ROWS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- output dir, cleanup ----------------------------------------------------
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
mkdir -p "$OUT" || die "cannot create $OUT"
# Only what this script writes there, so that a mistaken OUT loses nothing else.
rm -rf "$OUT"/callgrind.* "$OUT"/strace.* "$OUT"/garcom "$OUT"/nginx "$OUT"/upstream "$OUT"/www "$OUT"/run.*
mkdir -p "$OUT/www/p" "$OUT/garcom" "$OUT/nginx/tmp" "$OUT/upstream/tmp"
head -c "$FILE_SIZE" /dev/zero | tr '\0' 'x' >"$OUT/www/small.html"
cp "$OUT/www/small.html" "$OUT/www/p/small.html"
chmod 755 "$OUT" "$OUT/www" "$OUT/www/p"; chmod 644 "$OUT/www/small.html" "$OUT/www/p/small.html"

RUN_PID=       # the tool (valgrind or strace) running the server under test
UPSTREAM_PID=
cleanup() {
	local p
	for p in $RUN_PID $UPSTREAM_PID; do
		kill -0 "$p" 2>/dev/null || continue
		# strace's tracee first: killing strace alone would leave it running.
		for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	RUN_PID=''
	UPSTREAM_PID=''
}
trap cleanup EXIT
trap 'echo "count: interrupted" >&2; exit 130' INT TERM HUP

# ---- ports ------------------------------------------------------------------
port_busy() { ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
eph_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
case $eph_lo in ''|*[!0-9]*) eph_lo=0 ;; esac
port_span=20000
[ "$eph_lo" -ge 21024 ] && [ $(( eph_lo - 20000 )) -lt $port_span ] && port_span=$(( eph_lo - 20000 ))
USED=
pick_port() { # sets PORT to a free loopback port not handed out before
	local p
	for _ in $(seq 200); do
		p=$(( 20000 + (RANDOM % port_span) ))
		case " $USED " in *" $p "*) continue ;; esac
		port_busy "$p" || { USED="$USED $p"; PORT=$p; return 0; }
	done
	die "no free port found"
}
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---- configurations -----------------------------------------------------------
ngx_v=$("$NGINX_BIN" -V 2>&1)
temp_paths_of() { # temp dir: nginx's temp paths inside it, for the modules it has
	local m t="client_body_temp_path $1/body;"
	for m in proxy fastcgi uwsgi scgi; do
		case $ngx_v in *"--without-http_${m}_module"*) ;; *) t="$t
	${m}_temp_path $1/$m;" ;; esac
	done
	echo "$t"
}
user_line=
[ "$(id -u)" = 0 ] && user_line="user root $(id -gn);"

pick_port; UPORT=$PORT
# The shared upstream: a plain nginx, never counted.
cat >"$OUT/upstream/nginx.conf" <<EOF
$user_line
daemon off;
master_process off;
worker_processes 1;
pid $OUT/upstream/nginx.pid;
error_log $OUT/upstream/error.log warn;
events { worker_connections 1024; }
http {
	default_type text/html;
	access_log off;
	sendfile on;
	keepalive_timeout 120s;
	keepalive_requests 1000000;
	$(temp_paths_of "$OUT/upstream/tmp")
	server {
		listen 127.0.0.1:$UPORT;
		root $OUT/www;
	}
}
EOF

garcom_conf() { # file port access_log
	cat >"$1" <<EOF
workers = 1;
master_process = false;
error_log = "$OUT/garcom/error.log";
log_level = "warn";
timeouts = { keepalive = 120; };
limits = { requests_per_connection = 0; };
servers = (
	{
		listen = "127.0.0.1:$2";
		root = "$OUT/www";
		index = [ "index.html" ];
		access_log = "$3";
		locations = ( { prefix = "/p/"; proxy = "app"; } );
	}
);
upstreams = ( { name = "app"; servers = [ "127.0.0.1:$UPORT" ]; keepalive = 32; } );
EOF
	"$GARCOM" -t -c "$1" >"$1.test" 2>&1 || { cat "$1.test" >&2; die "garcom rejected $1"; }
}

nginx_conf() { # file port access_log
	cat >"$1" <<EOF
$user_line
daemon off;
master_process off;
worker_processes 1;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
	types { text/html html; }
	default_type application/octet-stream;
	access_log $3;
	sendfile on;
	keepalive_timeout 120s;
	keepalive_requests 1000000;
	server_tokens off;
	$(temp_paths_of "$OUT/nginx/tmp")
	server {
		listen 127.0.0.1:$2;
		root $OUT/www;
		index index.html;
		location /p/ {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
	upstream app {
		server 127.0.0.1:$UPORT;
		keepalive 32;
	}
}
EOF
	"$NGINX_BIN" -p "$OUT/nginx" -c "$1" -e "$OUT/nginx/error.log" -t >"$1.test" 2>&1 ||
		{ cat "$1.test" >&2; die "nginx rejected $1"; }
}

# server_cmd name variant port [close_port]: the command line (in CMD).
server_cmd() {
	case $1 in
	garcom) CMD=("$GARCOM" -c "$OUT/garcom/$2.conf") ;;
	nginx) CMD=("$NGINX_BIN" -p "$OUT/nginx" -c "$OUT/nginx/$2.conf" -e "$OUT/nginx/error.log") ;;
	floor) CMD=("$FLOOR" "$3" "$4") ;;
	esac
}

# ---- one counted run ------------------------------------------------------------
# measure tool name variant mode path n: sets COUNT (Ir or system calls) and
# writes $OUT/{callgrind,strace}.NAME.VARIANT.MODE.PATH.n.* (see out_of).
# tool: callgrind | strace; variant: plain | log (garcom, nginx); mode: keepalive | close
# Runs in this shell, not in $( ): die and the EXIT trap must see RUN_PID.
out_of() { # tool name variant mode path n
	local tag="$2.$3.$4.$5.$6"
	tag=${tag//\//_}
	case $1 in callgrind) echo "$OUT/callgrind.$tag.out" ;; strace) echo "$OUT/strace.$tag.txt" ;; esac
}
measure() {
	local tool=$1 name=$2 variant=$3 mode=$4 path=$5 n=$6
	local port cport='' tag="$name.$variant.$mode.$path.$n" prog
	tag=${tag//\//_}
	pick_port; port=$PORT
	if [ "$name" = floor ]; then
		pick_port; cport=$PORT
	else
		"${name}_conf" "$OUT/$name/$variant.conf" "$port" "$([ "$variant" = log ] && echo "$OUT/$name/access.log" || echo off)"
	fi
	server_cmd "$name" "$variant" "$port" "$cport"
	local out
	out=$(out_of "$@")
	case $tool in
	callgrind)
		# shellcheck disable=SC2086 # CG_OPTS: several options, split on purpose
		valgrind --tool=callgrind --callgrind-out-file="$out" --log-file="$OUT/run.$tag.valgrind" \
			${CG_OPTS:-} "${CMD[@]}" </dev/null >"$OUT/run.$tag.stdout" 2>&1 &
		;;
	strace)
		strace -f -c -o "$out" "${CMD[@]}" </dev/null >"$OUT/run.$tag.stdout" 2>&1 &
		;;
	esac
	RUN_PID=$!
	for _ in $(seq 300); do
		listening "$port" && break
		kill -0 "$RUN_PID" 2>/dev/null || { cat "$OUT/run.$tag."* >&2; die "$name exited at start ($tool)"; }
		sleep 0.1
	done
	listening "$port" || die "$name did not listen on $port within 30 s ($tool)"
	local cp=$port
	[ "$mode" = close ] && [ -n "$cport" ] && cp=$cport
	if ! "${CLIENT[@]}" "$cp" "$path" "$mode" "$n" 2>"$OUT/run.$tag.client"; then
		cat "$OUT/run.$tag.client" >&2
		die "$name: the client failed ($tool, $mode $path, $n requests)"
	fi
	# Stop the server itself: under strace that is strace's child (a TERM to
	# strace would detach and leave it running); valgrind runs it in its pid.
	prog=$RUN_PID
	[ "$tool" = strace ] && prog=$(cat "/proc/$RUN_PID/task/$RUN_PID/children" 2>/dev/null | awk '{ print $1 }')
	[ -n "$prog" ] && kill -TERM "$prog" 2>/dev/null
	for _ in $(seq 300); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$RUN_PID" 2>/dev/null && { echo "count: $name ignored SIGTERM for 30 s: SIGKILL" >&2; cleanup; }
	wait "$RUN_PID" 2>/dev/null
	RUN_PID=
	if [ "$tool" = callgrind ]; then
		grep -q 'switching stacks' "$OUT/run.$tag.valgrind" 2>/dev/null &&
			echo "count: valgrind warns about stack switching in $name ($OUT/run.$tag.valgrind)" >&2
		COUNT=$(awk '/^summary:/ { print $2; found = 1 } END { if (!found) print "nan" }' "$out")
	else
		# % time, seconds, usecs/call, calls, [errors,] syscall
		COUNT=$(awk '$NF == "total" { print $4; found = 1 } END { if (!found) print "nan" }' "$out")
	fi
}

# per_request tool name variant mode path: sets PER to (count(2N) - count(N)) / N
per_request() {
	local a
	measure "$@" "$N"; a=$COUNT
	measure "$@" $(( 2 * N ))
	PER=$(echo "$a $COUNT" | awk -v n="$N" '{ if ($1 == "nan" || $2 == "nan") print "nan"; else printf "%.2f\n", ($2 - $1) / n }')
}

if want proxy; then
	"$NGINX_BIN" -p "$OUT/upstream" -c "$OUT/upstream/nginx.conf" -e "$OUT/upstream/error.log" \
		</dev/null >"$OUT/upstream/stdout" 2>&1 &
	UPSTREAM_PID=$!
	for _ in $(seq 100); do listening "$UPORT" && break; sleep 0.1; done
	listening "$UPORT" || die "the upstream nginx did not start (see $OUT/upstream/)"
fi

row_args() { # row: sets SERVERS VARIANT MODE URLPATH
	case $1 in
	keepalive) SERVERS="garcom nginx floor"; VARIANT=plain; MODE=keepalive; URLPATH=/small.html ;;
	close) SERVERS="garcom nginx floor"; VARIANT=plain; MODE=close; URLPATH=/small.html ;;
	proxy) SERVERS="garcom nginx"; VARIANT=plain; MODE=keepalive; URLPATH=/p/small.html ;;
	accesslog) SERVERS="garcom nginx"; VARIANT=log; MODE=keepalive; URLPATH=/small.html ;;
	esac
	if [ -n "$ONLY" ]; then # keep the servers ONLY names
		local s kept=""
		for s in $SERVERS; do case " $ONLY " in *" $s "*) kept="$kept $s" ;; esac; done
		SERVERS=${kept# }
	fi
}

# ---- the counts ---------------------------------------------------------------
declare -A R=()   # "row name" -> per-request figure
progress() { echo "count: $*" >&2; }
for row in $ROWS; do
	row_args "$row"
	for name in $SERVERS; do
		progress "$row: $name under callgrind ($N and $(( 2 * N )) requests)"
		per_request callgrind "$name" "$VARIANT" "$MODE" "$URLPATH"
		R["$row.ir $name"]=$PER
		progress "$row: $name under strace"
		per_request strace "$name" "$VARIANT" "$MODE" "$URLPATH"
		R["$row.sys $name"]=$PER
	done
done

# ---- report -----------------------------------------------------------------------
fmt() { # number -> 1,234 (or 3.1 for small ones)
	awk -v v="$1" 'BEGIN {
		if (v == "" || v == "nan") { print "—"; exit }
		if (v < 100 && v > -100) { printf "%.1f\n", v; exit }
		s = sprintf("%.0f", v); neg = s ~ /^-/; sub(/^-/, "", s); o = ""
		while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
		print (neg ? "-" : "") s o }'
}
times() { awk -v g="$1" -v f="$2" 'BEGIN { if (g == "" || f == "" || g == "nan" || f == "nan" || f + 0 == 0) print "—"; else printf "%.2f×\n", g / f }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan") print "nan"; else printf "%.2f\n", a - b }'; }
plus() { case $1 in —|-*) echo "$1" ;; *) echo "+$1" ;; esac; }

echo "# Instructions and system calls per request (callgrind, strace -c)"
echo
echo "- garcom: $("$GARCOM" -v 2>&1 | head -1) ($(cd "$top" && git describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "- nginx: $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //'); $(valgrind --version); strace $(strace -V | awk 'NR == 1 { print $NF }')"
echo "- each figure: (count for $(( 2 * N )) requests − count for $N) / $N; one request in flight; ${FILE_SIZE}-byte file"
echo "- instructions: user space only (callgrind Ir: the server's code and its libraries, no kernel)"
echo
echo "| per request | garcom | nginx | floor | garcom / floor | goal |"
echo "|---|---:|---:|---:|---:|---|"
row_line() { # label key goal [floor]
	local g=${R["$2 garcom"]:-} x=${R["$2 nginx"]:-} f=${R["$2 floor"]:-}
	echo "| $1 | $(fmt "$g") | $(fmt "$x") | $(fmt "$f") | $(times "$g" "$f") | $3 |"
}
if want keepalive; then
	row_line "user-space instructions, keep-alive, ${FILE_SIZE} B file" keepalive.ir "≤ 1,500"
	row_line "system calls, keep-alive" keepalive.sys "≤ 3"
fi
if want close; then
	row_line "instructions, new connection (accept … close)" close.ir "≤ 3,000"
	row_line "system calls, new connection" close.sys "—"
fi
if want proxy; then
	row_line "instructions, proxied keep-alive (upstream not counted)" proxy.ir "≤ 6,000"
	row_line "system calls, proxied keep-alive" proxy.sys "—"
fi
if want accesslog && want keepalive; then
	for s in garcom nginx; do
		R["logir $s"]=$(minus "${R["accesslog.ir $s"]}" "${R["keepalive.ir $s"]}")
		R["logsys $s"]=$(minus "${R["accesslog.sys $s"]}" "${R["keepalive.sys $s"]}")
	done
	echo "| access log on: extra instructions | $(plus "$(fmt "${R["logir garcom"]}")") | $(plus "$(fmt "${R["logir nginx"]}")") | — | — | ≤ +800 |"
	echo "| access log on: extra system calls | $(plus "$(fmt "${R["logsys garcom"]}")") | $(plus "$(fmt "${R["logsys nginx"]}")") | — | — | none (+0) |"
elif want accesslog; then
	row_line "instructions, keep-alive, access log on" accesslog.ir "keepalive + 800"
	row_line "system calls, keep-alive, access log on" accesslog.sys "keepalive + 0"
fi
echo

# System calls by name, per request: what the totals above are made of.
syscalls_of() { # name variant mode path
	local a b
	a=$(out_of strace "$@" "$N"); b=$(out_of strace "$@" $(( 2 * N )))
	[ -s "$a" ] && [ -s "$b" ] || return 0
	awk -v n="$N" '
	FNR == 1 { file++ }
	$1 ~ /^[0-9.]+$/ && $NF != "total" && NF >= 5 { c[$NF, file] = $4; names[$NF] = 1 }
	END {
		o = ""
		for (s in names) {
			d = (c[s, 2] - c[s, 1]) / n
			if (d >= 0.01 || d <= -0.01) o = o sprintf("%s %.2f, ", s, d)
		}
		sub(/, $/, "", o); print o
	}' "$a" "$b"
}
echo "System calls per request by name (strace -c, differenced):"
echo
for row in $ROWS; do
	row_args "$row"
	for name in $SERVERS; do
		echo "- $row, $name: $(syscalls_of "$name" "$VARIANT" "$MODE" "$URLPATH")"
	done
done
echo

for row in keepalive proxy; do
	want "$row" || continue
	row_args "$row"
	a=$(out_of callgrind garcom "$VARIANT" "$MODE" "$URLPATH" "$N")
	b=$(out_of callgrind garcom "$VARIANT" "$MODE" "$URLPATH" $(( 2 * N )))
	[ -s "$a" ] && [ -s "$b" ] || continue
	echo "## garcom, $row: the top 10 functions per request (self instructions)"
	echo
	"$PY" "$here/cg_top.py" "$a" "$b" "$N"
	echo
done
# Valgrind 3.19 does not know openat2 (syscall 437): garcom then opens files
# with its component walk, which only a cache miss (the first request) pays.
if grep -qs 'unhandled amd64-linux syscall: 437' "$OUT"/run.garcom.*.valgrind; then
	echo "Note: this valgrind does not know openat2, so under callgrind garcom opened files"
	echo "with its fallback walk; the per-request figures above hit the open-file cache."
	echo
fi
echo "Profiles kept in $OUT: callgrind_annotate FILE (or kcachegrind) shows a whole"
echo "run, start-up included; $PY bench/cg_top.py [--inclusive] SHORT LONG $N shows one request."
