#!/usr/bin/env bash
# Availability under worker deaths: the Node cluster of the "cluster high availability"
# article against Shepherd, side by side in one run, measured with ab only.
#
#   a           Node cluster, each worker exit(1)s within 10 s     ab -l -r -c 500 -t 10
#   b           Shepherd, demo workers crashing the same way       ab -l -r -c 500 -t 10
#   c-node      Node cluster, no random crash; SIGKILL a random
#               listening worker every 500 ms                       ab -l -r -c 200 -t 10
#   c-shepherd  the same against Shepherd
#   d           Shepherd, two back-to-back rolling reloads
#               (the first ~3 s into the run)                       ab -l -r -c 200 -t 20
#
# Usage: bench/availability.sh                 (all rows)
#        ROWS="a c-node" bench/availability.sh (a subset; rows without Shepherd need no jar)
# Env:   SHEPHERD_JAR (default target/shepherd.jar), SHEPHERD_JAVA_OPTS (JVM options of the
#        master; default: the recommended ones from lib.sh), SHEPHERD_ARGS (extra words for every Shepherd), SHEPHERD_ADMIN_TOKEN (sent as
#        a bearer token to /fleet...), READY_TIMEOUT=120 (seconds to wait for Shepherd's health),
#        CRASH_SECONDS=10, CRASH_CONCURRENCY=500, KILL_CONCURRENCY=200, KILL_INTERVAL=0.5,
#        RELOAD_SECONDS=20, RELOAD_AT=3, AB_MAX_REQUESTS=2000000, DEATH_EVENT_TYPES=PROCESS_EXITED,
#        DEMO_WORK (--fleet.demo.work: CPU work per request of Shepherd's demo worker; the
#        c rows print the time one request takes on each side, to check they match)
#
# How the counts are read (ab 2.3 without -k: one connection per request):
# - "Complete requests" counts every request that ended, also those ended by a reset.
# - "Failed requests" is not a count of lost requests: one reset can be counted under
#   several kinds (an error on poll counts as Exceptions, then the read fails and counts
#   as Receive too), and with -l an empty answer (server closed without a byte) counts
#   as no failure at all.
# - "Non-2xx responses" is printed only when > 0.
# So the script runs ab at -v 3, which prints one "LOG: Response code = 2xx" line per
# 2xx response, counts those lines, and reports lost = Complete - 2xx: every request
# ab finished that did not get a 2xx answer (reset, empty answer, 5xx...).
# -t implies -n 50000 in ab; -n is raised after -t so every row really runs for its time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-a b c-node c-shepherd d}
CRASH_SECONDS=${CRASH_SECONDS:-10}
CRASH_CONCURRENCY=${CRASH_CONCURRENCY:-500}
KILL_CONCURRENCY=${KILL_CONCURRENCY:-200}
KILL_INTERVAL=${KILL_INTERVAL:-0.5}
RELOAD_SECONDS=${RELOAD_SECONDS:-20}
RELOAD_AT=${RELOAD_AT:-3}
AB_MAX_REQUESTS=${AB_MAX_REQUESTS:-2000000}
# Event types that count as a worker death in Shepherd's /fleet/events.
DEATH_EVENT_TYPES=${DEATH_EVENT_TYPES:-PROCESS_EXITED}

require_tool ab "apt-get install -y apache2-utils"
require_tool node "apt-get install -y nodejs"
require_tool curl "apt-get install -y curl"
require_tool python3 "apt-get install -y python3"
[[ " $ROWS " == *" b "* || " $ROWS " == *shepherd* || " $ROWS " == *" d "* ]] && resolve_shepherd_jar
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
TSV=$OUT_DIR/availability-$STAMP.tsv
NOTES=()

# ---- ab -------------------------------------------------------------------------

