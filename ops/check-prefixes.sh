#!/bin/sh
# check-prefixes.sh -- every function defined in a source file starts with the
# file's name (redis's rule: pw_http.c holds pw_http_*, pv_money.c
# pv_money_*); main() is the one exception. Files under tests/ are exempt.
# With arguments, checks those files; otherwise every tracked .c outside tests/.
# Prints "file:line: name" for each stray function and exits 1 if any.
set -u
cd "$(dirname "$0")/.." || exit 2
if [ $# -gt 0 ]; then
    files="$*"
else
    files=$(git ls-files '*.c' | grep -v '^tests/')
fi
status=0
for f in $files; do
    stem=$(basename "$f" .c | tr '-' '_')
    # a definition starts at column 0 with a type, has a '(' and no ';' on its
    # first line; the name is the word before the '('
    out=$(awk -v stem="$stem" -v file="$f" '
        /^[A-Za-z_]/ && /\(/ && !/;[[:space:]]*$/ && !/^(typedef|struct [A-Za-z_0-9]+ *\{|enum|union|#)/ {
            line = $0
            sub(/\(.*/, "", line)
            n = split(line, w, /[ *]+/)
            name = w[n]
            if (name == "" || name == "main" || line ~ /=/) next
            if (index(name, stem) != 1) printf "%s:%d: %s\n", file, NR, name
        }' "$f")
    if [ -n "$out" ]; then
        printf '%s\n' "$out"
        status=1
    fi
done
exit $status
