#!/usr/bin/env bash
# Where Shepherd's CPU goes under load: async-profiler attached to a running master (with two
# Node workers, SERVER, default bench/upstream/server.js) during one wrk run per concurrency (or
# with LOAD=ab, one `ab -l -r` run: HTTP/1.0, a new connection per request), after a warm-up,
# plus the CPU of each of the master's threads (event loop, JIT compiler threads, GC) per run.
#
# async-profiler comes from Maven Central (tools.profiler:async-profiler, which ships the Linux
# library) through the project's Maven wrapper; it is loaded with `jcmd PID JVMTI.agent_load`.
#
# Usage: bench/profile.sh
#        CONNECTIONS="64 256" DURATION=10s WARMUP=30s bench/profile.sh
#        SHEPHERD_ARGS=--fleet.proxy.transport=nio bench/profile.sh
#        LOAD=ab CONNECTIONS=500 SERVER=bench/balancing/server.js WARMUP_PATH=/health \
#          SHEPHERD_ARGS="--fleet.proxy.balancer=least-request --fleet.worker.max-concurrency=2" bench/profile.sh
# Env:   CONNECTIONS (default "256 64"), DURATION=10s, WARMUP=30s, INTERVAL=200us,
#        EVENT=cpu (or alloc: where the heap allocations come from, one sample per INTERVAL
#        bytes, e.g. EVENT=alloc INTERVAL=64k; the shares are then of bytes allocated),
#        LOAD=wrk (or ab), SCRIPT= (a wrk Lua script, e.g. bench/wrk/post64k.lua), SERVER=bench/upstream/server.js, PATH_=/, WARMUP_PATH=PATH_ (the warm-up
#        runs at the first of CONNECTIONS; with another SERVER, a second warm-up of WARMUP on PATH_
#        at -c 50 follows, as bench/balancing.sh does),
#        ASYNC_PROFILER_VERSION=4.2, SHEPHERD_JAVA_OPTS (default: the recommended flags)
# Output: per run, the share of CPU samples by thread group and kind (kernel, Java, native) and
#         the top frames; the collapsed stacks (flame-graph input) in bench/out/profile-STAMP-cN.collapsed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNECTIONS=${CONNECTIONS:-256 64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-30s}
EVENT=${EVENT:-cpu}
INTERVAL=${INTERVAL:-200us}
ASYNC_PROFILER_VERSION=${ASYNC_PROFILER_VERSION:-4.2}
LOAD=${LOAD:-wrk}
SCRIPT=${SCRIPT:-}
SERVER=${SERVER:-$BENCH_DIR/upstream/server.js}
PATH_=${PATH_:-/}
WARMUP_PATH=${WARMUP_PATH:-$PATH_}
# A CPU-bound worker with a queue answers the liveness probe late (bench/balancing.sh says why).
LIVENESS=
[[ $SERVER == "$BENCH_DIR/upstream/server.js" ]] || LIVENESS="--fleet.liveness.timeout=10s --fleet.proxy.queue-timeout=60s"

require_wrk_nginx_node
[[ $LOAD != ab ]] || require_tool ab "apt-get install -y apache2-utils"
[[ -z $SCRIPT || ($LOAD == wrk && -r $SCRIPT) ]] || die "SCRIPT=$SCRIPT: a readable wrk Lua script, with LOAD=wrk"
resolve_shepherd_jar
require_tool jcmd "a JDK (jcmd comes with it, not with a JRE)"
case $(uname -m) in
  x86_64) AP_PLATFORM=linux-x64 ;;
  aarch64) AP_PLATFORM=linux-arm64 ;;
  *) die "async-profiler ships no library for $(uname -m)" ;;
esac

AP_JAR=$HOME/.m2/repository/tools/profiler/async-profiler/$ASYNC_PROFILER_VERSION/async-profiler-$ASYNC_PROFILER_VERSION.jar
if [[ ! -f $AP_JAR ]]; then
  log "fetching async-profiler $ASYNC_PROFILER_VERSION from Maven Central"
  "$REPO_DIR/mvnw" -q -B dependency:get -Dartifact="tools.profiler:async-profiler:$ASYNC_PROFILER_VERSION" -Dtransitive=false >&2 ||
    die "could not fetch tools.profiler:async-profiler:$ASYNC_PROFILER_VERSION"
fi
AP_LIB=$WORK_DIR/libasyncProfiler.so
python3 - "$AP_JAR" "$AP_PLATFORM/libasyncProfiler.so" "$AP_LIB" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar, open(sys.argv[3], "wb") as out:
    out.write(jar.read(sys.argv[2]))
PY
# Kernel frames need perf_events; without them async-profiler samples Java and native code only.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)
[[ $paranoid == unknown || $paranoid -le 1 ]] ||
  log "kernel.perf_event_paranoid is $paranoid: kernel frames may be missing (sysctl kernel.perf_event_paranoid=1)"

machine_info
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
# DebugNonSafepoints: samples land on the right inlined frame, not at the nearest safepoint.
SHEPHERD_JAVA_OPTS="${SHEPHERD_JAVA_OPTS-$SHEPHERD_RECOMMENDED_JAVA_OPTS} -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints" \
  start_shepherd profiled --fleet.workers=2 --fleet.worker.command="node,$SERVER" $LIVENESS ||
  die "Shepherd did not start"
