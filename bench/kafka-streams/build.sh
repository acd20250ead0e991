#!/usr/bin/env bash
# Builds the Kafka Streams peer (bench/kafka-streams) once and prints its Java classpath on stdout (last line).
# Jars: `mvn dependency:copy-dependencies` of pom.xml from Maven Central (the same local Maven cache as the dev
# stack's broker), copied into the rtml cache (RTML_CACHE_DIR, default ~/.cache/rtml). Classes: javac of src/.
# Both are keyed by a hash of their inputs, so a bench run rebuilds only after pom.xml or a .java file changed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${RTML_CACHE_DIR:-$HOME/.cache/rtml}/kafka-streams-peer"
for tool in java javac mvn; do
  command -v "$tool" >/dev/null || { echo "kafka-streams peer: '$tool' is not on PATH (install a JDK 17+ and Maven, as scripts/setup.sh does)" >&2; exit 1; }
done
libs="$cache/libs-$(sha256sum "$here/pom.xml" | cut -c1-16)"
if [[ ! -f "$libs/.complete" ]]; then
  mkdir -p "$libs"
  echo "kafka-streams peer: resolving jars from Maven Central into $libs (first run only)" >&2
  mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime >&2
  touch "$libs/.complete" # last, so an interrupted download is retried rather than half-used
fi
sources=("$here"/src/rtml/bench/*.java)
classes="$cache/classes-$(cat "$here/pom.xml" "${sources[@]}" | sha256sum | cut -c1-16)"
if [[ ! -f "$classes/.complete" ]]; then
  rm -rf "$classes" && mkdir -p "$classes"
  echo "kafka-streams peer: compiling ${#sources[@]} sources into $classes" >&2
  javac -nowarn --release 17 -cp "$libs/*" -d "$classes" "${sources[@]}" >&2
  touch "$classes/.complete"
fi
echo "$classes:$libs/*"
