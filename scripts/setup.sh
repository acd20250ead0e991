#!/usr/bin/env bash
# Installs everything a fresh machine needs, idempotently: system packages (apt), npm packages,
# the Kafka broker's jars (Maven Central), the TypeScript build, and with --notebooks the notebook kernel (PyPI + tslab).
# Second runs skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n[setup] %s\n' "$*" >&2; }

apt_packages=()
command -v redis-server >/dev/null || apt_packages+=(redis-server)
command -v redis-benchmark >/dev/null || apt_packages+=(redis-tools)
# javac too: bench/kafka-streams (the Kafka Streams peer of the stream bench) is compiled on first use.
command -v javac >/dev/null || apt_packages+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || apt_packages+=(maven)
command -v openssl >/dev/null || apt_packages+=(openssl) # the secure dev stack makes its throwaway CA with it
command -v python3 >/dev/null || apt_packages+=(python3 python3-venv)
# The pipeline console's browser tests drive Debian's Chromium (puppeteer-core): no browser is downloaded.
command -v chromium >/dev/null || apt_packages+=(chromium)
if ((${#apt_packages[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "[setup] missing system packages: ${apt_packages[*]} (run as root, or install them with apt-get)" >&2
    exit 1
  fi
  step "apt-get install ${apt_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

# Node.js >= 22; an older system Node gets the pinned Node 24 LTS (see node-env.sh), which npm ci below runs on too.
source scripts/node-env.sh

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "Kafka broker jars (Maven Central, cached after the first run)"
npx tsx --conditions=source packages/devstack/src/cli.ts prefetch

step "TypeScript build (tsc -b)"
npx tsc -b

if [ "${1:-}" = "--notebooks" ] && [ -f scripts/notebooks.sh ]; then
  step "Jupyter + tslab kernel (.venv)"
  bash scripts/notebooks.sh setup
fi
step "done"
