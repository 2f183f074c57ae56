#!/usr/bin/env bash
# ./test.sh — install what is missing, build (build/, build-asan/, build-fuzz/), and run:
# unit tests (both builds), integration tests (pytest, both binaries), the NAT matrix
# (tests/nat/run.sh, normal build), fuzz targets
# (FUZZ_SECONDS each, default 10), bench scripts in --quick mode, a soak (SOAK_MINUTES, 2). Ends with the line "N passed, N failed".
# Env: FUZZ_SECONDS, FUZZ_JOBS (fuzz targets at once, default nproc), SKIP_ASAN=1, SKIP_FUZZ=1, PYTEST_ARGS (extra pytest args).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
# shellcheck source=tools/deps.sh
source tools/deps.sh
# shellcheck source=tools/hugepages.sh
source tools/hugepages.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-10}
PY=/usr/bin/python3
LOGDIR=$(mktemp -d /tmp/rtprec-test.XXXXXX)
PASSED=0
FAILED=0
SKIPPED=0
SUMMARY=()

STEP_START=$SECONDS
# note NAME RESULT: a summary line, with the seconds since the previous one
note() {
	SUMMARY+=("$(printf '%-34s %s (%ds)' "$1" "$2" $((SECONDS - STEP_START)))")
	STEP_START=$SECONDS
}

# meson_suite NAME BUILDDIR: run the unit suite, count from meson's summary lines.
meson_suite() {
	local name=$1 dir=$2 log="$LOGDIR/$1.log" ok fail rc=0
	echo "=== $name: meson test -C $dir --suite unit"
	meson test -C "$dir" --suite unit --print-errorlogs 2>&1 | tee "$log" || rc=$?
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -n1)
	fail=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {s+=$NF} END {print s+0}' "$log")
	if [[ -z $ok ]]; then
		# no summary: meson itself failed (build error, no tests): one failure
		ok=0
		fail=$((fail > 0 ? fail : 1))
	fi
	if ((rc != 0 && fail == 0)); then fail=1; fi
	PASSED=$((PASSED + ok))
	FAILED=$((FAILED + fail))
	note "$name" "$ok passed, $fail failed"
}

