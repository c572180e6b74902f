#!/usr/bin/env bash
# What the master asks of the kernel per request: system calls by name and io_uring operations (submitted,
# completed, polls armed), counted with perf's tracepoints around a fixed number of `ab` requests (a new
# connection per request, HTTP/1.0). Counts, not times: unlike req/s or CPU per request they hardly move
# with the host's load, so two jars (or two settings) can be told apart on a noisy machine in one run.
#
# Every variant is a Shepherd master with its own two Node workers (bench/upstream/server.js), the recommended
# JVM flags plus the variant's; each is warmed up with WARMUP requests, then counted over REQUESTS. io_uring
# counts need the io_uring transport (the default on Linux); on epoll those lines are zero.
#
# Usage: bench/ops-per-request.sh
#        VARIANTS='single||;multi|-Dio.netty.iouring.acceptMultiShotEnabled=true|' bench/ops-per-request.sh
#        VARIANTS='old|||/tmp/old.jar;new||' bench/ops-per-request.sh
# Env:   VARIANTS  "name|extra java options|shepherd arguments[|jar]", separated by ';' (default: one variant,
#                  "shepherd"; jar: SHEPHERD_JAR)
#        REQUESTS=20000 WARMUP=30000 CONCURRENCY=50
# Needs: perf with tracepoint access (root, or kernel.perf_event_paranoid ≤ 1 for one's own processes).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VARIANTS=${VARIANTS:-shepherd||}
REQUESTS=${REQUESTS:-20000}
WARMUP=${WARMUP:-30000}
CONCURRENCY=${CONCURRENCY:-50}

require_tool perf "apt-get install -y linux-perf"
require_tool ab "apt-get install -y apache2-utils"
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
resolve_shepherd_jar
grep -q 'raw_syscalls:sys_enter' <(perf list 2>/dev/null) ||
  die "perf lists no raw_syscalls tracepoints: run as root, or with kernel.perf_event_paranoid at 1 or below"
machine_info
echo "run:     REQUESTS=$REQUESTS WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY"

URING_EVENTS=io_uring:io_uring_submit_req,io_uring:io_uring_complete,io_uring:io_uring_poll_arm
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT_DIR"
TSV=$OUT_DIR/ops-per-request-$STAMP.tsv
printf 'variant\tcounter\tper_request\n' >"$TSV"

# syscall_names: "number name" for this machine's system calls, from the kernel headers' table (linux-libc-dev);
# without it the calls are given by number.
syscall_names() {
  local table
  for table in /usr/include/*-linux-gnu/asm/unistd_64.h /usr/include/asm-generic/unistd.h; do
    [[ -r $table ]] || continue
    sed -nE 's/^#define __NR_([a-z0-9_]+)[[:space:]]+([0-9]+)$/\2 \1/p' "$table"
    return 0
  done
}
syscall_names >"$WORK_DIR/syscall-names"

IFS=';' read -r -a specs <<<"$VARIANTS"
for spec in "${specs[@]}"; do
  IFS='|' read -r name opts args jar <<<"$spec"
  [[ -n $name ]] || die "a variant needs a name: '$spec'"
  # shellcheck disable=SC2086 # options and arguments are lists of words on purpose
  SHEPHERD_JAR=${jar:-$SHEPHERD_JAR} SHEPHERD_JAVA_OPTS="$SHEPHERD_RECOMMENDED_JAVA_OPTS $opts" \
    start_shepherd "$name" --fleet.workers=2 --fleet.worker.command="node,$BENCH_DIR/upstream/server.js" $args ||
    die "variant $name did not start"
  url=http://127.0.0.1:$SHEPHERD_PORT/
  wait_http_200 "$url" 30 "$SHEPHERD_PID" || die "variant $name does not answer"
  log "$name: $WARMUP requests to warm up"
  ab -q -r -c "$CONCURRENCY" -n "$WARMUP" "$url" >/dev/null 2>&1 || true
  perf record -q -e raw_syscalls:sys_enter -p "$SHEPHERD_PID" -o "$WORK_DIR/$name.syscalls" 2>/dev/null &
  record=$!
  track "$record"
  perf stat -x, -e "$URING_EVENTS" -p "$SHEPHERD_PID" -o "$WORK_DIR/$name.uring" 2>/dev/null &
  stat=$!
  track "$stat"
  sleep 1
  log "$name: $REQUESTS requests counted"
  failed=$(ab -q -r -c "$CONCURRENCY" -n "$REQUESTS" "$url" 2>&1 | awk '/^Failed requests/ {print $3}')
  sleep 0.5
  kill -INT "$record" "$stat" 2>/dev/null || true
  wait "$record" "$stat" 2>/dev/null || true
  stop_tree "$SHEPHERD_PID"
  echo
  echo "$name ($((REQUESTS)) requests, ${failed:-?} failed): per request"
  {
    awk -F, -v n="$REQUESTS" '$3 ~ /io_uring/ {sub(/^io_uring:io_uring_/, "io_uring ", $3); printf "%s\t%.3f\n", $3, $1 / n}' \
      "$WORK_DIR/$name.uring"
    perf script -i "$WORK_DIR/$name.syscalls" -F trace 2>/dev/null | grep -oP 'NR \K\d+' | sort | uniq -c |
      sort -rn | awk -v n="$REQUESTS" 'NR == FNR {call[$1] = $2; next}
        $1 / n >= 0.005 {printf "%s\t%.3f\n", ($2 in call ? call[$2] : "syscall " $2), $1 / n}' \
        "$WORK_DIR/syscall-names" -
  } | tee >(sed "s/^/$name\t/" >>"$TSV") | awk -F'\t' '{printf "  %-28s %8s\n", $1, $2}'
done
echo
log "counts in $TSV"
