#!/bin/sh
# ops/kafka/kafka.sh -- a real Apache Kafka (the version pinned in
# ops/kafka/pom.xml, KRaft) for tests: 1 or 3 combined broker+controller
# nodes on free 127.0.0.1 ports, the payworker topics created, the bootstrap
# list printed, stopped by SIGTERM or SIGINT. A caller sees what ops/devkafka
# shows it:
#   stdout line 1  bootstrap=127.0.0.1:PORT[,127.0.0.1:PORT...]   (flushed once every node is ready)
#   stdout line 2  version=KAFKA_VERSION
#   SIGTERM/SIGINT stops the nodes (SIGTERM, SIGKILL after a bound), removes
#                  the temp dir (unless --keep), exit 0
#   exit 1         start-up failure (the tail of the failing node's log on stderr)
#   exit 2         usage error
# stdin is never read. Everything else (progress, errors) goes to stderr.
#
# ops/kafka/kafka.sh [--nodes 1|3] [--partitions N] [--replication R]
#     [--min-isr M] [--topic NAME[:P]]... [--bootstrap-file PATH] [--dir DIR] [--keep]
# SIGTERM stops it; SIGINT too when it runs in a terminal's foreground (a shell
# started with & from a script inherits SIGINT ignored and cannot trap it).
# (--brokers is --nodes, as devkafka spells it; --opt=value works too.)
#
# Environment: PAYW_KAFKA_CACHE (ops/kafka/fetch.sh), PAYW_KAFKA_START_TIMEOUT
# (seconds for every node to be ready, default 90), PAYW_KAFKA_STOP_TIMEOUT
# (seconds between SIGTERM and SIGKILL, default 5), PAYW_KAFKA_HEAP (-Xmx of
# each node, default 512m), PAYW_KAFKA_JAVA_OPTS (more JVM options per node).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
me="payworker kafka"

usage() {
    cat >&2 <<'USAGE'
usage: ops/kafka/kafka.sh [--nodes N] [--partitions P] [--replication R] [--min-isr M]
                          [--topic NAME[:PARTITIONS]]... [--bootstrap-file PATH]
                          [--dir DIR] [--keep]
  --nodes N          combined broker+controller nodes, 1 or 3 (1..5 work; default 1; --brokers too)
  --partitions P     partitions of each topic created at start (default 6)
  --replication R    replication factor of those topics (default min(3, N))
  --min-isr M        min.insync.replicas, broker-wide (default 1, 2 when R >= 3)
  --topic NAME[:P]   create this topic instead of the four payworker topics (repeatable)
  --bootstrap-file PATH  also write the bootstrap list to PATH (removed at exit)
  --dir DIR          where the temp dir goes (default ${TMPDIR:-/tmp})
  --keep             leave the temp dir (data, logs) at exit
USAGE
}

die_usage() {
    echo "$me: $*" >&2
    echo "$me: ops/kafka/kafka.sh --help lists the options" >&2
    exit 2
}

# A decimal in [lo, hi], or a usage error naming the option.
num() {
    case "$2" in
    '' | *[!0-9]*) die_usage "bad $1 \"$2\": want a number $3..$4" ;;
    esac
    if [ "${#2}" -gt 6 ] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
        die_usage "bad $1 \"$2\": want $3..$4"
    fi
}

topic_ok() {
    case "$1" in
    '' | *[!a-zA-Z0-9._-]*) return 1 ;;
    esac
    [ "${#1}" -le 249 ]
}

