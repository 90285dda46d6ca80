# bench.sh: garcom against nginx on one small static file, on loopback.
# shellcheck shell=bash
#
# Both servers get one worker pinned to CPU 0 (taskset -c 0, master
# included); wrk runs on CPU 1 with one thread. Each server is warmed with
# a 1 s wrk run per scenario, then the measured runs alternate between the
# servers for ROUNDS rounds (the order flips every round so that drift
# in the machine falls on both alike). Before each run the URL must answer
# 200 to curl; after it the server must still be alive with the same
# worker, and wrk's errors (socket errors, non-2xx/3xx) are printed.
#
# Scenarios: "keepalive" (wrk's connections stay open; neither server
# recycles them: garcom requests_per_connection = 0, nginx
# keepalive_requests 100000) and "close" (a new connection per request:
# wrk -H 'Connection: close').
#
# Scenario "proxy": both servers proxy /p/small.html to one shared upstream
# on wrk's CPU. PROXY_UPSTREAM=floor (the default): the floor (below) answers
# with its canned 1 KiB response, so that the upstream costs CPU 1 little
# and the proxies' own cost decides req/s. PROXY_UPSTREAM=nginx: a third
# nginx (its own prefix in the temp dir, one worker, access_log off,
# keepalive_requests 100000, keepalive_timeout 120s) serving the same file
# (it also counts the connections opened to it). Either way with kept-alive upstream connections on both
# sides (garcom: upstream "app" with keepalive = 32; nginx: upstream app
# { keepalive 32; } with proxy_http_version 1.1 and Connection ""). The
# upstream's CPU time is not counted in req per CPU-s; it is printed per
# round. The upstream shares CPU 1 with wrk, so when that CPU is saturated
# req/s is bounded by it for both servers: req per CPU-s is then the
# figure that tells them apart.
#
# Scenarios "keepalive" and "close" also run the floor (bench/floor.c, the
# least an HTTP server can do: one canned 1 KiB response per request head) as
# a third server, so that garcom's CPU time per request can be given as a
# multiple of the floor's measured in the same run.
#
# Per run: req/s, p50 and p99 latency (wrk --latency), the server's CPU time
# (utime + stime of its processes from /proc/PID/stat, over the run) per
# request in µs, its PSS (master + workers, smaps_rollup) after the run, and
# how busy wrk's CPU was (/proc/stat, interrupts included): near 100%, req/s
# is the client's ceiling and CPU µs/req is what tells the servers apart.
#
# After the scenarios, with the same servers still running: memory per idle
# keep-alive connection (bench/idle_memory.py holds IDLE_CONNS connections
# open after one request each against garcom's worker, then nginx's: PSS
# after − before, per connection); then each server is started twice more
# with 4,096 and 16,384 connection slots (nginx: worker_connections; garcom:
# RLIMIT_NOFILE, which sizes its connection table) and the worker's PSS
# difference per slot is what a slot preallocates.
#
# The last table is the issue's (issue 7), each row beside its goal; the
# instruction and system call rows come from `make bench-count`.
#
# Knobs (environment):
#   DURATION=10    seconds per measured run
#   ROUNDS=3       rounds of (garcom, nginx) per scenario
#   CONNS=64       wrk connections
#   FILE_SIZE=1024 bytes of small.html
#   SCENARIOS="keepalive close notfound large proxy"
#                  (large: 1 MiB file, 16 connections; proxy: see above)
#   PROXY_CONNS=32 wrk connections in the proxy scenario (see above)
#   PROXY_UPSTREAM=floor  the proxy scenario's upstream: floor or nginx
#   GARCOM=src/garcom   the binary (copied into the temp dir at the start,
#                       so a rebuild during the run changes nothing)
#   NGINX_BIN=nginx  the nginx binary (not NGINX: nginx reads that variable
#                    as inherited listening sockets)
#   IDLE_CONNS=10000  idle keep-alive connections held (0: skip the memory rows)
#   FLOOR=bench/floor the floor's binary (make bench/floor)
#   KEEP=1         keep the temp dir (logs, configs, raw wrk output)
#
# Traffic goes to 127.0.0.1 only. Every daemon started here is stopped by
# its PID (and its workers by theirs; the proxy upstream too) on exit,
# failure or signal; the temp
# dir is removed unless KEEP=1.
#
# `make bench` runs this with sh: switch to bash for arrays and traps.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u -o pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
FILE_SIZE=${FILE_SIZE:-1024}
SCENARIOS=${SCENARIOS:-keepalive close notfound large proxy}
NGINX_BIN=${NGINX_BIN:-nginx}
KEEP=${KEEP:-0}
IDLE_CONNS=${IDLE_CONNS:-10000}
SERVER_CPU=0
CLIENT_CPU=1

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
GARCOM=${GARCOM:-$top/src/garcom}
FLOOR=${FLOOR:-$top/bench/floor}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() { echo "bench: $*" >&2; exit 1; }
case $IDLE_CONNS in ''|*[!0-9]*) die "IDLE_CONNS must be a number, not '$IDLE_CONNS'" ;; esac
for v in DURATION ROUNDS CONNS FILE_SIZE; do
	case ${!v} in ''|*[!0-9]*) die "$v must be a positive integer, not '${!v}'" ;; esac
	[ "${!v}" -gt 0 ] || die "$v must be > 0"
done
for s in $SCENARIOS; do
	case $s in keepalive|close|notfound|large|proxy) ;; *) die "unknown scenario '$s' (keepalive, close, notfound, large, proxy)" ;; esac