# ab gives up ("Test aborted after 10 failures") as soon as a connect fails once more
# than 10 requests have failed in total, -r or not: a server that resets connections
# while they are being accepted (the Node cluster whose worker dies holding them) stops
# ab within a second. So run_ab starts ab again for the time left, as often as needed,
# adds the attempts up, and counts the aborts.
#
# run_ab NAME CONCURRENCY SECONDS URL: leaves $WORK_DIR/NAME.total with
# "complete ok_2xx non_2xx failed seconds aborts" (failed gets + when an attempt aborted:
# then ab prints no summary, and the script counts what it printed on stderr).
run_ab() {
  local name=$1 conc=$2 secs=$3 url=$4 attempt=0 aborts=0 begin now left rc
  local complete=0 ok=0 non2xx=0 failed=0 failed_more='' time=0 out a_ok a_non2xx a_start a_time
  begin=$(date +%s.%N)
  while true; do
    now=$(date +%s.%N)
    left=$(awk -v b="$begin" -v n="$now" -v s="$secs" 'BEGIN { l = s - (n - b); print (l < 1 ? 0 : int(l + 0.5)) }')
    ((left > 0)) || break
    attempt=$((attempt + 1))
    out=$WORK_DIR/$name.ab.$attempt
    a_start=$(date +%s.%N)
    rc=0
    ab -v 3 -l -r -c "$conc" -t "$left" -n "$AB_MAX_REQUESTS" "$url" 2>"$out.stderr" |
      awk -v counts="$out.counts" '
        /^LOG: Response code = 2/          { ok++; next }
        /^WARNING: Response code not 2xx/  { bad++; code = $NF; gsub(/[()]/, "", code); codes[code]++; next }
        /^Total of [0-9]+ requests completed/ { print; next }
        /^Server Software:/                { summary = 1 }
        summary                            { print }
        END {
          print ok + 0, bad + 0 > counts
          for (code in codes) printf "%s×%d ", code, codes[code] >> (counts ".codes")
        }' >"$out" || rc=$?
    a_time=$(awk -v b="$a_start" -v e="$(date +%s.%N)" 'BEGIN { print e - b }')
    read -r a_ok a_non2xx <"$out.counts"
    ok=$((ok + a_ok))
    non2xx=$((non2xx + a_non2xx))
    if grep -q '^Complete requests:' "$out"; then
      complete=$((complete + $(ab_field "$out" "Complete requests")))
      failed=$((failed + $(ab_field "$out" "Failed requests")))
      time=$(awk -v t="$time" -v a="$(ab_field "$out" "Time taken for tests")" 'BEGIN { print t + a }')
      break
    fi
    # No summary: ab aborted. It printed "Total of N requests completed" when N > 0.
    aborts=$((aborts + 1))
    complete=$((complete + $(awk '/^Total of/ { n = $3 } END { print n + 0 }' "$out")))
    # At -v 3 ab prints each receive error on stderr; the connect failure that made it
    # give up is one more. Errors on poll (Exceptions) go unprinted, hence the +.
    failed=$((failed + $(grep -c '^apr_socket_recv' "$out.stderr" || true) + 1))
    failed_more=+
    time=$(awk -v t="$time" -v a="$a_time" 'BEGIN { print t + a }')
    log "$name: ab attempt $attempt stopped (exit $rc) after ${a_time%.*}s: $(grep -v '^Completed' "$out.stderr" | tr -s '\n' ' ' | tail -c 160)"
    ((aborts < 200)) || break
  done
  echo "$complete $ok $non2xx $failed$failed_more $time $aborts" >"$WORK_DIR/$name.total"
  cat "$WORK_DIR/$name".ab.*.counts.codes >"$WORK_DIR/$name.codes" 2>/dev/null || true
  # ab's failure kinds of the last attempt that printed a summary, for the footer.
  if [[ -f $out ]]; then grep -m1 '(Connect:' "$out" | tr -s ' ' >"$WORK_DIR/$name.kinds" || true; fi
}

