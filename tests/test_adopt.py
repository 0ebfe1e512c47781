"""Adopting an existing feature repo (issue 16): every Feast kind owned, names kept, and
nothing the registry serves changed on arrival."""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path

import pytest

from support import cli, invoke, registry_fingerprint, run
from support.restores import log_entries

pytestmark = pytest.mark.slow
FEAST = str(Path(sys.executable).parent / "feast")
DRIVERS = "drivers=driver_activity_*,transformed_*,vals_*"
FETCH = """
import json, sys
import pandas as pd
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
rows = [{"driver_id": d, "val_to_add": 1, "val_to_add_2": 2} for d in (1001, 1002, 1005)]
entities = pd.DataFrame({
    "driver_id": [1001, 1002],
    "event_timestamp": [pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=2)] * 2,
    "val_to_add": [1, 2], "val_to_add_2": [3, 4],
})
served = {}
for name in sys.argv[2:]:
    service = store.get_feature_service(name)
    online = store.get_online_features(features=service, entity_rows=rows).to_dict()
    frame = store.get_historical_features(entity_df=entities, features=service).to_df()
    frame = frame.sort_values("driver_id").drop(columns=["event_timestamp"])
    served[name] = {"online": online, "offline": json.loads(frame.to_json(orient="records"))}
print(json.dumps(served, sort_keys=True, default=str))
"""