done
# The shared upstream is started only when a proxy scenario is run.
WANT_PROXY=0
case " $SCENARIOS " in *" proxy "*) WANT_PROXY=1 ;; esac
PROXY_UPSTREAM=${PROXY_UPSTREAM:-floor}
# As many client connections as either server keeps idle upstream: with more,
# the answers that complete in one loop turn overflow both pools, and most
# of both servers' CPU goes to the kernel opening and closing upstream
# connections (PROXY_CONNS=64 shows it).
PROXY_CONNS=${PROXY_CONNS:-32}
case $PROXY_UPSTREAM in floor|nginx) ;; *) die "PROXY_UPSTREAM must be floor or nginx, not '$PROXY_UPSTREAM'" ;; esac
for t in wrk curl taskset "$NGINX_BIN"; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (sh tools/deps.sh bench installs it)"
done
[ -x "$GARCOM" ] || die "$GARCOM not built (run make)"
# The floor runs in the keep-alive and close scenarios.
WANT_FLOOR=0
case " $SCENARIOS " in *" keepalive "*|*" close "*) WANT_FLOOR=1 ;; esac
[ "$WANT_PROXY" = 1 ] && [ "$PROXY_UPSTREAM" = floor ] && WANT_FLOOR=1
[ "$WANT_FLOOR" = 0 ] || [ -x "$FLOOR" ] || die "$FLOOR not built (make bench/floor)"
if [ "$IDLE_CONNS" -gt 0 ]; then
	command -v "$PY" >/dev/null 2>&1 || die "python3 not found (sh tools/deps.sh bench installs it)"
	command -v prlimit >/dev/null 2>&1 || die "prlimit not found (util-linux)"
	# Both servers and the client hold IDLE_CONNS descriptors at once.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $(( IDLE_CONNS + 200 )) ] ||
		die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); IDLE_CONNS=$IDLE_CONNS needs $(( IDLE_CONNS + 200 )): raise the hard limit or lower IDLE_CONNS"
fi
# Connection slots for both servers: the idle connections and room to spare.
SLOTS=$(( IDLE_CONNS + 1024 ))
[ "$SLOTS" -ge 4096 ] || SLOTS=4096
[ "$(nproc --all 2>/dev/null || echo 1)" -ge 2 ] || echo "bench: warning: fewer than 2 CPUs; pinning server and client apart is impossible" >&2

# ---- temp dir, cleanup --------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/garcom-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$TMP"
declare -A PID=()     # server name (garcom, nginx, upstream) -> master pid
WRK_PID=
CLEANED=0

children() { # pids of the direct children of $1
	cat "/proc/$1/task/$1/children" 2>/dev/null
}

stop_server() { # name: TERM the master, wait up to 10 s, then KILL it and its workers
	local name=$1 pid=${PID[$1]:-} kids
	[ -n "$pid" ] || return 0
	PID[$name]=
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kids=$(children "$pid")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: $name (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
		kids="$kids $(children "$pid")"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	# Workers must die with their master; any that did not are killed by pid.
	for k in $kids; do
		if kill -0 "$k" 2>/dev/null; then
			echo "bench: $name worker $k outlived its master: SIGKILL" >&2
			kill -KILL "$k" 2>/dev/null
		fi
	done
	return 0
}

cleanup() {
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	if [ -n "$WRK_PID" ]; then kill -TERM "$WRK_PID" 2>/dev/null; wait "$WRK_PID" 2>/dev/null; fi
	stop_server garcom
	stop_server nginx
	stop_server floor
	stop_server slots
	stop_server upstream
	if [ "$KEEP" = 1 ]; then
		echo "bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM HUP

# ---- docroot and configs --------------------------------------------------
mkdir -p "$TMP/www" "$TMP/garcom" "$TMP/nginx/tmp" "$TMP/runs" "$TMP/floor" "$TMP/slots/tmp"
head -c "$FILE_SIZE" /dev/zero | tr '\0' 'x' >"$TMP/www/small.html"
head -c 1048576 /dev/urandom >"$TMP/www/large.bin"
printf '<!doctype html>\n<title>bench</title>\n<p>garcom bench</p>\n' >"$TMP/www/index.html"
chmod 755 "$TMP/www"; chmod 644 "$TMP/www/"*

cp "$GARCOM" "$TMP/garcom/garcom" || die "cannot copy $GARCOM"
G="$TMP/garcom/garcom"
if [ "$WANT_FLOOR" = 1 ]; then cp "$FLOOR" "$TMP/floor/floor" || die "cannot copy $FLOOR"; fi
: >"$TMP/floor/error.log" # the floor logs nothing; run_wrk looks anyway

# A port is busy if any socket uses it, listening or not: the proxy scenario
# leaves thousands of TIME_WAIT connections behind, and nginx cannot bind a
# port one of them holds.
port_busy() { ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
# Ports are drawn below the ephemeral range when there is room, so that the
# connections made during the run cannot take them.
eph_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
case $eph_lo in ''|*[!0-9]*) eph_lo=0 ;; esac
port_span=20000
[ "$eph_lo" -ge 21024 ] && [ $(( eph_lo - 20000 )) -lt $port_span ] && port_span=$(( eph_lo - 20000 ))
pick_port() { # a free loopback port, different from the ones in $*
	local p
	for _ in $(seq 200); do
		p=$(( 20000 + (RANDOM % port_span) ))
		case " $* " in *" $p "*) continue ;; esac
		port_busy "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}
GPORT=$(pick_port) || exit 1
NPORT=$(pick_port "$GPORT") || exit 1
declare -A PORT=([garcom]=$GPORT [nginx]=$NPORT)
if [ "$WANT_FLOOR" = 1 ]; then
	# The floor answers "Connection: close" (and closes) on a port of its own:
	# it does not read headers, and wrk reconnects only when told to.
	PORT[floor]=$(pick_port "$GPORT" "$NPORT") || exit 1
	PORT[floorclose]=$(pick_port "$GPORT" "$NPORT" "${PORT[floor]}") || exit 1
fi
if [ "$WANT_PROXY" = 1 ]; then
	UPORT=$(pick_port "$GPORT" "$NPORT" "${PORT[floor]:-}" "${PORT[floorclose]:-}") || exit 1
	PORT[upstream]=$UPORT
	# The upstream serves the same small.html as /p/small.html: both servers
	# pass the URI unchanged (garcom's proxy = "app", nginx's proxy_pass
	# http://app without a URI).
	mkdir -p "$TMP/upstream/www/p" "$TMP/upstream/tmp"
	cp "$TMP/www/small.html" "$TMP/upstream/www/p/small.html"
	chmod 755 "$TMP/upstream" "$TMP/upstream/www" "$TMP/upstream/www/p"
	chmod 644 "$TMP/upstream/www/p/small.html"
fi

cat >"$TMP/garcom/garcom.conf" <<EOF
workers = 1;
master_process = true;
error_log = "$TMP/garcom/error.log";
log_level = "warn";
timeouts = { keepalive = 120; };
limits = { requests_per_connection = 0; max_connections = $SLOTS; };
servers = (
	{
		listen = "127.0.0.1:$GPORT";
		root = "$TMP/www";
		index = [ "index.html" ];
		access_log = "off";$([ "$WANT_PROXY" = 1 ] && printf '\n\t\tlocations = ( { prefix = "/p/"; proxy = "app"; } );')
	}
);
$([ "$WANT_PROXY" = 1 ] && printf 'upstreams = ( { name = "app"; servers = [ "127.0.0.1:%s" ]; keepalive = 32; } );' "$UPORT")
EOF
"$G" -t -c "$TMP/garcom/garcom.conf" >"$TMP/garcom/test.out" 2>&1 || {
	cat "$TMP/garcom/test.out" >&2; die "garcom rejected its configuration"; }

# Temp paths inside the prefix so nginx touches nothing outside $TMP; only
# for the modules this nginx has.
ngx_v=$("$NGINX_BIN" -V 2>&1)
if [ "$WANT_PROXY" = 1 ]; then
	case $ngx_v in *--without-http_proxy_module*) die "$NGINX_BIN has no proxy module: the proxy scenario needs it" ;; esac
	case $ngx_v in *--without-http_upstream_keepalive_module*) die "$NGINX_BIN has no upstream keepalive module: the proxy scenario needs it" ;; esac
