#!/usr/bin/env bash
# What an idle master holds: its resident memory (VmRSS) and threads once started, for settings or JVM options
# side by side, each master started fresh with the recommended flags, alternated over ROUNDS.
#
# Each variant of VARIANTS ("name|args;name|args", args the master's extra command-line words, split on spaces)
# gets a master with WORKERS built-in demo workers; SETTLE seconds after its health answers, its VmRSS and its
# number of threads are read from /proc. Masters run one after the other.
#
# Usage: VARIANTS="t32|--server.tomcat.threads.max=32 --server.tomcat.threads.min-spare=32;default|" bench/idle-memory.sh
# Env:   VARIANTS (default: the line above) WORKERS=1 SETTLE=10 ROUNDS=3 SHEPHERD_JAR SHEPHERD_JAVA_OPTS
# Output: per variant and round, VmRSS in MiB and threads; then per variant the median and range of VmRSS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS=${WORKERS:-1}
SETTLE=${SETTLE:-10}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-"t32|--server.tomcat.threads.max=32 --server.tomcat.threads.min-spare=32;default|"}
resolve_shepherd_jar
machine_info
IFS=';' read -r -a VARIANT_LIST <<<"$VARIANTS"

for ((round = 1; round <= ROUNDS; round++)); do
  for ((i = 0; i < ${#VARIANT_LIST[@]}; i++)); do
    variant=${VARIANT_LIST[(i + round - 1) % ${#VARIANT_LIST[@]}]}
    name=${variant%%|*}
    read -r -a args <<<"${variant#*|}"
    start_shepherd "idle-$name" --fleet.workers="$WORKERS" ${args[@]+"${args[@]}"} ||
      die "Shepherd did not start (log: $WORK_DIR/idle-$name.log)"
    sleep "$SETTLE"
    rss=$(rss_kb "$SHEPHERD_PID")
    threads=$(ls "/proc/$SHEPHERD_PID/task" | wc -l)
    awk -v r="$round" -v n="$name" -v kb="$rss" -v t="$threads" \
      'BEGIN { printf "round %d  %-12s VmRSS %7.1f MiB  threads %4d\n", r, n, kb / 1024, t }'
    echo "$name $rss" >>"$WORK_DIR/rss"
    stop_tree "$SHEPHERD_PID"
  done
done

echo
for name in $(cut -d' ' -f1 "$WORK_DIR/rss" | sort -u); do
  awk -v n="$name" '$1 == n { print $2 }' "$WORK_DIR/rss" | sort -n | awk -v n="$name" '
    { a[NR] = $1 }
    END { printf "%-12s VmRSS median %.1f MiB [%.1f-%.1f] over %d rounds\n", n, a[int((NR + 1) / 2)] / 1024,
          a[1] / 1024, a[NR] / 1024, NR }'
done
