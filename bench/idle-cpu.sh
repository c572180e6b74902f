#!/usr/bin/env bash
# What an idle master costs: CPU time and wake-ups per second of each of its threads while the fleet runs
# and nobody sends a request, from the kernel's exact per-thread counters (/proc/PID/task/TID/schedstat:
# nanoseconds on the CPU and times scheduled in), not the 10 ms ticks of /proc/PID/stat.
#
# Each jar (JARS, default SHEPHERD_JAR) gets a master with WORKERS workers of bench/upstream/server.js,
# answers one request (so that its event loops have had a connection and a pooled worker connection),
# then sits SETTLE seconds (the pooled connections expire after fleet.proxy.upstream-idle-timeout, 4 s)
# and is measured over DURATION seconds. Masters run one after the other, ROUNDS times, alternating.
#
# Usage: bench/idle-cpu.sh                                    (~1 min per jar and round)
#        JARS="/tmp/before.jar target/shepherd.jar" ROUNDS=3 bench/idle-cpu.sh
# Env:   JARS (default: SHEPHERD_JAR) WORKERS=2 SETTLE=20 DURATION=20 ROUNDS=1 SHEPHERD_JAVA_OPTS SHEPHERD_ARGS
# Output: per jar and round, the master's total CPU in ms per second and, for the threads above 0.05 ms/s,
#         ms per second and wake-ups per second.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS=${WORKERS:-2}
SETTLE=${SETTLE:-20}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-1}
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
resolve_shepherd_jar
read -r -a JAR_LIST <<<"${JARS:-$SHEPHERD_JAR}"
machine_info

# threads: "tid name cpu_ns times_scheduled" for every thread of the master.
threads() {
  local task name
  for task in /proc/"$SHEPHERD_PID"/task/*; do
    name=$(tr ' ' '_' <"$task/comm" 2>/dev/null) || continue
    echo "${task##*/} $name $(awk '{print $1, $3}' "$task/schedstat" 2>/dev/null || echo 0 0)"
  done | sort
}

for ((round = 1; round <= ROUNDS; round++)); do
  for ((i = 0; i < ${#JAR_LIST[@]}; i++)); do
    jar=${JAR_LIST[(i + round - 1) % ${#JAR_LIST[@]}]}
    SHEPHERD_JAR=$jar start_shepherd idle --fleet.workers="$WORKERS" --fleet.worker.command="node,$BENCH_DIR/upstream/server.js" ||
      die "Shepherd did not start (log: $WORK_DIR/idle.log)"
    wait_http_200 "http://127.0.0.1:$SHEPHERD_PORT/" 30 "$SHEPHERD_PID" || die "the proxy does not answer"
    sleep "$SETTLE"
    threads >"$WORK_DIR/before"
    sleep "$DURATION"
    threads >"$WORK_DIR/after"
    echo
    echo "== round $round, $jar"
    join "$WORK_DIR/before" "$WORK_DIR/after" | awk -v s="$DURATION" '
      { ms = ($6 - $3) / 1e6 / s; wakes = ($7 - $4) / s; total += ms
        if (ms >= 0.05) printf "   %-18s %6.2f ms/s %7.1f wake-ups/s\n", $2, ms, wakes }
      END { printf "   master, all threads: %.2f ms of CPU per second\n", total }'
    stop_tree "$SHEPHERD_PID"
  done
done
