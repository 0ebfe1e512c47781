"""A write longer than the registry's cache: a team apply of 3,000 objects to a local file
registry with `cache_ttl_seconds: 1`, ours (`python apply.py`) against stock
`FeatureStore.apply(objects, partial=True)` of the same objects, each in a fresh org and a
fresh process. Prints the time of each, their ratio, and how many objects each kept.

    python bench/long_write.py [--count 1000] [--output bench/long_write.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.bulk import short_cache, write_bulk_module  # noqa: E402

STOCK = """
import sys
from feast import FeatureStore
sys.path.insert(0, sys.argv[1])
import bulk
from feast_federation.registry.kinds import is_feast_object
objects = list({id(v): v for v in vars(bulk).values() if is_feast_object(v)}.values())
FeatureStore(repo_path=sys.argv[1]).apply(objects, partial=True)
"""
KEPT = """
import sys
from feast import FeatureStore
registry = FeatureStore(repo_path=sys.argv[1]).registry
store = registry._registry_store.get_registry_proto()
print(sum(1 for c in ("feature_services", "on_demand_feature_views", "data_sources")
          for item in getattr(store, c)
          if "_bulk" in (item.spec.name if hasattr(item, "spec") else item.name)))
"""


def org(root: Path, count: int) -> Path:
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    platform, (team,) = bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=[("marketing", "customer_features")],
        backends=Backends("file", "sqlite", "file"), ci="none",
    )  # fmt: skip
    subprocess.run([sys.executable, "apply.py", "--yes"], cwd=platform, check=True,
                   capture_output=True)  # fmt: skip
    for repo in (platform, team):
        short_cache(repo)
    write_bulk_module(team, "marketing", count)
    return team


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{args}: exit {result.returncode}\n{result.stderr[-2000:]}")
    return elapsed


def kept(team: Path) -> int:
    result = subprocess.run([sys.executable, "-c", KEPT, str(team)], capture_output=True,
                            text=True, check=True)  # fmt: skip
    return int(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000, help="objects of each of 3 kinds")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        ours_team, stock_team = (
            org(Path(scratch, "ours"), args.count),
            org(Path(scratch, "stock"), args.count),
        )
        ours = timed([sys.executable, "apply.py"], ours_team)
        stock = timed([sys.executable, "-c", STOCK, str(stock_team)], stock_team)
        figures = {
            "objects": 3 * args.count,
            "ours_seconds": round(ours, 2),
            "stock_seconds": round(stock, 2),
            "ratio": round(ours / stock, 2),
            "ours_kept": kept(ours_team),
            "stock_kept": kept(stock_team),
        }
    print(
        f"{figures['objects']} objects, cache_ttl_seconds 1: ours {ours:.1f} s keeping "
        f"{figures['ours_kept']}, stock FeatureStore.apply {stock:.1f} s keeping "
        f"{figures['stock_kept']} ({figures['ratio']:.2f}x)"
    )
    if args.output:
        args.output.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
