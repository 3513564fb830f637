#!/bin/sh
# tests/run-tests.sh -- runs every unit test binary (tests/test_*) and every
# integration test binary (itests/itest_*) of each build directory given, the
# fault test's quick variant (chaos --quick) on the first build, then
# the first build's unit test binaries again under valgrind, and closes with
# one line "tests: N passed, N failed" (cmocka's per-binary counts added up).
# Integration tests start the build's own programs: PAYW_BUILD_DIR tells them
# which build they belong to.
#
#   sh tests/run-tests.sh build/normal build/asan
#
# A binary that crashes or exits non-zero without a cmocka summary counts as
# one failure; valgrind errors or leaks count as one failure of that binary.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT INT TERM
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# run LABEL CMD...: runs one binary, adds its counts
run() {
    label=$1
    shift
    out="$log_dir/out"
    t0=$(date +%s)
    "$@" >"$out" 2>&1
    rc=$?
    secs=$(($(date +%s) - t0))
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    if [ -z "$p$f" ]; then # not cmocka: a plain "N passed, N failed" closing line
        p=$(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$out" | tail -n 1)
        f=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n 1)
    fi
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed, leaked or died without a summary
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $label (exit $rc, ${secs} s)"
        sed 's/^/    /' "$out" | tail -n 60
    else
        echo "ok   $label: $p passed (${secs} s)"
    fi
}

first=""
for build in "$@"; do
    [ -n "$first" ] || first=$build
    export PAYW_BUILD_DIR="$build"
    for t in "$build"/tests/test_* "$build"/itests/itest_*; do
        [ -x "$t" ] || continue
        run "$t" "$t"
    done
done

# the fault test's quick variant (tests/chaos, <= 2 min), once, on the first
# build: each of its seven checks counts as one test
if [ -n "$first" ] && [ -x "$first/chaos/chaos" ]; then
    run "chaos --quick" env PAYW_BUILD_DIR="$first" "$first/chaos/chaos" --quick
fi

if [ -n "$first" ] && command -v valgrind >/dev/null 2>&1; then
    for t in "$first"/tests/test_*; do
        [ -x "$t" ] || continue
        run "valgrind $t" valgrind -q --error-exitcode=97 --leak-check=full \
            --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect "$t"
    done
else
    echo "FAIL valgrind not installed"
    failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
