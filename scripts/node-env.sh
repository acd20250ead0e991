# Sourced by every project script (setup, test, main, notebooks, test-suites, bench/run.sh): makes sure the
# Node.js first on PATH is a supported one (>= 22). Machines that still ship an older Node get a pinned Node 24
# LTS from the npm registry (package node-linux-<arch>, the official binary under bin/), unpacked once into
# ~/.cache/rtml/node-<version> (~6 s, 50 MB download). npm and npx then run on it too.
# To remove once machines have a current Node: delete this file and the lines that source it.
RTML_NODE_VERSION=24.22.3
RTML_NODE_DIR=${RTML_CACHE_DIR:-$HOME/.cache/rtml}/node-$RTML_NODE_VERSION

rtml_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

rtml_install_node() {
  local arch tmp
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "[node] Node.js >= 22 is required (found $(node --version 2>/dev/null || echo none)); no prebuilt Node for $(uname -m): install Node 22+ yourself" >&2; return 1 ;;
  esac
  tmp=$(mktemp -d)
  echo "[node] system Node is $(node --version 2>/dev/null || echo missing); fetching Node $RTML_NODE_VERSION (npm package node-linux-$arch) into $RTML_NODE_DIR" >&2
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$RTML_NODE_VERSION" >/dev/null) &&
    mkdir -p "$tmp/unpacked" && tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp/unpacked" &&
    "$tmp/unpacked/package/bin/node" --version >/dev/null &&
    mkdir -p "$(dirname "$RTML_NODE_DIR")" && rm -rf "$RTML_NODE_DIR" && mv "$tmp/unpacked/package" "$RTML_NODE_DIR"
  local status=$?
  rm -rf "$tmp"
  return $status
}

if [ "$(rtml_node_major)" -lt 22 ]; then
  if [ ! -x "$RTML_NODE_DIR/bin/node" ]; then rtml_install_node || return 1 2>/dev/null || exit 1; fi
  export PATH="$RTML_NODE_DIR/bin:$PATH"
fi
if [ -z "${RTML_NODE_ANNOUNCED:-}" ]; then
  echo "[node] using Node $(node --version) ($(command -v node))" >&2
  export RTML_NODE_ANNOUNCED=1
fi
