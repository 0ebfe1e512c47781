"""Materializing a big platform view on each compute engine, ours against Feast's own.

    python bench/engines.py               # 1,000,000 rows, two paired runs per engine
    python bench/engines.py --rows 50000 --repeats 1

For each engine (local: the file offline store; spark: Spark's offline store and engine; ray:
Ray's), one platform repo with one view over ROWS rows (10,000 keys, 30 days), synced once.
Each run starts from a copy of the synced registry and an empty online store and loads the
whole view, in a fresh process, as a scheduled job does: `feast-federation materialize .`
against `feast materialize-incremental NOW` with the same feature_store.yaml and environment.
Both include process start, `import feast` and the engine's start (a Spark session, a Ray
runtime). After one pair not counted, runs alternate (ours first, then Feast's first, ...);
the figures are medians.
Writes engines.json and engines.md into --output (bench/results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TARGET = 1.05
ENGINES = {"local": "file", "spark": "spark", "ray": "ray"}  # engine -> offline store
KEYS = 10_000

DEFINITIONS = """from datetime import timedelta

from feast import Entity, FeatureView, Field
from feast.types import Float64, Int64
from feast.value_type import ValueType
{source_import}

entity_key = Entity(name="entity_key", join_keys=["entity_key"], value_type=ValueType.INT64)
big_source = {source}
big_view = FeatureView(
    name="big_view",
    entities=[entity_key],
    ttl=timedelta(days=40),
    schema=[Field(name="entity_key", dtype=Int64), Field(name="f1", dtype=Float64),
            Field(name="f2", dtype=Float64), Field(name="f3", dtype=Float64)],
    source=big_source,
)
"""
FILE_SOURCE = (
    "from feast import FileSource",
    'FileSource(name="big_source", path="{path}", timestamp_field="event_timestamp")',
)
SPARK_SOURCE = (
    "from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource",
    'SparkSource(name="big_source", path="{path}", file_format="parquet",\n'
    '    timestamp_field="event_timestamp")',
)


def write_rows(path: Path, rows: int) -> int:
    """ROWS rows over KEYS keys and the last 30 days; microsecond times (Spark reads no
    nanosecond parquet)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    end = pd.Timestamp(datetime.now(timezone.utc)).floor("h") - pd.Timedelta(hours=1)
    seconds = rng.integers(0, 30 * 86400, rows)
    frame = pd.DataFrame({
        "entity_key": rng.integers(0, KEYS, rows, dtype=np.int64),
        "event_timestamp": end - pd.to_timedelta(seconds, unit="s"),
        "f1": rng.random(rows), "f2": rng.random(rows), "f3": rng.random(rows),
    })  # fmt: skip
    frame.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    return int(frame["entity_key"].nunique())


def platform_repo(root: Path, engine: str, rows_path: Path, env: dict) -> Path:
    """A platform repo on ``engine`` whose only view is the big one, synced."""
    from feast_federation.onboarding import bake_platform
    from feast_federation.rules.choices import Backends

    backends = Backends(offline_store=ENGINES[engine], compute_engine=engine)
    repo = bake_platform(root / engine, project="bench", owners=["p@x.io"], backends=backends,
                         ci="none")  # fmt: skip
    for name in ("data_sources.py", "entities.py", "feature_views.py"):
        (repo / name).unlink()
    shutil.rmtree(repo / "tests")
    source_import, source = SPARK_SOURCE if engine == "spark" else FILE_SOURCE
    (repo / "big.py").write_text(
        DEFINITIONS.format(source_import=source_import, source=source.format(path=rows_path))
    )
    (repo / "data").mkdir(exist_ok=True)
    sync = run([sys.executable, "-m", "feast_federation.cli", "apply", str(repo), "--yes"], env)
    if sync[0] != 0:
        raise SystemExit(f"platform sync on {engine} failed:\n{sync[1][-3000:]}")
    shutil.copytree(repo / "data", root / f"{engine}-synced")
    return repo


def run(args: list[str], env: dict, cwd: Path | None = None) -> tuple[int, str, float]:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    return result.returncode, result.stderr + result.stdout, time.perf_counter() - started


