#!/bin/sh
# check-sizes.sh -- no source file outside tests/ over 900 lines, no test
# source over 1,200 (a file that grows past it is two subjects: split it by
# its sections, as ops/provider-sim/ and worker/store/ are). Prints each
# file over its limit and exits 1 if any.
set -u
cd "$(dirname "$0")/.." || exit 2
status=0
for f in $(git ls-files '*.c' '*.h' '*.lua'); do
    case $f in
    tests/*) max=1200 ;;
    *) max=900 ;;
    esac
    n=$(wc -l <"$f")
    if [ "$n" -gt "$max" ]; then
        echo "$f: $n lines (at most $max)"
        status=1
    fi
done
[ $status -eq 0 ] || echo "make check: files over their size limit (see above)" >&2
exit $status
