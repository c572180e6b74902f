#!/usr/bin/env bash
# End-to-end test of the Shepherd image: builds it, runs it with `docker run`
# and checks it from outside the container.
#
#   docker/test.sh
#
# Environment (all optional):
#   SHEPHERD_JAR   the jar to package (default: target/shepherd.jar, built
#                  with ./mvnw when missing)
#   BASE_IMAGE     the JRE base image (default: shepherd-base:local, made
#                  offline by docker/base-image.sh and cached)
#   DOCKER_HOST    an engine to use; when none answers, the script starts its
#                  own dockerd (root needed) and stops it at the end
#   KEEP_IMAGE=1   keep the shepherd:test image on an engine that is not
#                  the script's own (default: removed there)
#
# Works on a machine with no registry and no Docker engine running: it
# installs docker.io and debootstrap from Debian when they are missing, runs
# containers with --network host (there is no bridge) on random free
# loopback ports, and uses the classic builder (DOCKER_BUILDKIT=0).
# Cached between runs in docker/.work/ (gitignored): the engine's data (base
# image and build layers) and the base root file system.
# pass and fail never fail, so `A && pass || fail` is if-then-else; the
# single-quoted scripts run inside the container.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=$here/.work
image=shepherd:test
layers_image=shepherd-layers:test
token=test-token-$RANDOM$RANDOM
started=$SECONDS
containers=()
own_dockerd_pid=
passes=0
failures=0

log() { printf '\n[test +%ss] %s\n' "$((SECONDS - started))" "$*" >&2; }
pass() { printf '  ok   %s\n' "$*" >&2; passes=$((passes + 1)); }
fail() { printf '  FAIL %s\n' "$*" >&2; failures=$((failures + 1)); }
die() { printf '[test] FATAL %s\n' "$*" >&2; exit 1; }

cleanup() {
  local rc=$?
  set +e
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  if [[ -n $own_dockerd_pid ]]; then
    # Our engine's data is our cache: keep the image (its layers speed up the
    # next build), drop what older builds left dangling.
    docker image prune -f >/dev/null 2>&1
    # Our own engine: stop it by its pid, wait, and only then escalate.
    kill -TERM "$own_dockerd_pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$own_dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$own_dockerd_pid" 2>/dev/null
    # dockerd leaves its network namespace bind-mounted under exec-root.
    awk -v d="$dockerd_run/" 'index($2, d) == 1 {print $2}' /proc/mounts | xargs -r umount
    rm -rf "$dockerd_run"
  elif [[ ${KEEP_IMAGE:-0} != 1 ]]; then
    docker image rm "$image" "$layers_image" >/dev/null 2>&1
  fi
  exit "$rc"
}
trap cleanup EXIT

# Two free TCP ports on 127.0.0.1, chosen by the kernel.
free_ports() {
  python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))'
}

# json EXPR: evaluates a Python expression over the JSON document d on stdin.
json() {
  python3 -c 'import json, sys
try: d = json.load(sys.stdin)
except ValueError: sys.exit("not JSON")
print(eval(sys.argv[1]))' "$1"
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls every half second.
wait_for() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { fail "$what (not within ${limit}s)"; return 1; }
    sleep 0.5
  done
  pass "$what"
}

