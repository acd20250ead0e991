#!/usr/bin/env bash
# bench/run.sh [--full] [--only NAME]... : runs every bench script ONE AFTER ANOTHER (never concurrently, so they
# do not disturb each other), small CI size by default or README size with --full, then prints one combined
# table (row, ours, reference, ratio, target, met?) from the `BENCH {...}` lines the scripts print
# (format: bench/lib/report.ts). Logs and the table go to bench/.results/<timestamp>-<size>/.
#
# Needs the dev stack for the Kafka/Redis benches: KAFKA_BROKERS and REDIS_URL (see packages/devstack).
# Exit status: non-zero if a script that exists failed; missing targets do not fail the run (no speed asserts);
# 2 for a bad option (`--help` lists them).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/node-env.sh   # a supported Node (>= 22) first on PATH

scripts=(
  bench/pit-join.ts
  bench/feast/pit-vs-feast.ts
  bench/online-lookup.ts
  bench/cluster-lookup.ts
  bench/cluster-throughput.ts
  bench/stream-throughput.ts
  bench/memory-state.ts
)

usage() {
  cat <<EOF
Usage: bash bench/run.sh [--full] [--only NAME]...

Runs the bench scripts one after another and prints one combined table (results in bench/.results/).
  --full       README size (default: the small CI size)
  --only NAME  run only the scripts whose path contains NAME (repeatable); scripts:
$(printf '                 %s\n' "${scripts[@]}")
  -h, --help   this help

Environment: KAFKA_BROKERS, REDIS_URL (the dev stack: npm run infra:up; eval "\$(npm run --silent infra:status)"),
             BENCH_TIMEOUT (seconds per script, default 3600). Exit status: non-zero if a script failed.
EOF
}

# A user error: what is wrong, how to get help, exit 2.
fail() {
  echo "bench/run.sh: $1" >&2
  echo "run 'bash bench/run.sh --help' for usage" >&2
  exit 2
}

size=small
pass=()
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --full) size=full; pass+=(--full) ;;
    --only)
      [[ $# -ge 2 && -n "$2" && "$2" != -* ]] || fail "--only needs a script name (a substring of one of: ${scripts[*]})"
      only+=("$2"); shift ;;
    --only=*) only+=("${1#--only=}") ;;
    *) fail "unknown option '$1'" ;;
  esac
  shift
done
for name in "${only[@]}"; do
  [[ -n "$name" ]] || fail "--only needs a script name"
  matched=0
  for script in "${scripts[@]}"; do [[ "$script" == *"$name"* ]] && matched=1; done
  [[ $matched == 1 ]] || fail "--only '$name' matches no script (one of: ${scripts[*]})"
done
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
