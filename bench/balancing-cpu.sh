#!/usr/bin/env bash
# Where the CPU goes per request at the seed's load (bench/balancing.sh's even load, ab -c 500, one
# connection per request): the proxy's own process (Node's cluster primary, or Shepherd's master JVM) and
# the workers, for Node's cluster and one Shepherd per jar (least-request, fleet.worker.max-concurrency=MC).
# Each target gets JIT_WARMUP seconds of /health at -c 500 and WARMUP seconds of the load at -c 50, then
# ROUNDS rounds of one DURATION-second run per target, the order rotating, each once all targets are idle
# again. CPU from /proc/PID/stat
# (utime + stime) of the root process and of its descendants, around each run.
#
# Usage: bench/balancing-cpu.sh                                    (~10 min with two jars)
#        JARS="/tmp/before.jar target/shepherd.jar" ROUNDS=6 bench/balancing-cpu.sh
# Env:   JARS (default: SHEPHERD_JAR) WORKERS=2 MC=2 DURATION=10 ROUNDS=4 WARMUP=30 JIT_WARMUP=60
# Output: one line per run: req/s, p99 ms, proxy µs and workers µs of CPU per request; then medians.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS=${WORKERS:-2}
MC=${MC:-2}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-4}
WARMUP=${WARMUP:-30}
JIT_WARMUP=${JIT_WARMUP:-60}
SERVER=$BENCH_DIR/balancing/server.js
require_tool ab "apt-get install -y apache2-utils"
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
require_tool python3 "apt-get install -y python3"
resolve_shepherd_jar
read -r -a JAR_LIST <<<"${JARS:-$SHEPHERD_JAR}"
machine_info

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
sum_ticks() {
  local total=0 pid
  for pid in "$@"; do total=$((total + $(ticks "$pid"))); done
  echo "$total"
}

declare -A URL ROOT
TARGETS=(cluster)
port=$(free_port)
PORT=$port WORKERS=$WORKERS node "$BENCH_DIR/balancing/cluster.js" >"$WORK_DIR/cluster.log" 2>&1 &
track $!
ROOT[cluster]=$!
URL[cluster]=http://127.0.0.1:$port
wait_http_200 "${URL[cluster]}/health" 20 "${ROOT[cluster]}" || die "Node's cluster did not start"
for ((i = 0; i < ${#JAR_LIST[@]}; i++)); do
  name=shepherd-$((i + 1))
  SHEPHERD_JAR=${JAR_LIST[i]} start_shepherd "$name" --fleet.workers="$WORKERS" --fleet.worker.command="node,$SERVER" \
    --fleet.liveness.timeout=10s --fleet.proxy.queue-timeout=60s --fleet.proxy.balancer=least-request \
    --fleet.worker.max-concurrency="$MC" || die "$name did not start (log: $WORK_DIR/$name.log)"
  wait_http_200 "http://127.0.0.1:$SHEPHERD_PORT/" 60 "$SHEPHERD_PID" || die "$name does not answer"
  log "$name: ${JAR_LIST[i]}"
  TARGETS+=("$name")
  URL[$name]=http://127.0.0.1:$SHEPHERD_PORT
  ROOT[$name]=$SHEPHERD_PID
done

for target in "${TARGETS[@]}"; do
  log "warm-up $target: ${JIT_WARMUP}s of /health at -c 500, ${WARMUP}s of / at -c 50"
  ab -l -r -c 500 -t "$JIT_WARMUP" -n 10000000 "${URL[$target]}/health" >/dev/null 2>&1 || true
  ab -l -r -c 50 -t "$WARMUP" -n 10000000 "${URL[$target]}/" >/dev/null 2>&1 || true
done

# settle: waits until every target is idle again (a run leaves requests queued behind it: Node's cluster
# workers serve connections ab has given up on).
settle() {
  local each roots=()
  for each in "${TARGETS[@]}"; do roots+=("${ROOT[$each]}"); done
  settle_tree "the targets" "${roots[@]}"
}

RAW=$WORK_DIR/runs.tsv
printf 'round\ttarget\treq/s\tp99_ms\tproxy_us\tworkers_us\n' | tee "$RAW"
for ((round = 1; round <= ROUNDS; round++)); do
  for ((i = 0; i < ${#TARGETS[@]}; i++)); do
    target=${TARGETS[(i + round - 1) % ${#TARGETS[@]}]}
    workers=$(descendants "${ROOT[$target]}")
    settle
    proxy_before=$(ticks "${ROOT[$target]}")
    # shellcheck disable=SC2086
    workers_before=$(sum_ticks $workers)
    out=$WORK_DIR/ab-$round-$target.txt
    ab -l -r -c 500 -t "$DURATION" -n 10000000 "${URL[$target]}/" >"$out" 2>&1 || log "ab failed on $target"
    proxy_after=$(ticks "${ROOT[$target]}")
    # shellcheck disable=SC2086
    workers_after=$(sum_ticks $workers)
    python3 - "$out" "$round" "$target" "$(getconf CLK_TCK)" "$proxy_before" "$proxy_after" "$workers_before" "$workers_after" <<'PY' | tee -a "$RAW"
import re, sys
out = open(sys.argv[1]).read()
rnd, target, hz, pb, pa, wb, wa = sys.argv[2:]
n = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
p99 = re.search(r"^\s+99%\s+(\d+)", out, re.M).group(1)
us = lambda before, after: (int(after) - int(before)) * 1e6 / int(hz) / n
print(f"{rnd}\t{target}\t{rps:.0f}\t{p99}\t{us(pb, pa):.0f}\t{us(wb, wa):.0f}")
PY
  done
done

echo
echo "median over $ROUNDS round(s) [min - max]"
python3 - "$RAW" <<'PY'
import collections, csv, statistics, sys
rows = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        rows[row["target"]].append(row)
for target, runs in rows.items():
    cells = []
    for key in ("req/s", "p99_ms", "proxy_us", "workers_us"):
        values = [float(run[key]) for run in runs]
        cells.append(f"{key} {statistics.median(values):,.0f} [{min(values):,.0f} - {max(values):,.0f}]")
    print(f"  {target:<12} " + "   ".join(cells))
PY