# pytest_suite NAME BIN [CMD...]: pytest tests against one binary, counted from junit xml;
# CMD (default: pytest on tests/integration with PYTEST_ARGS) gets --junitxml=FILE.
pytest_suite() {
	local name=$1 bin=$2 xml="$LOGDIR/${1// /-}.xml" rc=0 counts p f s cmd
	shift 2
	cmd=("$@")
	# shellcheck disable=SC2206
	((${#cmd[@]})) || cmd=("$PY" -m pytest -p no:cacheprovider -ra tests/integration ${PYTEST_ARGS:-})
	echo "=== $name: ${cmd[*]} (RTPREC_BIN=$bin)"
	RTPREC_BIN="$bin" timeout -k 10 1500 "${cmd[@]}" --junitxml="$xml" || rc=$?
	if [[ -f $xml ]]; then
		counts=$("$PY" - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r.iter("testsuite"))
t = f = s = 0
for x in suites:
    t += int(x.get("tests", 0)); s += int(x.get("skipped", 0))
    f += int(x.get("failures", 0)) + int(x.get("errors", 0))
print(t - f - s, f, s)
PYEOF
		)
		read -r p f s <<<"$counts"
	else
		p=0 f=1 s=0
	fi
	# exit 5 = no tests collected: count it as a failure, never as a silent pass
	if ((rc != 0 && f == 0)); then f=1; fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
	note "$name" "$p passed, $f failed, $s skipped"
}

# fuzz_run PATH: one libFuzzer run on a copy of tests/fuzz/corpus/<name>/; its exit
# status goes to $LOGDIR/fuzz_<name>.rc (runs go in the background, FUZZ_JOBS at a time).
fuzz_run() {
	local exe=$1 name corpus tmp rc=0
	name=$(basename "$exe")
	name=${name#fuzz_}
	corpus="tests/fuzz/corpus/$name"
	tmp=$(mktemp -d "$LOGDIR/corpus-$name.XXXX")
	if [[ -d $corpus ]]; then cp -r "$corpus/." "$tmp/"; fi
	(cd "$LOGDIR" && timeout -k 10 $((FUZZ_SECONDS + 120)) "$ROOT/$exe" \
		-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -rss_limit_mb=4096 \
		"$tmp") >"$LOGDIR/fuzz_$name.log" 2>&1 || rc=$?
	echo "$rc" >"$LOGDIR/fuzz_$name.rc"
}

# fuzz_account NAME: count a finished fuzz_run.
fuzz_account() {
	local name=$1 rc
	rc=$(cat "$LOGDIR/fuzz_$name.rc" 2>/dev/null || echo "no status")
	echo "=== fuzz_$name: ${FUZZ_SECONDS}s"
	tail -n 15 "$LOGDIR/fuzz_$name.log"
	if [[ $rc == 0 ]]; then
		PASSED=$((PASSED + 1))
		note "fuzz_$name" "ok"
	else
		FAILED=$((FAILED + 1))
		note "fuzz_$name" "FAILED (exit $rc, log $LOGDIR/fuzz_$name.log, crash files in $LOGDIR)"
	fi
}

# bench_quick NAME CMD...: a bench script's --quick mode: it must complete with
# consistent counts (its exit status), never a speed.
bench_quick() {
	local name=$1 rc=0
	shift
	echo "=== $name: $*"
	timeout -k 10 300 "$@" >"$LOGDIR/$name.log" 2>&1 || rc=$?
	tail -n 3 "$LOGDIR/$name.log"
	if ((rc == 0)); then
		PASSED=$((PASSED + 1))
		note "$name" "ok"
	else
		FAILED=$((FAILED + 1))
		note "$name" "FAILED (exit $rc, log $LOGDIR/$name.log)"
	fi
}

rtprec_deps
rtprec_hugepages "${RTPREC_HUGEPAGES:-1024}"

build_or_fail() {
	local name=$1
	shift
	echo "=== build $name"
	if ! "$@"; then
		FAILED=$((FAILED + 1))
		note "build $name" "FAILED"
		return 1
	fi
	note "build $name" "ok"
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if build_or_fail build rtprec_build build; then
	meson_suite unit build
	pytest_suite integration build/app/rtprec
	pytest_suite "nat matrix" build/app/rtprec tests/nat/run.sh
	for sc in forward scale record sip ndr rtpengine; do
		bench_quick "bench-$sc" bench/run.sh "$sc" --quick
	done
	bench_quick bench-record-forward env BENCH_RECORD_FORWARD=1 bench/record.sh --quick
	bench_quick bench-gen bench/gen/selftest.sh build
	# the Docker image's runtime stage installs every library ldd finds (docker/README.md)
	bench_quick docker-libs "$PY" docker/check-libs.py build
	bench_quick soak tests/soak.sh "${SOAK_MINUTES:-2}"
fi

if [[ ${SKIP_ASAN:-0} != 1 ]]; then
	if build_or_fail build-asan rtprec_build build-asan \
		-Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1; then
		# LeakSanitizer: DPDK's EAL keeps memory to the end (memzones, hugepage maps,
		# driver lists), so leaks are not checked in the DPDK binaries.
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
			meson_suite unit-asan build-asan
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
			pytest_suite integration-asan build-asan/app/rtprec
	fi
fi

if [[ ${SKIP_FUZZ:-0} != 1 ]]; then
	if build_or_fail build-fuzz env CC=clang bash -c \
		'source tools/deps.sh && rtprec_build build-fuzz -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false'; then
		shopt -s nullglob
		targets=(build-fuzz/tests/fuzz/fuzz_*)
		shopt -u nullglob
		names=()
		for t in "${targets[@]}"; do
			[[ -f $t && -x $t ]] || continue
			names+=("$(basename "$t")")
		done
		n=${#names[@]}
		# FUZZ_JOBS targets at once (default: one per core); each runs FUZZ_SECONDS of wall time
		njobs=${FUZZ_JOBS:-$(nproc)}
		for ((i = 0; i < n; i += njobs)); do
			batch=("${names[@]:i:njobs}")
			for t in "${batch[@]}"; do
				# leaks are checked here: a parser that leaks per input is a bug
				ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1} fuzz_run "build-fuzz/tests/fuzz/$t" &
			done
			wait
			for t in "${batch[@]}"; do fuzz_account "${t#fuzz_}"; done
		done
		if ((n == 0)); then
			FAILED=$((FAILED + 1))
			note "fuzz" "FAILED: no fuzz_* targets built"
		fi
	fi
fi

echo
echo "=== summary (logs in $LOGDIR)"
printf '%s\n' "${SUMMARY[@]}"
echo "skipped: $SKIPPED"
echo "time: $((SECONDS / 60)) min $((SECONDS % 60)) s"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
