#!/usr/bin/env bash
# Balancing: the seed article's CPU-bound server on WORKERS Node workers behind each way of
# spreading requests, at ab -c 500 (one connection per request, HTTP/1.0, as in the article).
#
# Loads (bench/balancing/server.js):
#   even     GET /         every request runs the article's loop once (~5-6 ms of CPU in Node 20)
#   uneven   GET /uneven   every tenth request a worker serves runs it ten times
# Targets, each over WORKERS processes of that server of its own:
#   cluster          Node's cluster module (bench/balancing/cluster.js): the primary accepts each
#                    connection and hands it to the next worker (SCHED_RR)
#   nginx-rr         nginx, round-robin (bench/nginx/nginx.conf.template: 1 worker process,
#                    upstream keep-alive pool of 512)
#   nginx-lc         the same nginx config with least_conn
#   shepherd-rr      Shepherd, defaults (fleet.proxy.balancer=round-robin)
#   shepherd-lr      Shepherd, fleet.proxy.balancer=least-request
#   shepherd-lr-mc1  Shepherd, least-request and fleet.worker.max-concurrency=1
#   shepherd-lr-mcN  (N 2-9, not in the default TARGETS) the same with fleet.worker.max-concurrency=N
#   shepherd-lr-mcN-el1 (not in the default TARGETS) max-concurrency N on one event loop
#                    (fleet.proxy.event-loops=1): every slot is handed on on the loop that freed it,
#                    never to the other loop's thread (bench/RESULTS.md, "Where the master's CPU goes")
# Every Shepherd also gets --fleet.liveness.timeout=10s: under the round-robin rows a Node
# worker has hundreds of requests queued, and the liveness probe waits behind them (it is sent
# to the worker directly, past the proxy); the default 2 s would have healthy workers replaced.
# And --fleet.proxy.queue-timeout=$QUEUE_TIMEOUT (60 s): with a max-concurrency limit the excess
# waits in Shepherd's queue, about CONCURRENCY / req/s (5-7 s here), longer than the default 5 s,
# past which Shepherd answers 503; Node's cluster (the kernel's accept queue) and nginx (its
# connections to the workers) have no such limit, so with the default the mc rows' p99 and max
# would be cut at 5 s by 503s while the others' are not.
#
# The JIT first: JIT_WARMUP seconds of GET /health (answered without the loop) at -c CONCURRENCY
# against every target, then the target's processes settle. C2 compiles a method after ~5,000-
# 15,000 calls, so at the seed's ~100 req/s a master would still be compiling, on the two cores
# the workers need, through the first ~100 s of the measured rounds (bench/RESULTS.md, "Where the
# master's CPU goes"). /health's thousands per second compile the proxy's path in seconds; the
# seed's own load then still makes C2 recompile for ~20 s (its branch profiles differ), which the
# per-load warm-up covers: WARMUP seconds of each load at -c 50. Then ROUNDS rounds; in
# each round every load runs against every target, the target order rotating from round to
# round. Before each run the script waits until the target's processes are idle again (a
# round-robin run leaves requests queued in the workers after ab stops), at most 30 s.
# Figures from ab: requests per second, and the 50 %, 99 % and 100 % (longest) lines of its
# percentile table, in ms; "failed" is ab's failed requests plus non-2xx answers.
#
# Usage: bench/balancing.sh                                   (~18 min with the defaults)
#        ROUNDS=1 DURATION=5 WARMUP=3 JIT_WARMUP=3 bench/balancing.sh   smoke run
#        TARGETS="cluster shepherd-lr-mc1" LOADS=uneven bench/balancing.sh
# Env:   WORKERS=2 CONCURRENCY=500 DURATION=10 ROUNDS=3 WARMUP=10 JIT_WARMUP=20 QUEUE_TIMEOUT=60s
#        LOADS="even uneven"
#        TARGETS="cluster nginx-rr nginx-lc shepherd-rr shepherd-lr shepherd-lr-mc1"
#        SHEPHERD_JAR, SHEPHERD_JAVA_OPTS, SHEPHERD_ARGS (see lib.sh)
# Output: the table below, and bench/out/balancing-STAMP.tsv (every run) and -summary.tsv; a log
#         line for every Shepherd run during which the master's C2 compiler still worked (its CPU
#         comes out of the workers' cores: the master was not warmed up yet).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS=${WORKERS:-2}
CONCURRENCY=${CONCURRENCY:-500}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-10}
JIT_WARMUP=${JIT_WARMUP:-20}
QUEUE_TIMEOUT=${QUEUE_TIMEOUT:-60s}
LOADS=${LOADS:-even uneven}
TARGETS=${TARGETS:-cluster nginx-rr nginx-lc shepherd-rr shepherd-lr shepherd-lr-mc1}
SERVER=$BENCH_DIR/balancing/server.js