def timed_materialize(repo: Path, synced: Path, command: list[str], env: dict, keys: int) -> float:
    """One full load from the synced registry and an empty online store; checks it loaded."""
    shutil.rmtree(repo / "data")
    shutil.copytree(synced, repo / "data")
    code, output, seconds = run(command, env, cwd=repo)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-3000:]}")
    with sqlite3.connect(repo / "data" / "online_store.db") as db:
        loaded = db.execute("SELECT COUNT(DISTINCT entity_key) FROM bench_big_view").fetchone()[0]
    if loaded != keys:
        raise SystemExit(f"{' '.join(command)} loaded {loaded} keys of {keys}")
    return seconds


def ours_command() -> list[str]:
    return [sys.executable, "-m", "feast_federation.cli", "materialize", "."]


def stock_command() -> list[str]:
    """Feast's own: incremental up to now, as `feast-federation materialize` does."""
    now = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    return [str(Path(sys.executable).parent / "feast"), "materialize-incremental", now]


def environment(scratch: Path) -> dict:
    """The same for ours and Feast's: each engine on this machine (what feast-federation
    makes of unset variables, given explicitly, since Feast leaves ${VAR} unexpanded)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FEAST_SPARK", "FEAST_RAY", "PYSPARK", "RAY_"))}  # fmt: skip
    local = scratch / "cache" / "feast-federation" / "bench"
    env.update({
        "XDG_CACHE_HOME": str(scratch / "cache"), "PYTHONWARNINGS": "ignore",
        "FEAST_SPARK_MASTER": "local[*]", "FEAST_SPARK_STAGING": str(local / "spark-staging"),
        "FEAST_RAY_ADDRESS": "", "FEAST_RAY_STORAGE": str(local / "ray-storage"),
        # Spark's Python workers need Feast: this interpreter's bin first, as in its venv.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })  # fmt: skip
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        scratch = Path(tmp)
        env = environment(scratch)
        rows_path = scratch / "big.parquet"
        keys = write_rows(rows_path, args.rows)
        for engine in args.engines.split(","):
            repo = platform_repo(scratch, engine, rows_path, env)
            synced = scratch / f"{engine}-synced"
            # One pair first, not counted: the first run of each creates what the others
            # reuse (Spark's metastore, the page cache of the parquet file).
            for command in (ours_command, stock_command):
                timed_materialize(repo, synced, command(), env, keys)
            ours, stock = [], []
            for repeat in range(args.repeats):  # ours first, then stock first, ...
                runs = [(ours, ours_command), (stock, stock_command)]
                for samples, command in runs if repeat % 2 == 0 else runs[::-1]:
                    samples.append(timed_materialize(repo, synced, command(), env, keys))
            results[engine] = {
                "ours_s": round(statistics.median(ours), 2),
                "stock_s": round(statistics.median(stock), 2),
                "ours_runs_s": [round(s, 2) for s in ours],
                "stock_runs_s": [round(s, 2) for s in stock],
            }
            results[engine]["ratio"] = round(
                results[engine]["ours_s"] / results[engine]["stock_s"], 3
            )
            print(engine, results[engine], flush=True)
    local = results.get("local", {}).get("ours_s")
    for figures in results.values():
        figures["vs_local"] = round(figures["ours_s"] / local, 2) if local else None
    record = {
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Feast {_feast_version()}, {datetime.now(timezone.utc):%Y-%m-%d}",
        "rows": args.rows, "keys": KEYS, "repeats": args.repeats, "target": TARGET,
        "engines": results,
    }  # fmt: skip
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "engines.json").write_text(json.dumps(record, indent=1) + "\n")
    (args.output / "engines.md").write_text(markdown(record))
    print(markdown(record))


def markdown(record: dict) -> str:
    lines = [
        f"Machine: {record['machine']}; {record['rows']:,} rows, {record['keys']:,} keys, "
        f"median of {record['repeats']} paired runs after one not counted",
        "",
        "| engine | feast-federation materialize | feast materialize-incremental "
        "| ratio vs target | engine ÷ local |",
        "| --- | --- | --- | --- | --- |",
    ]
    for engine, f in record["engines"].items():
        verdict = "meets" if f["ratio"] <= record["target"] else "MISSES"
        lines.append(
            f"| {engine} ({ENGINES[engine]} offline store) | {f['ours_s']:.1f} s "
            f"| {f['stock_s']:.1f} s | {f['ratio']:.2f}x {verdict} <= {record['target']}x "
            f"| {f['vs_local']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def _feast_version() -> str:
    from importlib.metadata import version

    return version("feast")


if __name__ == "__main__":
    main()