fi
temp_paths_of() { # temp dir
	local m t="client_body_temp_path $1/body;"
	for m in proxy fastcgi uwsgi scgi; do
		case $ngx_v in *"--without-http_${m}_module"*) ;; *) t="$t
	${m}_temp_path $1/$m;" ;; esac
	done
	echo "$t"
}
temp_paths=$(temp_paths_of "$TMP/nginx/tmp")
# As root, nginx would run its worker as nobody; keep it as the same user as
# garcom's worker.
user_line=
[ "$(id -u)" = 0 ] && user_line="user root $(id -gn);"
cat >"$TMP/nginx/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections $SLOTS; }
http {
	types { text/html html; text/css css; }
	default_type application/octet-stream;
	access_log off;
	# garcom logs no line per 404 either: the same work on both sides.
	log_not_found off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 120s;
	keepalive_requests 100000;
	server_tokens off;
	$temp_paths
	server {
		listen 127.0.0.1:$NPORT reuseport;
		root $TMP/www;
		index index.html;$([ "$WANT_PROXY" = 1 ] && printf '\n\t\tlocation /p/ {\n\t\t\tproxy_pass http://app;\n\t\t\tproxy_http_version 1.1;\n\t\t\tproxy_set_header Connection "";\n\t\t}')
	}$([ "$WANT_PROXY" = 1 ] && printf '\n\tupstream app {\n\t\tserver 127.0.0.1:%s;\n\t\tkeepalive 32;\n\t}' "$UPORT")
}
EOF
NGX=(env -u NGINX "$NGINX_BIN" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log")
"${NGX[@]}" -t >"$TMP/nginx/test.out" 2>&1 || {
	cat "$TMP/nginx/test.out" >&2; die "nginx rejected its configuration"; }

# The proxy scenario's shared upstream: a third nginx, one worker, on wrk's
# CPU, with its own prefix, pid file, logs and temp paths.
stub_ok() { case $ngx_v in *--with-http_stub_status_module*) return 0 ;; esac; return 1; }
# Connections the upstream has accepted so far (stub_status), or nothing.
upstream_accepts() {
	[ "$PROXY_UPSTREAM" = nginx ] && stub_ok || return 0
	curl -s -m 5 "http://127.0.0.1:${PORT[upstream]}/upstream_status" 2>/dev/null |
		awk 'NR == 3 && $1 ~ /^[0-9]+$/ { print $1 }'
}
if [ "$WANT_PROXY" = 1 ]; then
	cat >"$TMP/upstream/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $TMP/upstream/nginx.pid;