require_tool ab "apt-get install -y apache2-utils"
require_tool node "apt-get install -y nodejs"
require_tool nginx "apt-get install -y nginx-light"
require_tool curl "apt-get install -y curl"
require_tool python3 "apt-get install -y python3"
[[ " $TARGETS " != *" shepherd"* ]] || resolve_shepherd_jar
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$OUT_DIR/balancing-$STAMP.tsv
SUMMARY=$OUT_DIR/balancing-$STAMP-summary.tsv

declare -A URL ROOTS
declare -A LOAD_PATH=([even]=/ [uneven]=/uneven)

# ---- targets ----------------------------------------------------------------------

start_cluster() {
  local port pid
  port=$(free_port)
  PORT=$port WORKERS=$WORKERS node "$BENCH_DIR/balancing/cluster.js" >"$WORK_DIR/cluster.log" 2>&1 &
  pid=$!
  track "$pid"
  wait_http_200 "http://127.0.0.1:$port/health" 20 "$pid" || die "Node's cluster did not start: $(tail -n 5 "$WORK_DIR/cluster.log")"
  URL[cluster]=http://127.0.0.1:$port
  ROOTS[cluster]=$pid
}

UPSTREAM_PORTS=()
UPSTREAM_PIDS=()
start_upstreams() { # the Node workers both nginx instances share (never loaded at the same time)
  local i port pid
  for ((i = 0; i < WORKERS; i++)); do
    port=$(free_port)
    PORT=$port node "$SERVER" >"$WORK_DIR/upstream-$i.log" 2>&1 &
    pid=$!
    track "$pid"
    wait_http_200 "http://127.0.0.1:$port/health" 20 "$pid" || die "upstream $i did not start"
    UPSTREAM_PORTS+=("$port")
    UPSTREAM_PIDS+=("$pid")
  done
}

start_nginx() { # start_nginx NAME BALANCING_DIRECTIVE
  ((${#UPSTREAM_PORTS[@]} > 0)) || start_upstreams
  NGINX_BALANCING=$2 start_nginx_instance "$1" 1 512 "${UPSTREAM_PORTS[@]}"
  URL[$1]=$NGINX_STARTED_URL
  ROOTS[$1]="$NGINX_STARTED_PID ${UPSTREAM_PIDS[*]}"
}

start_shepherd_target() { # start_shepherd_target NAME ARGS...
  local name=$1 deadline ready
  shift
  start_shepherd "$name" --fleet.workers="$WORKERS" --fleet.worker.command="node,$SERVER" \
    --fleet.liveness.timeout=10s --fleet.proxy.queue-timeout="$QUEUE_TIMEOUT" "$@" || die "$name did not start (log: $WORK_DIR/$name.log)"
  deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    ready=$(shepherd_worker_field "$SHEPHERD_MGMT" pid 2>/dev/null | wc -w)
    ((ready == WORKERS)) && break
    sleep 0.3
  done
  ((ready == WORKERS)) || die "$name: $WORKERS READY workers expected, /fleet says: $(fleet_json "$SHEPHERD_MGMT" | head -c 400)"
  URL[$name]=http://127.0.0.1:$SHEPHERD_PORT
  ROOTS[$name]=$SHEPHERD_PID
}

start_target() {
  case $1 in
    cluster) start_cluster ;;
    nginx-rr) start_nginx nginx-rr "" ;;
    nginx-lc) start_nginx nginx-lc "least_conn;" ;;
    shepherd-rr) start_shepherd_target shepherd-rr ;;
    shepherd-lr) start_shepherd_target shepherd-lr --fleet.proxy.balancer=least-request ;;
    shepherd-lr-mc[1-9] | shepherd-lr-mc[1-9]-el1)
      local limit=${1#shepherd-lr-mc}
      # shellcheck disable=SC2046 # no word, or one
      start_shepherd_target "$1" --fleet.proxy.balancer=least-request --fleet.worker.max-concurrency="${limit%-el1}" \
        $([[ $1 == *-el1 ]] && echo --fleet.proxy.event-loops=1) ;;
    *) die "unknown target '$1' (targets: cluster nginx-rr nginx-lc shepherd-rr shepherd-lr shepherd-lr-mcN shepherd-lr-mcN-el1, N 1-9)" ;;
  esac
}

# ---- measuring ----------------------------------------------------------------------

# settle NAME: waits until the target's processes use under 5 % of a core, at most 30 s.
settle() {
  # shellcheck disable=SC2086 # ROOTS holds a list of pids
  settle_tree "$1" ${ROOTS[$1]}
}

