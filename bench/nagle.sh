#!/usr/bin/env bash
# A worker that leaves Nagle's algorithm on and writes its head apart from its body (Python's http.server, the
# JDK's HttpServer): on a kept-alive connection its body waits for the ACK of its head, which the receiving kernel
# delays (~40 ms on Linux) unless it is asked for quick ACKs. Sequential requests on one kept-alive connection
# (bench/nagle/client.py, Python's http.client) straight to such a worker (bench/nagle/worker.py) and through
# Shepherd to the same worker, each jar in JARS, alternated for ROUNDS rounds: request time p50, p90 and max.
#
# Usage: bench/nagle.sh
#        JARS="/tmp/before.jar target/shepherd.jar" ROUNDS=3 bench/nagle.sh
# Env:   JARS (default: SHEPHERD_JAR) REQUESTS=200 ROUNDS=2
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${REQUESTS:-200}
ROUNDS=${ROUNDS:-2}
require_tool python3 "apt-get install -y python3"
require_tool curl "apt-get install -y curl"
resolve_shepherd_jar
read -r -a JAR_LIST <<<"${JARS:-$SHEPHERD_JAR}"
machine_info

direct_port=$(free_port)
PORT=$direct_port python3 "$BENCH_DIR/nagle/worker.py" &
track $!
wait_http_200 "http://127.0.0.1:$direct_port/" 10 $! || die "the worker does not answer"

printf '%-40s %8s %8s %8s\n' target "p50 ms" "p90 ms" "max ms"
for ((round = 1; round <= ROUNDS; round++)); do
  printf '%-40s %8s %8s %8s\n' "direct (round $round)" $(python3 "$BENCH_DIR/nagle/client.py" "$direct_port" "$REQUESTS")
  for ((i = 0; i < ${#JAR_LIST[@]}; i++)); do
    jar=${JAR_LIST[(i + round - 1) % ${#JAR_LIST[@]}]}
    SHEPHERD_JAR=$jar start_shepherd nagle --fleet.workers=1 \
      --fleet.worker.command="python3,$BENCH_DIR/nagle/worker.py" --fleet.readiness.path=/ ||
      die "Shepherd did not start (log: $WORK_DIR/nagle.log)"
    wait_http_200 "http://127.0.0.1:$SHEPHERD_PORT/" 30 "$SHEPHERD_PID" || die "the proxy does not answer"
    printf '%-40s %8s %8s %8s\n' "$(basename "$jar") (round $round)" \
      $(python3 "$BENCH_DIR/nagle/client.py" "$SHEPHERD_PORT" "$REQUESTS")
    stop_tree "$SHEPHERD_PID"
  done
done
