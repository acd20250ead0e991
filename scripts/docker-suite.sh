#!/usr/bin/env bash
# The docker phase of the test command: the devstack's testcontainers path, run for real (vitest.docker.config.ts).
# Uses a Docker engine that already answers. Otherwise, as root with apt-get: installs docker.io when missing and
# starts a private dockerd (vfs storage, its own socket, so nothing else on the machine sees it) for this phase only,
# and stops it at the end. Images: scripts/docker-images.sh (official ones, or local stand-ins without a registry).
# Writes .cache/vitest-docker-results.json; exits non-zero when a test fails.
# RTML_DOCKER_TESTS=skip skips the phase; =require fails it when no engine can be had (default: skip with a notice).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/script-cli.sh
script_cli docker-suite "$@"
results=.cache/vitest-docker-results.json
mkdir -p .cache
rm -f "$results"

case "${RTML_DOCKER_TESTS:-auto}" in
  skip) say "skipped (RTML_DOCKER_TESTS=skip)"; exit 0 ;;
  auto | require) ;;
  *) say "RTML_DOCKER_TESTS=${RTML_DOCKER_TESTS} is not one of skip, auto, require"; exit 2 ;;
esac

cannot_run() {
  if [ "${RTML_DOCKER_TESTS:-auto}" = require ]; then say "$1"; exit 1; fi
  say "skipped: $1 (RTML_DOCKER_TESTS=require makes this an error)"
  exit 0
}

dockerd_pid=
run_dir=
stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  say "stopping dockerd (pid $dockerd_pid)"
  kill "$dockerd_pid" 2>/dev/null || true
  # dockerd stops its containerd child before it exits.
  for _ in $(seq 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=
  rm -rf "$run_dir"
}
trap stop_dockerd EXIT
trap 'stop_dockerd; exit 130' INT TERM

start_private_dockerd() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || cannot_run "no Docker engine answers and we are not root with apt-get to start one"
  if ! command -v dockerd >/dev/null; then
    say "apt-get install docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  # Images stay in the cache between runs (a warm run imports nothing); sockets and state live in a short temp dir.
  local data_root=${RTML_CACHE_DIR:-$HOME/.cache/rtml}/dockerd
  run_dir=$(mktemp -d /tmp/rtml-dockerd.XXXXXX)
  mkdir -p "$data_root"
  # One private dockerd per data root (and per bridge): a second docker phase on this machine waits for the first.
  exec 9>"$data_root.lock"
  flock 9
  dockerd --storage-driver=vfs -H "unix://$run_dir/docker.sock" --data-root "$data_root" --exec-root "$run_dir/exec" \
    --pidfile "$run_dir/dockerd.pid" >"$run_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  export DOCKER_HOST="unix://$run_dir/docker.sock"
  for _ in $(seq 150); do docker info >/dev/null 2>&1 && break; kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { tail -20 "$run_dir/dockerd.log" >&2; say "dockerd did not start (log above)"; exit 1; }
  say "dockerd $(docker info --format '{{.ServerVersion}}') started (pid $dockerd_pid, DOCKER_HOST=$DOCKER_HOST)"
}

started=$(date +%s)
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  say "using the Docker engine that answers (DOCKER_HOST=${DOCKER_HOST:-default})"
else
  start_private_dockerd
fi
eval "$(bash scripts/docker-images.sh)"
export RTML_REDIS_IMAGE RTML_KAFKA_IMAGE

status=0
env -u KAFKA_BROKERS -u REDIS_URL npx vitest run -c vitest.docker.config.ts --reporter=default --reporter=json --outputFile="$results" || status=$?

leftovers=$(docker ps -aq --filter label=rtml.devstack.owner)
[ -z "$leftovers" ] || { say "containers left behind: $leftovers"; status=1; }
stop_dockerd
say "docker phase took $(($(date +%s) - started)) s"
exit "$status"
