#!/usr/bin/env bash
# WebSocket echo through Shepherd, through nginx configured for WebSocket, and direct, over the
# very same workers and with the very same client; plus how many idle tunnels each proxy holds per
# 100 MiB of resident memory.
#
# Shepherd spawns WORKERS echo workers (src/test/js/ws-echo-worker.js, the `ws` package, also the
# tests' worker); the script reads their ports from GET /fleet and points two nginx instances at
# them (worker_processes 1 and auto, bench/nginx/websocket.conf.template: Upgrade and Connection
# passed on, proxy_read_timeout 3600s, upstream keepalive for plain requests). Targets:
#   direct      the client's connections spread round-robin over the workers' own ports
#   nginx-1     nginx, worker_processes 1
#   nginx-auto  nginx, worker_processes auto
#   shepherd    Shepherd's proxy port
#   shepherd-NAME  one more Shepherd master per SHEPHERD_VARIANTS entry ("NAME|arguments", separated by ';',
#               e.g. SHEPHERD_VARIANTS="el1|--fleet.proxy.event-loops=1"), with its own WORKERS echo workers
#               (nginx stays in front of the first master's workers) and the same java options
# The client is bench/websocket/load.js (one Node process, `ws`): it opens every connection before
# the clock starts, then each connection does echo round trips of one text message at a time.
# Cases: c1 = 1 connection (its p50/p99 are the latency figures), c64 and c256 = 64 and 256
# connections, 32-byte messages; 4k = 64 connections, 4 KiB messages. After a warm-up of every
# target (WARMUP at 64 connections), ROUNDS rounds; in each round every case runs against every
# target back to back, the target order rotating from round to round.
# Each run also gives the proxy's CPU time per round trip (utime + stime from /proc: nginx's master and
# workers, Shepherd's master alone; none for direct): the figure that says what a proxy costs the machine
# it shares with its workers and the client, less noisy than round trips per second; and how often the proxy's
# event loops went to sleep per round trip (voluntary context switches of Shepherd's proxy-* threads and of
# nginx's worker processes): a loop that runs out of work sleeps, and each wake-up costs CPU.
# Idle tunnels: IDLE_TUNNELS WebSockets opened through nginx-1 and through Shepherd and held without
# traffic, after the warm-up and before the timed rounds; the proxy's resident memory (VmRSS; nginx: master +
# workers) before they open and SETTLE seconds after the last one opened gives tunnels per 100 MiB.
#
# Shepherd forwards WebSockets only with the Upgrade tunnels of issue 17: when a handshake through it
# fails, its rows say "not measured" with the reason, and direct and nginx are still measured.
#
# Usage: bench/websocket.sh                               full run (~10 min with the defaults)
#        DURATION=2 ROUNDS=1 WARMUP=2 IDLE_TUNNELS=500 bench/websocket.sh   smoke run
# Env:   DURATION=10 (seconds per run) ROUNDS=3 WARMUP=10 WORKERS=2 CASES="c1 c64 c256 4k"
#        IDLE_TUNNELS=2000 SETTLE=5 NGINX_KEEPALIVE=64 SHEPHERD_VARIANTS=
#        SHEPHERD_JAR (default target/shepherd.jar), SHEPHERD_JAVA_OPTS (default: the recommended
#        flags, SHEPHERD_RECOMMENDED_JAVA_OPTS in lib.sh; empty: the JVM's defaults)
# Needs: nginx (apt-get install -y nginx-light), node and npm (the pinned `ws` of
#        src/test/js/package-lock.json is installed into target/js once, as the tests do), python3, curl.
# Output: the tables below, plus bench/out/websocket-STAMP.tsv (every run) and
#         bench/out/websocket-STAMP-summary.tsv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-10}
WORKERS=${WORKERS:-2}
CASES=${CASES:-c1 c64 c256 4k}
IDLE_TUNNELS=${IDLE_TUNNELS:-2000}
SETTLE=${SETTLE:-5}
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-64}
SHEPHERD_VARIANTS=${SHEPHERD_VARIANTS:-}
LOAD=$BENCH_DIR/websocket/load.js
WORKER_JS=$REPO_DIR/src/test/js/ws-echo-worker.js

