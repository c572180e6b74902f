#!/usr/bin/env bash
# Throughput and latency of Shepherd's proxy against nginx, over the very same workers.
#
# Shepherd spawns N trivial Node servers (bench/upstream/server.js) as its workers; the
# script reads their ports from GET /fleet and points two nginx instances at them
# (worker_processes 1 and auto, config from bench/nginx/nginx.conf.template). Targets:
#   direct      wrk straight to the first worker (the upstream's own ceiling)
#   nginx-1     nginx, worker_processes 1
#   nginx-auto  nginx, worker_processes auto
#   shepherd    Shepherd's proxy port
#   baseline    with BASELINE=on: bench/baseline/MinimalProxy.java, the same Netty design
#               with none of Shepherd's features (its ceiling), on Netty's jars from the
#               Shepherd jar
# Cases (wrk -t2 unless said): lat = -t1 -c1 (p50/p99 from --latency), c64, c256,
# 16k and 1m responses at -c64, post64k = 64 KiB POST at -c64 (bench/wrk/post64k.lua),
# ab500 = ab -c 500 (HTTP/1.0, a new connection for every request, as in the seed article;
# p50/p99 from ab's percentile table, which has whole milliseconds only).
# After a warm-up of every target (JIT: WARMUP at -c64, then each case for CASE_WARMUP), ROUNDS
# rounds; in each round every case runs against every target back to back, the target order
# rotating from round to round.
#
# Usage: bench/throughput.sh                         full run (~19 min with the defaults)
#        DURATION=2s ROUNDS=1 WARMUP=2s bench/throughput.sh   smoke run
# Env:   DURATION=10s ROUNDS=3 WARMUP=30s CASE_WARMUP=DURATION WORKERS=2 NGINX_KEEPALIVE=512
#        CASES="lat c64 ..." (a master needs a minute or more of ab500 before its C2 compiler is
#        done with the connection-per-request path: CASES=ab500 CASE_WARMUP=60s measures it warm)
#        SHEPHERD_JAR (default target/shepherd.jar), SHEPHERD_JAVA_OPTS (default: the
#        recommended flags, SHEPHERD_RECOMMENDED_JAVA_OPTS in lib.sh; empty: the JVM's defaults),
#        SHEPHERD=off (measure direct and nginx only, over upstreams this script starts)
#        BASELINE=on (add the minimal Netty proxy as a target)
# Output: the tables below, plus bench/out/throughput-STAMP.tsv (every run) and
#         bench/out/throughput-STAMP-summary.tsv.
# ab500 needs ab (apt-get install -y apache2-utils).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-30s}
CASE_WARMUP=${CASE_WARMUP:-$DURATION}
WORKERS=${WORKERS:-2}
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-512}
CASES=${CASES:-lat c64 c256 16k 1m post64k ab500}
SHEPHERD=${SHEPHERD:-on}
BASELINE=${BASELINE:-off}

require_wrk_nginx_node
[[ " $CASES " != *" ab500 "* ]] || require_tool ab "apt-get install -y apache2-utils"
[[ $SHEPHERD == off ]] || resolve_shepherd_jar
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$OUT_DIR/throughput-$STAMP.tsv
SUMMARY=$OUT_DIR/throughput-$STAMP-summary.tsv
NOTES=()

# case -> "path threads connections [lua script]"
declare -A CASE_SPEC=(
  [lat]="/ 1 1"
  [c64]="/ 2 64"
  [c256]="/ 2 256"
  [16k]="/16k 2 64"
  [1m]="/1m 2 64"
  [post64k]="/ 2 64 $BENCH_DIR/wrk/post64k.lua"
  [ab500]="/ ab 500"
)
declare -A TARGET_URL

# ---- the workers ----------------------------------------------------------------

UPSTREAM_PORTS=()

