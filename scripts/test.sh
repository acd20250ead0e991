#!/usr/bin/env bash
# The test command: sets the machine up, starts real Kafka + Redis once (devstack decides how: env vars,
# testcontainers, or native processes), then runs the type check, every Vitest suite and the notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

bash scripts/setup.sh --notebooks

echo "[test] type check" >&2
npm run --silent typecheck

mkdir -p .cache
exec npx tsx packages/devstack/src/cli.ts exec -- bash scripts/test-suites.sh
