"""End to end with the DuckDB offline store: DuckDB reads the platform's parquet files for
materialization and for historical retrieval through a team service, each in a fresh process."""

from __future__ import annotations

import json
import os
import sys

import pytest

from support.orgs import FETCH, running_org

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
