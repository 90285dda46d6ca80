#!/bin/sh
# deps.sh [build|check|bench|fuzz]: install the Debian packages garcom needs for a
# step (apt-get, when root on Debian or Ubuntu); otherwise print the command.
set -u
what=${1:-build}
pkgs="gcc make pkg-config libc6-dev node-llhttp libconfig-dev libinih-dev"
case $what in
build) ;;
check) pkgs="$pkgs libcmocka-dev python3 python3-pytest curl wrk mandoc valgrind goaccess" ;;
bench) pkgs="$pkgs wrk nginx-light curl util-linux iproute2 valgrind strace python3" ;;
# libFuzzer and the sanitizer runtimes come with clang's compiler-rt.
fuzz) pkgs="$pkgs clang libclang-rt-dev" ;;
*) echo "usage: $0 [build|check|bench|fuzz]" >&2; exit 2 ;;
esac
# Nice to have for `make check`: the aarch64 coroutine test under qemu.
optional=
[ "$what" = check ] && optional="qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross chromium"

command -v dpkg-query >/dev/null 2>&1 || {
	echo "deps: not a Debian system; install the equivalents of: $pkgs" >&2
	exit 0
}
missing() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || printf '%s ' "$p"
	done
}
need=$(missing $pkgs)
want=$(missing $optional)
[ -z "$need$want" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	[ -n "$need" ] && { echo "deps: missing packages; run: sudo apt-get install $need" >&2; exit 1; }
	echo "deps: optional packages missing (aarch64 test): sudo apt-get install $want" >&2
	exit 0
fi
echo "deps: installing $need$want"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
apt-get install -y -qq --no-install-recommends $need || exit 1
# Optional ones may be missing on other releases: never fail the build for them.
[ -n "$want" ] && { apt-get install -y -qq --no-install-recommends $want || echo "deps: could not install $want (the aarch64 and browser tests will be skipped)"; }
exit 0
