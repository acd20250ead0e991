#!/usr/bin/env bash
# Makes the two images the devstack's docker mode runs available to the Docker engine (DOCKER_HOST or the default):
#   Redis: RTML_REDIS_IMAGE (default redis:7), Kafka: RTML_KAFKA_IMAGE (default apache/kafka:<KAFKA_VERSION>).
# An image that is present, or can be pulled, is used as it is. Otherwise (no registry in reach) a stand-in is
# built from what this machine already has, with `docker import` of a minimal root file system:
#   rtml-standin/redis:7            Debian's redis-server and the shared libraries it links
#   rtml-standin/kafka:<version>    the machine's JRE + the broker jars the devstack caches from Maven Central,
#                                   configured like apache/kafka (KAFKA_* variables, CLUSTER_ID; see docker/kafka/run)
# Stand-ins are rebuilt only when their inputs change (a hash label). Prints the image names as shell exports:
#   eval "$(bash scripts/docker-images.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/script-cli.sh
script_cli docker-images "$@"

command -v docker >/dev/null || fail "no docker CLI on PATH (install docker.io, or use the native stack: RTML_DEVSTACK_MODE=native)"
docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 || fail "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default}); start dockerd first"

kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' packages/devstack/kafka/pom.xml)
redis_image=${RTML_REDIS_IMAGE:-redis:7}
kafka_image=${RTML_KAFKA_IMAGE:-apache/kafka:$kafka_version}
resources=packages/devstack/docker

# True when the image is in the engine already or a pull succeeds (bounded: an unreachable registry may hang).
available() {
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  say "pulling $1"
  timeout 300 docker pull -q "$1" >/dev/null 2>&1
}

# Copies files into the root file system at the same paths, with every shared library they load (ldd).
copy_with_libraries() {
  local root=$1
  shift
  local file
  for file in "$@"; do
    cp -L --parents "$file" "$root"
    ldd "$file" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
      [ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
    done
  done
}

# Imports a root file system as an image unless an image with the same input hash exists under that name.
import_image() {
  local root=$1 name=$2 hash=$3
  shift 3
  if [ "$(docker image inspect -f '{{index .Config.Labels "rtml.inputs"}}' "$name" 2>/dev/null)" = "$hash" ]; then
    say "$name is up to date"
    return
  fi
  local changes=(--change "LABEL rtml.inputs=$hash")
  local change
  for change in "$@"; do changes+=(--change "$change"); done
  say "importing $name ($(du -sh "$root" | cut -f1))"
  tar -C "$root" -c . | docker import "${changes[@]}" - "$name" >/dev/null
}

# Minimal files every image needs: a passwd entry for root, host lookups through /etc/hosts first, a /tmp.
base_root() {
  mkdir -p "$1/etc" "$1/tmp" "$1/bin"
  chmod 1777 "$1/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
  echo 'root:x:0:' >"$1/etc/group"
  echo 'hosts: files dns' >"$1/etc/nsswitch.conf"
}

build_redis() {
  local name=rtml-standin/redis:7 root server
  command -v redis-server >/dev/null || fail "redis-server is not installed (apt-get install redis-server); it is what the Redis stand-in holds"
  server=$(command -v redis-server)
  local hash
  hash=$(cat "$0" "$server" | sha256sum | cut -c1-16)
  root=$(mktemp -d)
  base_root "$root"
  copy_with_libraries "$root" "$server"
  mkdir -p "$root/usr/local/bin" "$root/data"
  ln -s "$server" "$root/usr/local/bin/redis-server"
  # Protected mode off, as in the official image (its build patches the default): clients come through the port mapping.
  import_image "$root" "$name" "$hash" 'WORKDIR /data' 'EXPOSE 6379' 'CMD ["redis-server", "--protected-mode", "no"]'
  rm -rf "$root"
  redis_image=$name
}

build_kafka() {
  local name=rtml-standin/kafka:$kafka_version root java java_home libs
  command -v java >/dev/null || fail "java is not installed; the Kafka stand-in holds the machine's JRE (17+)"
  libs=${RTML_CACHE_DIR:-$HOME/.cache/rtml}/kafka-$kafka_version/libs
  if [ ! -f "$libs/.complete" ]; then
    say "resolving the broker jars first"
    npx tsx --conditions=source packages/devstack/src/cli.ts prefetch
  fi
  java=$(readlink -f "$(command -v java)")
  java_home=$(dirname "$(dirname "$java")")
  local hash
  hash=$( (cat "$0" "$resources"/kafka/* "$java_home/release"; ls "$libs") | sha256sum | cut -c1-16)
  root=$(mktemp -d)
  base_root "$root"
  copy_with_libraries "$root" /bin/bash "$(command -v sleep)"
  ln -s bash "$root/bin/sh"
  # The JRE with its symlinks (Debian points conf/ and cacerts into /etc) resolved; no JDK-only parts.
  mkdir -p "$root$java_home"
  tar -C "$java_home" -ch --exclude=./jmods --exclude=./include --exclude=./man --exclude=./docs --exclude=./lib/src.zip \
    --exclude=./lib/ct.sym --exclude=./lib/libatk-wrapper.so . 2>/dev/null | tar -C "$root$java_home" -x
  copy_with_libraries "$root" "$java_home/bin/java" $(find "$java_home/lib" -name '*.so')
  ln -s "$java_home/bin/java" "$root/bin/java"
  mkdir -p "$root/opt/kafka/libs" "$root/opt/kafka/config" "$root/opt/kafka/logs" "$root/etc/kafka/docker" \
    "$root/var/lib/kafka/data" "$root/mnt/shared/config" "$root/etc/kafka/secrets"
  cp "$libs"/*.jar "$root/opt/kafka/libs/"
  cp "$resources"/kafka/* "$root/etc/kafka/docker/"
  import_image "$root" "$name" "$hash" 'EXPOSE 9092' "ENV JAVA_HOME=$java_home" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'CMD ["/etc/kafka/docker/run"]'
  rm -rf "$root"
  kafka_image=$name
}

if available "$redis_image"; then say "using $redis_image"; else say "$redis_image cannot be pulled: using a local stand-in"; build_redis; fi
if available "$kafka_image"; then say "using $kafka_image"; else say "$kafka_image cannot be pulled: using a local stand-in"; build_kafka; fi

printf 'export RTML_REDIS_IMAGE=%s\nexport RTML_KAFKA_IMAGE=%s\n' "$redis_image" "$kafka_image"