def ok(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def fetch(repo: Path, services) -> dict:
    """Each FeatureService read online and offline, in one fresh process that never imported
    the repo's modules; the values by column (column order is not a value)."""
    return json.loads(ok(run([sys.executable, "-c", FETCH, str(repo), *services])).stdout)


@pytest.fixture(scope="module")
def feast_init_repo(tmp_path_factory) -> Path:
    """The repo `feast init` makes (its local template), applied and materialized."""
    root = tmp_path_factory.mktemp("existing")
    ok(run([FEAST, "init", "drivers"], cwd=root))
    repo = root / "drivers" / "feature_repo"
    ok(run([FEAST, "apply"], cwd=repo))
    ok(run([FEAST, "materialize-incremental", "2100-01-01T00:00:00"], cwd=repo))
    return repo


def test_every_kind_feast_collects_has_an_owner():
    from feast.repo_contents import RepoContents

    from feast_federation.registry.kinds import feast_class
    from feast_federation.rules.kinds import KINDS

    owned = {feast_class(kind) for kind in KINDS}
    hints = typing.get_type_hints(RepoContents)
    collected = {typing.get_args(hints[name])[0] for name in RepoContents._fields}
    assert len(collected) == len(RepoContents._fields)
    assert [cls.__name__ for cls in collected if not any(issubclass(cls, k) for k in owned)] == []


def test_adopting_feast_init_changes_nothing(feast_init_repo, tmp_path):
    services = ("driver_activity_v1", "driver_activity_v2", "driver_activity_v3")
    before = fetch(feast_init_repo, services)
    fingerprint = registry_fingerprint(feast_init_repo)
    org = tmp_path / "org"

    dry = ok(cli("adopt", str(feast_init_repo), "--org", str(org), "--team", DRIVERS, "--dry-run"))
    assert "platform: LabelView driver_quality_labels" in dry.stdout
    assert "team drivers: FeatureService driver_activity_v1" in dry.stdout
    assert not org.exists()

    ok(cli("adopt", str(feast_init_repo), "--org", str(org), "--team", DRIVERS))
    platform, team = org / "platform", org / "teams" / "drivers"
    for repo in (platform, team):
        assert cli("plan", str(repo)).returncode == 0  # exit 0: nothing to change
    # The log has every adopted object as it already was: undoing the teams' entries (back
    # to the platform's, the first) changes nothing, and the log matches the registry.
    first = log_entries(platform)[0]
    assert first["owner"] == "platform" and first["action"] == "adopt"
    undone = invoke("restore", platform, "--to", first["id"])
    assert undone.exit_code == 0 and "nothing to change" in undone.output, undone.output
    assert registry_fingerprint(feast_init_repo) == fingerprint
    after = fetch(team, services)
    assert after == before
    assert "names:" in (platform / "federation.yaml").read_text()

    # New objects still need the prefix; the grandfathered names are the team's.
    (team / "extra.py").write_text(
        "from feast import FeatureService\n"
        "from feast_federation import platform_view\n"
        "fv = platform_view('driver_hourly_stats')\n"
        "extra = FeatureService(name='driver_activity_v4', features=[fv])\n"
    )
    refused = cli("plan", str(team))
    assert refused.returncode == 1
    assert "FeatureService driver_activity_v4: team drivers's names must start with drivers_" in (
        refused.stderr
    )
    (team / "extra.py").unlink()

    # A hand-written Permission and a second Project in the platform repo: one line each.
    (platform / "extra.py").write_text(
        "from feast import Project\n"
        "from feast.feature_view import FeatureView\n"
        "from feast.permissions.action import AuthzedAction\n"
        "from feast.permissions.permission import Permission\n"
        "from feast.permissions.policy import AllowAll\n"
        "other = Project(name='other')\n"
        "anyone = Permission(name='anyone', types=[FeatureView], policy=AllowAll,\n"
        "                    actions=[AuthzedAction.DESCRIBE])\n"
    )
    refused = cli("plan", str(platform))
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert any(
        line.strip().startswith("Permission anyone: permissions are generated") for line in lines
    )
    assert any(
        line.strip().startswith("Project other: the federation has one project, drivers")
        for line in lines
    )
    (platform / "extra.py").unlink()
    assert registry_fingerprint(feast_init_repo) == fingerprint


def test_adopt_waits_for_the_registry_lock_only_as_long_as_told(feast_init_repo, tmp_path):
    from feast_federation.files import file_lock

    fingerprint = registry_fingerprint(feast_init_repo)
    org = tmp_path / "org"
    lock = feast_init_repo / "data" / "registry.db.lock"
    with file_lock(lock, repo="another apply"):
        args = ("adopt", str(feast_init_repo), "--org", str(org), "--team", DRIVERS)
        result = cli(*args, "--lock-timeout", "1")
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # the adopted repos link the registry's folder
    assert line.startswith("error: lock ") and "still held by pid " in line, line
    assert "(repo another apply)" in line and line.endswith("wait longer with --lock-timeout")
    assert not org.exists()  # the repos written before the registry refused are gone
    assert registry_fingerprint(feast_init_repo) == fingerprint


def test_names_that_fit_no_team_are_refused(tmp_path):
    repo = tmp_path / "shop"
    repo.mkdir()
    (repo / "feature_store.yaml").write_text(
        "project: shop\nregistry: data/registry.db\nprovider: local\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    (repo / "defs.py").write_text(
        "from datetime import timedelta\n"
        "from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource\n"
        "from feast.types import Float32, Int64\n"
        "user = Entity(name='user', join_keys=['user_id'])\n"
        "src = FileSource(name='users', path='/tmp/users.parquet', timestamp_field='ts')\n"
        "stats = FeatureView(name='user_stats', entities=[user], ttl=timedelta(days=1),\n"
        "                    schema=[Field(name='age', dtype=Int64)], source=src)\n"
        "churn = FeatureService(name='churn_model', features=[stats])\n"
        "fraud = FeatureService(name='fraud_model', features=[stats], tags={'team': 'risk'})\n"
        "req = RequestSource(name='cart', schema=[Field(name='value', dtype=Float32)])\n"
    )
    org = tmp_path / "org"
    result = cli("adopt", str(repo), "--org", str(org), "--team", "risk")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("error: refused"))
    problems = [line.strip() for line in lines[heading + 1 :] if line.strip()]
    assert problems == [
        "FeatureService churn_model (defs.py): matches no --team glob and no team names it in "
        "owner or tags; give --team NAME=GLOB",
        "RequestSource cart (defs.py): matches no --team glob and no team names it in owner or "
        "tags; give --team NAME=GLOB",
    ]
    assert not org.exists()
    dry = ok(
        cli(
            "adopt",
            str(repo),
            "--org",
            str(org),
            "--team",
            "risk",
            "--team",
            "ml=churn_*,cart",
            "--dry-run",
        )
    )
    assert "team risk: FeatureService fraud_model (defs.py)" in dry.stdout
    assert "team ml: FeatureService churn_model (defs.py)" in dry.stdout


