#!/bin/sh
# run.sh SECONDS TARGET...: for each target, replay its committed
# regressions (tests/fuzz/regressions/TARGET/*), then fuzz it for SECONDS on
# a scratch copy of its seed corpus (tests/fuzz/corpus/TARGET stays as
# committed). Prints executions and corpus size per target; exits 1 if any
# target crashed, leaked or broke an invariant (the input is kept under
# tests/fuzz/build/run/TARGET/artifacts/).
set -u
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
dir=tests/fuzz
build=$dir/build
failed=
report=
# Leaks that are a library's, not garcom's (see the file).
LSAN_OPTIONS=suppressions=$(pwd)/$dir/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export LSAN_OPTIONS
for t in "$@"; do
	bin=$build/fuzz_$t
	work=$build/run/$t
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	reg=$dir/regressions/$t
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
		if ! "$bin" -runs=1 "$reg"/* >"$work/regressions.log" 2>&1; then
			echo "== $t: a regression input fails again:"
			tail -40 "$work/regressions.log"
			failed="$failed $t"
			continue
		fi
		echo "== $t: $(ls "$reg" | wc -l) regression input(s) pass"
	fi
	cp "$dir/corpus/$t"/* "$work/corpus/"
	seeds=$(ls "$work/corpus" | wc -l)
	"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
	size=$(ls "$work/corpus" | wc -l)
	line="$t: ${execs:-?} executions in ${secs}s, corpus $seeds -> $size inputs"
	echo "== $line"
	report="$report
  $line"
	if [ $rc -ne 0 ]; then
		echo "== $t FAILED (exit $rc):"
		grep -av '^#\|^INFO' "$work/fuzz.log" | tail -60
		ls "$work/artifacts"
		failed="$failed $t"
	fi
done
echo "== fuzz summary:$report"
# The plain closing line CI reads: targets clean and targets that failed.
nfailed=$(echo $failed | wc -w)
echo "fuzz: $(( $# - nfailed )) passed, $nfailed failed"
if [ -n "$failed" ]; then
	echo "== fuzz: FAILED:$failed (inputs in $build/run/*/artifacts)"
	exit 1
fi
