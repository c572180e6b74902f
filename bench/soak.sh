#!/usr/bin/env bash
# Soak: many worker lifecycles and many requests against one master, to see that nothing in the master grows
# with them. Not run by CI.
#
#   - WORKERS (4) Node workers (bench/soak/worker.js) that crash after a random 1..CRASH_AFTER requests, 10 % of
#     them with a detached `sleep 600` child; recycled after max-requests 150 + jitter 0..100; one admin restart
#     of a random READY worker every RESTART_EVERY s; a rolling reload every RELOAD_EVERY s.
#   - wrk (CONNECTIONS connections, 2 threads) in chunks of CHUNK s, every request with a random method (GET, POST,
#     PUT, DELETE, PATCH, OPTIONS), a random path and query, bodies up to 4 KiB (bench/soak/random.lua).
#   - It runs until CYCLES worker processes have been started after the first ones and REQUESTS requests were
#     sent, or for MAX_TIME s, whichever comes first.
#
# Before (after a WARMUP s load) and after (SETTLE s after the load), it reports the master's heap after a full
# GC (jcmd GC.run, then jvm.memory.used area=heap), resident memory, open file descriptors, threads, Prometheus
# series, and the processes that carry this master's SHEPHERD_TREE marker (live workers and their children);
# and after the master's stop, how many marked processes are left (must be 0).
#
# A cycle is a worker process that became READY (shepherd.worker.startup's count) after the first WORKERS.
# Failed requests are expected: a POST, PUT, PATCH or DELETE in flight on a crashing worker gets 502 (it may
# have been processed, so it is not replayed); the table shows them for what they are, not as a goal.
#
# Usage: bench/soak.sh
#        CYCLES=1000 REQUESTS=100000 MAX_TIME=600 bench/soak.sh   (shorter)
# Env:   SHEPHERD_JAR, SHEPHERD_JAVA_OPTS (default: the README's recommended master flags), SHEPHERD_ADMIN_TOKEN,
#        CYCLES=10000, REQUESTS=1000000, MAX_TIME=3600, WORKERS=4, CONNECTIONS=32, CHUNK=30, WARMUP=20,
#        SETTLE=10, CRASH_AFTER=300, RESTART_EVERY=1, RELOAD_EVERY=60, METHODS (words: the methods to pick from,
#        e.g. "GET PUT"; default GET x3, POST, PUT, DELETE, PATCH, OPTIONS), NMT=off (on: the master runs with
#        -XX:NativeMemoryTracking=summary, and the report adds what grew between the two snapshots, by JVM area:
#        jcmd VM.native_memory summary.diff, committed memory)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CYCLES=${CYCLES:-10000}
REQUESTS=${REQUESTS:-1000000}
MAX_TIME=${MAX_TIME:-3600}
WORKERS=${WORKERS:-4}
CONNECTIONS=${CONNECTIONS:-32}
CHUNK=${CHUNK:-30}
WARMUP=${WARMUP:-20}
SETTLE=${SETTLE:-10}
CRASH_AFTER=${CRASH_AFTER:-300}
RESTART_EVERY=${RESTART_EVERY:-1}
RELOAD_EVERY=${RELOAD_EVERY:-60}
NMT=${NMT:-off}

require_tool wrk "apt-get install -y wrk"
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
require_tool python3 "apt-get install -y python3"
require_tool jcmd "apt-get install -y openjdk-17-jdk-headless"
resolve_shepherd_jar
if [[ $NMT == on ]]; then
  SHEPHERD_JAVA_OPTS="${SHEPHERD_JAVA_OPTS-$SHEPHERD_RECOMMENDED_JAVA_OPTS} -XX:NativeMemoryTracking=summary"
fi
mkdir -p "$OUT_DIR"
TSV=$OUT_DIR/soak-$(date +%Y%m%d-%H%M%S).tsv

metric() { # metric NAME [TAG]: the first measurement of an actuator metric, as an integer
  mgmt_curl "$SHEPHERD_MGMT" "/actuator/metrics/$1${2:+?tag=$2}" | json_eval "int(d['measurements'][0]['value'])"
}

marked_processes() { # processes whose environment carries this master's SHEPHERD_TREE prefix
  local master=$1 count=0 environ
  for environ in /proc/[0-9]*/environ; do
    grep -qz "^SHEPHERD_TREE=$master-" "$environ" 2>/dev/null && count=$((count + 1))
  done
  echo "$count"
}

