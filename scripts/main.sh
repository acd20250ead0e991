#!/usr/bin/env bash
# The main job: set the machine up, start Kafka + Redis, run the fraud-detection scenario end to end
# (generate -> Kafka -> stream processor -> Redis, offline store -> PIT training -> serving -> result tables).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
bash scripts/setup.sh

# `npm run main -- --console`: then keep the pipeline console open (http://127.0.0.1:8090) on the same stack, its
# Scenario page showing this run's results; Ctrl-C ends the console and the stack.
console=0
scenario_args=()
for arg in "$@"; do
  if [ "$arg" = --console ]; then console=1; else scenario_args+=("$arg"); fi
done
scenario=(npm run --silent start -w @rtml/scenario-fraud-detection -- "${scenario_args[@]}")
if [ "$console" = 1 ]; then
  # shellcheck disable=SC2016 # expanded by the inner bash
  exec npx tsx --conditions=source packages/devstack/src/cli.ts exec -- bash -c '"$@" && exec npm run --silent console' bash "${scenario[@]}"
fi
exec npx tsx --conditions=source packages/devstack/src/cli.ts exec -- "${scenario[@]}"
