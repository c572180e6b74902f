#!/usr/bin/env bash
# Start-up time of the command line: RUNS times `bin/shepherd ls` against a running master, wall clock from the
# shell (JVM start, the request, the table) and CPU time (user + system, which depends less on other load), then
# the medians and the wall clock's range, with the JVM options and the machine's load.
#
# Usage: SHEPHERD_ADMIN_URL=http://127.0.0.1:8081 bench/ctl-startup.sh
# Env:   RUNS=11, SHEPHERD_JAR (default target/shepherd.jar, as bin/shepherd finds it), SHEPHERD_CTL_JAVA_OPTS (the
#        JVM options; default: bin/shepherd's), COMMAND="ls" (the words after shepherd, e.g. "--version" for a
#        start without a request), SHEPHERD_CTL_CACHE=off (without bin/shepherd's extracted jar and class data sharing archive),
#        SHEPHERD_ADMIN_TOKEN if the master wants one.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-11}
command=${COMMAND:-ls}
: "${SHEPHERD_ADMIN_URL:?set SHEPHERD_ADMIN_URL to the admin API of a running master, e.g. http://127.0.0.1:8081}"
export SHEPHERD_ADMIN_URL

# shellcheck disable=SC2086 # COMMAND is words on purpose
bin/shepherd $command >/dev/null || { echo "bin/shepherd $command failed: is the master at $SHEPHERD_ADMIN_URL running?" >&2; exit 1; }

walls=()
cpus=()
TIMEFORMAT='%R %U %S'
for _ in $(seq "$runs"); do
  # shellcheck disable=SC2086
  read -r real user system < <({ time bin/shepherd $command >/dev/null; } 2>&1)
  walls+=("$(awk -v r="$real" 'BEGIN { printf "%d", r * 1000 }')")
  cpus+=("$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%d", (u + s) * 1000 }')")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
min=$(printf '%s\n' "${walls[@]}" | sort -n | head -1)
max=$(printf '%s\n' "${walls[@]}" | sort -n | tail -1)

echo "shepherd $command: median ${runs} runs: $(median "${walls[@]}") ms wall clock (range ${min}-${max} ms), $(median "${cpus[@]}") ms CPU"
echo "java options: ${SHEPHERD_CTL_JAVA_OPTS:-$(sed -n 's/.*SHEPHERD_CTL_JAVA_OPTS:-\([^}]*\)}.*/\1/p' bin/shepherd)}"
echo "extracted jar and class data sharing: ${SHEPHERD_CTL_CACHE:-on} (bin/shepherd's caches, made by the untimed first run)"
echo "java: $("${JAVA:-java}" -version 2>&1 | head -1); cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