snapshot() { # snapshot LABEL: one row of figures of the running master
  local heap
  jcmd "$SHEPHERD_PID" GC.run >/dev/null
  heap=$(metric jvm.memory.used area:heap)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" \
    "$(awk -v b="$heap" 'BEGIN {printf "%.1f", b / 1048576}')" \
    "$(awk -v k="$(rss_kb "$SHEPHERD_PID")" 'BEGIN {printf "%.0f", k / 1024}')" \
    "$(find "/proc/$SHEPHERD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)" \
    "$(awk '/^Threads:/ {print $2}' "/proc/$SHEPHERD_PID/status")" \
    "$(curl -s --max-time 10 ${SHEPHERD_ADMIN_TOKEN:+-H "Authorization: Bearer $SHEPHERD_ADMIN_TOKEN"} \
      "http://127.0.0.1:$SHEPHERD_MGMT/actuator/prometheus" | grep -vc '^#')" \
    "$(marked_processes "$SHEPHERD_PID")"
}

cycles_so_far() { echo $(($(metric shepherd.worker.startup) - WORKERS)); }

# The admin side of the churn: restarts of random READY workers, and rolling reloads.
churn() {
  local last_reload=$SECONDS id
  while :; do
    sleep "$RESTART_EVERY"
    id=$(fleet_json "$SHEPHERD_MGMT" 2>/dev/null | json_eval \
      "__import__('random').choice([w['id'] for w in d['workers'] if w['state'] == 'READY'] or [0])" 2>/dev/null || echo 0)
    [[ $id != 0 ]] && mgmt_curl "$SHEPHERD_MGMT" "/fleet/workers/$id/restart" -X POST -o /dev/null || true
    if ((SECONDS - last_reload >= RELOAD_EVERY)); then
      mgmt_curl "$SHEPHERD_MGMT" /fleet/reload -X POST -o /dev/null || true
      last_reload=$SECONDS
    fi
  done
}

run_wrk() { # run_wrk SECONDS: one chunk of load; prints "requests non2xx socket_errors", adds to statuses.tsv
  wrk -t2 -c"$CONNECTIONS" -d"$1s" --timeout 10s -s "$BENCH_DIR/soak/random.lua" "http://127.0.0.1:$SHEPHERD_PORT/" \
    ${METHODS:+-- $METHODS} >"$WORK_DIR/wrk.out" 2>&1 || true
  awk '/^status / {print $2 "\t" $3}' "$WORK_DIR/wrk.out" >>"$WORK_DIR/statuses.tsv"
  awk '/ requests in / {r = $1} /Non-2xx or 3xx responses:/ {n = $NF}
       /Socket errors:/ {gsub(/,/, ""); s = $4 + $6 + $8 + $10}
       END {printf "%d %d %d\n", r, n, s}' "$WORK_DIR/wrk.out"
}

machine_info
echo "command: CYCLES=$CYCLES REQUESTS=$REQUESTS MAX_TIME=$MAX_TIME WORKERS=$WORKERS CONNECTIONS=$CONNECTIONS bench/soak.sh"
start_shepherd soak --fleet.workers="$WORKERS" --fleet.worker.command=node,"$BENCH_DIR/soak/worker.js" \
  --fleet.worker.environment.CRASH_AFTER="$CRASH_AFTER" --fleet.readiness.interval=20ms \
  --fleet.worker.max-requests=150 --fleet.worker.max-requests-jitter=100 --fleet.worker.recycle-check-interval=100ms \
  --fleet.worker.drain-timeout=5s --fleet.worker.kill-timeout=2s --fleet.restart.min-uptime=0s \
  --logging.level.dev.shepherd=WARN --logging.level.dev.shepherd.worker.ProcessTrees=INFO
log "master pid $SHEPHERD_PID; $(grep -o 'Worker process trees: .*' "$WORK_DIR/soak.log" | head -1)"

log "warm-up: ${WARMUP}s of load"
read -r warm_requests _ <<<"$(run_wrk "$WARMUP")"
: >"$WORK_DIR/statuses.tsv"
before=$(snapshot start)
cycles_at_start=$(cycles_so_far)
[[ $NMT != on ]] || jcmd "$SHEPHERD_PID" VM.native_memory baseline >/dev/null

churn &
CHURN_PID=$!
track "$CHURN_PID"
requests=0 non2xx=0 socket_errors=0 started=$SECONDS
while ((SECONDS - started < MAX_TIME)); do
  read -r r n s <<<"$(run_wrk "$CHUNK")"
  requests=$((requests + r)) non2xx=$((non2xx + n)) socket_errors=$((socket_errors + s))
  cycles=$(($(cycles_so_far) - cycles_at_start))
  log "$((SECONDS - started)) s: $requests requests ($non2xx non-2xx, $socket_errors socket errors), $cycles cycles"
  kill -0 "$SHEPHERD_PID" 2>/dev/null || die "the master died; last lines: $(tail -n 20 "$WORK_DIR/soak.log")"
  ((requests >= REQUESTS && cycles >= CYCLES)) && break
done
elapsed=$((SECONDS - started))
stop_tree "$CHURN_PID"
log "settling ${SETTLE}s"
sleep "$SETTLE"
after=$(snapshot end)
crashes=$(metric shepherd.worker.restarts || echo 0)
if [[ $NMT == on ]]; then
  jcmd "$SHEPHERD_PID" VM.native_memory summary.diff scale=KB >"$WORK_DIR/nmt-diff.txt" 2>&1 || true
fi
master=$SHEPHERD_PID
stop_tree "$SHEPHERD_PID"
sleep 1
left=$(marked_processes "$master")

{
  printf 'when\theap after GC (MiB)\tRSS (MiB)\tfds\tthreads\tPrometheus series\tmarked processes\n'
  echo "$before"
  echo "$after"
} | tee "$TSV"
echo
echo "load:      $requests requests in ${elapsed}s after ${warm_requests} warm-up requests; $non2xx non-2xx, $socket_errors socket errors"
echo "statuses:  $(awk '{n[$1] += $2} END {for (s in n) printf "%s: %d  ", s, n[s]}' "$WORK_DIR/statuses.tsv")"
echo "lifecycle: $cycles worker processes started and READY (crashes counted as restarts: $crashes)"
echo "after the master stopped: $left processes with its SHEPHERD_TREE marker left"
echo "tsv:       $TSV"
if [[ $NMT == on ]]; then
  echo
  echo "native memory, end against start (committed KB, jcmd VM.native_memory summary.diff; areas that changed):"
  awk '/^Total:/ || (/^-/ && /committed=/ && /[+-][0-9]+KB/)' "$WORK_DIR/nmt-diff.txt" | sed 's/^/  /'
fi
