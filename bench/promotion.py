"""Promoting an org of N teams (default 100) from staging to production, on the local default
(two SQLite registries and online stores), in one process: ours against two stock applies of
the same objects.

- ours: every repo applied to staging (the platform sync, then each team's apply), a passed
  verification recorded for each repo's definitions in staging's log (the entry `verify`
  writes; the retrievals `verify` runs have no stock counterpart and are not timed), then
  every repo applied to production, each apply passing the promotion gate (which reads
  staging's apply log).
- stock: `FeatureStore.apply(objects, partial=True)` of the same objects (every repo's
  definitions) into a fresh staging registry, then into a fresh production registry.

    python bench/promotion.py [--teams 100] [--output bench/promotion.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ENVIRONMENTS = ("staging", "production")


def bake(root: Path, teams: int):
    from feast_federation.onboarding import bootstrap_org

    names = [f"t{index:03d}" for index in range(teams)]
    return bootstrap_org(root, project="acme", owners=["p@acme.io"], teams=names, ci="none",
                         environments=ENVIRONMENTS)  # fmt: skip


def ours(platform: Path, team_dirs: list[Path]) -> tuple[float, list]:
    """Seconds for staging, then production; and every repo's objects, as collected."""
    from feast_federation import registry, sync, transaction
    from feast_federation.rules.environments import choose
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.collect import collect
    from feast_federation.transaction.applylog import VERIFY, definitions_digest

    repos = [find_repo(platform), *(find_repo(team) for team in team_dirs)]
    started = time.perf_counter()
    choose("staging")
    digests = [definitions_digest(sync.apply(repo).definitions) for repo in repos]
    staged = time.perf_counter() - started
    store = registry.open_store(platform, env="staging")
    for repo, digest in zip(repos, digests, strict=True):  # what a passed verify logs
        transaction.note(store, transaction.Writer(repo.owner, repo.path), VERIFY,
                         {"definitions": digest, "passed": True, "problems": []})  # fmt: skip
    started = time.perf_counter()
    choose("production")
    for repo in repos:
        assert sync.apply(repo).has_changes
    promoted = time.perf_counter() - started
    objects = [obj for repo in repos for obj in collect(repo)]
    return staged + promoted, objects


def stock(platform: Path, objects: list, scratch: Path) -> float:
    """Two stock applies of ``objects``: a fresh staging registry, then a fresh production one."""
    from feast import FeatureStore

    seconds = 0.0
    for env in ENVIRONMENTS:
        text = (platform / "environments" / env / "feature_store.yaml").read_text()
        data = scratch / f"stock-{env}"
        data.mkdir()
        text = text.replace(str(platform / "data" / env), str(data))
        config = data / "feature_store.yaml"
        config.write_text(text)
        store = FeatureStore(repo_path=str(platform), fs_yaml_file=config)
        started = time.perf_counter()
        store.apply(objects, partial=True)
        seconds += time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        platform, team_dirs = bake(Path(scratch) / "org", args.teams)
        ours_seconds, objects = ours(platform, team_dirs)
        stock_seconds = stock(platform, objects, Path(scratch))
    result = {
        "teams": args.teams,
        "objects": len(objects),
        "ours_seconds": round(ours_seconds, 2),
        "stock_seconds": round(stock_seconds, 2),
        "ratio": round(ours_seconds / stock_seconds, 2),
    }
    print(f"promoting {args.teams} teams ({len(objects)} objects) staging -> production: "
          f"ours {ours_seconds:.1f} s, two stock applies {stock_seconds:.1f} s, "
          f"ratio {result['ratio']:.2f}x")  # fmt: skip
    if args.output:
        args.output.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
