#!/bin/sh
# check-layers.sh -- make check's layering rules, by folder (see README.md,
# "Where to look"). An arrow never runs back up:
#
#   worker/engine -> worker/{store,io,operations} -> schemas -> libprovider
#   worker/payctl, ops/* (dev tools)  -> worker/{store,io,operations} at most
#   libprovider: adapters/* -> provider.h -> core/ (an adapter never includes
#   another adapter's header)
#
# Each rule: files matching a folder must not include a header from the
# folders named. Prints the offending lines and exits 1.
set -u
cd "$(dirname "$0")/.." || exit 2
status=0

# headers of a set of folders, as an egrep alternation of quoted names
headers_of() {
    for d in "$@"; do
        for h in "$d"/*.h; do
            [ -e "$h" ] && printf '%s\n' "$(basename "$h")"
        done
    done | sed 's/\./\\./g' | paste -sd'|' -
}

# rule FILES_GLOB... -- FOLDERS...: FILES include nothing from FOLDERS
rule() {
    files=""
    while [ "$1" != "--" ]; do
        for f in $1; do [ -e "$f" ] && files="$files $f"; done
        shift
    done
    shift
    what="$*"
    alt=$(headers_of "$@")
    [ -n "$alt" ] && [ -n "$files" ] || return 0
    # shellcheck disable=SC2086
    if grep -nE "#include \"($alt)\"" $files; then
        echo "make check: the files above include a header from $what (layers run one way)" >&2
        status=1
    fi
}

# the library layers
rule 'libprovider/*.[ch]' 'libprovider/*/*.[ch]' -- schemas worker worker/engine worker/store \
    worker/io worker/operations
rule 'schemas/*.[ch]' -- worker worker/engine worker/store worker/io worker/operations
# inside libprovider: core/ is the bottom (domain, errors, money, JSON, the
# HTTP request, UTF-8): it knows neither the interface nor an adapter
rule 'libprovider/core/*.[ch]' -- libprovider libprovider/adapters

# an adapter uses core/ and provider.h, and of adapters/ only its own files
# (pv_isbank.c, pv_isbank_spec.c and pv_isbank_int.h are one adapter's)
adapters_rule() {
    for f in libprovider/adapters/*.[ch]; do
        [ -e "$f" ] || continue
        name=$(basename "$f" | sed -E 's/^pv_([a-z0-9]+).*/\1/')
        grep -n '#include "' "$f" | while IFS= read -r line; do
            h=$(printf '%s\n' "$line" | sed -E 's/.*#include "([^"]+)".*/\1/')
            case "$h" in
            pv_"$name".h | pv_"$name"_*.h) continue ;;
            esac
            if [ -e "libprovider/adapters/$h" ] ||
                { [ -e "libprovider/$h" ] && [ "$h" != provider.h ]; }; then
                printf '%s:%s\n' "$f" "$line"
            fi
        done
    done
}
# and nothing outside adapters/ includes an adapter's header: the interface
# is provider.h
rule 'libprovider/*.[ch]' 'schemas/*.[ch]' 'worker/*.[ch]' 'worker/*/*.[ch]' 'ops/*.c' \
    'ops/*/*.[ch]' -- libprovider/adapters
out=$(adapters_rule)
if [ -n "$out" ]; then
    printf '%s\n' "$out"
    echo "make check: an adapter includes another adapter's header (adapters use core/ and provider.h)" >&2
    status=1
fi

# below the engine: the store, the transports and operations know nothing of it
rule 'worker/store/*.[ch]' 'worker/io/*.[ch]' 'worker/operations/*.[ch]' 'worker/pw_alloc.[ch]' \
    -- worker/engine
# operator and dev tools use the store, transports and operations, never the engine
rule 'worker/payctl.c' 'worker/payctl/*.[ch]' 'ops/*.c' 'ops/*/*.[ch]' -- worker/engine
exit $status
