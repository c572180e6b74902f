#!/usr/bin/env bash
# What a worker that floods its output costs the master: the master's CPU while WORKERS workers run `yes` with a
# 100-byte log line (as fast as a pipe takes it), for each fleet.worker.output-max-rate in RATES ("0" is no limit),
# against the same fleet of quiet workers (`sleep`). Workers never get READY; the master reads their output all
# the same. CPU of all the master's threads from /proc/PID/stat, over DURATION seconds after SETTLE seconds.
#
# Usage: bench/output-flood.sh                      (~30 s per rate and round)
#        RATES="0 1MB 4MB 16MB" ROUNDS=3 bench/output-flood.sh
# Env:   RATES="quiet 0 1MB 4MB" WORKERS=2 SETTLE=10 DURATION=10 ROUNDS=1 SHEPHERD_JAR SHEPHERD_JAVA_OPTS
#        LINE (what `yes` writes; default a 100-byte log line; LINE= floods empty lines, the costliest per byte)
# Output: per rate and round, the master's CPU in cores (1.00 = one core busy).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read -r -a RATE_LIST <<<"${RATES:-quiet 0 1MB 4MB}"
WORKERS=${WORKERS:-2}
SETTLE=${SETTLE:-10}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
LINE=${LINE-"2026-12-03T09:40:00Z INFO request handled path=/api/items status=200 took=3ms user=4711 bytes=512"}
resolve_shepherd_jar
machine_info

TICKS=$(getconf CLK_TCK)
master_ticks() { awk '{print $14 + $15}' "/proc/$SHEPHERD_PID/stat"; }

for ((round = 1; round <= ROUNDS; round++)); do
  for ((i = 0; i < ${#RATE_LIST[@]}; i++)); do
    rate=${RATE_LIST[(i + round - 1) % ${#RATE_LIST[@]}]}
    if [[ $rate == quiet ]]; then
      command="--fleet.worker.command=sleep,600"
      limit=()
    else
      command="--fleet.worker.command=sh,-c,yes \"$LINE\""
      limit=(--fleet.worker.output-max-rate="$rate")
    fi
    # No worker gets READY, so the fleet's health is DOWN: the master is up once its liveness answers.
    HEALTH_PATH=/actuator/health/liveness start_shepherd flood --fleet.workers="$WORKERS" "$command" "${limit[@]}" \
      --fleet.worker.startup-timeout=600s ||
      die "Shepherd did not start (log: $WORK_DIR/flood.log)"
    sleep "$SETTLE"
    before=$(master_ticks)
    sleep "$DURATION"
    after=$(master_ticks)
    awk -v r="$rate" -v n="$round" -v b="$before" -v a="$after" -v s="$DURATION" -v t="$TICKS" \
      'BEGIN { printf "round %d  output-max-rate %-6s master CPU %.3f cores\n", n, r, (a - b) / t / s }'
    stop_tree "$SHEPHERD_PID"
  done
done
