"""Orgs on Spark and Ray, run on this machine in the test's own process, and their twin on
the local default with the same data.

One process per module shares one Spark session (or one Ray runtime) between the platform
sync, materialization, the team applies and the reads; starting one costs 10 to 60 s here.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEAMS = (("marketing", "customer_features"), ("risk", "user_features"))
# Each team's starter service, the rows it reads and the request data its ODFV takes.
SERVICES = {
    "marketing": ("marketing_campaign_model", "customer_id", [3001, 3002, 3999],
                  "current_cart_value", [80.0, 5.0, 12.0]),
    "risk": ("risk_model", "user_id", [1001, 1002, 1999], "transaction_amount", [40.0, 5.0, 1.0]),
}  # fmt: skip
# What the engines change in the process: restored when a module's org is done.
ENGINE_VARIABLES = (
    "FEAST_SPARK_MASTER", "FEAST_SPARK_STAGING", "FEAST_RAY_ADDRESS", "FEAST_RAY_STORAGE",
    "PYSPARK_SUBMIT_ARGS", "PYSPARK_PYTHON", "SPARK_LOCAL_IP", "RAY_ADDRESS", "XDG_CACHE_HOME",
)  # fmt: skip


@dataclass
class Org:
    root: Path
    platform: Path
    teams: dict[str, Path]
    results: list = field(default_factory=list)

    def apply(self) -> None:
        """Platform sync, materialization (`feast-federation materialize`'s library call),
        every team's apply: in this process."""
        from feast_federation.ops.orgs import apply_org

        apply_org(self.platform, list(self.teams.values()), lambda *_: None, self.results.append)

    def online(self, team: str) -> dict:
        from feast_federation import feature_store

        name, key, ids, request, values = SERVICES[team]
        store = feature_store(self.teams[team])
        rows = [{key: i, request: v} for i, v in zip(ids, values, strict=True)]
        service = store.get_feature_service(name)
        return store.get_online_features(features=service, entity_rows=rows).to_dict()

    def training(self, team: str, at):
        """The team service's rows for training, as of ``at`` (one time per entity row)."""
        import pandas as pd

        from feast_federation import feature_store

        name, key, ids, request, values = SERVICES[team]
        store = feature_store(self.teams[team])
        entities = pd.DataFrame({key: ids, "event_timestamp": at, request: values})
        service = store.get_feature_service(name)
        frame = store.get_historical_features(entity_df=entities, features=service).to_df()
        return comparable(frame, key)


def bootstrap(root: Path, offline_store: str, compute_engine: str = "local") -> Org:
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    backends = Backends("sqlite", "sqlite", offline_store, compute_engine=compute_engine)
    platform, team_dirs = bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=TEAMS, backends=backends
    )
    return Org(root, platform, {d.name: d for d in team_dirs})


def load_sample_data(org: Org, *options: str) -> None:
    """The platform's scripts/generate_sample_data.py, in this process."""
    script = org.platform / "scripts" / "generate_sample_data.py"
    argv = sys.argv
    sys.argv = [str(script), *options]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv


def same_data(source: Org, target: Org) -> None:
    """Give ``target`` the sample parquet files of ``source`` (bootstraps an hour apart would
    hold different timestamps)."""
    from feast_federation import data_location
    from feast_federation.rules.repo import records_data_location

    if not records_data_location(source.platform):  # tables (Spark): loaded, not copied
        return
    files = list(Path(data_location(source.platform)).glob("*.parquet"))
    assert files, f"{source.platform}: no sample parquet files at its data location"
    for parquet in files:
        shutil.copyfile(parquet, Path(data_location(target.platform)) / parquet.name)


def comparable(frame, key: str):
    """A training frame in a fixed order, times in UTC (Spark returns them without a zone)."""
    import pandas as pd

    frame = frame.copy()
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    frame = frame.sort_values([key]).reset_index(drop=True)
    return frame[sorted(frame.columns)]


@contextlib.contextmanager
def engine_environment(cache: Path) -> Iterator[None]:
    """No cluster named (each engine's local default), the engines' local files under
    ``cache``; the process's environment as it was afterwards."""
    saved = {name: os.environ.get(name) for name in ENGINE_VARIABLES}
    for name in ENGINE_VARIABLES:
        os.environ.pop(name, None)
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mark_sync_unfinished(platform: Path) -> None:
    """Leave the registry as a platform sync killed before the online tables leaves it."""
    from feast_federation.registry import open_store
    from feast_federation.registry.intent import PENDING_TAG, project_with_tags

    store = open_store(platform)
    started = "2026-01-01T00:00:00Z by a killed run"
    store.registry.apply_project(project_with_tags(store, lambda t: {**t, PENDING_TAG: started}))


def guarded_and_recovered(org: Org) -> tuple[object, object]:
    """`feast-federation materialize` on an unfinished sync (refused), then after the platform
    apply finished it (materialized through the engine): both CLI results, in this process."""
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo
    from support import invoke

    mark_sync_unfinished(org.platform)
    refused = invoke("materialize", org.platform)
    sync.apply(find_repo(org.platform))
    return refused, invoke("materialize", org.platform)
