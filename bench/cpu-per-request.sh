#!/usr/bin/env bash
# CPU time each proxy spends per request (utime + stime from /proc/PID/stat around one wrk
# run), next to its requests per second: a figure less noisy than req/s on a shared machine,
# and the one that tells variants of Shepherd apart (JVM flags, settings).
#
# Every variant is a Shepherd master with its own two Node workers (SERVER, default
# bench/upstream/server.js); nginx (worker_processes 1, upstream keepalive 512) and, with
# BASELINE=on, the minimal Netty proxy of bench/baseline/ stand in front of the first variant's
# workers. After a warm-up of each target, ROUNDS rounds run every target back to back, the order
# rotating from round to round.
# LOAD=ab runs `ab -l -r` (HTTP/1.0, a new connection per request) instead of wrk; the C2 column is
# the share of the JVM's C2 compiler threads (a master still compiling is not warmed up).
# Beside the proxy's own CPU, each line gives the CPU per request of the workers that served it
# (workers: each variant's own two; nginx and the minimal proxy use the first variant's, so those rows
# compare what each proxy costs the same processes) and of the whole machine (machine: every CPU's
# busy time from /proc/stat, the load generator included).
# PIN=on keeps the proxies off the workers' CPU: every process under a Shepherd master (its workers) on CPU 0,
# every proxy and the load generator on CPU 1 (taskset; the machine must have CPUs 0 and 1), re-applied before
# each round so that a worker a master replaced is pinned too; it tells what a proxy costs its workers through
# the CPU they share (caches, preemption) from what it sends them.
#
# TLS=on serves HTTPS on every proxy (Shepherd's server.ssl.*, nginx's `listen ... ssl`) with one self-signed EC
# P-256 key made by openssl for the run; wrk and ab then speak TLS (with ab, a handshake per request). BASELINE has no
# TLS and cannot be combined with it.
#
# Usage: bench/cpu-per-request.sh
#        VARIANTS='two||--fleet.proxy.event-loops=2;one||--fleet.proxy.event-loops=1' bench/cpu-per-request.sh
#        LOAD=ab CONNECTIONS=500 WARMUP_PATH=/health SERVER=bench/balancing/server.js bench/cpu-per-request.sh
# Env:   VARIANTS  "name|java options|shepherd arguments[|jar[|java]]", separated by ';' (default:
#                  one variant, "shepherd", with default settings; jar: SHEPHERD_JAR; java: the java
#                  command, SHEPHERD_JAVA or java on the PATH)
#        CONNECTIONS=64 PATH_=/ WARMUP_PATH=PATH_ DURATION=5s WARMUP=15s ROUNDS=5 BASELINE=off
#        LOAD=wrk (or ab) SERVER=bench/upstream/server.js PIN=off TLS=off
#        SCRIPT= (a wrk Lua script, e.g. bench/wrk/post64k.lua for 64 KiB uploads; LOAD=wrk only)
# Output: one line per round and target, then the median per target; the rounds also go to
#         bench/out/cpu-per-request-STAMP.tsv (round, target, req/s, user µs, sys µs, C2 µs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VARIANTS=${VARIANTS:-shepherd||}
CONNECTIONS=${CONNECTIONS:-64}
PATH_=${PATH_:-/}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-15s}
ROUNDS=${ROUNDS:-5}
BASELINE=${BASELINE:-off}
LOAD=${LOAD:-wrk}
SERVER=${SERVER:-$BENCH_DIR/upstream/server.js}
PIN=${PIN:-off}
SCRIPT=${SCRIPT:-}
TLS=${TLS:-off}
WARMUP_PATH=${WARMUP_PATH:-$PATH_}
# A CPU-bound worker with a queue answers the liveness probe late (bench/balancing.sh says why).
LIVENESS=
[[ $SERVER == "$BENCH_DIR/upstream/server.js" ]] || LIVENESS=--fleet.liveness.timeout=10s

require_wrk_nginx_node
[[ $LOAD != ab ]] || require_tool ab "apt-get install -y apache2-utils"
[[ $PIN != on ]] || require_tool taskset "apt-get install -y util-linux"
[[ -z $SCRIPT || ($LOAD == wrk && -r $SCRIPT) ]] || die "SCRIPT=$SCRIPT: a readable wrk Lua script, with LOAD=wrk"
resolve_shepherd_jar
machine_info
echo "run:     LOAD=$LOAD CONNECTIONS=$CONNECTIONS PATH_=$PATH_ WARMUP_PATH=$WARMUP_PATH DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS SERVER=$SERVER PIN=$PIN SCRIPT=$SCRIPT TLS=$TLS"