nodes=1
partitions=6
replication=""
min_isr=""
topics=""
bfile=""
parent=${TMPDIR:-/tmp}
keep=0
while [ $# -gt 0 ]; do
    opt=$1
    val=""
    hasval=0
    case "$opt" in
    --*=*)
        val=${opt#*=}
        opt=${opt%%=*}
        hasval=1
        ;;
    esac
    case "$opt" in
    --nodes | --brokers | --partitions | --replication | --min-isr | --topic | --bootstrap-file | --dir)
        if [ "$hasval" -eq 0 ]; then
            [ $# -ge 2 ] || die_usage "$opt needs a value"
            val=$2
            shift
        fi
        ;;
    --keep | --help | -h)
        [ "$hasval" -eq 0 ] || die_usage "$opt takes no value"
        ;;
    --control)
        die_usage "--control: real Kafka takes no fault commands (that is ops/devkafka's mock)"
        ;;
    *) die_usage "unknown option \"$opt\"" ;;
    esac
    shift
    case "$opt" in
    --nodes | --brokers)
        num "$opt" "$val" 1 5
        nodes=$val
        ;;
    --partitions)
        num "$opt" "$val" 1 1000
        partitions=$val
        ;;
    --replication)
        num "$opt" "$val" 1 5
        replication=$val
        ;;
    --min-isr)
        num "$opt" "$val" 1 5
        min_isr=$val
        ;;
    --topic)
        name=${val%%:*}
        p=""
        [ "$name" = "$val" ] || p=${val#*:}
        topic_ok "$name" || die_usage "bad topic name \"$name\": want 1..249 of [a-zA-Z0-9._-]"
        [ -z "$p" ] || num "partitions of $name" "$p" 1 1000
        topics="$topics $name:$p"
        ;;
    --bootstrap-file) bfile=$val ;;
    --dir) parent=$val ;;
    --keep) keep=1 ;;
    --help | -h)
        usage
        exit 0
        ;;
    esac
done
[ -n "$replication" ] || replication=$((nodes < 3 ? nodes : 3))
[ "$replication" -le "$nodes" ] || die_usage "--replication $replication: more than the $nodes node(s)"
[ -n "$min_isr" ] || min_isr=$((replication >= 3 ? 2 : 1))
[ "$min_isr" -le "$replication" ] || die_usage "--min-isr $min_isr: more than --replication $replication"
[ -n "$topics" ] || topics="payments.commands: payments.results: payments.balances: payments.commands.dlq:"
internal_rf=$((nodes < 3 ? nodes : 3))
internal_isr=$((internal_rf >= 3 ? 2 : 1))

command -v python3 >/dev/null 2>&1 || {
    echo "$me: python3 is missing (it picks the free ports): run ops/deps.sh" >&2
    exit 1
}
cache=$(sh "$here/fetch.sh")
sh "$here/deps.sh" --java
version=$(sh "$here/fetch.sh" --version)
cp_jars="$cache/lib/*"

# ---- state and clean-up -------------------------------------------------

mkdir -p "$parent"
dir=$(mktemp -d "$parent/payw-kafka.XXXXXX")
pids=""
broker_dump=0
watchdog=""
stopping=0