fleet() { curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/fleet"; }
ready_pids() { fleet | json '" ".join(str(p) for p in sorted(w["pid"] for w in d["workers"] if w["state"] == "READY"))'; }
fleet_ready() { # all desired workers READY, none of them with pid $1
  local f
  f=$(fleet) || return 1
  [[ $(json 'sum(w["state"] == "READY" and str(w["pid"]) != "'"${1:-}"'" for w in d["workers"]) == d["desired"] > 0' <<<"$f") == True ]]
}
health_up() { curl -fsS "http://127.0.0.1:$admin_port/actuator/health" | grep -q '"status":"UP"'; }
healthy() { [[ $(docker inspect -f '{{.State.Health.Status}}' "$1") == healthy ]]; }

# --- 1. Tools --------------------------------------------------------------
log "tools"
command -v python3 >/dev/null && command -v curl >/dev/null || die "needs python3 and curl"
if ! command -v docker >/dev/null || { ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null; }; then
  [[ $EUID -eq 0 ]] || die "no Docker engine or client, and installing one needs root"
  log "installing docker.io from Debian"
  apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
fi

# --- 2. Engine: the one DOCKER_HOST (or the default socket) names, else our own
if docker info >/dev/null 2>&1; then
  log "using the running Docker engine ($(docker info -f '{{.ServerVersion}}'))"
else
  [[ $EUID -eq 0 ]] || die "no Docker engine answers, and starting one needs root"
  # The data root lives in docker/.work so that images survive between runs;
  # sockets and runtime state go to a short /tmp path (socket paths are
  # limited to 108 bytes). vfs and no bridge/iptables: what works in a
  # container without privileges for overlay mounts or netfilter.
  mkdir -p "$work/docker"
  dockerd_run=$(mktemp -d /tmp/shepherd-dockerd.XXXXXX)
  export DOCKER_HOST=unix://$dockerd_run/docker.sock
  log "starting dockerd (data in $work/docker, log in $work/dockerd.log)"
  dockerd --data-root "$work/docker" --exec-root "$dockerd_run/exec" \
    --pidfile "$dockerd_run/dockerd.pid" -H "$DOCKER_HOST" \
    --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    >"$work/dockerd.log" 2>&1 &
  own_dockerd_pid=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log" >&2; die "dockerd did not start"; }
fi

# --- 3. The jar --------------------------------------------------------------
jar=${SHEPHERD_JAR:-$repo/target/shepherd.jar}
if [[ ! -f $jar ]]; then
  log "no $jar: building it with ./mvnw"
  (cd "$repo" && ./mvnw -B -q -DskipTests package)
fi
[[ -f $jar ]] || die "no jar at $jar"

# --- 4. Base image -----------------------------------------------------------
base=${BASE_IMAGE:-shepherd-base:local}
if [[ $base == shepherd-base:local ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap from Debian"
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
  fi
  log "base image $base (cached after the first run)"
  "$here/base-image.sh" "$base"
fi

# --- 5. Build ----------------------------------------------------------------
# The build context holds only what the Dockerfile copies, laid out as in the
# repository: the classic builder would otherwise send target/ and this
# script's .work/ (gigabytes of engine data) to the engine.
log "docker build ($image on $base)"
ctx=$work/context
rm -rf "$ctx" && mkdir -p "$ctx/target" "$ctx/docker" "$ctx/bin"
cp "$jar" "$ctx/target/shepherd.jar"
cp "$repo/bin/shepherd" "$ctx/bin/shepherd"
cp "$here/Dockerfile" "$ctx/docker/"
cp -r "$here/bin" "$ctx/docker/bin"
build_started=$SECONDS
# The layers stage gets a tag of its own, or its image would count as
# dangling, be pruned, and lose its build cache.
for target in layers ""; do
  DOCKER_BUILDKIT=0 docker build -q --network host --build-arg "BASE_IMAGE=$base" \
    ${target:+--target "$target"} -t "${target:+$layers_image}${target:-$image}" \
    -f "$ctx/docker/Dockerfile" "$ctx" >/dev/null 2>"$work/build.log" \
    || { cat "$work/build.log" >&2; die "docker build failed"; }
done
pass "built in $((SECONDS - build_started))s"

# From here on a failed check is counted and the next one still runs.
set +e

# --- 6. No token, no start ---------------------------------------------------
log "the image binds the admin port on every interface of its container"
env_list=$(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image")
[[ $env_list == *MANAGEMENT_SERVER_ADDRESS=0.0.0.0* ]] && pass "MANAGEMENT_SERVER_ADDRESS=0.0.0.0 in the image" ||
  fail "the image's environment: $env_list"

log "without FLEET_ADMIN_TOKEN the container refuses to start"
out=$(timeout 60 docker run --rm --network host "$image" 2>&1)
rc=$?
if [[ $rc -eq 78 && $out == *FLEET_ADMIN_TOKEN* ]]; then pass "exit 78, message names FLEET_ADMIN_TOKEN"; else fail "exit $rc: $out"; fi

# run_shepherd NAME DOCKER-RUN-OPTIONS...: starts a container on two new free
# ports (proxy_port, admin_port), both bound to loopback: with --network host
# the image's 0.0.0.0 for the admin port would be every interface of the host
# (that default is checked in the image's configuration instead).
run_shepherd() {
  local name=$1
  shift
  read -r proxy_port admin_port < <(free_ports)
  log "docker run $name $*: proxy 127.0.0.1:$proxy_port, admin :$admin_port"
  docker run -d --name "$name" --network host \
    -e SERVER_ADDRESS=127.0.0.1 -e SERVER_PORT="$proxy_port" \
    -e MANAGEMENT_SERVER_PORT="$admin_port" -e MANAGEMENT_SERVER_ADDRESS=127.0.0.1 \
    -e FLEET_ADMIN_TOKEN="$token" \
    "$@" "$image" >/dev/null
  containers+=("$name")
}

# --- 7. Run ------------------------------------------------------------------
name=shepherd-test-$$
# --health-interval only makes the image's HEALTHCHECK report sooner.
run_shepherd "$name" --cpus 2 --stop-timeout 60 --health-interval 2s

wait_for 120 "/actuator/health is UP" health_up || { docker logs "$name" 2>&1 | tail -40 >&2; die "master did not come up"; }
wait_for 60 "every desired worker is READY" fleet_ready || fleet >&2
wait_for 30 "Docker reports the container healthy (HEALTHCHECK on liveness)" healthy "$name"

log "the admin port wants the token"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/fleet")
[[ $code == 401 ]] && pass "/fleet without token: 401" || fail "/fleet without token: $code"
desired=$(fleet | json 'd["desired"]')
[[ $desired == 2 ]] && pass "desired workers = 2 = the --cpus limit" || fail "desired workers: $desired, expected 2"

log "processes inside the container"
inside() { docker exec "$name" bash -c "$1"; }
[[ $(inside 'cat /proc/1/comm') == tini ]] && pass "PID 1 is tini" || fail "PID 1 is $(inside 'cat /proc/1/comm')"
uids=$(inside 'for p in /proc/[0-9]*; do [ "$(cat $p/comm)" = java ] && awk "/^Uid:/{print \$2}" $p/status; done | sort -u')
[[ $uids == 10001 ]] && pass "every JVM runs as uid 10001" || fail "JVM uids: $uids"

log "the proxy round-robins across the workers"
expected=$(ready_pids)
pids=()
for _ in $(seq 1 8); do
  body=$(curl -fsS "http://127.0.0.1:$proxy_port/") || { fail "proxy request failed"; break; }
  [[ $body =~ ^Process\ handled\ by\ pid:\ ([0-9]+)$ ]] || { fail "unexpected body: $body"; break; }
  pids+=("${BASH_REMATCH[1]}")
done
seen=$(printf '%s\n' "${pids[@]}" | sort -un | xargs)
alternating=yes
for i in $(seq 1 $((${#pids[@]} - 1))); do [[ ${pids[i]} != "${pids[i - 1]}" ]] || alternating=no; done
[[ -n $seen && $seen == "$expected" ]] && pass "answers came from the READY workers ($seen)" || fail "answers from [$seen], READY workers [$expected]"
[[ ${#pids[@]} -ge 2 && $alternating == yes ]] && pass "pids alternate: ${pids[*]}" || fail "pids do not alternate: ${pids[*]}"

log "the command line inside the image (it finds the admin port and token in the master's environment)"
listed=$(docker exec "$name" shepherd ls 2>&1) || fail "shepherd ls failed: $listed"
missing=$(for pid in $expected; do [[ $listed =~ (^|[^0-9])$pid([^0-9]|$) ]] || printf '%s ' "$pid"; done)
[[ -n $expected && -z $missing ]] && pass "shepherd ls lists every READY worker ($expected)" || fail "shepherd ls misses [$missing]: $listed"
desired_ctl=$(docker exec "$name" shepherd ls --json | json 'd["desired"]')
[[ $desired_ctl == 2 ]] && pass "shepherd ls --json: desired 2" || fail "shepherd ls --json: desired $desired_ctl"

log "kill -9 of a worker is healed"
victim=${expected%% *}
inside "kill -9 $victim"
wait_for 30 "worker $victim replaced: all desired workers READY again" fleet_ready "$victim"
after=$(ready_pids)
[[ -n $victim && -n $after && " $after " != *" $victim "* ]] && pass "READY workers now: $after" || fail "pid $victim still listed"
served=$(for _ in 1 2 3 4; do curl -fsS "http://127.0.0.1:$proxy_port/"; echo; done | sed 's/.*: //' | sort -un | xargs)
[[ -n $served && $served == "$after" ]] && pass "the proxy uses the new worker ($served)" || fail "proxy answered from [$served], READY [$after]"
zombies=$(inside 'for p in /proc/[0-9]*; do awk "{print \$3}" $p/stat; done | grep -c Z || true')
[[ $zombies == 0 ]] && pass "no zombie in the container" || fail "$zombies zombies"

log "docker stop: clean drain, exit code 0, nothing left behind"
host_pids=$(docker top "$name" -eo pid | tail -n +2 | xargs)
stop_started=$SECONDS
docker stop -t 60 "$name" >/dev/null
stop_took=$((SECONDS - stop_started))
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[[ $exit_code == 0 ]] && pass "exit code 0 (the master's 143 after TERM, mapped by tini -e 143)" \
  || fail "exit code $exit_code (137: the stop timed out and Docker killed it)"
((stop_took < 60)) && pass "stopped in ${stop_took}s (grace period 60s)" || fail "stop took ${stop_took}s"
left=
for p in $host_pids; do [[ -d /proc/$p ]] && left+=" $p"; done
[[ -z $left ]] && pass "none of the container's processes ($host_pids) is left on the host" || fail "left on the host:$left"
docker logs "$name" >"$work/container.log" 2>&1
docker rm "$name" >/dev/null

# --- 8. The CPU limit sets the worker count ----------------------------------
run_shepherd "$name-cpu1" --cpus 1
if wait_for 120 "/actuator/health is UP" health_up; then
  desired=$(fleet | json 'd["desired"]')
  [[ $desired == 1 ]] && pass "--cpus 1: desired workers = 1" || fail "--cpus 1: desired workers $desired, expected 1"
fi
docker rm -f "$name-cpu1" >/dev/null

# --- 9. A Node.js worker; an orphaned grandchild is reaped by tini ----------
# As in compose.yaml's example, with the host's node binary mounted in (the
# image has none). Each worker starts a helper process ('sleep 600'); killing
# a worker with -9 orphans its helper, and once the helper ends (the master
# may kill it with the worker's process tree, or we do), PID 1 must reap it.
node_bin=$(command -v node || true)
if [[ -z $node_bin ]]; then
  log "no node on this machine: Node.js worker check skipped"
else
  node_bin=$(readlink -f "$node_bin")
  run_shepherd "$name-node" -e FLEET_WORKERS=2 \
    -v "$node_bin:/usr/local/bin/node:ro" -v "$here/node-example:/srv/app:ro" \
    -e FLEET_WORKER_COMMAND_0=node -e FLEET_WORKER_COMMAND_1=/srv/app/server.js \
    -e SHEPHERD_EXAMPLE_HELPER=600
  name_node=$name-node
  wait_for 120 "/actuator/health is UP" health_up
  wait_for 60 "both Node.js workers READY" fleet_ready
  bodies=$(for _ in 1 2 3 4; do curl -fsS "http://127.0.0.1:$proxy_port/"; echo; done | sort -u | xargs)
  [[ $bodies =~ ^Node\ worker\ pid:\ [0-9]+\ Node\ worker\ pid:\ [0-9]+$ ]] \
    && pass "two Node.js workers answer: $bodies" || fail "Node.js answers: $bodies"
  victim=$(ready_pids | cut -d' ' -f1)
  helper=$(docker exec "$name_node" bash -c 'for p in /proc/[0-9]*; do
    [ "$(cat $p/comm)" = sleep ] && [ "$(awk "/^PPid:/{print \$2}" $p/status)" = '"$victim"' ] && echo ${p#/proc/}; done')
  if [[ -z $victim || -z $helper ]]; then
    fail "no helper process of worker $victim found"
  else
    docker exec "$name_node" bash -c "kill -9 $victim"
    helper_parent=$(docker exec "$name_node" bash -c "awk '/^PPid:/{print \$2}' /proc/$helper/status 2>/dev/null")
    pass "worker $victim killed; its helper $helper now has parent ${helper_parent:-(gone)}"
    docker exec "$name_node" bash -c "kill $helper 2>/dev/null"
    helper_gone() { ! docker exec "$name_node" test -e "/proc/$helper"; }
    wait_for 15 "the orphaned helper $helper ended and was reaped (no zombie left)" helper_gone
    wait_for 30 "the Node.js worker was replaced" fleet_ready "$victim"
  fi
  docker rm -f "$name-node" >/dev/null
fi

log "done in $((SECONDS - started))s: container log in $work/container.log"
echo "docker test: $passes passed, $failures failed"
((failures == 0))