ab_field() { # ab_field FILE LABEL: the first number after "LABEL:" in ab's summary (0 if absent)
  awk -v label="$2:" 'index($0, label) == 1 { sub(label, ""); print $1 + 0; found = 1; exit }
                      END { if (!found) print 0 }' "$1"
}

# ---- deaths ---------------------------------------------------------------------

node_deaths() { grep -c '^worker-death' "$WORK_DIR/$1.log" || true; }

# shepherd_event_seq MGMT: the highest event seq so far (0 if none).
shepherd_event_seq() {
  mgmt_curl "$1" /fleet/events -f |
    json_eval "max([e.get('seq', 0) for e in (d if isinstance(d, list) else d.get('events', []))] or [0])" ||
    echo 0
}

# shepherd_deaths_since MGMT SEQ: how many death events came after SEQ. Adjust
# DEATH_EVENT_TYPES if Shepherd names them differently. A "+" means the event list
# no longer reaches back to SEQ (it is bounded), so the count is a lower bound.
# Without /fleet/events it falls back to the sum of .workers[].restarts ("r" suffix).
shepherd_deaths_since() {
  local mgmt=$1 since=$2 events
  if events=$(mgmt_curl "$mgmt" /fleet/events -f); then
    printf '%s' "$events" | json_eval "(lambda ev:
        str(sum(1 for e in ev if e.get('seq', 0) > $since and e.get('type') in '$DEATH_EVENT_TYPES'.split()))
        + ('+' if $since > 0 and ev and min(e.get('seq', 0) for e in ev) > $since + 1 else '')
      )(d if isinstance(d, list) else d.get('events', []))" || echo '?'
  else
    fleet_json "$mgmt" | json_eval "str(sum(w.get('restarts', 0) for w in d.get('workers', []))) + 'r'" || echo '?'
  fi
}

# ---- targets --------------------------------------------------------------------

# start_node_cluster NAME CRASH_WITHIN_MS: sets NODE_PID, NODE_PORT, NODE_ROW. Log: $WORK_DIR/NAME.log
start_node_cluster() {
  NODE_ROW=$1
  NODE_PORT=$(free_port)
  PORT=$NODE_PORT CRASH_WITHIN_MS=$2 node "$BENCH_DIR/node-cluster/cluster.js" >"$WORK_DIR/$1.log" 2>&1 &
  NODE_PID=$!
  track "$NODE_PID"
  wait_http_200 "http://127.0.0.1:$NODE_PORT/" 30 "$NODE_PID" || die "the Node cluster did not start: $(tail -n 5 "$WORK_DIR/$1.log")"
}

# The primary's children that have started listening (the Node side of Shepherd's READY).
node_worker_pids() {
  local log=$WORK_DIR/$NODE_ROW.log pid
  for pid in $(pgrep -P "$NODE_PID"); do
    grep -q "^worker-listening pid=$pid\$" "$log" && echo "$pid"
  done
  return 0
}
shepherd_worker_pids() { shepherd_worker_field "$SHEPHERD_MGMT" pid 2>/dev/null || true; }

# list_poller LISTER FILE: keeps FILE holding LISTER's latest answer. Under load Shepherd's
# GET /fleet can take seconds; polling it apart keeps the kill loop on its 500 ms beat.
list_poller() {
  while true; do
    "$1" >"$2.next" 2>/dev/null || true
    mv -f "$2.next" "$2"
    echo "$(date +%T.%N | cut -c1-12) $(tr '\n' ' ' <"$2")" >>"$2.log"
    sleep 0.1
  done
}