error_log $TMP/upstream/error.log warn;
events { worker_connections 4096; }
http {
	types { text/html html; text/css css; }
	default_type application/octet-stream;
	access_log off;
	log_not_found off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 120s;
	keepalive_requests 100000;
	server_tokens off;
	$(temp_paths_of "$TMP/upstream/tmp")
	server {
		listen 127.0.0.1:$UPORT;
		root $TMP/upstream/www;$(stub_ok && printf '\n\t\t# Connections accepted: how often the servers under test reconnect.\n\t\tlocation = /upstream_status { stub_status; }')
	}
}
EOF
	NGXU=(env -u NGINX "$NGINX_BIN" -p "$TMP/upstream" -c "$TMP/upstream/nginx.conf" -e "$TMP/upstream/error.log")
	"${NGXU[@]}" -t >"$TMP/upstream/test.out" 2>&1 || {
		cat "$TMP/upstream/test.out" >&2; die "nginx (upstream) rejected its configuration"; }
fi

# ---- servers ------------------------------------------------------------
log_of() { echo "$TMP/$1/error.log"; } # garcom, nginx, upstream

start_server() { # name [scenario whose URL must answer 200]
	local name=$1 scen=${2:-}
	case $name in
	garcom) taskset -c "$SERVER_CPU" "$G" -c "$TMP/garcom/garcom.conf" \
		</dev/null >"$TMP/garcom/stdout" 2>&1 & ;;
	nginx) taskset -c "$SERVER_CPU" "${NGX[@]}" </dev/null >"$TMP/nginx/stdout" 2>&1 & ;;
	# The shared upstream of the proxy scenario runs on wrk's CPU: only the
	# servers under test are on CPU $SERVER_CPU.
	upstream)
		if [ "$PROXY_UPSTREAM" = floor ]; then
			taskset -c "$CLIENT_CPU" "$TMP/floor/floor" "$UPORT" </dev/null >"$TMP/upstream/stdout" 2>&1 &
		else
			taskset -c "$CLIENT_CPU" "${NGXU[@]}" </dev/null >"$TMP/upstream/stdout" 2>&1 &
		fi ;;
	floor) taskset -c "$SERVER_CPU" "$TMP/floor/floor" "${PORT[floor]}" "${PORT[floorclose]}" \
		</dev/null >"$TMP/floor/stdout" 2>&1 & ;;
	esac
	PID[$name]=$!
	for _ in $(seq 100); do
		kill -0 "${PID[$name]}" 2>/dev/null || {
			PID[$name]=
			cat "$TMP/$name/stdout" "$(log_of "$name")" >&2 2>/dev/null
			die "$name exited at start"; }
		[ "$(status_of "$name" "$scen")" = 200 ] && return 0
		sleep 0.1
	done
	die "$name did not answer 200 within 10 s"
}

# CPU time (clock ticks) used so far by the server: master and workers.
cpu_ticks() { # master pid
	local p t=0 v
	for p in "$1" $(children "$1"); do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		t=$(( t + ${v:-0} ))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
# PSS in KiB of one process, or of a master and its workers.
pss_of() { awk '$1 == "Pss:" { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null; }
pss_kib() { # master pid
	local p t=0 v
	for p in "$1" $(children "$1"); do
		v=$(pss_of "$p")
		t=$(( t + ${v:-0} ))
	done
	echo "$t"
}
# user + nice + system ticks of the server's CPU, all processes together.
cpu_busy() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 }' /proc/stat; }
# "busy total" ticks of wrk's CPU: busy counts interrupts too (the kernel's
# loopback receive work runs there in softirq).
client_ticks() { awk -v c="cpu$CLIENT_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# url_of name [scenario]: what each scenario fetches.
url_of() {
	local path=small.html port=${PORT[$1]}
	case ${2:-} in notfound) path=missing.html ;; large) path=large.bin ;; proxy) path=p/small.html ;; esac
	[ "$1" = floor ] && [ "${2:-}" = close ] && port=${PORT[floorclose]}
	echo "http://127.0.0.1:$port/$path"
}
status_of() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$(url_of "$1" "${2:-}")" 2>/dev/null; }
want_status() { [ "$1" = notfound ] && echo 404 || echo 200; }
# The 1 MiB scenario uses 16 connections (throughput, not request rate).
conns_of() { case $1 in large) echo 16 ;; proxy) echo "$PROXY_CONNS" ;; *) echo "$CONNS" ;; esac; }
# The servers of a scenario: the floor only where it does the same work.
servers_of() { case $1 in keepalive|close) echo "garcom nginx floor" ;; *) echo "garcom nginx" ;; esac; }

[ "$WANT_PROXY" = 1 ] && start_server upstream proxy
start_server garcom
start_server nginx
[ "$WANT_FLOOR" = 1 ] && start_server floor

show_log_tail() { # name from_line
	local f; f=$(log_of "$1")
	[ -s "$f" ] || return 0
	local new; new=$(tail -n +"$2" "$f")
	[ -n "$new" ] && { echo "---- $1 error log (new lines) ----"; echo "$new" | tail -n 40; echo "----"; }
	return 0
}

