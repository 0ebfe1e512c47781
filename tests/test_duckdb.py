"""End to end with the DuckDB offline store: DuckDB reads the platform's parquet files for
materialization and for historical retrieval through a team service, each in a fresh process."""

from __future__ import annotations

import json
import os
import sys

import pytest

from support import cli
from support.orgs import FETCH, running_org
from support.runners import clone_elsewhere

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    root = tmp_path_factory.mktemp("duckdb") / "org"
    return running_org(root, dict(os.environ), "sqlite", "sqlite", offline_store="duckdb")


def fetch(org, mode: str):
    repo = org.root / "teams" / "marketing"
    result = org.run([sys.executable, "-c", FETCH, str(repo), "marketing_campaign_model", mode])
    return json.loads(result.stdout)


def test_online_rows_materialized_through_duckdb_serve_the_team(org):
    served = fetch(org, "online")
    assert served["total_purchases"][0] is not None
    assert 0 < served["purchase_propensity_score"][0] < 1


def test_historical_retrieval_through_a_team_service_runs_on_duckdb(org):
    rows = fetch(org, "historical")
    assert len(rows) == 2
    for row in rows:
        assert row["total_purchases"] is not None and row["avg_order_value"] is not None
        assert 0 < row["purchase_propensity_score"] < 1


def test_a_clone_in_another_folder_plans_nothing_to_change(org, tmp_path):
    """DuckDB reads the platform's files too: a clone of each repo in another folder plans
    nothing (no source stores the folder it was checked out in)."""
    for repo in (org.platform, org.root / "teams" / "marketing"):
        clone = clone_elsewhere(repo, tmp_path / repo.name)
        planned = cli("plan", str(clone))
        assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
        assert "nothing to change" in planned.stdout
