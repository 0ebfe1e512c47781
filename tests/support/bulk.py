"""Large writes: a team module of many objects, and an org with many registered teams, for
the tests of writes long enough to outlast a registry's cache."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

# Each of ``count`` RequestSources feeds a python ODFV, which a FeatureService serves.
BULK_MODULE = """
from feast import FeatureService, Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

for index in range({count}):
    request = RequestSource(
        name=f"{team}_bulk_request_{{index}}", schema=[Field(name="amount", dtype=Float64)]
    )

    def doubled(inputs: dict) -> dict:
        return {{"doubled": [value * 2 for value in inputs["amount"]]}}

    odfv = on_demand_feature_view(
        name=f"{team}_bulk_odfv_{{index}}", sources=[request],
        schema=[Field(name="doubled", dtype=Float64)], mode="python",
    )(doubled)
    globals()[f"request_{{index}}"] = request
    globals()[f"odfv_{{index}}"] = odfv
    globals()[f"service_{{index}}"] = FeatureService(name=f"{team}_bulk_{{index}}", features=[odfv])
"""


def write_bulk_module(team_repo: Path, team: str, count: int) -> set[tuple[str, str]]:
    """Write ``bulk.py`` into the team repo; returns the (kind, name) pairs it defines."""
    (team_repo / "bulk.py").write_text(BULK_MODULE.format(team=team, count=count))
    return {
        (kind, f"{team}_bulk{infix}_{index}")
        for index in range(count)
        for kind, infix in (
            ("RequestSource", "_request"), ("OnDemandFeatureView", "_odfv"), ("FeatureService", "")
        )
    }  # fmt: skip


def register_teams(platform: Path, count: int, prefix: str = "crowd", digits: int = 4) -> list[str]:
    """Register ``count`` more teams in federation.yaml, as add-team records them."""
    policy = platform / "federation.yaml"
    names = [f"{prefix}{index:0{digits}d}" for index in range(count)]
    entries = "".join(
        f"  {name}:\n    prefix: {name}_\n    owners: [{name}-leads@example.com]\n"
        for name in names
    )
    text = policy.read_text()
    policy.write_text(re.sub(r"(?m)^teams:\n", lambda m: m.group(0) + entries, text, count=1))
    return names


def short_cache(repo: Path, seconds: int = 1) -> None:
    """Give the repo's registry a cache that expires in ``seconds``."""
    store = repo / "feature_store.yaml"
    text = store.read_text()
    text, count = re.subn(r"cache_ttl_seconds: *\d+", f"cache_ttl_seconds: {seconds}", text)
    assert count == 1, text
    store.write_text(text)


# --- an org of many registered teams, as add-team and a platform sync make it -------------

BENCH_TEAM = "bench"
CROWD = "crowd"


def crowd_team_names(count: int) -> list[str]:
    return [f"{CROWD}{index:05d}" for index in range(count)]


def crowd_objects(team: str, view) -> list:
    """What each crowd team's repo defines and applies: a RequestSource, a python ODFV that
    reads it and the platform ``view``, and a FeatureService serving both."""
    from feast import FeatureService, Field, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    request = RequestSource(name=f"{team}_request", schema=[Field(name="amount", dtype=Float64)])

    def ratio(inputs: dict) -> dict:
        pairs = zip(inputs["amount"], inputs["account_balance"], strict=True)
        return {"ratio": [amount / (balance or 1.0) for amount, balance in pairs]}

    ratio.__name__ = f"{team}_ratio"
    odfv = on_demand_feature_view(
        sources=[view[["account_balance"]], request],
        schema=[Field(name="ratio", dtype=Float64)],
        mode="python",
    )(ratio)
    return [request, odfv, FeatureService(name=f"{team}_model", features=[view, odfv])]


