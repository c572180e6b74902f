#!/usr/bin/env bash
# Slow readers against single-threaded workers: two Python workers that serve one request at a time
# (bench/slow-readers/sync_worker.py, gunicorn's sync shape), clients that ask for 30 MiB and read 16 KiB every 15 s
# (bench/slow-readers/slowread.py), and a bystander request every 2 s; once with fleet.proxy.response-buffering on
# (the default) and once off, alternated for ROUNDS rounds. Reports per run how many bystanders took over 2 s or
# failed, and how many liveness probes the workers failed.
#
# Usage: bench/slow-readers.sh                 (~80 s per run)
# Env:   SECONDS_=60 ROUNDS=1 SHEPHERD_JAR SHEPHERD_JAVA_OPTS
#        PROTOCOL=HTTP/1.1 (workers that keep connections alive; default HTTP/1.0, a connection per request)
#        MAX_CONCURRENCY=1 (fleet.worker.max-concurrency; default unset)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN_SECONDS=${SECONDS_:-60}
ROUNDS=${ROUNDS:-1}
require_tool python3 "apt-get install -y python3"
resolve_shepherd_jar
machine_info

for ((round = 1; round <= ROUNDS; round++)); do
  for buffering in true false; do
    start_shepherd "slow-$buffering" --fleet.workers=2 \
      "--fleet.worker.command=python3,$BENCH_DIR/slow-readers/sync_worker.py" \
      "--fleet.worker.environment.PROTOCOL=${PROTOCOL:-HTTP/1.0}" \
      ${MAX_CONCURRENCY:+"--fleet.worker.max-concurrency=$MAX_CONCURRENCY"} \
      --fleet.proxy.response-buffering="$buffering" || die "Shepherd did not start (log: $WORK_DIR/slow-$buffering.log)"
    result=$(python3 "$BENCH_DIR/slow-readers/slowread.py" "$SHEPHERD_PORT" "$RUN_SECONDS" | tail -n 1)
    failed=$(grep -c "failed its liveness probe" "$WORK_DIR/slow-$buffering.log" || true)
    printf 'round %d  response-buffering %-5s  %s  liveness failures %s\n' "$round" "$buffering" "$result" "$failed"
    stop_tree "$SHEPHERD_PID"
  done
done
