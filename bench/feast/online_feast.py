"""Feast reference for the online lookup: get_online_features with Feast's Redis online store.

bench/online-lookup.ts writes the vectors it stored in our online store to a JSON-lines file
({"entityId", "eventTime", "values": {f0: ...}}); this script writes the same values through Feast's own online
write path (FeatureStore.write_to_online_store, Feast's Redis key and protobuf layout) into the same Redis server,
under a project of its own, then times reads:

  single: get_online_features(1 entity, every feature).to_dict(), interleaved with a raw redis-py HGETALL of the
          same Feast key (Feast's floor in its own client);
  many:   get_online_features(B entities).to_dict(), interleaved with one redis-py pipeline of B HGETALLs.

Prints one line  FEAST_ONLINE {"feast": version, "single": [µs...], "raw_single": [...], "many": [...],
"raw_many": [...], "write_seconds": s, "sample": {entityId: {feature: value}}}  and deletes its keys (teardown).
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone

import pandas as pd

SET = "user_txn"
JOIN_KEY = "user_id"


def feature_type(values):
    """The Feast type of one feature, from the values the TypeScript bench generated (strings, float lists, numbers, nulls)."""
    from feast.types import Array, Float64, String

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, str) for v in present):
        return String
    if present and all(isinstance(v, list) for v in present):
        return Array(Float64)
    return Float64


def load(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    names = list(rows[0]["values"].keys())
    frame = pd.DataFrame(
        {
            JOIN_KEY: [r["entityId"] for r in rows],
            "event_timestamp": [datetime.fromtimestamp(r["eventTime"] / 1000, tz=timezone.utc) for r in rows],
            **{n: [as_feast_value(r["values"].get(n)) for r in rows] for n in names},
        }
    )
    return rows, names, frame


def as_feast_value(value):
    # A float feature column must not mix ints in: Feast infers proto types per value.
    if isinstance(value, list):
        return [float(x) for x in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def timed_us(fn):
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


def interleaved(rounds, contenders):
    """Each contender once per round, alternating who goes first, as bench/online-lookup.ts does."""
    names = list(contenders)
    samples = {n: [] for n in names}
    for i in range(rounds):
        for name in names if i % 2 == 0 else list(reversed(names)):
            samples[name].append(timed_us(contenders[name]))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", required=True, help="Feast connection string: host:port[,db=N][,password=...]")
    parser.add_argument("--data", required=True, help="JSON lines written by bench/online-lookup.ts")
    parser.add_argument("--lookups", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--batches", type=int, required=True)
    parser.add_argument("--sample", default="", help="comma-separated entity ids whose values to print")
    args = parser.parse_args()

    import feast
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.infra.online_stores.helpers import _redis_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    rows, names, frame = load(args.data)
    repo = tempfile.mkdtemp(prefix="rtml-feast-online-")
    project = f"rtml_online_{os.getpid()}"
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(
            f"project: {project}\n"
            f"registry: {os.path.join(repo, 'registry.db')}\n"
            "provider: local\n"
            f"online_store:\n  type: redis\n  connection_string: \"{args.redis}\"\n"
            "entity_key_serialization_version: 3\n"
        )
    # The batch source is never read (values go in through write_to_online_store), but a FeatureView needs one.
    source_path = os.path.join(repo, "source.parquet")
    frame.to_parquet(source_path)
    store = FeatureStore(repo_path=repo)
    entity = Entity(name="user", join_keys=[JOIN_KEY], value_type=ValueType.STRING)
    view = FeatureView(
        name=SET,
        entities=[entity],
        schema=[Field(name=n, dtype=feature_type(frame[n].tolist())) for n in names],
        source=FileSource(name="online_bench", path=source_path, timestamp_field="event_timestamp"),
        online=True,
    )
    store.apply([entity, view])
    try:
        t0 = time.perf_counter()
        store.write_to_online_store(SET, frame)
        write_seconds = time.perf_counter() - t0

        refs = [f"{SET}:{n}" for n in names]
        ids = [r["entityId"] for r in rows]
        client = store._get_provider().online_store._get_client(store.config.online_store)

        def key(entity_id):
            entity_key = EntityKey(join_keys=[JOIN_KEY], entity_values=[Value(string_val=entity_id)])
            return _redis_key(project, entity_key, 3)

        def feast_read(batch):
            return store.get_online_features(features=refs, entity_rows=[{JOIN_KEY: i} for i in batch]).to_dict()

        def raw_pipeline(batch):
            with client.pipeline(transaction=False) as pipe:
                for i in batch:
                    pipe.hgetall(key(i))
                return pipe.execute()

        def pick():
            return random.choice(ids)

        def picks():
            return [pick() for _ in range(args.batch)]

        interleaved(200, {"warm": lambda: feast_read([pick()]), "raw": lambda: client.hgetall(key(pick()))})
        single = interleaved(args.lookups, {"feast": lambda: feast_read([pick()]), "raw": lambda: client.hgetall(key(pick()))})
        many = interleaved(args.batches, {"feast": lambda: feast_read(picks()), "raw": lambda: raw_pipeline(picks())})

        wanted = [s for s in args.sample.split(",") if s]
        found = feast_read(wanted) if wanted else {}
        sample = {i: {n: found[n][k] for n in names} for k, i in enumerate(wanted)}
        print(
            "FEAST_ONLINE "
            + json.dumps(
                {
                    "feast": feast.__version__,
                    "single": single["feast"],
                    "raw_single": single["raw"],
                    "many": many["feast"],
                    "raw_many": many["raw"],
                    "write_seconds": write_seconds,
                    "sample": sample,
                }
            ),
            flush=True,
        )
    finally:
        store.teardown()
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