SCHEME=http
TLS_ARGS=
if [[ $TLS == on ]]; then
  [[ $BASELINE != on ]] || die "TLS=on: the minimal proxy of BASELINE=on has no TLS"
  require_tool openssl "apt-get install -y openssl"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK_DIR/key.pem" -out "$WORK_DIR/cert.pem" 2>"$WORK_DIR/openssl.log" ||
    die "openssl could not make a key: $(cat "$WORK_DIR/openssl.log")"
  SCHEME=https
  TLS_ARGS="--server.ssl.certificate=$WORK_DIR/cert.pem --server.ssl.certificate-private-key=$WORK_DIR/key.pem"
  # nginx: the same template, listening with TLS on the same key.
  sed -e 's#^\( *listen [^;]*\);#\1 ssl;\n        ssl_certificate '"$WORK_DIR"'/cert.pem;\n        ssl_certificate_key '"$WORK_DIR"'/key.pem;#' \
    "$BENCH_DIR/nginx/nginx.conf.template" >"$WORK_DIR/nginx-tls.conf.template"
  export NGINX_TEMPLATE=$WORK_DIR/nginx-tls.conf.template NGINX_SCHEME=https
fi

declare -A URL PIDS
TARGETS=()
UPSTREAM_PORTS=()
declare -A WORKER_PIDS