start_shepherd_fleet() {
  start_shepherd shepherd --fleet.workers="$WORKERS" \
    --fleet.worker.command="node,$BENCH_DIR/upstream/server.js" || return 1
  local deadline=$((SECONDS + 30)) ports
  while ((SECONDS < deadline)); do
    read -r -a ports <<<"$(shepherd_worker_field "$SHEPHERD_MGMT" port 2>/dev/null || true)"
    if ((${#ports[@]} == WORKERS)); then
      UPSTREAM_PORTS=("${ports[@]}")
      # The workers must be the Node upstream, not Shepherd's demo worker.
      [[ $(curl -s --max-time 2 "http://127.0.0.1:${ports[0]}/16k" | wc -c) == 16384 ]] && return 0
      log "worker port ${ports[0]} does not serve bench/upstream/server.js (GET /16k is not 16 KiB):"
      log "is --fleet.worker.command honoured? GET /fleet says: $(fleet_json "$SHEPHERD_MGMT" | head -c 600)"
      return 1
    fi
    sleep 0.3
  done
  log "GET /fleet did not list $WORKERS READY workers with a port within 30 s: $(fleet_json "$SHEPHERD_MGMT" | head -c 600)"
  return 1
}

# Without Shepherd the script starts the same upstream processes itself.
start_own_upstreams() {
  local i port pid
  for ((i = 0; i < WORKERS; i++)); do
    port=$(free_port)
    PORT=$port node "$BENCH_DIR/upstream/server.js" >"$WORK_DIR/upstream-$i.log" 2>&1 &
    pid=$!
    track "$pid"
    wait_http_200 "http://127.0.0.1:$port/health" 20 "$pid" || die "upstream $i did not start"
    UPSTREAM_PORTS+=("$port")
  done
}

# ---- nginx ----------------------------------------------------------------------

declare -A NGINX_PID

# start_nginx NAME WORKER_PROCESSES: one nginx instance (lib.sh) in front of UPSTREAM_PORTS.
start_nginx() {
  start_nginx_instance "$1" "$2" "$NGINX_KEEPALIVE" "${UPSTREAM_PORTS[@]}"
  NGINX_PID[$1]=$NGINX_STARTED_PID
  TARGET_URL[$1]=$NGINX_STARTED_URL
}

nginx_rss_kb() { # master + workers
  local total=0 pid
  for pid in "${NGINX_PID[$1]}" $(pgrep -P "${NGINX_PID[$1]}"); do total=$((total + $(rss_kb "$pid"))); done
  echo "$total"
}

declare -A RSS_BEFORE RSS_AFTER
# measure_rss ARRAY_NAME: fills the associative array ARRAY_NAME through a name reference.
# shellcheck disable=SC2034
measure_rss() {
  local -n into=$1
  into["nginx-1"]=$(nginx_rss_kb nginx-1)
  into["nginx-auto"]=$(nginx_rss_kb nginx-auto)
  if [[ -n ${TARGET_URL[shepherd]:-} ]]; then into[shepherd]=$(rss_kb "$SHEPHERD_PID"); fi
  if [[ -n ${TARGET_URL[baseline]:-} ]]; then into[baseline]=$(rss_kb "$BASELINE_PID"); fi
}

# ---- the minimal Netty proxy (BASELINE=on) ---------------------------------------

start_baseline() {
  start_minimal_proxy "${UPSTREAM_PORTS[@]}"
  BASELINE_PID=$MINIMAL_PROXY_PID
  TARGET_URL[baseline]=$MINIMAL_PROXY_URL
}

# ---- wrk ------------------------------------------------------------------------

# run_wrk OUT URL THREADS CONNECTIONS DURATION [SCRIPT]
run_wrk() {
  local out=$1 url=$2 threads=$3 conns=$4 duration=$5 script=${6:-}
  wrk --latency -t "$threads" -c "$conns" -d "$duration" ${script:+-s "$script"} "$url" >"$out" 2>&1 ||
    log "wrk failed on $url: $(tail -n 2 "$out" | tr '\n' ' ')"
}

# wrk_numbers FILE: "req/s p50_us p99_us errors" (errors = socket errors + non-2xx/3xx).
wrk_numbers() {
  awk '
    function us(v) {
      if (v ~ /us$/) return v + 0
      if (v ~ /ms$/) return v * 1000
      if (v ~ /m$/)  return v * 60000000
      if (v ~ /s$/)  return v * 1000000
      return v + 0
    }
    /^Requests\/sec:/             { rps = $2 }
    $1 == "50%"                   { p50 = us($2) }
    $1 == "99%"                   { p99 = us($2) }
    /Socket errors:/              { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/   { errors += $5 }
    END { printf "%s %s %s %d\n", (rps == "" ? "NA" : rps), (p50 == "" ? "NA" : p50), (p99 == "" ? "NA" : p99), errors }' "$1"
}

# run_ab OUT URL CONNECTIONS DURATION: ab without keep-alive; -n raised because -t alone
# implies -n 50000; -r so that one reset does not end the run.
run_ab() {
  local out=$1 url=$2 conns=$3 seconds=${4%s}
  ab -r -c "$conns" -t "$seconds" -n 10000000 "$url" >"$out" 2>&1 ||
    log "ab failed on $url: $(tail -n 2 "$out" | tr '\n' ' ')"
}

# ab_numbers FILE: "req/s p50_us p99_us errors", as wrk_numbers (errors = failed + non-2xx).
ab_numbers() {
  awk '
    /^Requests per second:/ { rps = $4 }
    /^Failed requests:/     { errors += $3 }
    /^Non-2xx responses:/   { errors += $3 }
    $1 == "50%"             { p50 = $2 * 1000 }
    $1 == "99%"             { p99 = $2 * 1000 }
    END { printf "%s %s %s %d\n", (rps == "" ? "NA" : rps), (p50 == "" ? "NA" : p50), (p99 == "" ? "NA" : p99), errors }' "$1"
}

# run_load OUT URL THREADS CONNECTIONS DURATION [SCRIPT]: wrk, or ab when THREADS is "ab".
run_load() {
  if [[ $3 == ab ]]; then run_ab "$1" "$2" "$4" "$5"; else run_wrk "$@"; fi
}

run_case() { # run_case ROUND CASE TARGET
  local round=$1 case=$2 target=$3 path threads conns script out numbers
  read -r path threads conns script <<<"${CASE_SPEC[$case]}"
  out=$WORK_DIR/wrk-$round-$case-$target.txt
  run_load "$out" "${TARGET_URL[$target]}$path" "$threads" "$conns" "$DURATION" "$script"
  if [[ $threads == ab ]]; then numbers=$(ab_numbers "$out"); else numbers=$(wrk_numbers "$out"); fi
  printf '%s\t%s\t%s\t%s\n' "$round" "$case" "$target" "$(tr ' ' '\t' <<<"$numbers")" >>"$RAW"
}

# ---- run ------------------------------------------------------------------------

machine_info
echo "nginx:   $(nginx -v 2>&1 | sed 's/^nginx version: //')"
echo "wrk:     $(wrk -v 2>&1 | head -n1)"
echo "run:     DURATION=$DURATION ROUNDS=$ROUNDS WARMUP=$WARMUP CASE_WARMUP=$CASE_WARMUP WORKERS=$WORKERS NGINX_KEEPALIVE=$NGINX_KEEPALIVE"

if [[ $SHEPHERD == off ]]; then
  NOTES+=("shepherd: not measured (SHEPHERD=off); the script started the upstreams itself")
  start_own_upstreams
elif start_shepherd_fleet; then
  TARGET_URL[shepherd]=http://127.0.0.1:$SHEPHERD_PORT
  echo "shepherd: pid $SHEPHERD_PID, proxy :$SHEPHERD_PORT, management :$SHEPHERD_MGMT, workers on ports ${UPSTREAM_PORTS[*]}"
  echo "          java options: ${SHEPHERD_JAVA_OPTS-$SHEPHERD_RECOMMENDED_JAVA_OPTS}"
else
  NOTES+=("shepherd: NOT MEASURED, it failed to start with --fleet.worker.command (see the log lines above);" \
    "          direct and nginx ran over upstreams the script started itself")
  tail -n 30 "$WORK_DIR/shepherd.log" >&2 || true
  stop_tree "$SHEPHERD_PID"
  start_own_upstreams
fi
TARGET_URL[direct]=http://127.0.0.1:${UPSTREAM_PORTS[0]}
start_nginx nginx-1 1
start_nginx nginx-auto auto
TARGETS=(direct nginx-1 nginx-auto)
[[ -n ${TARGET_URL[shepherd]:-} ]] && TARGETS+=(shepherd)
if [[ $BASELINE == on ]]; then
  [[ $SHEPHERD == off ]] && resolve_shepherd_jar
  start_baseline
  TARGETS+=(baseline)
fi

# Every target must answer every case correctly before anything is timed.
for target in "${TARGETS[@]}"; do
  base=${TARGET_URL[$target]}
  [[ $(curl -s --max-time 5 "$base/16k" | wc -c) == 16384 && $(curl -s --max-time 5 "$base/1m" | wc -c) == 1048576 &&
    $(head -c 65536 /dev/zero | curl -s --max-time 5 -H "Expect:" --data-binary @- "$base/") == 65536 ]] ||
    die "$target ($base) does not answer /16k, /1m and a 64 KiB POST correctly"
done

measure_rss RSS_BEFORE
echo
for target in "${TARGETS[@]}"; do
  # Each case runs once for as long as a timed run: a JIT compiles each path only after thousands of
  # requests, and code compiled for one case is recompiled when another takes a new path through it.
  log "warm-up $target: ${WARMUP} of / at -c64, then ${CASE_WARMUP} of each case"
  run_wrk "$WORK_DIR/warmup-$target.txt" "${TARGET_URL[$target]}/" 2 64 "$WARMUP"
  for case in $CASES; do
    read -r path threads conns script <<<"${CASE_SPEC[$case]}"
    run_load "$WORK_DIR/warmup-$target-$case.txt" "${TARGET_URL[$target]}$path" "$threads" "$conns" "$CASE_WARMUP" "$script"
  done
done

printf 'round\tcase\ttarget\trequests_per_s\tp50_us\tp99_us\terrors\n' >"$RAW"
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round of $ROUNDS"
  for case in $CASES; do
    [[ -n ${CASE_SPEC[$case]:-} ]] || die "unknown case '$case' (cases: ${!CASE_SPEC[*]})"
    for ((i = 0; i < ${#TARGETS[@]}; i++)); do
      run_case "$round" "$case" "${TARGETS[(i + round - 1) % ${#TARGETS[@]}]}"
    done
  done
done
measure_rss RSS_AFTER

echo
echo "Requests per second, median over $ROUNDS round(s) of $DURATION [min – max]; p50/p99 from wrk --latency"
"$BENCH_DIR/throughput-report.py" "$RAW" "$SUMMARY"

echo
echo "Resident memory (VmRSS), before the warm-up -> after the last round:"
for target in nginx-1 nginx-auto shepherd baseline; do
  [[ -n ${RSS_BEFORE[$target]:-} ]] || continue
  what="master + $(pgrep -cP "${NGINX_PID[$target]:-0}" 2>/dev/null || echo 0) workers"
  [[ $target == shepherd ]] && what="master JVM only, not its workers"
  [[ $target == baseline ]] && what="the minimal proxy's JVM"
  printf '  %-11s %6.1f MB -> %6.1f MB   (%s)\n' "$target" \
    "$(awk -v k="${RSS_BEFORE[$target]}" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="${RSS_AFTER[$target]}" 'BEGIN { print k / 1024 }')" "$what"
  printf 'rss\t%s\t%s\t%s\n' "$target" "${RSS_BEFORE[$target]}" "${RSS_AFTER[$target]}" >>"$SUMMARY"
done
echo
for note in "${NOTES[@]}"; do echo "$note"; done
echo "TSV: $RAW"
echo "     $SUMMARY"
