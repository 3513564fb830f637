#!/bin/sh
# ops/kafka/fetch.sh -- fetches the Apache Kafka broker pinned in
# ops/kafka/pom.xml (the jars and their dependencies) with Maven into a cache
# outside the repository, once: a complete cache (its stamp file names the
# pom's checksum) is reused without touching the network. Prints the cache
# directory on stdout (the only stdout line); progress goes to stderr.
#
#   ops/kafka/fetch.sh            fetch if needed, print the cache directory
#   ops/kafka/fetch.sh --version  print the pinned Kafka version
#   ops/kafka/fetch.sh --path     print the cache directory, fetch nothing
#
# Environment:
#   PAYW_KAFKA_CACHE          the cache directory (default
#                             ${XDG_CACHE_HOME:-$HOME/.cache}/payworker/kafka-VERSION)
#   PAYW_KAFKA_FETCH_TIMEOUT  seconds Maven may take (default 900)
#   MAVEN_ARGS                extra mvn arguments (e.g. -o, -s settings.xml)
# Java (17 or later) and Maven come from Debian when missing (ops/kafka/deps.sh:
# as root it installs them, otherwise it prints the command and this fails).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
version=$(sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)
[ -n "$version" ] || {
    echo "payworker kafka: no <kafka.version> in $pom" >&2
    exit 1
}
cache=${PAYW_KAFKA_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/payworker/kafka-$version}
stamp="$cache/.payworker-complete"
# what a complete cache was fetched from: the pom's checksum and the version
want="$(cksum <"$pom" | cut -d' ' -f1,2) kafka=$version"

case "${1:-}" in
--version)
    echo "$version"
    exit 0
    ;;
--path)
    echo "$cache"
    exit 0
    ;;
'') ;;
*)
    echo "usage: ops/kafka/fetch.sh [--version|--path]" >&2
    exit 2
    ;;
esac

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$cache"
    exit 0
fi

sh "$here/deps.sh"

# One fetch at a time per cache: a lock directory, waited for with a bound.
mkdir -p "$(dirname "$cache")"
lock="$cache.lock"
waited=0
limit=${PAYW_KAFKA_FETCH_TIMEOUT:-900}
while ! mkdir "$lock" 2>/dev/null; do
    if [ "$waited" -eq 0 ]; then
        echo "payworker kafka: waiting for another fetch into $cache (lock $lock)" >&2
    fi
    waited=$((waited + 1))
    if [ "$waited" -gt "$limit" ]; then
        echo "payworker kafka: $lock still held after ${limit}s; remove it if no fetch is running" >&2
        exit 1
    fi
    sleep 1
done
part="$cache.part.$$"
trap 'rm -rf "$part"; rmdir "$lock" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# the fetch we waited for may have completed the cache
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$cache"
    exit 0
fi

echo "payworker kafka: fetching Apache Kafka $version (org.apache.kafka:kafka_2.13 and its dependencies, about 45 MB, plus Maven's own plugins the first time) from Maven into $cache" >&2
mkdir -p "$part/lib"
start=$(date +%s)
log="$part/mvn.log"
# Maven runs in the background, its log in a file; this loop reports what it
# has downloaded every few seconds (mvn -q would say nothing for a minute).
# shellcheck disable=SC2086 # MAVEN_ARGS is a list of words
timeout "$limit" mvn -B -f "$pom" ${MAVEN_ARGS:-} dependency:copy-dependencies \
    -DoutputDirectory="$part/lib" -Dmdep.includeScope=runtime \
    -DoverWriteIfNewer=true >"$log" 2>&1 &
mvn_pid=$!
trap 'kill "$mvn_pid" 2>/dev/null || true; exit 130' INT
trap 'kill "$mvn_pid" 2>/dev/null || true; exit 143' TERM
# "N files, X MB": Maven logs "Downloaded from central: URL (12 kB at 3 MB/s)"
downloaded() {
    awk '/Downloaded from/ {
        n++
        if (match($0, /\([0-9.]+ (B|kB|MB|GB)/)) {
            split(substr($0, RSTART + 1, RLENGTH - 1), a, " ")
            b += a[1] * (a[2] == "GB" ? 1e9 : a[2] == "MB" ? 1e6 : a[2] == "kB" ? 1e3 : 1)
        }
    }
    END { printf "%d files, %.1f MB", n, b / 1e6 }' "$log"
}
last=""
while kill -0 "$mvn_pid" 2>/dev/null; do
    sleep 3
    d=$(downloaded)
    case "$d" in
    "$last" | "0 files"*) ;;
    *)
        echo "payworker kafka: ... downloaded $d ($(($(date +%s) - start))s)" >&2
        last=$d
        ;;
    esac
done
rc=0
wait "$mvn_pid" || rc=$?
if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ]; then
        echo "payworker kafka: mvn did not finish in ${limit}s (PAYW_KAFKA_FETCH_TIMEOUT)" >&2
    fi
    echo "payworker kafka: mvn failed (exit $rc); the end of its log:" >&2
    grep -E '^\[(ERROR|WARNING)\]' "$log" | tail -n 20 >&2 || tail -n 20 "$log" >&2
    echo "payworker kafka: Maven Central must be reachable (or a mirror in ~/.m2/settings.xml, or MAVEN_ARGS=-o with a filled ~/.m2)" >&2
    exit 1
fi
for jar in "kafka_2.13-$version.jar" "kafka-tools-$version.jar" "kafka-clients-$version.jar"; do
    [ -f "$part/lib/$jar" ] || {
        echo "payworker kafka: mvn succeeded but $jar is missing from $part/lib" >&2
        exit 1
    }
done
n=$(ls "$part/lib" | wc -l)
kib=$(du -sk "$part/lib" | cut -f1)
d=$(downloaded)
echo "$want" >"$part/.payworker-complete"
rm -f "$log"
rm -rf "$cache"
mv "$part" "$cache"
echo "payworker kafka: fetched Kafka $version: $n jars, $((kib / 1024)) MiB in $cache ($(($(date +%s) - start))s; Maven downloaded $d)" >&2
echo "$cache"