# ---- wrk --------------------------------------------------------------
# run_wrk name scenario seconds outfile: returns non-zero if the server died.
run_wrk() {
	local name=$1 scen=$2 secs=$3 out=$4 code hdr=() kids_before kids_after loglines
	local pid=${PID[$name]}
	code=$(status_of "$name" "$scen")
	if [ "$code" != "$(want_status "$scen")" ]; then
		echo "bench: $name: GET $(url_of "$name" "$scen") answered '$code' before the run" >&2
		return 1
	fi
	[ "$scen" = close ] && hdr=(-H 'Connection: close')
	kids_before=$(children "$pid")
	local t0 b0 c0; t0=$(cpu_ticks "$pid"); b0=$(cpu_busy); c0=$(client_ticks)
	loglines=$(( $(wc -l <"$(log_of "$name")" 2>/dev/null || echo 0) + 1 ))
	# The proxy scenario's upstream: its CPU time (shown, not counted) and log.
	local upid='' u0=0 ulines=1 ukids_before='' a0='' a1=''
	if [ "$scen" = proxy ]; then
		upid=${PID[upstream]:-}
		[ -n "$upid" ] || { echo "bench: the proxy upstream is not running" >&2; return 1; }
		ukids_before=$(children "$upid")
		a0=$(upstream_accepts)
		u0=$(cpu_ticks "$upid")
		ulines=$(( $(wc -l <"$(log_of upstream)" 2>/dev/null || echo 0) + 1 ))
	fi
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$(conns_of "$scen")" -d"${secs}s" --latency "${hdr[@]}" \
		"$(url_of "$name" "$scen")" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID"; local rc=$?
	WRK_PID=
	[ $rc = 0 ] || { echo "bench: wrk exited $rc against $name:" >&2; cat "$out" >&2; }
	kids_after=$(children "$pid")
	local t1 b1 c1; t1=$(cpu_ticks "$pid"); b1=$(cpu_busy); c1=$(client_ticks)
	# How busy wrk's CPU was: near 100%, the client is the ceiling of req/s.
	echo "$c0 $c1" | awk '{ t = $4 - $2; if (t > 0) printf "%.0f\n", 100 * ($3 - $1) / t; else print "nan" }' >"$out.client"
	echo $(( t1 - t0 )) >"$out.cpu"
	pss_kib "$pid" >"$out.pss"
	if [ -n "$upid" ]; then
		echo "$(( $(cpu_ticks "$upid") - u0 ))" | awk -v hz="$HZ" '{ printf "%.2f\n", $1 / hz }' >"$out.upcpu"
		if ! kill -0 "$upid" 2>/dev/null; then
			echo "bench: the proxy upstream (pid $upid) DIED during the run against $name; wrk said:" >&2
			cat "$out" >&2
			show_log_tail upstream "$ulines" >&2
			wait "$upid" 2>/dev/null; PID[upstream]=
			return 1
		fi
		[ "$ukids_before" = "$(children "$upid")" ] || \
			echo "bench: the proxy upstream's worker changed during the run against $name" >&2
		# Upstream connections opened during the run (less the status request's).
		a1=$(upstream_accepts)
		if [ -n "$a0" ] && [ -n "$a1" ]; then echo $(( a1 - a0 - 1 )); else echo nan; fi >"$out.upconns"
	fi
	# CPU time other processes took on the server's CPU during the run.
	echo "$b0 $b1 $t0 $t1" | awk -v hz="$HZ" '{ o = ($2 - $1) - ($4 - $3); if (o < 0) o = 0; printf "%.2f\n", o / hz }' >"$out.load"
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "bench: $name (pid $pid) DIED during the run; wrk said:" >&2
		cat "$out" >&2
		show_log_tail "$name" "$loglines" >&2
		return 1
	fi
	if [ "$kids_before" != "$kids_after" ]; then
		echo "bench: $name's worker changed during the run ($kids_before -> $kids_after): it crashed and was respawned" >&2
		show_log_tail "$name" "$loglines" >&2
	fi
	local errpat=(-e 'Socket errors' -e 'Non-2xx')
	[ "$scen" = notfound ] && errpat=(-e 'Socket errors') # 404 is the point
	if grep -q "${errpat[@]}" "$out"; then
		echo "bench: $name $scen: wrk reported errors:" >&2
		grep -e 'Socket errors' -e 'Non-2xx' -e 'requests in' "$out" | sed 's/^/    /' >&2
		show_log_tail "$name" "$loglines" >&2
		[ -z "$upid" ] || show_log_tail upstream "$ulines" >&2
	fi
	return 0
}

# parse outfile [scenario] ->
#   "rps p50_ms p99_ms errors requests server_cpu_s others_cpu_s pss_kib client_busy_pct"
parse_wrk() {
	awk -v cpu="$(cat "$1.cpu" 2>/dev/null)" -v hz="$HZ" -v load="$(cat "$1.load" 2>/dev/null)" \
		-v client="$(cat "$1.client" 2>/dev/null)" \
		-v pss="$(cat "$1.pss" 2>/dev/null)" \
		-v non2xx_ok="$([ "${2:-}" = notfound ] && echo 1 || echo 0)" '
	function ms(v) {
		if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
		if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
		if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
		if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
		return v + 0
	}
	/^Requests\/sec:/ { rps = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/Socket errors:/ {
		for (i = 1; i <= NF; i++) { v = $i; gsub(/,/, "", v); if (v ~ /^[0-9]+$/) err += v }
	}
	/Non-2xx or 3xx responses:/ { if (!non2xx_ok) err += $NF }
	/ requests in / { reqs = $1 }
	END {
		if (rps == "") rps = "nan"
		if (p50 == "") p50 = "nan"
		if (p99 == "") p99 = "nan"
		if (reqs == "") reqs = 0
		if (load == "") load = "nan"
		if (pss == "") pss = "nan"
		if (client == "") client = "nan"
		printf "%s %.3f %.3f %d %d %.2f %s %s %s\n", rps, p50, p99, err, reqs, cpu / hz, load, pss, client
	}' "$1"
}
FAILED_RUN="nan nan nan 0 0 0 nan nan nan"

us_per_req() { # requests cpu_s -> server CPU µs per request
	awk -v n="$1" -v c="$2" 'BEGIN { if (n + 0 > 0 && c + 0 > 0) printf "%.2f", c * 1e6 / n; else print "nan" }'
}

median() { # numbers on stdin, one a line
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v g="$1" -v n="$2" 'BEGIN {
	if (g == "" || n == "" || g == "nan" || n == "nan" || n + 0 == 0) print "n/a"; else printf "%.2f×", g / n }'; }
num() { # printf format, value: "n/a" for a missing one
	awk -v f="$1" -v v="$2" 'BEGIN { if (v == "" || v == "nan") print "n/a"; else printf f "\n", (v + 0 == 0 ? 0 : v) }'
}

# ---- header ---------------------------------------------------------------
echo "# garcom vs nginx: ${FILE_SIZE}-byte file, wrk -t1 -c$CONNS, ${DURATION}s x $ROUNDS rounds"
echo
echo "- garcom: $("$G" -v 2>&1 | head -1) ($(cd "$top" && git describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "- nginx: $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')"
echo "- wrk: $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo "- kernel $(uname -r), $(nproc --all) CPUs; servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; one worker each"
echo "- floor: bench/floor.c (one canned 1 KiB response per request head), in the keepalive and close scenarios"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg); other work on the machine skews req/s: the per-round"
echo "  table shows the CPU time other processes took on CPU $SERVER_CPU during each run"
if [ "$WANT_PROXY" = 1 ]; then
	echo "- proxy: both servers proxy /p/small.html to one upstream ($PROXY_UPSTREAM, on CPU $CLIENT_CPU with wrk),"
	echo "  upstream keep-alive 32 on both sides; the upstream's CPU time is not counted"
