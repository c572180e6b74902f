#!/usr/bin/env bash
# Start-up time of the command line: RUNS times `bin/shepherd ls` against a running master, wall clock from the
# shell (JVM start, the request, the table), then the median and the range, with the JVM options and the machine's
# load, which a shared machine's figures depend on.
#
# Usage: SHEPHERD_ADMIN_URL=http://127.0.0.1:8081 bench/ctl-startup.sh
# Env:   RUNS=11, SHEPHERD_JAR (default target/shepherd.jar, as bin/shepherd finds it), SHEPHERD_CTL_JAVA_OPTS (the
#        JVM options; default: bin/shepherd's), COMMAND="ls" (the words after shepherd, e.g. "--version" for a
#        start without a request), SHEPHERD_CTL_CDS=off (without bin/shepherd's class data sharing archive),
#        SHEPHERD_ADMIN_TOKEN if the master wants one.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-11}
command=${COMMAND:-ls}
: "${SHEPHERD_ADMIN_URL:?set SHEPHERD_ADMIN_URL to the admin API of a running master, e.g. http://127.0.0.1:8081}"
export SHEPHERD_ADMIN_URL

# shellcheck disable=SC2086 # COMMAND is words on purpose
bin/shepherd $command >/dev/null || { echo "bin/shepherd $command failed: is the master at $SHEPHERD_ADMIN_URL running?" >&2; exit 1; }

times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  bin/shepherd $command >/dev/null
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
min=$(printf '%s\n' "$sorted" | head -1)
max=$(printf '%s\n' "$sorted" | tail -1)

echo "shepherd $command: median ${median} ms, range ${min}-${max} ms over $runs runs"
echo "java options: ${SHEPHERD_CTL_JAVA_OPTS:-$(sed -n 's/.*SHEPHERD_CTL_JAVA_OPTS:-\([^}]*\)}.*/\1/p' bin/shepherd)}"
echo "class data sharing: ${SHEPHERD_CTL_CDS:-on} (bin/shepherd's archive, written by the untimed first run)"
echo "java: $("${JAVA:-java}" -version 2>&1 | head -1); cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
