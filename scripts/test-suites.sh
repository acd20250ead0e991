#!/usr/bin/env bash
# Runs inside `devstack exec`: KAFKA_BROKERS and REDIS_URL point at the running stack.
# Ends with one summary line, "Tests: N passed, N failed", over every suite.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

results=.cache/vitest-results.json
rm -f "$results"
echo "[test] vitest against KAFKA_BROKERS=$KAFKA_BROKERS REDIS_URL=$REDIS_URL" >&2
npx vitest run --reporter=default --reporter=json --outputFile="$results"
vitest_status=$?

notebook_status=0
notebook_results=.cache/notebook-results.json
rm -f "$notebook_results"
if [ -f scripts/notebooks.sh ]; then
  # The notebooks, every workshop solution (checkpoints pass) and every untouched lab (checkpoints fail): each
  # notebook counts as one test in the summary below.
  echo "[test] notebooks and workshop labs (executed headless with the tslab kernel)" >&2
  bash scripts/notebooks.sh run --check --results "$notebook_results"
  notebook_status=$?
fi

node -e '
  const fs = require("fs");
  const r = fs.existsSync(process.argv[1]) ? JSON.parse(fs.readFileSync(process.argv[1], "utf8")) : { numPassedTests: 0, numFailedTests: 1 };
  // A notebook run that died before writing its results still counts as one failure.
  const nbFailed = Number(process.argv[2]) === 0 || fs.existsSync(process.argv[3]) ? 0 : 1;
  // The notebooks and the docker and cluster phases of scripts/test.sh (which ran before this) name their results
  // files; they count too.
  let passed = r.numPassedTests, failed = r.numFailedTests + nbFailed;
  for (const file of process.argv.slice(3)) {
    if (!fs.existsSync(file)) continue;
    const extra = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += extra.numPassedTests;
    failed += extra.numFailedTests;
  }
  console.log(`Tests: ${passed} passed, ${failed} failed`);
' "$results" "$notebook_status" "$notebook_results" ${RTML_EXTRA_RESULTS:-}

[ "$vitest_status" -eq 0 ] && [ "$notebook_status" -eq 0 ]
