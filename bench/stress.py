"""Stress: N teams apply over and over at once; count what the registry lost.

    python bench/stress.py --teams 8 --seconds 60 --registry file --stock

Each worker owns one team repo and loops until the deadline: it bumps its FeatureService's
description and applies. Afterwards every team's objects must be in the registry with the
last description its worker saw applied, and the platform's objects intact. ``--stock``
runs the same load through raw ``FeatureStore.apply(partial=True)`` with no lock, for
comparison in the same run. Not part of the test suite: it runs as long as you ask.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import sys
import tempfile
import time
from pathlib import Path

SERVICE_FILE = "feature_services.py"


def worker(repo_dir: str, deadline: float, stock: bool, results) -> None:
    from feast_federation import sync
    from feast_federation.registry import open_store
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.collect import collect

    repo = find_repo(repo_dir)
    applied, failures, last = 0, 0, None
    while time.time() < deadline:
        description = f"stress-{applied + failures}"
        _set_description(Path(repo_dir), description)
        try:
            if stock:
                open_store(repo.path).apply(collect(repo), partial=True)
            else:
                sync.apply(repo)
            applied, last = applied + 1, description
        except Exception as exc:  # counted, not fatal: the point is what survives
            failures += 1
            print(f"{repo.owner}: {type(exc).__name__}: {str(exc)[:120]}", file=sys.stderr)
    results.put({"team": repo.owner, "applied": applied, "failed": failures, "last": last})


def _set_description(repo: Path, description: str) -> None:
    path = repo / SERVICE_FILE
    text = re.sub(r'description="[^"]*"', f'description="{description}"', path.read_text(), count=1)
    path.write_text(text)


def run(teams: int, seconds: float, registry: str, stock: bool, directory: Path) -> dict:
    from feast import FeatureStore

    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends
    from feast_federation.rules.repo import find_repo

    names = [f"load{index:02d}" for index in range(teams)]
    platform, team_dirs = bootstrap_org(
        directory / "org", project="acme", owners=["p@x.io"], teams=names,
        backends=Backends(registry=registry),
    )  # fmt: skip
    sync.apply(find_repo(platform))
    for repo in team_dirs:
        sync.apply(find_repo(repo))
    results = multiprocessing.Queue()
    deadline = time.time() + seconds
    workers = [
        multiprocessing.Process(target=worker, args=(str(repo), deadline, stock, results))
        for repo in team_dirs
    ]
    for process in workers:
        process.start()
    reports = [results.get() for _ in workers]
    for process in workers:
        process.join()

    store = FeatureStore(repo_path=str(platform))
    services = {s.name: s.description for s in store.list_feature_services()}
    lost = []
    for report in reports:
        team = report["team"]
        service = f"{team}_model"
        if service not in services:
            lost.append(f"FeatureService {service}")
        elif report["last"] and services[service] != report["last"]:
            lost.append(f"update of {service} ({services[service]} != {report['last']})")
    odfvs = {v.name for v in store.list_on_demand_feature_views()}
    lost += [f"ODFV {t}_spend_profile" for t in names if f"{t}_spend_profile" not in odfvs]
    views = {v.name for v in store.list_feature_views()}
    lost += [f"platform view {v}" for v in ("user_features", "driver_stats", "customer_features")
             if v not in views]  # fmt: skip
    return {
        "mode": "stock FeatureStore.apply" if stock else "feast-federation apply",
        "registry": registry,
        "teams": teams,
        "seconds": seconds,
        "applies": sum(r["applied"] for r in reports),
        "failed_applies": sum(r["failed"] for r in reports),
        "objects_lost": len(lost),
        "lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--registry", choices=["sqlite", "file"], default="sqlite")
    parser.add_argument("--stock", action="store_true", help="also run raw unlocked applies")
    args = parser.parse_args()
    modes = [False, True] if args.stock else [False]
    for stock in modes:
        with tempfile.TemporaryDirectory() as scratch:
            result = run(args.teams, args.seconds, args.registry, stock, Path(scratch))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