fi
echo

# ---- warm-up ------------------------------------------------------------
failed=0
for scen in $SCENARIOS; do
	for name in $(servers_of "$scen"); do
		run_wrk "$name" "$scen" 1 "$TMP/runs/warmup-$scen-$name.txt" || failed=1
	done
done
[ $failed = 0 ] || die "a server failed during the warm-up"

# ---- measured runs ---------------------------------------------------------
declare -A RES=()   # "scen name round" -> parse_wrk's fields
for scen in $SCENARIOS; do
	for r in $(seq "$ROUNDS"); do
		# The order reverses every round, so drift falls on every server alike.
		order=$(servers_of "$scen")
		[ $((r % 2)) = 1 ] || order=$(echo "$order" | tr ' ' '\n' | tac | tr '\n' ' ')
		for name in $order; do
			out="$TMP/runs/$scen-$name-$r.txt"
			if [ -z "${PID[$name]}" ]; then
				RES["$scen $name $r"]=$FAILED_RUN
				continue
			fi
			if run_wrk "$name" "$scen" "$DURATION" "$out"; then
				RES["$scen $name $r"]=$(parse_wrk "$out" "$scen")
			else
				RES["$scen $name $r"]=$FAILED_RUN
				failed=1
				kill -0 "${PID[$name]}" 2>/dev/null || { wait "${PID[$name]}" 2>/dev/null; PID[$name]=; }
			fi
			set -- ${RES["$scen $name $r"]}
			up=
			[ "$scen" = proxy ] && up="  upstream CPU $(cat "$out.upcpu" 2>/dev/null || echo nan)s, conns opened $(cat "$out.upconns" 2>/dev/null || echo nan)"
			printf 'round %d %-9s %-6s  %10s req/s  p50 %7s ms  p99 %8s ms  errors %s  server CPU %ss (%s µs/req)  others on CPU %s %ss  wrk CPU busy %s%%%s\n' \
				"$r" "$scen" "$name" "$1" "$2" "$3" "$4" "$6" "$(us_per_req "$5" "$6")" "$SERVER_CPU" "$7" "$9" "$up" >&2
		done
	done
done

# ---- idle connections and connection slots -----------------------------------
# Bytes per idle keep-alive connection: IDLE_CONNS connections held open
# after one request each, against the worker of each server in turn (the
# client on wrk's CPU). PSS after − before, per connection.
declare -A IDLE=()   # name -> "pss_bytes_per_conn rss_bytes_per_conn"
worker_of() { # master pid -> its (first) worker, or itself
	local k; k=$(children "$1" | awk '{ print $1 }')
	echo "${k:-$1}"
}
if [ "$IDLE_CONNS" -gt 0 ]; then
	for name in garcom nginx; do
		[ -n "${PID[$name]}" ] || continue
		w=$(worker_of "${PID[$name]}")
		if taskset -c "$CLIENT_CPU" "$PY" "$here/idle_memory.py" --port "${PORT[$name]}" --pid "$w" \
			--path /small.html "$IDLE_CONNS" >"$TMP/runs/idle-$name.txt" 2>&1; then
			IDLE[$name]=$(awk '$1 == "RESULT" { printf "%.0f %.0f\n", ($6 - $5) * 1024 / $2, ($4 - $3) * 1024 / $2 }' "$TMP/runs/idle-$name.txt")
			echo "idle: $name: $(grep '^PSS' "$TMP/runs/idle-$name.txt")" >&2
		else
			echo "bench: idle connections against $name failed:" >&2
			tail -n 5 "$TMP/runs/idle-$name.txt" >&2
			failed=1
		fi
		# The server must have survived holding them.
		kill -0 "${PID[$name]}" 2>/dev/null || { echo "bench: $name died holding idle connections" >&2; failed=1; }
	done
fi