BASE=http://127.0.0.1:$SHEPHERD_PORT
wait_http_200 "$BASE$WARMUP_PATH" 30 "$SHEPHERD_PID" || die "Shepherd does not answer $WARMUP_PATH"
log "Shepherd pid $SHEPHERD_PID: $(grep -o 'event loop(s) on [a-z_]*' "$WORK_DIR/profiled.log" | head -n1)"

# thread_ticks: "thread-name ticks" per thread group of the master (utime + stime).
thread_ticks() {
  local task name fields
  for task in /proc/"$SHEPHERD_PID"/task/*; do
    # A thread may end between the listing and the reads (the JVM stops idle compiler threads).
    name=$(tr ' ' '_' <"$task/comm" 2>/dev/null) || continue
    read -r -a fields < <(sed 's/^.*) //' "$task/stat" 2>/dev/null) || continue
    ((${#fields[@]} > 12)) || continue
    echo "${name%%-[0-9]*} $((fields[11] + fields[12]))"
  done | awk '{ticks[$1] += $2} END {for (name in ticks) print name, ticks[name]}' | sort
}

# profiler COMMAND: one async-profiler command through jcmd; stops the script when it is refused.
profiler() {
  local out
  out=$(jcmd "$SHEPHERD_PID" JVMTI.agent_load "$AP_LIB" "\"$1\"" 2>&1)
  grep -q 'return code: 0' <<<"$out" || die "async-profiler refused '$1': $out (see $WORK_DIR/profiled.log)"
}

# load CONNECTIONS SECONDS URL: one wrk or ab run; prints its output.
load() {
  if [[ $LOAD == ab ]]; then
    ab -l -r -c "$1" -t "${2%s}" -n 10000000 "$3" 2>&1 || true
  else
    wrk -t2 -c"$1" -d"$2" ${SCRIPT:+-s "$SCRIPT"} "$3"
  fi
}
# requests / rate OUTPUT: completed requests and requests per second of one run.
requests() { awk '/requests in/ {print $1} /^Complete requests:/ {print $3}' <<<"$1"; }
rate() { awk '/^Requests\/sec:/ {print $2} /^Requests per second:/ {print $4}' <<<"$1"; }

read -r -a connection_list <<<"$CONNECTIONS"
log "warm-up: $WARMUP of $WARMUP_PATH at -c${connection_list[0]} ($LOAD)"
load "${connection_list[0]}" "$WARMUP" "$BASE$WARMUP_PATH" >/dev/null
if [[ $SERVER != "$BENCH_DIR/upstream/server.js" ]]; then
  log "warm-up: $WARMUP of $PATH_ at -c50 ($LOAD)"
  load 50 "$WARMUP" "$BASE$PATH_" >/dev/null
fi
for connections in $CONNECTIONS; do
  stacks=$OUT_DIR/profile-$STAMP-c$connections.collapsed
  profiler "start,event=$EVENT,interval=$INTERVAL"
  thread_ticks >"$WORK_DIR/ticks-before"
  result=$(load "$connections" "$DURATION" "$BASE$PATH_")
  thread_ticks >"$WORK_DIR/ticks-after"
  profiler "stop,file=$stacks,collapsed"
  requests=$(requests "$result")
  [[ ${requests:-0} -gt 0 ]] || die "$LOAD reported no requests at -c$connections: $result"
  echo
  echo "== -c$connections ($LOAD): $(rate "$result") req/s; CPU of the master's threads, µs per request:"
  join "$WORK_DIR/ticks-before" "$WORK_DIR/ticks-after" | awk -v n="$requests" -v hz="$(getconf CLK_TCK)" \
    '{ us = ($3 - $2) * 1000000 / hz / n; if (us >= 0.5) printf "   %-20s %6.1f\n", $1, us }'
  python3 - "$stacks" <<'PY'
import collections, sys

def kind(frame):
    if frame.endswith("_[k]"):
        return "kernel"
    return "java" if "/" in frame else "native"

def group(frames):
    head = ";".join(frames[:12])
    if "CompileBroker" in head:
        return "JIT compiler"
    if "VMThread" in head or "GC" in head:
        return "VM / GC"
    if any("IoEventLoop" in f or "IoHandler" in f for f in frames):
        return "proxy event loop"
    return "other"

total, groups, kinds, leaves = 0, collections.Counter(), collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    stack, _, count = line.rstrip().rpartition(" ")
    frames, count = stack.split(";"), int(count)
    total += count
    groups[group(frames)] += count
    kinds[kind(frames[-1])] += count
    leaves[frames[-1]] += count
if total == 0:
    print("   no samples (is the profiler allowed to use perf_events or timers here?)")
    sys.exit(0)
print(f"   {total} samples; by thread: " + ", ".join(f"{g} {100 * c / total:.1f} %" for g, c in groups.most_common()))
print("   by kind of frame: " + ", ".join(f"{k} {100 * c / total:.1f} %" for k, c in kinds.most_common()))
print("   top frames (self):")
for frame, count in leaves.most_common(15):
    print(f"   {100 * count / total:6.2f} %  {frame[:110]}")
PY
  echo "   stacks: $stacks"
done
