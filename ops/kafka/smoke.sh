#!/bin/sh
# ops/kafka/smoke.sh -- by hand (not part of make test): real Kafka
# (ops/kafka/kafka.sh) with the project's own librdkafka clients.
#   1. start NODES (default 1) nodes; payctl send the five demo commands and
#      payctl tail them back from payments.commands;
#   2. unless SMOKE_WORKER=0: a private redis-server, provider-sim and one
#      payworker on that Kafka; the worker must answer each command on
#      payments.results;
#   3. stop everything and check that nothing is left: kafka.sh exited 0,
#      its temp dir is gone, no process of ours still runs.
# Needs the C tools built: BUILD (default build/normal) holds worker/payctl,
# worker/payworker and ops/provider-sim.
#
# SMOKE_KEEP=1 keeps its directory (every log) when it passes.
#
#   BUILD=build/h-kafka ops/kafka/smoke.sh        NODES=3 ops/kafka/smoke.sh
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/normal}
NODES=${NODES:-1}
PAYCTL="$BUILD/worker/payctl"
for f in "$PAYCTL" "$BUILD/worker/payworker" "$BUILD/ops/provider-sim"; do
    [ -x "$f" ] || {
        echo "smoke: $f is missing: make all BUILD=$BUILD" >&2
        exit 1
    }
done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/payw-kafka-smoke.XXXXXX")
KPID=""
PIDS=""
ok=0