require_tool nginx "apt-get install -y nginx-light"
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
require_tool python3 "apt-get install -y python3"
require_node_modules
export NODE_PATH=$NODE_MODULES
resolve_shepherd_jar
# Two descriptors per idle tunnel in each proxy, one per tunnel in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 2 * IDLE_TUNNELS + 1000)) || die "ulimit -n is $(ulimit -n): too few for IDLE_TUNNELS=$IDLE_TUNNELS"
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$OUT_DIR/websocket-$STAMP.tsv
SUMMARY=$OUT_DIR/websocket-$STAMP-summary.tsv
NOTES=()

# case -> "connections bytes"
declare -A CASE_SPEC=([c1]="1 32" [c64]="64 32" [c256]="256 32" [4k]="64 4096")
declare -A TARGET_URLS TARGET_PID
VARIANT_TARGETS=()

# ---- the workers, nginx, Shepherd ---------------------------------------------------

start_fleet() { # start_fleet NAME [ARGS...]: a master and its WORKERS echo workers; sets UPSTREAM_PORTS
  local name=$1
  shift
  # shellcheck disable=SC2068 # the variant's arguments are words on purpose
  start_shepherd "$name" --fleet.workers="$WORKERS" --fleet.worker.command="node,$WORKER_JS" \
    --fleet.worker.environment.NODE_PATH="$NODE_MODULES" $@ || die "Shepherd $name did not start (log above)"
  local deadline=$((SECONDS + 30)) ports
  while ((SECONDS < deadline)); do
    read -r -a ports <<<"$(shepherd_worker_field "$SHEPHERD_MGMT" port 2>/dev/null || true)"
    if ((${#ports[@]} == WORKERS)); then
      UPSTREAM_PORTS=("${ports[@]}")
      return 0
    fi
    sleep 0.3
  done
  die "GET /fleet did not list $WORKERS READY workers within 30 s: $(fleet_json "$SHEPHERD_MGMT" | head -c 600)"
}

ws_urls() { # ws_urls HTTP_BASE...: the ws:// URLs, comma-separated
  local url out=()
  for url in "$@"; do out+=("ws://${url#http://}/"); done
  (IFS=,; echo "${out[*]}")
}

start_nginx() { # start_nginx NAME WORKER_PROCESSES
  NGINX_TEMPLATE=$BENCH_DIR/nginx/websocket.conf.template \
    start_nginx_instance "$1" "$2" "$NGINX_KEEPALIVE" "${UPSTREAM_PORTS[@]}"
  TARGET_URLS[$1]=$(ws_urls "$NGINX_STARTED_URL")
  TARGET_PID[$1]=$NGINX_STARTED_PID
}

proxy_ticks() { # CPU clock ticks of a target's proxy so far: nginx's master + workers, Shepherd's master
  local target=$1
  case $target in
    direct) echo 0 ;;
    nginx-*) tree_ticks "${TARGET_PID[$target]}" ;;
    *) awk '{print $14 + $15}' "/proc/${TARGET_PID[$target]}/stat" 2>/dev/null || echo NA ;;
  esac
}