# Memory a connection slot preallocates: each server started twice more,
# with 4,096 and with 16,384 slots, idle after one request; the worker's PSS
# difference per slot. nginx's slots are worker_connections; garcom sizes
# its connection table by RLIMIT_NOFILE (max_connections only caps use).
SLOT_LO=4096
SLOT_HI=16384
declare -A SLOTCOST=()  # name -> bytes per slot
slot_pss() { # name slots -> the worker's PSS (KiB), idle after one request
	local name=$1 slots=$2 port conf cmd=()
	port=$(pick_port "${PORT[@]}") || return 1
	case $name in
	garcom)
		conf="$TMP/slots/garcom-$slots.conf"
		sed -e "s|listen = \"127.0.0.1:$GPORT\"|listen = \"127.0.0.1:$port\"|" \
			-e "s|max_connections = $SLOTS|max_connections = $slots|" \
			-e "s|error_log = \"$TMP/garcom/error.log\"|error_log = \"$TMP/slots/error.log\"|" \
			"$TMP/garcom/garcom.conf" >"$conf"
		cmd=("$G" -c "$conf") ;;
	nginx)
		conf="$TMP/slots/nginx-$slots.conf"
		sed -e "s|listen 127.0.0.1:$NPORT reuseport;|listen 127.0.0.1:$port;|" \
			-e "s|worker_connections $SLOTS;|worker_connections $slots;|" \
			-e "s|$TMP/nginx/nginx.pid|$TMP/slots/nginx.pid|" \
			-e "s|error_log $TMP/nginx/error.log|error_log $TMP/slots/error.log|" \
			"$TMP/nginx/nginx.conf" >"$conf"
		cmd=(env -u NGINX "$NGINX_BIN" -p "$TMP/slots" -c "$conf" -e "$TMP/slots/error.log") ;;
	esac
	taskset -c "$SERVER_CPU" prlimit --nofile="$slots:$slots" "${cmd[@]}" </dev/null >"$TMP/slots/stdout" 2>&1 &
	PID[slots]=$!
	local ok=0
	for _ in $(seq 100); do
		kill -0 "${PID[slots]}" 2>/dev/null || break
		[ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$port/small.html")" = 200 ] && { ok=1; break; }
		sleep 0.1
	done
	sleep 0.3
	local v=''
	[ $ok = 1 ] && v=$(pss_of "$(worker_of "${PID[slots]}")")
	stop_server slots
	[ -n "$v" ] || { echo "bench: $name with $slots slots did not start:" >&2; cat "$TMP/slots/stdout" "$TMP/slots/error.log" >&2 2>/dev/null; return 1; }
	echo "$v"
}
# prlimit sets both limits: above the hard limit only as root.
hard_ok() { [ "$(id -u)" = 0 ] || [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$SLOT_HI" ]; }
[ "$IDLE_CONNS" -gt 0 ] && ! hard_ok &&
	echo "bench: ulimit -Hn $(ulimit -Hn) is below $SLOT_HI: no slot measurement" >&2
if [ "$IDLE_CONNS" -gt 0 ] && hard_ok; then
	for name in garcom nginx; do
		lo=$(slot_pss "$name" "$SLOT_LO") && hi=$(slot_pss "$name" "$SLOT_HI") || { failed=1; continue; }
		SLOTCOST[$name]=$(awk -v a="$lo" -v b="$hi" -v n=$(( SLOT_HI - SLOT_LO )) 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
		echo "slots: $name: worker PSS $lo KiB with $SLOT_LO slots, $hi KiB with $SLOT_HI" >&2
	done
fi

# ---- report -----------------------------------------------------------------
field() { # scen name round index(1-based) -> one of parse_wrk's fields
	local a; read -r -a a <<<"${RES["$1 $2 $3"]}"
	echo "${a[$(( $4 - 1 ))]}"
}
cpu_us_of() { # scen name round
	us_per_req "$(field "$1" "$2" "$3" 5)" "$(field "$1" "$2" "$3" 6)"
}
med_of() { # scen name index -> median over the rounds (failed rounds left out)
	local r
	for r in $(seq "$ROUNDS"); do field "$1" "$2" "$r" "$3"; done | grep -v -e '^nan$' -e '^$' | median
}
med_cpu_us() { # scen name
	local r
	for r in $(seq "$ROUNDS"); do cpu_us_of "$1" "$2" "$r"; echo; done | grep -v -e '^nan$' -e '^$' | median
}

echo "## Per round"
echo
echo "| scenario | server | round | req/s | p50 (ms) | p99 (ms) | errors | requests | server CPU (s) | CPU µs/req | PSS (KiB) | others on server CPU (s) | wrk's CPU busy |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for scen in $SCENARIOS; do
	for name in $(servers_of "$scen"); do
		for r in $(seq "$ROUNDS"); do
			set -- ${RES["$scen $name $r"]}
			echo "| $scen | $name | $r | $1 | $2 | $3 | $4 | $5 | $6 | $(cpu_us_of "$scen" "$name" "$r") | $8 | $7 | $9% |"
		done
	done
done
echo
echo "## Summary (median over $ROUNDS rounds; errors summed)"
echo
echo "CPU µs/req: the server's CPU time (master + worker, user + system) per request: less"
echo "sensitive to other load on the machine than req/s. PSS: master + worker, after the runs."
echo
echo "| scenario | server | req/s | vs nginx | p50 (ms) | p99 (ms) | errors | CPU µs/req | CPU vs floor | PSS (KiB) | wrk's CPU busy |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A MED=() CPU=()
for scen in $SCENARIOS; do
	for name in $(servers_of "$scen"); do
		MED["$scen $name"]=$(med_of "$scen" "$name" 1)
		CPU["$scen $name"]=$(med_cpu_us "$scen" "$name")
	done
	for name in $(servers_of "$scen"); do
		err=$(for r in $(seq "$ROUNDS"); do field "$scen" "$name" "$r" 4; done | awk '{ s += $1 } END { print s + 0 }')
		vsn=; vsf=
		[ "$name" = nginx ] || vsn=$(ratio "${MED["$scen $name"]}" "${MED["$scen nginx"]}")
		[ "$name" = floor ] || [ -z "${CPU["$scen floor"]:-}" ] || vsf=$(ratio "${CPU["$scen $name"]}" "${CPU["$scen floor"]}")
		echo "| $scen | $name | $(num %.0f "${MED["$scen $name"]}") | $vsn | $(num %.2f "$(med_of "$scen" "$name" 2)") | $(num %.2f "$(med_of "$scen" "$name" 3)") | $err | $(num %.2f "${CPU["$scen $name"]}") | $vsf | $(num %.0f "$(med_of "$scen" "$name" 8)") | $(num %.0f%% "$(med_of "$scen" "$name" 9)") |"
	done
done
echo

# The proxy scenario's shared upstream, per round: not part of the comparison
# above, but it shows whether upstream connections are reused (keep-alive)
# and how busy the upstream (on wrk's CPU) was.
if [ "$WANT_PROXY" = 1 ]; then
	echo "## Proxy upstream (per round)"
	echo
	echo "The upstream ($PROXY_UPSTREAM) shares CPU $CLIENT_CPU with wrk. Connections opened: new upstream"
	echo "connections during the run (stub_status accepts; nan with the floor as upstream). Both servers keep at most 32 idle"
	echo "upstream connections; with more wrk connections than that ($(conns_of proxy)), the responses that"
	echo "complete together overflow that pool, the excess is closed and reopened later, so a"
	echo "share of the requests pays for a new upstream connection on both sides."
	echo
	echo "| server | round | requests | upstream CPU (s) | upstream connections opened | requests per upstream connection |"
	echo "|---|---:|---:|---:|---:|---:|"
	for name in garcom nginx; do
		for r in $(seq "$ROUNDS"); do
			reqs=$(field proxy "$name" "$r" 5)
			f="$TMP/runs/proxy-$name-$r.txt"
			uc=$(cat "$f.upconns" 2>/dev/null || echo nan)
			echo "| $name | $r | $reqs | $(cat "$f.upcpu" 2>/dev/null || echo nan) | $uc | $(awk -v n="$reqs" -v c="$uc" 'BEGIN { if (c !~ /^[0-9]+$/) print "n/a"; else if (c + 0 == 0) print "all reused"; else printf "%.1f", n / c }') |"
		done
	done
	echo
fi

# ---- the issue's table ---------------------------------------------------------
want_scen() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }
rps_row() { # label scenario goal
	want_scen "$2" || return 0
	echo "| $1 | $(num %.0f "${MED["$2 nginx"]}") | $(num %.0f "${MED["$2 garcom"]}") | $( [ -n "${MED["$2 floor"]:-}" ] && num %.0f "${MED["$2 floor"]}" || echo —) | $(ratio "${MED["$2 garcom"]}" "${MED["$2 nginx"]}") | $3 |"
}
echo "## Issue 7: this run beside the goals"
echo
echo "| work | nginx | garcom | floor | garcom | goal |"
echo "|---|---:|---:|---:|---:|---|"
if want_scen keepalive; then
	echo "| server CPU µs per small keep-alive request (wrk load) | $(num %.2f "${CPU["keepalive nginx"]}") | $(num %.2f "${CPU["keepalive garcom"]}") | $(num %.2f "${CPU["keepalive floor"]}") | $(ratio "${CPU["keepalive garcom"]}" "${CPU["keepalive floor"]}") the floor | ≤ 1.1× the floor |"
fi
if want_scen close; then
	echo "| server CPU µs per request, new connection each | $(num %.2f "${CPU["close nginx"]}") | $(num %.2f "${CPU["close garcom"]}") | $(num %.2f "${CPU["close floor"]}") | $(ratio "${CPU["close garcom"]}" "${CPU["close floor"]}") the floor | — |"
fi
rps_row "small file, keep-alive, $CONNS conns: req/s (garcom: × nginx)" keepalive "≥ 1.6×"
rps_row "small file, new connection per request: req/s" close "≥ 1.4×"
rps_row "1 MiB file, 16 conns: req/s" large "≥ 3.0×"
rps_row "proxy to a keep-alive upstream: req/s" proxy "≥ 1.3×"
rps_row "404, keep-alive: req/s" notfound "—"
if [ "$IDLE_CONNS" -gt 0 ]; then
	set -- ${IDLE[nginx]:-nan nan}; ni=$1
	set -- ${IDLE[garcom]:-nan nan}; gi=$1
	echo "| memory per idle keep-alive connection ($IDLE_CONNS held; worker PSS after − before, per connection, B) | $(num %.0f "$ni") | $(num %.0f "$gi") | — | $(ratio "$gi" "$ni") nginx | ≤ 512 B |"
	echo "| preallocated per connection slot (worker PSS, $SLOT_HI − $SLOT_LO slots, B) | $(num %.0f "${SLOTCOST[nginx]:-nan}") | $(num %.0f "${SLOTCOST[garcom]:-nan}") | — | | ≤ 431 B |"
fi
echo
echo "Instructions and system calls per request (the issue's other rows): make bench-count."
echo

# Anything the servers logged at warn or above during the whole run.
for name in garcom nginx $([ "$WANT_PROXY" = 1 ] && echo upstream); do
	f=$(log_of "$name")
	if [ -s "$f" ]; then
		echo "## $name error log ($(wc -l <"$f") lines, last 20)"
		echo
		echo '```'
		tail -n 20 "$f"
		echo '```'
	fi
done

[ $failed = 0 ] || { echo "bench: some runs failed (see above)" >&2; exit 1; }
exit 0
