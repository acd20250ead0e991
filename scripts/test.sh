#!/usr/bin/env bash
# The test command: sets the machine up, starts real Kafka + Redis once (devstack decides how: env vars,
# testcontainers, or native processes), then runs the type check, every Vitest suite and the notebooks;
# before that, the docker phase runs the testcontainers path on its own Docker engine (scripts/docker-suite.sh)
# and the cluster phase the *.cluster.test.ts files on a 3-broker Kafka + Redis Cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

bash scripts/setup.sh --notebooks

echo "[test] type check" >&2
npm run --silent typecheck

# --- code form (issue 13) ----------------------------------------------------------------------------------
# Before the services start, so a lint or format slip fails in about a minute instead of after the suites.
echo "[test] lint (ESLint: eslint.config.js)" >&2
if ! npm run --silent lint; then
  echo "[test] FAILED: lint found the errors above. Fix them (npm run lint); where a rule is wrong for one line, say why:" >&2
  echo "[test]   // eslint-disable-next-line <rule> -- <reason>" >&2
  exit 1
fi
echo "[test] format check (Prettier: .prettierrc.json)" >&2
if ! npm run --silent format:check; then
  echo "[test] FAILED: the files listed above are not formatted as Prettier would; run \`npm run format\` and commit" >&2
  exit 1
fi
# --- end of code form --------------------------------------------------------------------------------------

mkdir -p .cache

# --- docker phase (issue 18) -------------------------------------------------------------------------------
# The devstack's testcontainers path, on a Docker engine started for this phase only when none answers (stopped
# again, so the main suite below runs on the native stack here); its results join test-suites.sh's summary line.
docker_status=0
bash scripts/docker-suite.sh || docker_status=$?
# --- end of docker phase -----------------------------------------------------------------------------------

# --- cluster phase (issue 20) ------------------------------------------------------------------------------
# The *.cluster.test.ts files on 3 Kafka brokers + a Redis Cluster (3 primaries, 3 replicas) that the global setup
# starts natively and stops; fault tests there SIGKILL brokers and Redis primaries. ~2 min on 2 cores.
echo "[test] cluster topology (RTML_TOPOLOGY=cluster)" >&2
cluster_status=0
rm -f .cache/vitest-cluster-results.json
RTML_TOPOLOGY=cluster RTML_DEVSTACK_MODE=native npx vitest run --reporter=default --reporter=json --outputFile=.cache/vitest-cluster-results.json || cluster_status=$?
# --- end of cluster phase ----------------------------------------------------------------------------------

# Both phases' results join test-suites.sh's summary line.
export RTML_EXTRA_RESULTS=".cache/vitest-docker-results.json .cache/vitest-cluster-results.json"

main_status=0
npx tsx --conditions=source packages/devstack/src/cli.ts exec -- bash scripts/test-suites.sh || main_status=$?
[ "$main_status" -eq 0 ] && [ "$docker_status" -eq 0 ] && [ "$cluster_status" -eq 0 ]
