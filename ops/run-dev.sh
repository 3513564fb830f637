#!/bin/sh
# ops/run-dev.sh -- `make run`: payworker on its embedded dev stack.
#
# Starts, on free 127.0.0.1 ports: a private redis-server, devkafka (one
# broker, the four topics), provider-sim (the five providers) and two
# payworker processes in one consumer group; sends a demo batch (the five
# providers, a second command for an invoice already being paid, and a
# malformed command); prints the result events as they arrive and a summary;
# then keeps the stack up until Ctrl-C and says how to send more.
# Everything lives in a temporary directory, kept at exit with the logs it
# advertises (each process's log, the demo's results); its path is printed.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/normal}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/payworker-dev-XXXXXX")
PIDS=""

stop() {
    trap - EXIT INT TERM
    echo
    echo "stopping: workers drain first"
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    echo "logs kept in $DIR (remove it when done)"
    exit 0
}
trap stop EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_file() { # wait_file FILE SECONDS
    i=0
    while [ ! -s "$1" ] && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$1" ] || { echo "run: $1 did not appear; logs in $DIR" >&2; trap - EXIT; exit 1; }
}

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no >"$DIR/redis.log" 2>&1 &
PIDS="$PIDS $!"
"$BUILD/ops/devkafka" --brokers 1 --bootstrap-file "$DIR/bootstrap" </dev/null \
    >"$DIR/devkafka.out" 2>"$DIR/devkafka.log" &
PIDS="$PIDS $!"
"$BUILD/ops/provider-sim" --port 0 >"$DIR/sim.out" 2>"$DIR/sim.log" &
PIDS="$PIDS $!"
wait_file "$DIR/bootstrap" 30
wait_file "$DIR/sim.out" 30
BOOTSTRAP=$(cat "$DIR/bootstrap")
SIM="http://$(head -n 1 "$DIR/sim.out" | sed 's/^listening=//')"

export PAYW_BROKERS="$BOOTSTRAP" PAYW_REDIS_URL="redis://127.0.0.1:$RPORT"
# devkafka (librdkafka 2.0.2's mock cluster) mishandles cooperative-sticky
# rebalances of two members joining at once: one member can stay without
# partitions and the assignor asserts at exit (seen in make run and in the
# fault test). The dev stack's workers use the eager roundrobin assignor;
# the worker's default stays cooperative-sticky for a real broker.
export PAYW_KAFKA_PARTITION_ASSIGNMENT_STRATEGY=roundrobin
for P in PAYOFIN SIPAY PAYWALL ISBANK PAYONE; do export "PAYW_${P}_URL=$SIM"; done
# provider-sim's default credentials (ops/README.md)
export PAYW_PAYOFIN_API_KEY=sim-payofin-api-key PAYW_PAYOFIN_SECRET_KEY=sim-payofin-secret-key
export PAYW_SIPAY_CLIENT_ID=sim-sipay-client PAYW_SIPAY_CLIENT_SECRET=sim-sipay-secret
export PAYW_PAYWALL_API_KEY_PUBLIC=sim-paywall-key-public
export PAYW_PAYWALL_API_CLIENT_PUBLIC=sim-paywall-client-public
export PAYW_ISBANK_CLIENT_ID=sim-isbank-client PAYW_ISBANK_CLIENT_SECRET=sim-isbank-secret
export PAYW_PAYONE_MERCHANT_ID=testMercahnt
export PAYW_PAYONE_AUTHENTICATION_TOKEN=N2FiZDRmYTQzNDUzOGM0YTI4N2I5YmZm

M1=$(free_port)
M2=$(free_port)
PAYW_HTTP_ADDR=127.0.0.1:$M1 PAYW_WORKER_ID=dev-worker-1 "$BUILD/worker/payworker" \
    2>"$DIR/worker-1.log" &
PIDS="$! $PIDS"
PAYW_HTTP_ADDR=127.0.0.1:$M2 PAYW_WORKER_ID=dev-worker-2 "$BUILD/worker/payworker" \
    2>"$DIR/worker-2.log" &
PIDS="$! $PIDS"

cat <<MSG
payworker dev stack
  kafka (devkafka)   $BOOTSTRAP
  redis              redis://127.0.0.1:$RPORT
  providers (sim)    $SIM   (try $SIM/_sim/ledger)
  workers            metrics http://127.0.0.1:$M1/metrics  http://127.0.0.1:$M2/metrics
  logs               $DIR

sending the demo batch (ops/demo/commands.jsonl): the five providers, a second
command for the Payofin invoice, and a malformed command
MSG
# stamped with today's date: a command older than the store's retention
# (PAYW_RETENTION_S, 7 days) is refused unjudged
NOW=$(date -u +%Y-%m-%dT%H:%M)
sed "s/2026-11-21T10:00/$NOW/" ops/demo/commands.jsonl >"$DIR/commands.jsonl"
"$BUILD/worker/payctl" send --raw -q -b "$BOOTSTRAP" "$DIR/commands.jsonl"
echo
echo "result events, as they arrive:"
# events are delivered at least once: while the two workers share the
# partitions out, a command may be answered twice (the same event, the same
# event_id). Read for 30 s, then summarise one line per command.
"$BUILD/worker/payctl" tail -b "$BOOTSTRAP" --from-beginning --count 20 --timeout-ms 30000 \
    results | tee "$DIR/results.jsonl"
echo
echo "summary (one line per command):"
grep -o '"command_id":"[^"]*"\|"status":"[A-Z]*"' "$DIR/results.jsonl" | paste - - |
    sed 's/"command_id":"\([^"]*\)"[[:space:]]*"status":"\([A-Z]*\)"/  \1: \2/' | sort -u
cat <<MSG

The stack stays up. Send more commands (one JSON object per line):
  $BUILD/worker/payctl send -b $BOOTSTRAP my-commands.jsonl
  $BUILD/worker/payctl tail -b $BOOTSTRAP results      (also: balances, dlq)
  $BUILD/worker/payctl lookup PAYOFIN 615209 --redis redis://127.0.0.1:$RPORT
Press Ctrl-C to stop.
MSG
while :; do sleep 3600; done