stop_all() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    PIDS=""
}
finish() {
    rc=$?
    trap - EXIT INT TERM
    stop_all
    if [ -n "$KPID" ]; then
        kill -TERM "$KPID" 2>/dev/null || true
        wait "$KPID" 2>/dev/null || true
    fi
    if [ "$ok" -eq 1 ] && [ "${SMOKE_KEEP:-0}" = 0 ]; then
        rm -rf "$DIR"
    elif [ "$ok" -eq 1 ]; then
        echo "smoke: logs kept in $DIR" >&2
    else
        echo "smoke: FAILED; logs in $DIR" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "smoke: $*" >&2
    exit 1
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_line() { # wait_line FILE SECONDS: its first line, bounded
    i=0
    while [ ! -s "$1" ] && [ $i -lt $(($2 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -s "$1" ] || return 1
    head -n 1 "$1"
}

# ---- 1. Kafka, produce and consume ---------------------------------------
t0=$(date +%s)
ops/kafka/kafka.sh --nodes "$NODES" --dir "$DIR" </dev/null >"$DIR/kafka.out" 2>"$DIR/kafka.log" &
KPID=$!
line=$(wait_line "$DIR/kafka.out" 150) || {
    cat "$DIR/kafka.log" >&2
    fail "kafka.sh printed no bootstrap line in 150 s"
}
case "$line" in
bootstrap=127.0.0.1:*) ;;
*) fail "kafka.sh's first line is \"$line\"" ;;
esac
BOOTSTRAP=${line#bootstrap=}
KDIR=$(sed -n 's/.*, in \(.*\)$/\1/p' "$DIR/kafka.log" | head -n 1)
echo "smoke: Kafka up in $(($(date +%s) - t0))s: $BOOTSTRAP ($(sed -n 2p "$DIR/kafka.out")), $KDIR"

NOW=$(date -u +%Y-%m-%dT%H:%M)
head -n 5 ops/demo/commands.jsonl | sed "s/2026-11-21T10:00/$NOW/" >"$DIR/commands.jsonl"
"$PAYCTL" send -q -b "$BOOTSTRAP" "$DIR/commands.jsonl" 2>"$DIR/send.log" ||
    fail "payctl send failed: $(tail -n 5 "$DIR/send.log")"
"$PAYCTL" tail -b "$BOOTSTRAP" --from-beginning --count 5 --timeout-ms 20000 commands \
    >"$DIR/commands.out" 2>"$DIR/tail.log" ||
    fail "payctl tail commands: $(wc -l <"$DIR/commands.out") of 5; $(tail -n 5 "$DIR/tail.log")"
for id in demo-payofin demo-sipay demo-paywall demo-isbank demo-payone; do
    grep -q "\"command_id\":\"$id\"" "$DIR/commands.out" || fail "$id not read back"
done
echo "smoke: 5 commands produced and consumed back (librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '?'))"

# ---- 2. the worker -------------------------------------------------------
if [ "${SMOKE_WORKER:-1}" != 0 ]; then
    RPORT=$(free_port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
        >"$DIR/redis.log" 2>&1 &
    PIDS="$PIDS $!"
    "$BUILD/ops/provider-sim" --port 0 >"$DIR/sim.out" 2>"$DIR/sim.log" &
    PIDS="$PIDS $!"
    line=$(wait_line "$DIR/sim.out" 30) || fail "provider-sim did not start"
    SIM="http://${line#listening=}"
    i=0
    until redis-cli -p "$RPORT" ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "redis-server did not start"
        sleep 0.1
    done
    export PAYW_BROKERS="$BOOTSTRAP" PAYW_REDIS_URL="redis://127.0.0.1:$RPORT"
    for P in PAYOFIN SIPAY PAYWALL ISBANK PAYONE; do export "PAYW_${P}_URL=$SIM"; done
    export PAYW_PAYOFIN_API_KEY=sim-payofin-api-key PAYW_PAYOFIN_SECRET_KEY=sim-payofin-secret-key
    export PAYW_SIPAY_CLIENT_ID=sim-sipay-client PAYW_SIPAY_CLIENT_SECRET=sim-sipay-secret
    export PAYW_PAYWALL_API_KEY_PUBLIC=sim-paywall-key-public
    export PAYW_PAYWALL_API_CLIENT_PUBLIC=sim-paywall-client-public
    export PAYW_ISBANK_CLIENT_ID=sim-isbank-client PAYW_ISBANK_CLIENT_SECRET=sim-isbank-secret
    export PAYW_PAYONE_MERCHANT_ID=testMercahnt
    export PAYW_PAYONE_AUTHENTICATION_TOKEN=N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm
    PAYW_HTTP_ADDR=127.0.0.1:$(free_port) PAYW_WORKER_ID=smoke-worker "$BUILD/worker/payworker" \
        </dev/null >"$DIR/worker.out" 2>"$DIR/worker.log" &
    PIDS="$! $PIDS"
    t1=$(date +%s)
    # the commands sent above wait in payments.commands for the worker's group
    "$PAYCTL" tail -b "$BOOTSTRAP" --from-beginning --count 5 --timeout-ms 60000 results \
        >"$DIR/results.out" 2>"$DIR/tail-results.log" ||
        fail "payctl tail results: $(wc -l <"$DIR/results.out") of 5 (worker log: $DIR/worker.log)"
    echo "smoke: the worker answered the 5 commands in $(($(date +%s) - t1))s:"
    grep -o '"command_id":"[^"]*"\|"status":"[A-Z_]*"' "$DIR/results.out" | paste - - |
        sed 's/"command_id":"\([^"]*\)"[[:space:]]*"status":"\([A-Z_]*\)"/  \1: \2/' | sort -u
    if grep -q 'level=error' "$DIR/worker.log"; then
        echo "smoke: the worker logged errors:" >&2
        grep 'level=error' "$DIR/worker.log" | head -n 10 >&2
    fi
    stop_all
fi

# ---- 3. stop, nothing left ---------------------------------------------
t2=$(date +%s)
kill -TERM "$KPID"
krc=0
wait "$KPID" || krc=$?
KPID=""
[ "$krc" -eq 0 ] || fail "kafka.sh exited $krc on SIGTERM: $(tail -n 5 "$DIR/kafka.log")"
echo "smoke: Kafka stopped in $(($(date +%s) - t2))s"
[ -n "$KDIR" ] || fail "kafka.sh did not say where its temp dir is"
[ ! -e "$KDIR" ] || fail "$KDIR is still there"
if pgrep -f "$KDIR" >/dev/null 2>&1 || pgrep -f "kafka.sh --nodes $NODES --dir $DIR" >/dev/null 2>&1; then
    fail "processes of ours still run: $(pgrep -af "$KDIR|--dir $DIR")"
fi
echo "smoke: OK (nothing left: no $KDIR, no process)"
ok=1
