#!/usr/bin/env bash
# Jupyter + tslab (TypeScript kernel) for the notebooks in notebooks/.
#
#   bash scripts/notebooks.sh setup          .venv with pinned Jupyter pieces, tslab kernelspec registered into it
#                                            (JupyterLab too, unless CI=true or --minimal); idempotent, fast when done
#   bash scripts/notebooks.sh run [files]    execute notebooks headless against the real services
#                                            (KAFKA_BROKERS / REDIS_URL), write the outputs back into the .ipynb
#   bash scripts/notebooks.sh run --check    same, into a temp copy (CI); the .ipynb files stay untouched
#   bash scripts/notebooks.sh lab            open JupyterLab on notebooks/ (--dir workshop/labs: on the workshop's labs)
#
# Options for run: --timeout SECONDS (per cell, default 300, env NB_CELL_TIMEOUT), --out-dir DIR (with --check).
# Without KAFKA_BROKERS/REDIS_URL, run starts the dev stack for its own duration (devstack exec).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python
KERNEL_DIR=$ROOT/scripts/notebooks/kernel   # tslab lives here, NOT in the root node_modules (see its package.json)
TSLAB=$KERNEL_DIR/node_modules/.bin/tslab
say() { printf '[notebooks] %s\n' "$*" >&2; }

kernelspec() {
  local dir=$VENV/share/jupyter/kernels/tslab
  mkdir -p "$dir"
  # The kernel is the repo's pinned tslab (scripts/notebooks/kernel), started by absolute path.
  cat >"$dir/kernel.json" <<JSON
{
  "argv": ["$TSLAB", "kernel", "--config-path", "{connection_file}"],
  "display_name": "TypeScript (tslab)",
  "language": "typescript"
}
JSON
}

# The repository's package.json says "type": "module", which would make Node load the JavaScript files inside the
# venv (JupyterLab's bundled yarn.js) as ESM: a stack dump at every JupyterLab start. They are CommonJS.
venv_is_commonjs() {
  [ -f "$VENV/package.json" ] || echo '{ "type": "commonjs" }' > "$VENV/package.json"
}

pip_install() { # requirements file; skipped when the venv already has exactly it
  local req=$1 stamp=$VENV/.stamp-$(basename "$1")
  if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then return 0; fi
  say "pip install -r ${req#$ROOT/}"
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
}

setup() {
  local minimal=0
  [ "${CI:-}" = true ] && minimal=1
  [ "${1:-}" = --minimal ] && minimal=1
  if [ ! -x "$TSLAB" ] || [ "$KERNEL_DIR/package-lock.json" -nt "$KERNEL_DIR/node_modules/.package-lock.json" ]; then
    say "npm ci --prefix scripts/notebooks/kernel (tslab)"
    npm ci --prefix "$KERNEL_DIR" --no-audit --no-fund --loglevel=error
  fi
  # zeromq (tslab's transport) ships prebuilt binaries; make sure one loads here, install scripts or not.
  (cd "$KERNEL_DIR" && node -e 'require("zeromq")') || { say "zeromq native addon does not load (npm rebuild --prefix scripts/notebooks/kernel zeromq?)"; exit 1; }
  if [ ! -x "$PY" ]; then
    say "python3 -m venv .venv"
    python3 -m venv "$VENV"
  fi
  venv_is_commonjs
  pip_install scripts/notebooks/requirements.txt
  [ "$minimal" = 1 ] || pip_install scripts/notebooks/requirements-lab.txt
  kernelspec
  node scripts/notebooks/type-shims.mjs
  say "ready: kernel $("$PY" -m jupyter_client.kernelspecapp list 2>/dev/null | grep -o 'tslab.*' || echo tslab) ($("$TSLAB" --version))"
}

run() {
  [ -x "$PY" ] && [ -x "$TSLAB" ] && "$PY" -c 'import nbclient' 2>/dev/null || setup --minimal
  kernelspec
  node scripts/notebooks/type-shims.mjs
  say "tsc -b (notebooks load the packages' compiled dist/)"
  npx tsc -b || say "WARNING: tsc -b failed; running against whatever dist/ is there"
  if [ -z "${KAFKA_BROKERS:-}" ] || [ -z "${REDIS_URL:-}" ]; then
    say "KAFKA_BROKERS/REDIS_URL not set: starting the dev stack for this run"
    exec npx tsx --conditions=source packages/devstack/src/cli.ts exec -- "$PY" scripts/notebooks/run.py "$@"
  fi
  say "services: KAFKA_BROKERS=$KAFKA_BROKERS REDIS_URL=$REDIS_URL"
  exec "$PY" scripts/notebooks/run.py "$@"
}

lab() {
  local dir=notebooks
  if [ "${1:-}" = --dir ]; then
    dir=${2:?--dir needs a folder, e.g. workshop/labs}
    shift 2
  fi
  [ -x "$TSLAB" ] || setup --minimal
  [ -x "$VENV/bin/jupyter-lab" ] || pip_install scripts/notebooks/requirements-lab.txt
  venv_is_commonjs
  kernelspec
  node scripts/notebooks/type-shims.mjs
  npx tsc -b || say "WARNING: tsc -b failed; the notebooks get whatever dist/ is there"
  # JupyterLab refuses to start as root without this (a throwaway machine or a container, where root is the norm).
  local as_root=()
  [ "$(id -u)" = 0 ] && as_root=(--allow-root)
  exec "$VENV/bin/jupyter-lab" --notebook-dir="$ROOT/$dir" "${as_root[@]}" "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  setup) setup "$@" ;;
  run) run "$@" ;;
  lab) lab "$@" ;;
  *) echo "usage: bash scripts/notebooks.sh setup|run [--check] [--results FILE] [files...]|lab [--dir DIR]" >&2; exit 2 ;;
esac