SHOP_DEFINITIONS = """
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64

user = Entity(name="user", join_keys=["user_id"])
users = FileSource(name="users", path="data/users.parquet", timestamp_field="ts")
user_stats = FeatureView(
    name="user_stats", entities=[user], ttl=timedelta(days=3650),
    schema=[Field(name="age", dtype=Int64), Field(name="spend", dtype=Float64)], source=users,
)
cart = RequestSource(name="cart", schema=[Field(name="value", dtype=Float64)])


@on_demand_feature_view(
    sources=[user_stats, cart], schema=[Field(name="share", dtype=Float64)], mode="python"
)
def cart_share(inputs: dict) -> dict:
    return {"share": [v / (s or 1.0) for v, s in zip(inputs["value"], inputs["spend"])]}


churn = FeatureService(name="churn.model+v1", features=[user_stats])
checkout = FeatureService(name="checkout_model", features=[user_stats[["spend"]], cart_share])
fraud = FeatureService(name="fraud_model", features=[user_stats], tags={"team": "risk"})
"""
FETCH_SHOP = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
rows = [{"user_id": u, "value": 5.0} for u in (1, 2, 3)]
served = {
    name: store.get_online_features(
        features=store.get_feature_service(name), entity_rows=rows
    ).to_dict()
    for name in sys.argv[2:]
}
print(json.dumps(served, sort_keys=True, default=str))
"""


@pytest.fixture(scope="module")
def shop_repo(tmp_path_factory) -> Path:
    """A repo whose team objects fit no prefix (one name full of regex characters), applied
    with plain `feast apply` and materialized."""
    import pandas as pd

    repo = tmp_path_factory.mktemp("shop") / "shop"
    (repo / "data").mkdir(parents=True)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    pd.DataFrame(
        {"user_id": [1, 2, 3], "age": [31, 45, 27], "spend": [10.0, 250.5, 0.0], "ts": [now] * 3}
    ).to_parquet(repo / "data" / "users.parquet")
    (repo / "feature_store.yaml").write_text(
        "project: shop\nregistry: data/registry.db\nprovider: local\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    (repo / "definitions.py").write_text(SHOP_DEFINITIONS)
    ok(run([FEAST, "apply"], cwd=repo))
    ok(run([FEAST, "materialize-incremental", "2100-01-01T00:00:00"], cwd=repo))
    return repo


def fetch_shop(repo: Path, services) -> dict:
    """Each FeatureService read online, in one fresh process."""
    return json.loads(ok(run([sys.executable, "-c", FETCH_SHOP, str(repo), *services])).stdout)


def test_adopting_names_that_fit_no_prefix_changes_nothing(shop_repo, tmp_path):
    services = ("churn.model+v1", "checkout_model", "fraud_model")
    before = fetch_shop(shop_repo, services)
    assert before["checkout_model"]["share"][1] == pytest.approx(5.0 / 250.5)
    fingerprint = registry_fingerprint(shop_repo)
    org = tmp_path / "org"
    ok(cli("adopt", str(shop_repo), "--org", str(org), "--team", "risk",
           "--team", "ml=churn.*,checkout_*,cart,cart_*"))  # fmt: skip

    policy = (org / "platform" / "federation.yaml").read_text()
    assert "- cart\n" in policy and "- churn.model+v1\n" in policy
    repos = [org / "platform", org / "teams" / "ml", org / "teams" / "risk"]
    for repo in repos:
        result = cli("plan", str(repo))
        assert result.returncode == 0, f"{repo.name}: {result.stdout}{result.stderr}"
    assert registry_fingerprint(shop_repo) == fingerprint
    owners = {"churn.model+v1": "ml", "checkout_model": "ml", "fraud_model": "risk"}
    after = {
        **fetch_shop(org / "teams" / "ml", [s for s in services if owners[s] == "ml"]),
        **fetch_shop(org / "teams" / "risk", [s for s in services if owners[s] == "risk"]),
    }
    assert after == before
