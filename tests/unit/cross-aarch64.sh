#!/bin/sh
# cross-aarch64.sh: builds tests/unit/coro_cross.c with src/coro_aarch64.S for
# aarch64 and runs it under qemu-user, so the aarch64 context switch is tested
# on an x86-64 machine. --native builds and runs the same file for this host.
# Exit status: the test's own, or 0 with a "skipped" line if the tools are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cflags="-std=gnu11 -Wall -Wextra -O2"
srcs="$top/tests/unit/coro_cross.c $top/src/coro.c"

skip() {
	echo "aarch64 coroutine test: skipped ($1; apt-get install qemu-user gcc-aarch64-linux-gnu)"
	exit 0
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coro-cross.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ "${1:-}" = "--native" ]; then
	case $(uname -m) in
	x86_64) arch_s=$top/src/coro_x86_64.S ;;
	aarch64) arch_s=$top/src/coro_aarch64.S ;;
	*) echo "cross-aarch64.sh: no context switch for $(uname -m)" >&2; exit 1 ;;
	esac
	${CC:-cc} $cflags -I"$top/src" $srcs "$arch_s" -o "$tmp/coro_cross" || exit 1
	"$tmp/coro_cross"
	exit $?
fi

cc=aarch64-linux-gnu-gcc
command -v "$cc" >/dev/null 2>&1 || skip "no $cc"
qemu=
for q in qemu-aarch64 qemu-aarch64-static; do
	if command -v "$q" >/dev/null 2>&1; then
		qemu=$q
		break
	fi
done
[ -n "$qemu" ] || skip "no qemu-aarch64"

# Static, so qemu needs no aarch64 sysroot to find the C library.
$cc $cflags -static -I"$top/src" $srcs "$top/src/coro_aarch64.S" -o "$tmp/coro_cross" || exit 1
"$qemu" "$tmp/coro_cross"
