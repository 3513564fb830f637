#!/bin/sh
# ops/deps.sh -- installs the Debian packages payworker needs to build, test and
# run, and only those that are missing. As root it runs apt-get; otherwise it
# prints the exact command to run and fails.
#
#   ops/deps.sh            check and install everything
#   ops/deps.sh --check    only report what is missing (exit 1 if anything is)
set -eu

PKGS="gcc make pkg-config libc6-dev
libjson-c-dev libcmocka-dev librdkafka-dev libcurl4-openssl-dev libavro-dev
libhiredis-dev libevent-dev
redis-server valgrind clang clang-format libclang-rt-14-dev
curl ca-certificates python3 gnuplot-nox docker-compose"

missing=""
for p in $PKGS; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

echo "payworker: missing Debian packages:$missing" >&2
[ "${1:-}" = "--check" ] && exit 1

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "payworker: run as root:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
fi
echo "payworker: installing:$missing" >&2
sh -c "$cmd" >&2