IFS=';' read -r -a specs <<<"$VARIANTS"
for spec in "${specs[@]}"; do
  IFS='|' read -r name opts args jar java <<<"$spec"
  [[ -n $name ]] || die "a variant needs a name: '$spec'"
  # shellcheck disable=SC2086 # options and arguments are lists of words on purpose
  SHEPHERD_JAR=${jar:-$SHEPHERD_JAR} SHEPHERD_JAVA=${java:-${SHEPHERD_JAVA:-java}} SHEPHERD_JAVA_OPTS=$opts start_shepherd "$name" --fleet.workers=2 \
    --fleet.worker.command="node,$SERVER" $LIVENESS $TLS_ARGS $args || die "variant $name did not start"
  URL[$name]=$SCHEME://127.0.0.1:$SHEPHERD_PORT
  PIDS[$name]=$SHEPHERD_PID
  TARGETS+=("$name")
  wait_http_200 "${URL[$name]}/" 30 "$SHEPHERD_PID" || true
  WORKER_PIDS[$name]=$(shepherd_worker_field "$SHEPHERD_MGMT" pid)
  if ((${#UPSTREAM_PORTS[@]} == 0)); then
    read -r -a UPSTREAM_PORTS <<<"$(shepherd_worker_field "$SHEPHERD_MGMT" port)"
    FIRST=$name
  fi
  log "$name: pid $SHEPHERD_PID, proxy :$SHEPHERD_PORT, java options '${opts}', arguments '${args}', jar ${jar:-$SHEPHERD_JAR}, java ${java:-${SHEPHERD_JAVA:-java}}"
done
((${#UPSTREAM_PORTS[@]} > 0)) || die "the first variant reported no READY worker"

# nginx, one worker process, in front of the first variant's workers.
start_nginx_instance nginx 1 512 "${UPSTREAM_PORTS[@]}"
URL[nginx]=$NGINX_STARTED_URL
WORKER_PIDS[nginx]=${WORKER_PIDS[$FIRST]}
PIDS[nginx]="$NGINX_STARTED_PID $(pgrep -P "$NGINX_STARTED_PID" | tr '\n' ' ')"
TARGETS+=(nginx)

if [[ $BASELINE == on ]]; then
  SHEPHERD_JAVA_OPTS='' start_minimal_proxy "${UPSTREAM_PORTS[@]}"
  URL[baseline]=$MINIMAL_PROXY_URL
  PIDS[baseline]=$MINIMAL_PROXY_PID
  WORKER_PIDS[baseline]=${WORKER_PIDS[$FIRST]}
  TARGETS+=(baseline)
fi

PINNED=()
# pin: every process under a Shepherd master (its workers, and the workers' children) on CPU 0, every proxy on
# CPU 1; a process that is gone is skipped.
pin() {
  local target pid
  for target in "${TARGETS[@]}"; do
    [[ $target == nginx || $target == baseline ]] && continue
    for pid in $(descendants "${PIDS[$target]}"); do taskset -a -c -p 0 "$pid" >/dev/null 2>&1 || true; done
  done
  # shellcheck disable=SC2086 # a list of pids
  for pid in ${PIDS[*]}; do taskset -a -c -p 1 "$pid" >/dev/null 2>&1 || true; done
}
if [[ $PIN == on ]]; then
  pin
  PINNED=(taskset -c 1)
  log "pinned: the workers on CPU 0; the proxies and the load generator on CPU 1"
fi

ticks() { # ticks PID...: "utime stime" summed, in clock ticks
  local pid u=0 s=0 f
  for pid in "$@"; do
    read -r -a f <"/proc/$pid/stat"
    u=$((u + f[13])) s=$((s + f[14]))
  done
  echo "$u $s"
}
# load OUT URL SECONDS: wrk, or ab without keep-alive; prints "requests req/s".
load() {
  if [[ $LOAD == ab ]]; then
    "${PINNED[@]}" ab -l -r -c "$CONNECTIONS" -t "${3%s}" -n 10000000 "$2" >"$1" 2>&1 || true
    awk '/^Complete requests:/ {n = $3} /^Requests per second:/ {r = $4} END {print n + 0, r}' "$1"
  else
    "${PINNED[@]}" wrk -t2 -c"$CONNECTIONS" -d"$3" ${SCRIPT:+-s "$SCRIPT"} "$2" >"$1"
    awk '/requests in/ {n = $1} /^Requests\/sec:/ {r = $2} END {print n + 0, r}' "$1"
  fi
}
# machine_ticks: busy clock ticks of all CPUs together (/proc/stat: everything but idle and iowait).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
HZ=$(getconf CLK_TCK)
mkdir -p "$OUT_DIR"
RAW=$OUT_DIR/cpu-per-request-$(date +%Y%m%d-%H%M%S).tsv

for target in "${TARGETS[@]}"; do
  log "warm-up $target: $WARMUP of $WARMUP_PATH at -c$CONNECTIONS ($LOAD)"
  load "$WORK_DIR/warmup.txt" "${URL[$target]}$WARMUP_PATH" "$WARMUP" >/dev/null
done
printf '%-6s %-12s %10s %9s %9s %9s %9s %11s %10s\n' round target req/s user_us sys_us total_us c2_us workers_us machine_us
for ((round = 1; round <= ROUNDS; round++)); do
  [[ $PIN != on ]] || pin
  # The order rotates from round to round: no target always runs right after the same one.
  for ((i = 0; i < ${#TARGETS[@]}; i++)); do
    target=${TARGETS[(i + round - 1) % ${#TARGETS[@]}]}
    # shellcheck disable=SC2086 # a list of pids
    read -r u0 s0 < <(ticks ${PIDS[$target]})
    # shellcheck disable=SC2086
    c0=$(c2_ticks ${PIDS[$target]})
    # shellcheck disable=SC2086 # a list of pids
    w0=$(tree_ticks ${WORKER_PIDS[$target]}) m0=$(machine_ticks)
    read -r requests rps < <(load "$WORK_DIR/run.txt" "${URL[$target]}$PATH_" "$DURATION")
    # shellcheck disable=SC2086
    read -r u1 s1 < <(ticks ${PIDS[$target]})
    # shellcheck disable=SC2086
    c1=$(c2_ticks ${PIDS[$target]})
    # shellcheck disable=SC2086
    w1=$(tree_ticks ${WORKER_PIDS[$target]}) m1=$(machine_ticks)
    ((requests > 0)) || die "no request completed against $target: $(tail -n 3 "$WORK_DIR/run.txt")"
    user=$(((u1 - u0) * 1000000 / HZ / requests))
    sys=$(((s1 - s0) * 1000000 / HZ / requests))
    c2=$(((c1 - c0) * 1000000 / HZ / requests))
    workers=$(((w1 - w0) * 1000000 / HZ / requests))
    machine=$(((m1 - m0) * 1000000 / HZ / requests))
    printf '%-6s %-12s %10s %9d %9d %9d %9d %11d %10d\n' "$round" "$target" "$rps" "$user" "$sys" $((user + sys)) "$c2" \
      "$workers" "$machine"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$target" "$rps" "$user" "$sys" "$c2" "$workers" "$machine" >>"$RAW"
  done
done

echo "TSV: $RAW"
echo
echo "Median per target over $ROUNDS rounds (CPU in µs per request, the proxy's own processes only):"
python3 - "$RAW" <<'PY'
import collections, statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
by = collections.defaultdict(list)
for _, target, rps, user, sys_, c2, workers, machine in rows:
    by[target].append((float(rps), int(user), int(sys_), int(c2), int(workers), int(machine)))
for target, runs in by.items():
    rps = [r[0] for r in runs]
    total = [r[1] + r[2] for r in runs]
    c2 = [r[3] for r in runs]
    workers = [r[4] for r in runs]
    machine = [r[5] for r in runs]
    print(f"  {target:<12} req/s {statistics.median(rps):>9,.0f} [{min(rps):,.0f} – {max(rps):,.0f}]"
          f"   CPU {statistics.median(total):>4.0f} µs [{min(total)} – {max(total)}]"
          f"   of it C2 {statistics.median(c2):>4.0f} µs [{min(c2)} – {max(c2)}]"
          f"   workers {statistics.median(workers):>4.0f} µs   machine {statistics.median(machine):>4.0f} µs")
PY