# kill_loop LISTER ANCESTOR NAME: on a KILL_INTERVAL tick, SIGKILLs one random pid of
# LISTER's latest answer that is still alive and descends from ANCESTOR; one line per
# kill in $WORK_DIR/NAME.kills. Ticks are counted from the start, so nothing stretches them.
kill_loop() {
  local lister=$1 ancestor=$2 name=$3 list=$WORK_DIR/$3.victims listed pids victim tick=0 start poller pid
  : >"$WORK_DIR/$name.kills"
  : >"$list"
  list_poller "$lister" "$list" &
  poller=$!
  trap 'kill "$poller" 2>/dev/null; exit 0' TERM
  start=$(date +%s.%N)
  while true; do
    tick=$((tick + 1))
    sleep "$(awk -v s="$start" -v n="$(date +%s.%N)" -v i="$KILL_INTERVAL" -v t="$tick" \
      'BEGIN { d = s + t * i - n; printf "%.3f", (d > 0 ? d : 0) }')"
    pids=()
    read -r -a listed <<<"$(tr '\n' ' ' <"$list")"
    for pid in "${listed[@]}"; do
      grep -qx "$pid" "$WORK_DIR/$name.kills" || pids+=("$pid")
    done
    ((${#pids[@]} > 0)) || continue
    victim=${pids[RANDOM % ${#pids[@]}]}
    if is_descendant "$victim" "$ancestor" && kill -KILL "$victim" 2>/dev/null; then
      echo "$victim" >>"$WORK_DIR/$name.kills"
    fi
  done
}

# service_time URL: mean ms per request at -c 1 after a short warm-up. Printed so that a
# reader sees whether the Node workers and Shepherd's demo workers do the same work.
service_time() {
  ab -q -c 1 -n 20 "$1" >/dev/null 2>&1 || true
  ab -q -c 1 -n 40 "$1" 2>/dev/null | awk '/^Time per request:.*\(mean\)$/ { print $4; exit }' || true
}

# with_kill_loop NAME LISTER ANCESTOR CONC URL: ab while the kill loop runs.
with_kill_loop() {
  local name=$1 lister=$2 ancestor=$3 conc=$4 url=$5 loop
  NOTES+=("$name: one request takes $(service_time "$url") ms at -c 1 (no kills yet)")
  kill_loop "$lister" "$ancestor" "$name" &
  loop=$!
  track "$loop"
  run_ab "$name" "$conc" "$CRASH_SECONDS" "$url"
  kill "$loop" 2>/dev/null
  wait "$loop" 2>/dev/null || true
  NOTES+=("$name: the kill loop sent $(wc -l <"$WORK_DIR/$name.kills") SIGKILLs")
}

# ---- rows -----------------------------------------------------------------------

declare -A ROW_TARGET ROW_CONC ROW_DEATHS

row_a() {
  log "row a: Node cluster, workers exit(1) within ${CRASH_SECONDS}s, ab -c $CRASH_CONCURRENCY -t $CRASH_SECONDS"
  start_node_cluster a $((CRASH_SECONDS * 1000))
  local before
  before=$(node_deaths a)
  run_ab a "$CRASH_CONCURRENCY" "$CRASH_SECONDS" "http://127.0.0.1:$NODE_PORT/"
  ROW_DEATHS[a]=$(($(node_deaths a) - before))
  ROW_TARGET[a]="node cluster, random exit(1)"
  ROW_CONC[a]=$CRASH_CONCURRENCY
  stop_tree "$NODE_PID"
}

row_b() {
  log "row b: Shepherd, demo workers crash within ${CRASH_SECONDS}s, ab -c $CRASH_CONCURRENCY -t $CRASH_SECONDS"
  start_shepherd b --fleet.demo.crash-within="${CRASH_SECONDS}s" ${DEMO_WORK:+--fleet.demo.work=$DEMO_WORK} || { NOTES+=("b: Shepherd did not start, see above"); return; }
  local seq
  seq=$(shepherd_event_seq "$SHEPHERD_MGMT")
  run_ab b "$CRASH_CONCURRENCY" "$CRASH_SECONDS" "http://127.0.0.1:$SHEPHERD_PORT/"
  ROW_DEATHS[b]=$(shepherd_deaths_since "$SHEPHERD_MGMT" "$seq")
  ROW_TARGET[b]="shepherd, random crash"
  ROW_CONC[b]=$CRASH_CONCURRENCY
  stop_tree "$SHEPHERD_PID"
}

row_c-node() {
  log "row c-node: Node cluster, SIGKILL a random worker every ${KILL_INTERVAL}s, ab -c $KILL_CONCURRENCY -t $CRASH_SECONDS"
  start_node_cluster c-node 0
  local before
  before=$(node_deaths c-node)
  with_kill_loop c-node node_worker_pids "$NODE_PID" "$KILL_CONCURRENCY" "http://127.0.0.1:$NODE_PORT/"
  ROW_DEATHS[c-node]=$(($(node_deaths c-node) - before))
  ROW_TARGET[c-node]="node cluster, SIGKILL loop"
  ROW_CONC[c-node]=$KILL_CONCURRENCY
  stop_tree "$NODE_PID"
}

row_c-shepherd() {
  log "row c-shepherd: Shepherd, SIGKILL a random READY worker every ${KILL_INTERVAL}s, ab -c $KILL_CONCURRENCY -t $CRASH_SECONDS"
  start_shepherd c-shepherd ${DEMO_WORK:+--fleet.demo.work=$DEMO_WORK} || { NOTES+=("c-shepherd: Shepherd did not start, see above"); return; }
  local seq
  seq=$(shepherd_event_seq "$SHEPHERD_MGMT")
  [[ -n $(shepherd_worker_pids) ]] || NOTES+=("c-shepherd: GET /fleet listed no READY worker pid: nothing to kill")
  with_kill_loop c-shepherd shepherd_worker_pids "$SHEPHERD_PID" "$KILL_CONCURRENCY" "http://127.0.0.1:$SHEPHERD_PORT/"
  ROW_DEATHS[c-shepherd]=$(shepherd_deaths_since "$SHEPHERD_MGMT" "$seq")
  ROW_TARGET[c-shepherd]="shepherd, SIGKILL loop"
  ROW_CONC[c-shepherd]=$KILL_CONCURRENCY
  stop_tree "$SHEPHERD_PID"
}

reload_state() {
  fleet_json "$SHEPHERD_MGMT" | json_eval "(d.get('reload') or {}).get('state')" 2>/dev/null || true
}

# reload N: POST /fleet/reload, then wait (bounded) until .reload.state is no longer RUNNING.
reload() {
  local n=$1 code start state deadline
  start=$(date +%s.%N)
  code=$(mgmt_curl "$SHEPHERD_MGMT" /fleet/reload -o "$WORK_DIR/d.reload$n" -w '%{http_code}' -X POST || true)
  deadline=$((SECONDS + 60))
  state=$(reload_state)
  while [[ $state == RUNNING ]] && ((SECONDS < deadline)); do
    sleep 0.2
    state=$(reload_state)
  done
  NOTES+=("d: reload $n answered HTTP $code (202 expected), then .reload.state=${state:-absent} after $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s")
  [[ $code == 202 ]] || NOTES+=("d: reload $n body: $(head -c 300 "$WORK_DIR/d.reload$n")")
}

row_d() {
  log "row d: Shepherd, two rolling reloads, ab -c $KILL_CONCURRENCY -t $RELOAD_SECONDS"
  start_shepherd d ${DEMO_WORK:+--fleet.demo.work=$DEMO_WORK} || { NOTES+=("d: Shepherd did not start, see above"); return; }
  local seq ab_pid
  seq=$(shepherd_event_seq "$SHEPHERD_MGMT")
  run_ab d "$KILL_CONCURRENCY" "$RELOAD_SECONDS" "http://127.0.0.1:$SHEPHERD_PORT/" &
  ab_pid=$!
  track "$ab_pid"
  sleep "$RELOAD_AT"
  reload 1
  reload 2
  kill -0 "$ab_pid" 2>/dev/null ||
    NOTES+=("d: the reloads outlasted the ${RELOAD_SECONDS}s ab run: raise RELOAD_SECONDS to see them whole")
  wait "$ab_pid" || true
  ROW_DEATHS[d]=$(shepherd_deaths_since "$SHEPHERD_MGMT" "$seq")
  ROW_TARGET[d]="shepherd, 2 rolling reloads"
  ROW_CONC[d]=$KILL_CONCURRENCY
  stop_tree "$SHEPHERD_PID"
}

# ---- report ---------------------------------------------------------------------

machine_info
echo "ab:      $(ab -V | head -n1)"
echo

for row in $ROWS; do
  declare -F "row_$row" >/dev/null || die "unknown row '$row' (rows: a b c-node c-shepherd d)"
  "row_$row"
done

echo
printf '%-11s %-29s %5s %9s %9s %7s %8s %8s %9s %7s %7s\n' \
  row target c complete 2xx lost failed non-2xx req/s deaths aborts
printf 'row\ttarget\tconcurrency\tcomplete\tok_2xx\tlost\tab_failed\tnon_2xx\treq_per_s\tdeaths\tab_aborts\tseconds\n' >"$TSV"
for row in $ROWS; do
  if [[ ! -s $WORK_DIR/$row.total ]]; then
    printf '%-11s %-29s %s\n' "$row" "${ROW_TARGET[$row]:-}" "not measured (see the log above)"
    continue
  fi
  read -r complete ok non2xx failed secs aborts <"$WORK_DIR/$row.total"
  lost=$((complete > ok ? complete - ok : 0))
  rps=$(awk -v c="$complete" -v t="$secs" 'BEGIN { printf "%.1f", (t > 0 ? c / t : 0) }')
  printf '%-11s %-29s %5s %9s %9s %7s %8s %8s %9s %7s %7s\n' "$row" "${ROW_TARGET[$row]}" "${ROW_CONC[$row]}" \
    "$complete" "$ok" "$lost" "$failed" "$non2xx" "$rps" "${ROW_DEATHS[$row]}" "$aborts"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "${ROW_TARGET[$row]}" "${ROW_CONC[$row]}" \
    "$complete" "$ok" "$lost" "$failed" "$non2xx" "$rps" "${ROW_DEATHS[$row]}" "$aborts" "$secs" >>"$TSV"
  [[ -s $WORK_DIR/$row.kinds ]] && NOTES+=("$row: ab's failure kinds (last attempt):$(cat "$WORK_DIR/$row.kinds")")
  [[ -s $WORK_DIR/$row.codes ]] && NOTES+=("$row: non-2xx statuses: $(cat "$WORK_DIR/$row.codes")")
done

cat <<EOF

complete = ab's "Complete requests" (every request that ended, resets included);
2xx      = responses with a 2xx status (one "LOG: Response code = 2xx" line each at ab -v 3);
lost     = complete - 2xx: requests that did not get a 2xx (reset, empty answer, 5xx)
           (floored at 0: a response whose header arrived as -t ran out is a 2xx not complete);
failed   = ab's "Failed requests", shown for reference only: one reset can count under
           several kinds (Connect, Receive, Length, Exceptions) and with -l an empty
           answer counts under none, so it is neither a count of lost requests nor a bound;
non-2xx  = ab's "Non-2xx responses" (0 when ab printed none);
req/s    = complete / the seconds ab ran (ab's "Time taken for tests", summed over attempts);
aborts   = times ab gave up ("Test aborted after 10 failures": a connect failed after more
           than 10 failures, which -r does not cover); ab was started again for the time
           left and the attempts are added up. failed gets a + when an attempt aborted
           (no summary: receive errors counted from ab's stderr, poll errors unknown);
deaths   = workers that died during the run: Node - "worker-death" lines of the primary;
           Shepherd - events of type ${DEATH_EVENT_TYPES} in GET /fleet/events
           (a trailing + = lower bound, the event list had rolled over; r = sum of restarts);
           in row d they are the workers the reloads retired, not crashes.
EOF
for note in "${NOTES[@]}"; do echo "  $note"; done
echo "TSV: $TSV"
