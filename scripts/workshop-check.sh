#!/usr/bin/env bash
# npm run workshop:check — gets this machine ready for the workshop (workshop/README.md) and proves it works:
#   1. checks Node (>= 22; an older one gets the pinned Node 24, as every script here), Java 17+, Maven, Redis,
#      Python 3, the npm packages, the notebooks' Python venv and tslab kernel, and JupyterLab;
#   2. builds the packages (tsc -b) and starts the dev stack (npm run infra:up; kept running, idempotent);
#   3. a ~10 s smoke test: 200 events -> Kafka -> the rtml-stream processor -> Redis, every one counted;
#   4. prints the command that opens the labs in JupyterLab.
# Something missing ends it with one line saying what to install. Stop the stack afterwards: npm run infra:down.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/script-cli.sh
script_cli workshop-check "$@"
source scripts/node-env.sh || fail "Node.js >= 22 is missing and could not be fetched: install Node 22+ (nodejs.org)"

# What scripts/setup.sh installs is what is missing here; run as root on Debian/Ubuntu it installs all of these.
SETUP="your package manager (Debian/Ubuntu, as root: npm run setup -- --notebooks)"
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found: install $2 with $SETUP"; }
need java "a Java 17+ runtime (Debian/Ubuntu: openjdk-17-jdk-headless; macOS: brew install openjdk@17)"
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
[ "${java_major:-0}" -ge 17 ] || fail "Java ${java_major:-?} found, Kafka needs 17+: install openjdk-17 with $SETUP"
need mvn "Maven (fetches the Kafka broker jars once; Debian/Ubuntu: maven)"
need redis-server "Redis 7+ (Debian/Ubuntu: redis-server; macOS: brew install redis)"
need python3 "Python 3.10+ with venv (Debian/Ubuntu: python3 python3-venv)"
[ -f node_modules/.package-lock.json ] || fail "npm packages not installed: run npm run setup -- --notebooks"
{ [ -x .venv/bin/python ] && .venv/bin/python -c 'import nbclient' 2>/dev/null; } ||
  fail "the notebooks' Python venv is missing: run bash scripts/notebooks.sh setup"
TSLAB=scripts/notebooks/kernel/node_modules/.bin/tslab
[ -x "$TSLAB" ] || fail "the tslab kernel is missing: run bash scripts/notebooks.sh setup"
[ -x .venv/bin/jupyter-lab ] || fail "JupyterLab is missing: run bash scripts/notebooks.sh setup (not with CI=true)"
redis_version=$(redis-server --version | grep -o 'v=[0-9.]*')
say "machine: Node $(node --version), Java $java_major, Redis ${redis_version#v=}," \
  "$(.venv/bin/python --version), $("$TSLAB" --version)"

say "build (tsc -b)"
npx tsc -b || fail "the build failed (output above): run npm run setup, then this again"
node scripts/notebooks/type-shims.mjs

say "dev stack (npm run infra:up: Kafka + Redis on free loopback ports)"
npm run --silent infra:up >/dev/null || fail "the dev stack did not start (output above; its logs are under .devstack/)"
eval "$(npm run --silent infra:status)"

say "smoke: Kafka -> rtml-stream -> Redis"
npx tsx --conditions=source workshop/tools/smoke.ts ||
  fail "the smoke test failed (above): see workshop/INSTRUCTOR.md, Common failures"

cat <<NEXT

Ready. Open the labs in JupyterLab (it prints its URL, http://localhost:8888/lab?token=..., open that):

  eval "\$(npm run --silent infra:status)" && bash scripts/notebooks.sh lab --dir workshop/labs

Start with 01-look-ahead-bias.ipynb, kernel "TypeScript (tslab)". When you are done: npm run infra:down
NEXT