# Stops every node (SIGTERM, then SIGKILL after the bound) and removes what
# was made; runs once, from the EXIT trap.
cleanup() {
    rc=$?
    trap - EXIT INT TERM
    set +e
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086 # a list of pids
        kill -TERM $pids 2>/dev/null
        bound=${PAYW_KAFKA_STOP_TIMEOUT:-5}
        # writing the brokers' archive (once per cache) takes a few seconds
        [ "$broker_dump" -eq 0 ] || bound=$((bound + 30))
        until=$(($(date +%s) + bound))
        for pid in $pids; do
            while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$until" ]; do
                sleep 0.1
            done
        done
        killed=0
        for pid in $pids; do
            if kill -0 "$pid" 2>/dev/null; then
                echo "$me: node pid $pid still running after ${bound}s: SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null
                killed=1
            fi
            wait "$pid" 2>/dev/null
        done
        # node 1 wrote the brokers' class archive at its exit (first run only)
        if [ -n "${cds:-}" ] && [ -f "$cds/broker.jsa.$$" ]; then
            [ "$killed" -eq 1 ] || cds_keep broker
            rm -f "$cds/broker.jsa.$$"
        fi
    fi
    [ -z "$watchdog" ] || kill "$watchdog" 2>/dev/null
    [ -z "$bfile" ] || [ ! -f "$dir/bootstrap-file-ours" ] || rm -f "$bfile"
    if [ "$keep" -eq 1 ]; then
        echo "$me: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
    if [ "$stopping" -eq 1 ]; then
        exit 0
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'stopping=1; exit 0' INT TERM

fail() {
    echo "$me: $*" >&2
    exit 1
}

# The tail of node N's log on stderr.
log_tail() {
    echo "$me: the end of node $1's log ($dir/node$1/server.log):" >&2
    tail -n "${2:-30}" "$dir/node$1/server.log" >&2 2>/dev/null || true
    if [ -s "$dir/node$1/stdout.log" ]; then
        echo "$me: node $1's stdout/stderr:" >&2
        tail -n 15 "$dir/node$1/stdout.log" >&2
    fi
}

# ---- ports, configuration, storage -------------------------------------

# 2 x nodes distinct free ports on 127.0.0.1 (held together while chosen).
ports=$(python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' $((2 * nodes)))
set -- $ports
i=1
voters=""
bootstrap=""
while [ "$i" -le "$nodes" ]; do
    eval "bport$i=\$1 cport$i=\$2"
    shift 2
    eval "voters=\"\${voters:+\$voters,}$i@127.0.0.1:\$cport$i\""
    eval "bootstrap=\"\${bootstrap:+\$bootstrap,}127.0.0.1:\$bport$i\""
    i=$((i + 1))
done
# a KRaft cluster id: 16 random bytes, base64url without padding, not
# starting with "-" (an option to kafka-storage; Kafka's own random-uuid
# redraws those too)
cluster_id=$(python3 -c '
import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
')

cat >"$dir/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = \${sys:payw.log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF

i=1
while [ "$i" -le "$nodes" ]; do
    eval "bp=\$bport$i cp=\$cport$i"
    mkdir -p "$dir/node$i/data"
    cat >"$dir/node$i/server.properties" <<EOF
# written by ops/kafka/kafka.sh: node $i of $nodes, Kafka $version
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$bp,CONTROLLER://127.0.0.1:$cp
advertised.listeners=PLAINTEXT://127.0.0.1:$bp
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/node$i/data
# topics: those created at start are explicit; a producer's unknown topic
# is created as devkafka's mock does (4 partitions)
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$internal_rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$internal_rf
transaction.state.log.min.isr=$internal_isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$internal_rf
share.coordinator.state.topic.min.isr=$internal_isr
share.coordinator.state.topic.num.partitions=4
group.initial.rebalance.delay.ms=0
# small and short: a test's data
log.segment.bytes=16777216
log.retention.ms=3600000
log.retention.check.interval.ms=60000
log.cleaner.dedupe.buffer.size=8388608
# few threads: tests run on small machines
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
EOF
    i=$((i + 1))
done

# JVM options: small heaps, serial GC (few threads), and only the quick
# compiler (C1): on 2 busy cores 3 nodes start in 20-25 s instead of 30-35 s,
# and a test's traffic never needs C2 (PAYW_KAFKA_JAVA_OPTS=-XX:TieredStopAtLevel=4
# brings it back: the last option wins).
node_opts="-Xms64m -Xmx${PAYW_KAFKA_HEAP:-512m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true ${PAYW_KAFKA_JAVA_OPTS:-}"
tool_opts="-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Djava.awt.headless=true"

# Class-data sharing: the classes a broker and a tool load, archived once
# per cache and Java (the first run writes them at exit; later runs map
# them): a node starts about twice as fast on a small machine.
# PAYW_KAFKA_CDS=0 turns it off.
cds="$cache/cds/$(java -version 2>&1 | head -n 1 | tr -c 'A-Za-z0-9.\n-' _)"
mkdir -p "$cds"
# what a launcher killed while its JVM wrote an archive left behind
find "$cds" -name '*.jsa.*' -mmin +60 -exec rm -f {} + 2>/dev/null || true
# The options that use an archive, or write it at this JVM's exit if absent
# (into a temp name, renamed by cds_keep once complete).
cds_opts() {
    if [ "${PAYW_KAFKA_CDS:-1}" = 0 ]; then
        return
    elif [ -f "$cds/$1.jsa" ]; then
        echo "-XX:SharedArchiveFile=$cds/$1.jsa -Xshare:auto"
    elif [ "${2:-}" = "dump" ]; then
        echo "-XX:ArchiveClassesAtExit=$cds/$1.jsa.$$"
    fi
}
cds_keep() {
    if [ -s "$cds/$1.jsa.$$" ]; then
        mv "$cds/$1.jsa.$$" "$cds/$1.jsa"
    fi
    rm -f "$cds/$1.jsa.$$"
}

# Runs a Kafka tool's main class; its output goes to $dir/tools.log. With
# "dump" first, it may write the tools' archive.
tool() {
    dump=""
    if [ "$1" = "dump" ]; then
        dump=dump
        shift
    fi
    # shellcheck disable=SC2086 # option lists
    java $tool_opts $(cds_opts tools $dump) -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -Dpayw.log="$dir/tools.log" -cp "$cp_jars" "$@" </dev/null >>"$dir/tools.log" 2>&1
}

t0=$(date +%s)
echo "$me: Kafka $version, $nodes node(s), cluster $cluster_id, in $dir" >&2
i=1
fpids=""
while [ "$i" -le "$nodes" ]; do
    tool kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
        -c "$dir/node$i/server.properties" &
    fpids="$fpids $!"
    i=$((i + 1))
done
for pid in $fpids; do
    wait "$pid" || {
        tail -n 20 "$dir/tools.log" >&2
        fail "kafka-storage format failed (above)"
    }
done

# ---- start, wait ----------------------------------------------------------

i=1
while [ "$i" -le "$nodes" ]; do
    # a single node writes the brokers' archive: it stops cleanly (of 3
    # nodes stopping together the last ones wait for a lost quorum and get
    # SIGKILL, which would lose it)
    dump=""
    [ "$nodes" -ne 1 ] || dump=dump
    copts=$(cds_opts broker $dump)
    case "$copts" in
    *ArchiveClassesAtExit*) broker_dump=1 ;;
    esac
    # shellcheck disable=SC2086 # option lists
    java $node_opts $copts -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -Dpayw.log="$dir/node$i/server.log" -cp "$cp_jars" \
        kafka.Kafka "$dir/node$i/server.properties" </dev/null >"$dir/node$i/stdout.log" 2>&1 &
    pids="$pids $!"
    eval "pid$i=\$!"
    i=$((i + 1))
done

# A watchdog: if this shell dies without its traps (SIGKILL), the nodes and
# the temp dir go with it. It holds none of the caller's descriptors.
(
    trap - EXIT INT TERM
    parent_pid=$$
    while kill -0 "$parent_pid" 2>/dev/null; do
        sleep 1
    done
    # shellcheck disable=SC2086 # a list of pids
    kill -KILL $pids 2>/dev/null
    [ -z "$bfile" ] || [ ! -f "$dir/bootstrap-file-ours" ] || rm -f "$bfile"
    [ "$keep" -eq 1 ] || rm -rf "$dir"
) </dev/null >/dev/null 2>&1 &
watchdog=$!

limit=${PAYW_KAFKA_START_TIMEOUT:-90}
deadline=$(($(date +%s) + limit))
i=1
while [ "$i" -le "$nodes" ]; do
    eval "pid=\$pid$i"
    while ! grep -q 'Kafka Server started' "$dir/node$i/server.log" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail "$i"
            fail "node $i exited during start-up"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log_tail "$i"
            fail "node $i not ready after ${limit}s (PAYW_KAFKA_START_TIMEOUT)"
        fi
        sleep 0.2
    done
    i=$((i + 1))
done
t1=$(date +%s)

# ---- topics -----------------------------------------------------------

tpids=""
dump=dump
[ ! -f "$cds/tools.jsa" ] || dump=""
for t in $topics; do
    name=${t%%:*}
    p=${t#*:}
    tool $dump org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
        --topic "$name" --partitions "${p:-$partitions}" --replication-factor "$replication" &
    tpids="$tpids $!"
    dump=""
done
for pid in $tpids; do
    wait "$pid" || {
        tail -n 20 "$dir/tools.log" >&2
        fail "creating the topics failed (above)"
    }
done
[ ! -f "$cds/tools.jsa.$$" ] || cds_keep tools
t2=$(date +%s)

if [ -n "$bfile" ]; then
    echo "$bootstrap" >"$bfile.tmp.$$"
    mv "$bfile.tmp.$$" "$bfile"
    : >"$dir/bootstrap-file-ours"
fi
echo "bootstrap=$bootstrap"
echo "version=$version"
echo "$me: ready in $((t2 - t0))s (nodes $((t1 - t0))s, topics $((t2 - t1))s): $bootstrap" >&2

# ---- foreground until a signal ------------------------------------------

while :; do
    i=1
    while [ "$i" -le "$nodes" ]; do
        eval "pid=\$pid$i"
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail "$i" 15
            fail "node $i (pid $pid) exited"
        fi
        i=$((i + 1))
    done
    sleep 1 </dev/null >/dev/null 2>&1 &
    wait $! || true
done
