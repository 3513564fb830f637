#!/bin/sh
# check-layers.sh -- make check's layering rules, by folder (see README.md,
# "Where to look"). An arrow never runs back up:
#
#   worker/engine -> worker/{store,io,operations} -> schemas -> libprovider
#   worker/payctl, ops/* (dev tools)  -> worker/{store,io,operations} at most
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
# below the engine: the store, the transports and operations know nothing of it
rule 'worker/store/*.[ch]' 'worker/io/*.[ch]' 'worker/operations/*.[ch]' 'worker/pw_alloc.[ch]' \
    -- worker/engine
# operator and dev tools use the store, transports and operations, never the engine
rule 'worker/payctl.c' 'worker/payctl/*.[ch]' 'ops/*.c' 'ops/*/*.[ch]' -- worker/engine
exit $status
