#!/usr/bin/env bash
# The test command: sets the machine up, starts real Kafka + Redis once (devstack decides how: env vars,
# testcontainers, or native processes), then runs the type check, every Vitest suite and the notebooks;
# before that, the docker phase runs the testcontainers path on its own Docker engine (scripts/docker-suite.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

bash scripts/setup.sh --notebooks

echo "[test] type check" >&2
npm run --silent typecheck

mkdir -p .cache

# --- docker phase (issue 18) -------------------------------------------------------------------------------
# The devstack's testcontainers path, on a Docker engine started for this phase only when none answers (stopped
# again, so the main suite below runs on the native stack here); its results join test-suites.sh's summary line.
docker_status=0
bash scripts/docker-suite.sh || docker_status=$?
export RTML_DOCKER_RESULTS=.cache/vitest-docker-results.json
# --- end of docker phase -----------------------------------------------------------------------------------

main_status=0
npx tsx --conditions=source packages/devstack/src/cli.ts exec -- bash scripts/test-suites.sh || main_status=$?
[ "$main_status" -eq 0 ] && [ "$docker_status" -eq 0 ]
