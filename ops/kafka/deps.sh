#!/bin/sh
# ops/kafka/deps.sh -- installs what ops/kafka/fetch.sh and kafka.sh need and
# only what is missing: a Java runtime of version 17 or later (Kafka 4.x
# brokers need 17) and Maven, from Debian. Like ops/deps.sh: as root it runs
# apt-get; otherwise it prints the exact command to run and fails.
#
#   ops/kafka/deps.sh            check and install
#   ops/kafka/deps.sh --check    only report what is missing (exit 1 if anything is)
#   ops/kafka/deps.sh --java     only Java (what kafka.sh needs once the cache is full)
set -eu

# The major version of the java on PATH, 0 when there is none.
java_major() {
    command -v java >/dev/null 2>&1 || {
        echo 0
        return
    }
    v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)[."].*/\1/p' | head -n 1)
    case "$v" in
    1) echo 8 ;; # "1.8.0_..." is Java 8
    '') echo 0 ;;
    *) echo "$v" ;;
    esac
}

missing=""
what=""
if [ "$(java_major)" -lt 17 ]; then
    missing="$missing default-jre-headless"
    what="$what java>=17"
fi
if [ "${1:-}" != "--java" ] && ! command -v mvn >/dev/null 2>&1; then
    missing="$missing maven"
    what="$what mvn"
fi

[ -z "$missing" ] && exit 0

echo "payworker kafka: missing:$what (Debian packages:$missing)" >&2
[ "${1:-}" = "--check" ] && exit 1

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "payworker kafka: run as root:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
fi
echo "payworker kafka: installing:$missing (this downloads about 100 MB)" >&2
sh -c "$cmd" >&2
if [ "$(java_major)" -lt 17 ]; then
    echo "payworker kafka: $(command -v java || echo java): still not Java 17 or later; install openjdk-17-jre-headless or newer and put it first on PATH" >&2
    exit 1
fi
