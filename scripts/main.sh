#!/usr/bin/env bash
# The main job: set the machine up, start Kafka + Redis, run the fraud-detection scenario end to end
# (generate -> Kafka -> stream processor -> Redis, offline store -> PIT training -> serving -> result tables).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
bash scripts/setup.sh
exec npx tsx --conditions=source packages/devstack/src/cli.ts exec -- npm run --silent start -w @rtml/scenario-fraud-detection -- "$@"