def build_registered_org(
    directory: Path, teams: int, registry: str = "sqlite"
) -> tuple[Path, Path]:
    """An org of ``teams`` registered teams: the ``bench`` team's repo, baked and applied,
    and ``teams - 1`` crowd teams registered in federation.yaml as add-team records them,
    their Permissions published by the platform's own sync, each holding ``crowd_objects``
    written and logged as its own apply writes and logs them. Returns the platform's and
    the bench team's repo directories.

    What a real org would take hours of applies to reach, in minutes: the crowd teams'
    objects go in one transaction (one apply-log entry per team), and on a SQLite registry
    the crowd's part is one database transaction (``_one_sqlite_transaction``; Feast's own
    writers, about ten statements per object, each otherwise a commit of its own).
    """
    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.registry import open_store
    from feast_federation.rules.choices import Backends
    from feast_federation.rules.repo import find_repo

    platform_dir, [team_dir] = bootstrap_org(
        directory, project="acme", owners=["p@x.io"], teams=[(BENCH_TEAM, "customer_features")],
        backends=Backends(registry=registry), ci="none",
    )  # fmt: skip
    sync.apply(find_repo(platform_dir))
    materialize_repo(platform_dir, quiet=True)
    crowd = register_teams(platform_dir, teams - 1, prefix=CROWD, digits=5)
    store = open_store(platform_dir)
    with _one_sqlite_transaction(store):
        sync.apply(find_repo(platform_dir))  # publishes every crowd team's Permissions
        apply_as_teams(store, platform_dir, crowd)
    sync.apply(find_repo(team_dir))
    return platform_dir, team_dir


def apply_as_teams(store, platform_dir: Path, teams: list[str]) -> None:
    """Write each team's ``crowd_objects`` in one transaction, logged as each team's apply
    logs its own: one entry per team, owned by it, every object an add."""
    from feast_federation import transaction
    from feast_federation.registry.kinds import as_stored, kind_of
    from feast_federation.sync.diff import inferred
    from feast_federation.transaction import Writer
    from feast_federation.transaction.plans import ADD, Change, LogEntry, Plan

    def planner(store) -> Plan:
        view = store.get_feature_view("user_features")
        everything, entries = [], []
        for team in teams:  # inferred as a team's plan infers them before it writes
            objects = inferred(store, crowd_objects(team, view))
            changes = [Change(kind_of(obj), obj.name, ADD) for obj in objects]
            entries.append(LogEntry(team, changes, as_stored(objects, store.project)))
            everything += objects
        changes = [change for entry in entries for change in entry.changes]
        return Plan(owner=teams[0] if teams else BENCH_TEAM, changes=changes,
                    to_apply=everything, log_entries=entries)  # fmt: skip

    if teams:
        transaction.write(store, Writer(teams[0], platform_dir), planner)


class _one_sqlite_transaction:
    """While held, every statement a SQLite registry runs goes through one connection in
    one transaction (committed at the end; rolled back on an error), without waiting for
    the disk (``PRAGMA synchronous=OFF``): Feast's writers run as they always do, about
    ten statements per object, but not each in a commit of its own. Setup only: nothing
    measured runs like this. Other registries are left as they are."""

    def __init__(self, store):
        self.registry = store.registry
        engine = getattr(self.registry, "write_engine", None)
        sqlite = engine is not None and engine.url.get_backend_name() == "sqlite"
        self.engine = engine if sqlite and engine is self.registry.read_engine else None

    def __enter__(self):
        if self.engine is not None:
            self.connection = self.engine.connect()
            self.connection.exec_driver_sql("PRAGMA synchronous=OFF")
            self.connection.commit()
            self.transaction = self.connection.begin()
            self.registry.write_engine = self.registry.read_engine = _SharedEngine(
                self.engine, self.connection
            )
        return self

    def __exit__(self, failed, *exc) -> None:
        if self.engine is None:
            return
        self.registry.write_engine = self.registry.read_engine = self.engine
        if failed is None:
            self.transaction.commit()
        else:
            self.transaction.rollback()
        self.connection.close()


class _SharedEngine:
    """An engine whose ``begin()`` hands out one connection, already in a transaction."""

    def __init__(self, engine, connection):
        self.engine, self.connection = engine, connection

    @contextlib.contextmanager
    def begin(self):
        yield self.connection

    def __getattr__(self, name):
        return getattr(self.engine, name)
