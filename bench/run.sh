#!/usr/bin/env bash
# bench/run.sh [--full] [--only NAME]... : runs every bench script ONE AFTER ANOTHER (never concurrently, so they
# do not disturb each other), small CI size by default or README size with --full, then prints one combined
# table (row, ours, reference, ratio, target, met?) from the `BENCH {...}` lines the scripts print
# (format: bench/lib/report.ts). Logs and the table go to bench/.results/<timestamp>-<size>/.
#
# Needs the dev stack for the Kafka/Redis benches: KAFKA_BROKERS and REDIS_URL (see packages/devstack).
# Exit status: non-zero if a script that exists failed; missing targets do not fail the run (no speed asserts).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/node-env.sh   # a supported Node (>= 22) first on PATH

size=small
pass=()
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) size=full; pass+=(--full) ;;
    --only) only+=("$2"); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

scripts=(
  bench/pit-join.ts
  bench/feast/pit-vs-feast.ts
  bench/online-lookup.ts
  bench/cluster-lookup.ts
  bench/stream-throughput.ts
  bench/memory-state.ts
)
out="bench/.results/$(date -u +%Y%m%dT%H%M%SZ)-$size"
mkdir -p "$out"
: > "$out/status.tsv"
per_script_timeout="${BENCH_TIMEOUT:-3600}"
failed=0

echo "# bench/run.sh ($size) -> $out; KAFKA_BROKERS=${KAFKA_BROKERS:-unset} REDIS_URL=${REDIS_URL:-unset}; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for script in "${scripts[@]}"; do
  if [[ ${#only[@]} -gt 0 ]]; then
    keep=0
    for name in "${only[@]}"; do [[ "$script" == *"$name"* ]] && keep=1; done
    [[ $keep == 1 ]] || continue
  fi
  log="$out/$(echo "${script#bench/}" | sed -e 's/\.ts$//' -e 's#/#__#g').log"
  if [[ ! -f "$script" ]]; then
    printf '%s\tmissing\t0\n' "$script" >> "$out/status.tsv"
    echo "## $script: missing, skipped"
    continue
  fi
  echo "## $script ${pass[*]:-} (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$SECONDS
  BENCH_FULL=$([[ $size == full ]] && echo 1 || echo 0) timeout "$per_script_timeout" npx tsx --conditions=source "$script" "${pass[@]}" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  printf '%s\t%s\t%s\n' "$script" "$code" "$((SECONDS - start))" >> "$out/status.tsv"
  [[ $code == 0 ]] || failed=1
done

echo
echo "## Combined ($size) — $out/table.md"
npx tsx bench/lib/collect.ts "$out"
exit $failed
