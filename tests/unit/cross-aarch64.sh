#!/bin/sh
# cross-aarch64.sh: builds tests/unit/coro_cross.c with src/coro_aarch64.S for
# aarch64 and runs it under qemu-user, so the aarch64 context switch is tested
# on an x86-64 machine. --native builds and runs the same file for this host.
# Exit status: the test's own, or 0 with a "skipped" line if the tools are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1

skip() {
	echo "aarch64 coroutine test: skipped ($1; apt-get install qemu-user gcc-aarch64-linux-gnu)"
	exit 0
}

# build CC ARCH.S EXTRA-FLAGS...: compiles the test into $tmp/coro_cross. CC is
# left unquoted on purpose: it may be a command with flags ("ccache gcc").
build() {
	bcc=$1 arch_s=$2
	shift 2
	# shellcheck disable=SC2086
	$bcc -std=gnu11 -Wall -Wextra -O2 "$@" -I"$top/src" \
		"$top/tests/unit/coro_cross.c" "$top/src/coro.c" "$arch_s" \
		-o "$tmp/coro_cross"
}

if [ "${1:-}" = "--native" ]; then
	case $(uname -m) in
	x86_64) arch_s=$top/src/coro_x86_64.S ;;
	aarch64 | arm64) arch_s=$top/src/coro_aarch64.S ;;
	*)
		echo "cross-aarch64.sh: no context switch for $(uname -m)" >&2
		exit 1
		;;
	esac
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--native]" >&2
	exit 2
else
	command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || skip "no aarch64-linux-gnu-gcc"
	qemu=
	for q in qemu-aarch64 qemu-aarch64-static; do
		if command -v "$q" >/dev/null 2>&1; then
			qemu=$q
			break
		fi
	done
	[ -n "$qemu" ] || skip "no qemu-aarch64"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coro-cross.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ "${1:-}" = "--native" ]; then
	build "${CC:-cc}" "$arch_s" || exit 1
	"$tmp/coro_cross"
else
	# Static, so qemu needs no aarch64 sysroot to find the C library.
	build aarch64-linux-gnu-gcc "$top/src/coro_aarch64.S" -static || exit 1
	"$qemu" "$tmp/coro_cross"
fi