# proxy_sleeps TARGET: how often the proxy's event loops have gone to sleep so far (voluntary context switches:
# Shepherd's proxy-* threads, nginx's worker processes).
proxy_sleeps() {
  local target=$1 total=0 pid task
  case $target in
    direct) echo 0 ;;
    nginx-*)
      for pid in $(pgrep -P "${TARGET_PID[$target]}"); do
        total=$((total + $(awk '/^voluntary_ctxt_switches:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
      done
      echo "$total" ;;
    *)
      for task in /proc/"${TARGET_PID[$target]}"/task/*; do
        [[ $(cat "$task/comm" 2>/dev/null) == proxy-* ]] || continue
        total=$((total + $(awk '/^voluntary_ctxt_switches:/ {print $2}' "$task/status" 2>/dev/null || echo 0)))
      done
      echo "$total" ;;
  esac
}

proxy_rss_kb() { # master + its children (nginx's workers; Shepherd's workers are not counted)
  local target=$1 total pid
  if [[ $target == shepherd ]]; then rss_kb "$SHEPHERD_PID"; return; fi
  total=0
  for pid in "${TARGET_PID[$target]}" $(pgrep -P "${TARGET_PID[$target]}"); do total=$((total + $(rss_kb "$pid"))); done
  echo "$total"
}

# ---- the client -------------------------------------------------------------------

# load_echo OUT URLS CONNECTIONS SECONDS BYTES: one run of the client; its JSON line goes to OUT.
load_echo() {
  timeout $(($4 + 60)) node "$LOAD" echo "$2" "$3" "$4" "$5" >"$1" 2>&1 || true
}

run_case() { # run_case ROUND CASE TARGET
  local round=$1 case=$2 target=$3 conns bytes out before after slept fields rate p50 p99 errors messages cpu sleeps
  read -r conns bytes <<<"${CASE_SPEC[$case]}"
  out=$WORK_DIR/load-$round-$case-$target.json
  before=$(proxy_ticks "$target")
  slept=$(proxy_sleeps "$target")
  load_echo "$out" "${TARGET_URLS[$target]}" "$conns" "$DURATION" "$bytes"
  after=$(proxy_ticks "$target")
  slept=$(( $(proxy_sleeps "$target") - slept ))
  fields=$(json_eval '"%s\t%s\t%s\t%s\t%s" % (d.get("rate") or "NA", d.get("p50_us") or "NA",
    d.get("p99_us") or "NA", d.get("errors", 0), d.get("messages") or 0)' <"$out" || printf 'NA\tNA\tNA\t1\t0')
  read -r rate p50 p99 errors messages <<<"$fields"
  cpu=NA sleeps=NA
  # A proxy that died or was replaced during the run (its counters gone or reset) gives no figure.
  if [[ $target != direct && $messages != 0 && $before != NA && $after != NA && $slept != NA ]] &&
    ((after >= before && slept >= 0)); then
    cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$messages" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
    sleeps=$(awk -v s="$slept" -v n="$messages" 'BEGIN {printf "%.4f", s / n}')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$case" "$target" "$rate" "$p50" "$p99" "$errors" "$cpu" \
    "$sleeps" >>"$RAW"
}

# idle_tunnels TARGET: opens IDLE_TUNNELS idle WebSockets through TARGET, holds them SETTLE seconds
# and appends "target rss_before_kb rss_after_kb opened" to $IDLE.
idle_tunnels() {
  local target=$1 before after opened fifo=$WORK_DIR/idle-$1.in out=$WORK_DIR/idle-$1.json pid hold i
  before=$(proxy_rss_kb "$target")
  mkfifo "$fifo"
  node "$LOAD" idle "${TARGET_URLS[$target]}" "$IDLE_TUNNELS" <"$fifo" >"$out" 2>&1 &
  pid=$!
  track "$pid"
  exec {hold}>"$fifo" # the client holds its tunnels until this descriptor closes
  for ((i = 0; i < 600; i++)); do
    [[ -s $out ]] && break
    sleep 0.2
  done
  opened=$(json_eval 'd["opened"]' <"$out" 2>/dev/null || echo 0)
  sleep "$SETTLE"
  after=$(proxy_rss_kb "$target")
  exec {hold}>&-
  wait "$pid" 2>/dev/null || true
  printf '%s\t%s\t%s\t%s\n' "$target" "$before" "$after" "$opened" >>"$IDLE"
}

# ---- run --------------------------------------------------------------------------

machine_info
echo "nginx:   $(nginx -v 2>&1 | sed 's/^nginx version: //')"
echo "ws:      $(node -p 'require("ws/package.json").version')"
echo "run:     DURATION=${DURATION}s ROUNDS=$ROUNDS WARMUP=${WARMUP}s WORKERS=$WORKERS IDLE_TUNNELS=$IDLE_TUNNELS"

HZ=$(getconf CLK_TCK)
IFS=';' read -r -a variants <<<"$SHEPHERD_VARIANTS"
for variant in "${variants[@]}"; do
  [[ $variant =~ ^[a-z0-9-]+\|.+ ]] || die "SHEPHERD_VARIANTS entry '$variant': expected NAME|arguments (NAME: a-z, 0-9, -)"
  [[ -z ${TARGET_PID[shepherd-${variant%%|*}]:-} ]] || die "SHEPHERD_VARIANTS names '${variant%%|*}' twice"
  UPSTREAM_PORTS=()
  # shellcheck disable=SC2086 # the arguments are words on purpose
  start_fleet "shepherd-${variant%%|*}" ${variant#*|}
  echo "shepherd-${variant%%|*}: pid $SHEPHERD_PID, proxy :$SHEPHERD_PORT, arguments: ${variant#*|}"
  TARGET_URLS[shepherd-${variant%%|*}]=$(ws_urls "http://127.0.0.1:$SHEPHERD_PORT")
  TARGET_PID[shepherd-${variant%%|*}]=$SHEPHERD_PID
  VARIANT_TARGETS+=("shepherd-${variant%%|*}")
done
UPSTREAM_PORTS=()
start_fleet shepherd
echo "shepherd: pid $SHEPHERD_PID, proxy :$SHEPHERD_PORT, management :$SHEPHERD_MGMT, workers on ports ${UPSTREAM_PORTS[*]}"
echo "          java options: ${SHEPHERD_JAVA_OPTS-$SHEPHERD_RECOMMENDED_JAVA_OPTS}"
direct=()
for port in "${UPSTREAM_PORTS[@]}"; do direct+=("http://127.0.0.1:$port"); done
TARGET_URLS[direct]=$(ws_urls "${direct[@]}")
start_nginx nginx-1 1
start_nginx nginx-auto auto
TARGET_URLS[shepherd]=$(ws_urls "http://127.0.0.1:$SHEPHERD_PORT")
TARGET_PID[shepherd]=$SHEPHERD_PID

# Every target must echo before anything is timed; one that cannot is left out, with the reason.
TARGETS=()
for target in direct nginx-1 nginx-auto shepherd "${VARIANT_TARGETS[@]}"; do
  load_echo "$WORK_DIR/check-$target.json" "${TARGET_URLS[$target]}" 2 1 32
  if [[ $(json_eval 'd["messages"] > 0 and d["failure"] is None' <"$WORK_DIR/check-$target.json" 2>/dev/null) == True ]]; then
    TARGETS+=("$target")
  else
    reason=$(json_eval 'd["failure"]' <"$WORK_DIR/check-$target.json" 2>/dev/null || tail -n 3 "$WORK_DIR/check-$target.json")
    NOTES+=("$target: NOT MEASURED, the WebSocket handshake through it failed: $reason")
    [[ $target == shepherd ]] && NOTES+=("          (Shepherd forwards WebSockets only with the Upgrade tunnels of issue 17)")
  fi
done
((${#TARGETS[@]} > 0)) || die "no target echoes: ${NOTES[*]}"

for target in "${TARGETS[@]}"; do
  log "warm-up $target: ${WARMUP}s at 64 connections"
  load_echo "$WORK_DIR/warmup-$target.json" "${TARGET_URLS[$target]}" 64 "$WARMUP" 32
done

# The idle tunnels before the timed rounds: after them, the buffers the load left pooled in Shepherd's JVM
# would hold the new tunnels' memory and hide it from the resident-size difference.
IDLE=$WORK_DIR/idle.tsv
for target in nginx-1 shepherd; do
  [[ " ${TARGETS[*]} " == *" $target "* ]] || continue
  log "idle tunnels through $target: $IDLE_TUNNELS, RSS ${SETTLE}s after the last opened"
  idle_tunnels "$target"
done

printf 'round\tcase\ttarget\tmessages_per_s\tp50_us\tp99_us\terrors\tproxy_cpu_us\tsleeps_per_message\n' >"$RAW"
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round of $ROUNDS"
  for case in $CASES; do
    [[ -n ${CASE_SPEC[$case]:-} ]] || die "unknown case '$case' (cases: ${!CASE_SPEC[*]})"
    for ((i = 0; i < ${#TARGETS[@]}; i++)); do
      run_case "$round" "$case" "${TARGETS[(i + round - 1) % ${#TARGETS[@]}]}"
    done
  done
done

echo
echo "WebSocket echo round trips per second, median over $ROUNDS round(s) of ${DURATION}s [min – max];"
echo "round-trip p50/p99 (medians over the rounds)"
"$BENCH_DIR/websocket-report.py" "$RAW" "$SUMMARY" "${IDLE_TUNNELS}" "$( [[ -f $IDLE ]] && echo "$IDLE")"
echo
for note in "${NOTES[@]}"; do echo "$note"; done
echo "TSV: $RAW"
echo "     $SUMMARY"
