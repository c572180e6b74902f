#!/usr/bin/env bash
# How long the master's JIT compiler keeps working under a slow, one-connection-per-request load, and
# what a warm-up does about it: every variant is a fresh Shepherd master with its own WORKERS workers
# (SERVER, default the seed's CPU-bound bench/balancing/server.js), started side by side, each warmed
# up its own way (and left to settle), then measured in WINDOWS windows of `ab -l -r -c CONCURRENCY -t WINDOW` on PATH_,
# the variants alternating inside each window (the order rotating). Per window and variant: req/s,
# the master's CPU per request (utime + stime of the whole JVM) and, of that, the C2 compiler
# threads' (/proc/PID/task/*/stat whose comm starts with "C2 CompilerThre").
#
# C2 compiles a method once it has run ~5,000-15,000 times (Tier4 thresholds count invocations and
# loop iterations, not seconds), so at ~100 requests per second the per-request code keeps reaching
# them for minutes; at thousands per second (GET /health, which bench/balancing/server.js answers
# without its loop) within seconds.
#
# Usage: bench/jit-warmup.sh
#        VARIANTS='none|;health|/health 500 20' WINDOWS=6 bench/jit-warmup.sh
# Env:   VARIANTS "name|warm-up", separated by ';'; a warm-up is "PATH CONCURRENCY SECONDS" of ab
#        (several joined by ','), or empty for none. Default: 'none|;seed|/ 50 5,/uneven 50 5;health|/health 500 20'
#        (seed: bench/balancing.sh's warm-up before this change; health: its JIT warm-up now).
#        SERVER, WORKERS=2, CONCURRENCY=500, PATH_=/, WINDOW=10, WINDOWS=4, SETTLE=30 (at most this long
#        after a warm-up, until the master is idle), SHEPHERD_ARGS, SHEPHERD_JAVA_OPTS
# Output: one line per window and variant; bench/out/jit-warmup-STAMP.tsv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VARIANTS=${VARIANTS:-none|;seed|/ 50 5,/uneven 50 5;health|/health 500 20}
SERVER=${SERVER:-$BENCH_DIR/balancing/server.js}
WORKERS=${WORKERS:-2}
CONCURRENCY=${CONCURRENCY:-500}
PATH_=${PATH_:-/}
WINDOW=${WINDOW:-10}
WINDOWS=${WINDOWS:-4}
SETTLE=${SETTLE:-30}

require_tool ab "apt-get install -y apache2-utils"
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
require_tool python3 "apt-get install -y python3"
resolve_shepherd_jar
machine_info
echo "run:     SERVER=$SERVER WORKERS=$WORKERS CONCURRENCY=$CONCURRENCY PATH_=$PATH_ WINDOW=${WINDOW}s WINDOWS=$WINDOWS"
mkdir -p "$OUT_DIR"
RAW=$OUT_DIR/jit-warmup-$(date +%Y%m%d-%H%M%S).tsv
HZ=$(getconf CLK_TCK)

declare -A URL PID WARM
NAMES=()
IFS=';' read -r -a specs <<<"$VARIANTS"
for spec in "${specs[@]}"; do
  IFS='|' read -r name warm <<<"$spec"
  [[ -n $name ]] || die "a variant needs a name: '$spec'"
  start_shepherd "$name" --fleet.workers="$WORKERS" --fleet.worker.command="node,$SERVER" \
    --fleet.liveness.timeout=10s || die "variant $name did not start"
  wait_http_200 "http://127.0.0.1:$SHEPHERD_PORT/health" 30 "$SHEPHERD_PID" || die "$name serves no /health"
  URL[$name]=http://127.0.0.1:$SHEPHERD_PORT
  PID[$name]=$SHEPHERD_PID
  WARM[$name]=$warm
  NAMES+=("$name")
done

# ticks PID: "all c2" clock ticks of the JVM: the whole process, and its C2 compiler threads.
ticks() {
  local task all c2=0 fields
  read -r -a fields <"/proc/$1/stat"
  all=$((fields[13] + fields[14]))
  for task in /proc/"$1"/task/*; do
    [[ $(cat "$task/comm" 2>/dev/null) == "C2 CompilerThre"* ]] || continue
    read -r -a fields < <(sed 's/^.*) //' "$task/stat" 2>/dev/null) || continue
    c2=$((c2 + fields[11] + fields[12]))
  done
  echo "$all $c2"
}

# settle_jvm NAME: after a warm-up, waits until the JVM uses under 5 % of a core (the compiler's queue
# drained, as bench/balancing.sh's settle waits), at most SETTLE seconds.
settle_jvm() {
  local before after start=$SECONDS
  read -r before _ < <(ticks "${PID[$1]}")
  while ((SECONDS - start < SETTLE)); do
    sleep 0.5
    read -r after _ < <(ticks "${PID[$1]}")
    (((after - before) * 100 / HZ * 2 < 5)) && break
    before=$after
  done
  log "$1 settled after $((SECONDS - start)) s"
}

for name in "${NAMES[@]}"; do
  IFS=',' read -r -a steps <<<"${WARM[$name]}"
  for step in "${steps[@]}"; do
    read -r path conns seconds <<<"$step"
    [[ -n ${path:-} ]] || continue
    log "warm-up $name: ab -c $conns -t $seconds $path"
    ab -l -r -c "$conns" -t "$seconds" -n 10000000 "${URL[$name]}$path" >"$WORK_DIR/warm-$name.txt" 2>&1 || true
  done
  settle_jvm "$name"
done

printf '%-7s %-10s %8s %12s %12s\n' window variant req/s cpu_us/req c2_us/req
for ((window = 1; window <= WINDOWS; window++)); do
  for ((i = 0; i < ${#NAMES[@]}; i++)); do
    name=${NAMES[(i + window - 1) % ${#NAMES[@]}]}
    sleep 2 # the previous run's last requests drain
    read -r a0 c0 < <(ticks "${PID[$name]}")
    out=$WORK_DIR/ab-$window-$name.txt
    ab -l -r -c "$CONCURRENCY" -t "$WINDOW" -n 10000000 "${URL[$name]}$PATH_" >"$out" 2>&1 || true
    read -r a1 c1 < <(ticks "${PID[$name]}")
    requests=$(awk '/^Complete requests:/ {print $3}' "$out")
    rps=$(awk '/^Requests per second:/ {print $4}' "$out")
    ((${requests:-0} > 0)) || die "ab completed no request against $name: $(tail -n 3 "$out")"
    cpu=$(((a1 - a0) * 1000000 / HZ / requests))
    c2=$(((c1 - c0) * 1000000 / HZ / requests))
    printf '%-7s %-10s %8s %12d %12d\n' "$window" "$name" "$rps" "$cpu" "$c2"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$window" "$name" "$rps" "$requests" "$cpu" "$c2" >>"$RAW"
  done
done
echo "TSV: $RAW (window, variant, req/s, requests, CPU µs per request, of it C2 µs per request)"
