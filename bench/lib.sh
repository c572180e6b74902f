# shellcheck shell=bash
# Helpers shared by bench/availability.sh and bench/throughput.sh. Sourced, not run.
#
# Every process a script starts goes through `track PID`; the EXIT trap stops each
# tracked process together with its descendants (TERM, then KILL), by pid.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
OUT_DIR=${OUT_DIR:-$BENCH_DIR/out}
WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shepherd-bench.XXXXXX")

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# require_tool TOOL INSTALL_HINT: the scripts install nothing; they say what to install.
require_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found; install it first: $2"
}

# What the throughput scripts need besides the jar.
require_wrk_nginx_node() {
  require_tool wrk "apt-get install -y wrk nginx-light"
  require_tool nginx "apt-get install -y wrk nginx-light"
  require_tool node "apt-get install -y nodejs"
  require_tool curl "apt-get install -y curl"
  require_tool python3 "apt-get install -y python3"
}

# require_node_modules: the npm packages the tests pin in src/test/js/package-lock.json (ws among
# them), installed with `npm ci` into target/js as the tests' NodeModules does, unless
# target/js/.installed says that this lock is installed already. Sets NODE_MODULES.
require_node_modules() {
  local sources=$REPO_DIR/src/test/js target=$REPO_DIR/target/js hash
  require_tool npm "apt-get install -y nodejs npm"
  NODE_MODULES=$target/node_modules
  hash=$(cat "$sources/package.json" "$sources/package-lock.json" | sha256sum | cut -d' ' -f1)
  [[ $(cat "$target/.installed" 2>/dev/null) == "$hash" && -d $NODE_MODULES ]] && return 0
  log "installing the npm packages of src/test/js into $target (npm ci)"
  mkdir -p "$target" && cp "$sources/package.json" "$sources/package-lock.json" "$target/" &&
    (cd "$target" && npm ci --no-audit --no-fund --loglevel=error) && echo "$hash" >"$target/.installed" ||
    die "npm ci in $target failed; is the npm registry reachable?"
}

# The jar is built by the project, never by the benchmark.
resolve_shepherd_jar() {
  SHEPHERD_JAR=${SHEPHERD_JAR:-$REPO_DIR/target/shepherd.jar}
  [[ -f $SHEPHERD_JAR ]] || die "$SHEPHERD_JAR not found; build it first: (cd $REPO_DIR && ./mvnw -DskipTests package)"
  require_tool java "apt-get install -y openjdk-17-jre-headless"
}

# A free loopback port: bind port 0 and read what the kernel chose.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# json_eval EXPR: evaluates a Python expression over the JSON document on stdin (as `d`).
# No jq on purpose: python3 is on every machine this runs on.
json_eval() {
  python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(3)
r = eval(sys.argv[1])
if isinstance(r, (list, tuple)):
    print(" ".join(str(x) for x in r))
elif r is not None:
    print(r)
' "$1"
}

machine_info() {
  local model mem
  model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
  echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine: $(nproc) CPUs, ${model:-unknown model}, $mem, $(uname -sr)"
  echo "java:    $(java -version 2>&1 | grep -m1 ' version ')"
  echo "node:    $(node --version 2>/dev/null || echo missing)"
  # Only ratios within one run mean anything, and only on a machine nothing else loads.
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "load:    $load (1-min average before the run)$(awk -v l="$load" 'BEGIN { if (l > 1.0) print "  WARNING: something else is running; figures will be noisy" }')"
}

# ---- processes ------------------------------------------------------------------

TRACKED_PIDS=()
track() { TRACKED_PIDS+=("$1"); }

descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# is_descendant PID ANCESTOR: true when ANCESTOR is PID's parent, grandparent, ...
# Guards every kill of a pid read from a server's answer: we only kill what we started.
is_descendant() {
  local pid=$1 ancestor=$2
  for _ in 1 2 3 4 5 6; do
    pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
    [[ -n $pid && $pid != 0 ]] || return 1
    [[ $pid == "$ancestor" ]] && return 0
  done
  return 1
}

