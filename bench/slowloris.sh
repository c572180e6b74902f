#!/usr/bin/env bash
# Slowloris from one host against Shepherd, and what a legitimate client gets meanwhile: CONNECTIONS attacker
# connections (bench/slowloris/attack.py: each sends the start of a head and a header line every 10 s, and opens
# again when closed), then PROBES requests of another client one after another, each on a new connection, each
# given PROBE_TIMEOUT seconds. The master runs with the README's flags, whose direct memory sets
# fleet.proxy.max-connections to 1,024 (the startup log says the value in force), two trivial Node workers.
# Several jars side by side (JARS="label=path ..."), alternated round by round.
#
# ATTACK=requests: each attacker connection sends whole requests that the worker holds 5 s, one after another, so
# that every place is held by requests a worker has (none can be closed for room but in the moment between two).
#
# Usage: bench/slowloris.sh
#        JARS="before=/tmp/old.jar after=target/shepherd.jar" ROUNDS=3 bench/slowloris.sh
# Env:   JARS (default: target/shepherd.jar), CONNECTIONS=1100 RAMP=15 PROBES=20 PROBE_TIMEOUT=30 ROUNDS=1
#        ATTACK=heads (or requests)
# Output: per jar and round, the probes served and not, their median and slowest time, and the attacker's
#         connections open and reconnects; then the medians per jar.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNECTIONS=${CONNECTIONS:-1100}
RAMP=${RAMP:-15}
PROBES=${PROBES:-20}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-30}
ROUNDS=${ROUNDS:-1}
ATTACK=${ATTACK:-heads}
read -r -a JAR_LIST <<<"${JARS:-current=$REPO_DIR/target/shepherd.jar}"
require_tool node "apt-get install -y nodejs"
require_tool python3 "apt-get install -y python3"
for entry in "${JAR_LIST[@]}"; do
  [[ -f ${entry#*=} ]] || die "${entry#*=} not found; build it first: (cd $REPO_DIR && ./mvnw -DskipTests package)"
done
require_tool java "apt-get install -y openjdk-17-jre-headless"
machine_info
# The attacker needs a descriptor per connection, and so does the master.
ulimit -n 8192 || die "could not raise the open-file limit to 8192 (ulimit -n)"

RESULTS=$WORK_DIR/results.tsv
for ((round = 1; round <= ROUNDS; round++)); do
  for ((i = 0; i < ${#JAR_LIST[@]}; i++)); do
    entry=${JAR_LIST[(i + round - 1) % ${#JAR_LIST[@]}]}
    label=${entry%%=*}
    SHEPHERD_JAR=${entry#*=}
    start_shepherd "$label-$round" --fleet.workers=2 --fleet.worker.command="node,$BENCH_DIR/upstream/server.js" ||
      die "Shepherd ($label) did not start (log: $WORK_DIR/$label-$round.log)"
    log "$label, round $round: $(grep -o 'max-connections[^,;)]*' "$WORK_DIR/$label-$round.log" | head -n 1)"
    result=$(python3 "$BENCH_DIR/slowloris/attack.py" 127.0.0.1 "$SHEPHERD_PORT" "$CONNECTIONS" "$RAMP" "$PROBES" \
      "$PROBE_TIMEOUT" "$ATTACK")
    metrics=$(curl -s "http://127.0.0.1:$SHEPHERD_MGMT/actuator/prometheus")
    reclaimed=$(awk '/^shepherd_proxy_connections_reclaimed_total/ {print $2}' <<<"$metrics")
    refused=$(awk '/^shepherd_proxy_connections_refused_total\{limit="max-connections"\}/ {print $2}' <<<"$metrics")
    stop_tree "$SHEPHERD_PID"
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "${reclaimed:--}" "${refused:--}" "$result" >>"$RESULTS"
    log "$label, round $round: $result" | cut -c1-400
  done
done

python3 - "$RESULTS" "$CONNECTIONS" "$PROBES" "$PROBE_TIMEOUT" "$ATTACK" <<'PY'
import json, statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
print(f"\n{sys.argv[2]} attacker connections ({sys.argv[5]}) from one host; {sys.argv[3]} probes per round, {sys.argv[4]} s each at most")
print("| jar | round | probes served | not served | of them reset | p50 ms | max ms | attacker open | reconnects | reclaimed | refused |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
by_jar = {}
for label, round_, reclaimed, refused, result in rows:
    r = json.loads(result)
    lat = r["latencies_ms"]
    p50 = statistics.median(lat) if lat else float("nan")
    top = max(lat) if lat else float("nan")
    by_jar.setdefault(label, []).append((r["served"], p50, top))
    print(f"| {label} | {round_} | {r['served']} | {r['not_served']} | {r['reset']} | {p50:,.1f} | {top:,.1f} | "
          f"{r['attacker_open_before_probes']} | {r['attacker_reconnects']} | {reclaimed} | {refused} |")
for label, values in by_jar.items():
    print(f"{label}: median over rounds: served {statistics.median(v[0] for v in values)}, "
          f"p50 {statistics.median(v[1] for v in values):,.1f} ms, max {statistics.median(v[2] for v in values):,.1f} ms")
PY