# run_ab OUT URL CONCURRENCY SECONDS: -n is raised because -t alone implies -n 50000; -l because
# the answer's length varies with the pid; -r so that a reset does not end the run.
run_ab() {
  ab -l -r -c "$3" -t "$4" -n 10000000 "$2" >"$1" 2>&1 || log "ab failed on $2: $(tail -n 2 "$1" | tr '\n' ' ')"
}

# ab_numbers FILE: "req/s p50_ms p99_ms max_ms complete failed" (NA where ab printed nothing).
ab_numbers() {
  awk '
    /^Complete requests:/   { complete = $3 }
    /^Failed requests:/     { failed += $3 }
    /^Non-2xx responses:/   { failed += $3 }
    /^Requests per second:/ { rps = $4 }
    $1 == "50%"             { p50 = $2 }
    $1 == "99%"             { p99 = $2 }
    $1 == "100%"            { max = $2 }
    END { printf "%s %s %s %s %s %d\n", (rps == "" ? "NA" : rps), (p50 == "" ? "NA" : p50),
                 (p99 == "" ? "NA" : p99), (max == "" ? "NA" : max), (complete == "" ? 0 : complete), failed }' "$1"
}

# ---- run ------------------------------------------------------------------------

machine_info
echo "nginx:   $(nginx -v 2>&1 | sed 's/^nginx version: //')"
echo "ab:      $(ab -V 2>&1 | head -n1)"
echo "run:     WORKERS=$WORKERS CONCURRENCY=$CONCURRENCY DURATION=${DURATION}s ROUNDS=$ROUNDS WARMUP=${WARMUP}s JIT_WARMUP=${JIT_WARMUP}s LOADS=\"$LOADS\""
echo "shepherd: --fleet.proxy.queue-timeout=$QUEUE_TIMEOUT (a max-concurrency row's requests wait in its queue; past it: 503)"

read -r -a TARGET_LIST <<<"$TARGETS"
for target in "${TARGET_LIST[@]}"; do
  log "starting $target"
  start_target "$target"
  for load in $LOADS; do
    [[ $(curl -s --max-time 20 "${URL[$target]}${LOAD_PATH[$load]}") == "Process handled by pid: "* ]] ||
      die "$target does not answer ${LOAD_PATH[$load]} with the seed's answer"
  done
done

for target in "${TARGET_LIST[@]}"; do
  if ((JIT_WARMUP > 0)); then
    log "JIT warm-up $target: ${JIT_WARMUP}s of /health at -c $CONCURRENCY"
    run_ab "$WORK_DIR/jit-warmup-$target.txt" "${URL[$target]}/health" "$CONCURRENCY" "$JIT_WARMUP"
    settle "$target"
  fi
  for load in $LOADS; do
    log "warm-up $target: ${WARMUP}s of $load at -c 50"
    run_ab "$WORK_DIR/warmup-$target-$load.txt" "${URL[$target]}${LOAD_PATH[$load]}" 50 "$WARMUP"
    settle "$target"
  done
done

printf 'round\tload\ttarget\trequests_per_s\tp50_ms\tp99_ms\tmax_ms\tcomplete\tfailed\n' >"$RAW"
for ((round = 1; round <= ROUNDS; round++)); do
  for load in $LOADS; do
    log "round $round of $ROUNDS, $load load"
    for ((i = 0; i < ${#TARGET_LIST[@]}; i++)); do
      target=${TARGET_LIST[(i + round - 1) % ${#TARGET_LIST[@]}]}
      settle "$target"
      out=$WORK_DIR/ab-$round-$load-$target.txt
      c2_before=$(c2_ticks "${ROOTS[$target]%% *}")
      run_ab "$out" "${URL[$target]}${LOAD_PATH[$load]}" "$CONCURRENCY" "$DURATION"
      c2_ms=$((($(c2_ticks "${ROOTS[$target]%% *}") - c2_before) * 1000 / $(getconf CLK_TCK)))
      ((c2_ms == 0)) || log "$target: its C2 compiler used $c2_ms ms of CPU during the run (still warming up)"
      printf '%s\t%s\t%s\t%s\n' "$round" "$load" "$target" "$(ab_numbers "$out" | tr ' ' '\t')" >>"$RAW"
    done
  done
done

echo
echo "ab -c $CONCURRENCY -t $DURATION, $WORKERS workers: median over $ROUNDS round(s) [min – max]"
"$BENCH_DIR/balancing-report.py" "$RAW" "$SUMMARY"
echo
echo "TSV: $RAW"
echo "     $SUMMARY"