# stop_tree PID: TERM the process (it may stop its own children gracefully), then
# TERM and KILL whatever of its tree is left. The tree is listed before the first
# signal, because orphans are re-parented and could not be found afterwards.
stop_tree() {
  local pid=$1 tree i
  kill -0 "$pid" 2>/dev/null || return 0
  tree=$(descendants "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for pid in $tree; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.2
  for pid in $tree; do kill -KILL "$pid" 2>/dev/null || true; done
  wait "$1" 2>/dev/null || true
}

cleanup() {
  local i
  for ((i = ${#TRACKED_PIDS[@]} - 1; i >= 0; i--)); do
    stop_tree "${TRACKED_PIDS[i]}"
  done
  if [[ -n ${KEEP_WORK_DIR:-} ]]; then log "work dir kept: $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_http_200 URL TIMEOUT_S [PID]: polls until URL answers 200; fails early when PID died.
wait_http_200() {
  local url=$1 timeout=$2 pid=${3:-} deadline code
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    # -k: a benchmark's TLS key is self-signed (bench/cpu-per-request.sh TLS=on).
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [[ $code == 200 ]] && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited while waiting for $url"
      return 1
    fi
    sleep 0.3
  done
  log "$url did not answer 200 within ${timeout}s (last: ${code:-none})"
  return 1
}

# tree_ticks PID...: CPU time (utime + stime, clock ticks) of the processes and all their descendants.
tree_ticks() {
  local pid total=0 ticks
  for pid in "$@" $(for pid in "$@"; do descendants "$pid"; done); do
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + ticks))
  done
  echo "$total"
}

# settle_tree LABEL PID...: waits until the processes and their descendants together use under 5 % of a
# core, at most 30 s (a load run leaves requests queued behind it in proxies and workers).
settle_tree() {
  local label=$1 before after deadline=$((SECONDS + 30))
  shift
  before=$(tree_ticks "$@")
  while ((SECONDS < deadline)); do
    sleep 0.5
    after=$(tree_ticks "$@")
    (((after - before) * 100 / $(getconf CLK_TCK) * 2 < 5)) && return 0
    before=$after
  done
  log "$label still busy after 30 s; measuring anyway"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- nginx and the minimal Netty proxy -------------------------------------------

# start_nginx_instance NAME WORKER_PROCESSES KEEPALIVE UPSTREAM_PORT...: nginx with the
# config of bench/nginx/nginx.conf.template (or $NGINX_TEMPLATE) in its own prefix dir
# ($WORK_DIR/NAME), in the foreground of a background job. Sets NGINX_STARTED_PID (the
# master) and NGINX_STARTED_URL.
# NGINX_BALANCING, when set, is a directive put first in the upstream block (`least_conn;`).
# NGINX_SCHEME=https when the template listens with TLS.
start_nginx_instance() {
  local name=$1 processes=$2 keepalive=$3 dir=$WORK_DIR/$1 port servers='' p
  shift 3
  port=$(free_port)
  mkdir -p "$dir/tmp"
  [[ -z ${NGINX_BALANCING:-} ]] || servers+="        $NGINX_BALANCING"$'\n'
  for p in "$@"; do servers+="        server 127.0.0.1:$p;"$'\n'; done
  PREFIX=$dir PORT=$port PROCESSES=$processes KEEPALIVE=$keepalive SERVERS=${servers%$'\n'} python3 -c '
import os, sys
text = open(sys.argv[1]).read()
for key, env in (("@PREFIX@", "PREFIX"), ("@PORT@", "PORT"), ("@WORKER_PROCESSES@", "PROCESSES"),
                 ("@KEEPALIVE@", "KEEPALIVE"), ("@UPSTREAM_SERVERS@", "SERVERS")):
    text = text.replace(key, os.environ[env])
open(sys.argv[2], "w").write(text)
' "${NGINX_TEMPLATE:-$BENCH_DIR/nginx/nginx.conf.template}" "$dir/nginx.conf"
  nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/test.log" ||
    die "nginx rejected $dir/nginx.conf: $(cat "$dir/test.log")"
  nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
  NGINX_STARTED_PID=$!
  track "$NGINX_STARTED_PID"
  wait_http_200 "${NGINX_SCHEME:-http}://127.0.0.1:$port/" 20 "$NGINX_STARTED_PID" ||
    die "nginx $name did not start: $(cat "$dir/error.log")"
  # shellcheck disable=SC2034 # read by the script that sources this file
  NGINX_STARTED_URL=${NGINX_SCHEME:-http}://127.0.0.1:$port
}

# start_minimal_proxy UPSTREAM_PORT...: bench/baseline/MinimalProxy.java on Netty's jars taken
# from the Shepherd jar (resolve_shepherd_jar first). Sets MINIMAL_PROXY_PID and MINIMAL_PROXY_URL.
start_minimal_proxy() {
  local jars=$WORK_DIR/netty port
  mkdir -p "$jars"
  python3 - "$SHEPHERD_JAR" "$jars" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar:
    for name in jar.namelist():
        if name.startswith("BOOT-INF/lib/netty-") and name.endswith(".jar"):
            with open(os.path.join(sys.argv[2], os.path.basename(name)), "wb") as out:
                out.write(jar.read(name))
PY
  port=$(free_port)
  # shellcheck disable=SC2086 # SHEPHERD_JAVA_OPTS is a list of words on purpose
  java ${SHEPHERD_JAVA_OPTS:-} -cp "$jars/*" "$BENCH_DIR/baseline/MinimalProxy.java" "$port" "$@" \
    >"$WORK_DIR/baseline.log" 2>&1 &
  MINIMAL_PROXY_PID=$!
  track "$MINIMAL_PROXY_PID"
  wait_http_200 "http://127.0.0.1:$port/" 60 "$MINIMAL_PROXY_PID" ||
    die "the minimal proxy did not start: $(cat "$WORK_DIR/baseline.log")"
  # shellcheck disable=SC2034 # read by the script that sources this file
  MINIMAL_PROXY_URL=http://127.0.0.1:$port
}

# ---- Shepherd -------------------------------------------------------------------

# The master JVM flags the README recommends and the Dockerfile sets (ReadmeTests keeps the
# three equal): a small serial-GC heap, bounded direct memory, code cache and metaspace, and
# glibc's free memory handed back every second. start_shepherd uses them unless
# SHEPHERD_JAVA_OPTS is set (set it empty for the JVM's own defaults).
SHEPHERD_RECOMMENDED_JAVA_OPTS="-XX:+UseSerialGC -Xms32m -Xmx128m -Xss512k -XX:MaxDirectMemorySize=256m -XX:MaxMetaspaceSize=128m -XX:TrimNativeHeapInterval=1000 -XX:+ExitOnOutOfMemoryError -Dio.netty.allocator.lowMemory=false"

# c2_ticks PID...: utime + stime (clock ticks) of the JVMs' C2 compiler threads (0 for a process
# without any): a master whose C2 still works under load is not warmed up yet.
c2_ticks() {
  local pid task f total=0
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      [[ $(cat "$task/comm" 2>/dev/null) == "C2 CompilerThre"* ]] || continue
      read -r -a f < <(sed 's/^.*) //' "$task/stat" 2>/dev/null) || continue
      total=$((total + f[11] + f[12]))
    done
  done
  echo "$total"
}

# start_shepherd NAME ARGS...: starts the jar on two fresh loopback ports: the proxy on
# server.address/server.port, the admin API on management.server.port (loopback by
# default). ARGS, then the words of SHEPHERD_ARGS, follow on the command line. Sets
# SHEPHERD_PID, SHEPHERD_PORT (proxy) and SHEPHERD_MGMT (/fleet, /actuator). The JVM is
# SHEPHERD_JAVA (default: java on the PATH). HEALTH_PATH (default /actuator/health) is what must answer 200.
# Log: $WORK_DIR/NAME.log
start_shepherd() {
  local name=$1
  shift
  SHEPHERD_PORT=$(free_port)
  SHEPHERD_MGMT=$(free_port)
  # shellcheck disable=SC2086 # SHEPHERD_JAVA_OPTS is a list of words on purpose
  (cd "$REPO_DIR" && MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} exec "${SHEPHERD_JAVA:-java}" ${SHEPHERD_JAVA_OPTS-$SHEPHERD_RECOMMENDED_JAVA_OPTS} -jar "$SHEPHERD_JAR" \
    --server.address=127.0.0.1 --server.port="$SHEPHERD_PORT" --management.server.port="$SHEPHERD_MGMT" \
    "$@" ${SHEPHERD_ARGS:-}) >"$WORK_DIR/$name.log" 2>&1 &
  SHEPHERD_PID=$!
  track "$SHEPHERD_PID"
  if ! wait_http_200 "http://127.0.0.1:$SHEPHERD_MGMT${HEALTH_PATH:-/actuator/health}" "${READY_TIMEOUT:-120}" "$SHEPHERD_PID"; then
    log "Shepherd did not become healthy; last lines of its log:"
    tail -n 30 "$WORK_DIR/$name.log" >&2
    return 1
  fi
}

# mgmt_curl MGMT PATH [CURL ARGS...]: a call to the admin API, with the bearer token
# when SHEPHERD_ADMIN_TOKEN is set (Shepherd's fleet.admin.token).
mgmt_curl() {
  local mgmt=$1 path=$2
  shift 2
  curl -s --max-time 10 -H "Accept: application/json" \
    ${SHEPHERD_ADMIN_TOKEN:+-H "Authorization: Bearer $SHEPHERD_ADMIN_TOKEN"} "$@" \
    "http://127.0.0.1:$mgmt$path"
}

fleet_json() { mgmt_curl "$1" /fleet -f; }

# shepherd_worker_field MGMT FIELD: FIELD (pid, port) of every READY worker.
shepherd_worker_field() {
  fleet_json "$1" | json_eval "[w['$2'] for w in d.get('workers', []) if w.get('state') == 'READY']"
}
