"""Concurrent applies and registrations lose nothing; registry kinds: SQL on SQLite, file."""

from __future__ import annotations

import sys

import pytest
import yaml

from feast_federation.onboarding import bake_platform, bootstrap_org
from feast_federation.rules.choices import Backends
from feast_federation.rules.repo import find_repo
from support import ROOT
from support.orgs import BARRIER, RUN_APPLY_SCRIPT, run_together


@pytest.mark.slow
@pytest.mark.parametrize("registry", ["sqlite", "file"])
def test_twelve_simultaneous_team_applies_keep_every_object(tmp_path, registry):
    from feast import FeatureStore

    from feast_federation import sync

    teams = [f"squad{index:02d}" for index in range(12)]
    platform, team_dirs = bootstrap_org(
        tmp_path / "org", project="acme", owners=["p@acme.io"], teams=teams,
        backends=Backends(registry=registry),
    )  # fmt: skip
    sync.apply(find_repo(platform))
    script = BARRIER.format(preload="feast_federation.sync", action=RUN_APPLY_SCRIPT)
    results = run_together([([sys.executable, "-c", script], repo) for repo in team_dirs], tmp_path)
    for returncode, stdout, stderr in results:
        assert returncode == 0, stdout + stderr

    store = FeatureStore(repo_path=str(platform))
    services = {s.name for s in store.list_feature_services()}
    odfvs = {v.name for v in store.list_on_demand_feature_views()}
    sources = {s.name for s in store.list_data_sources()}
    assert services == {f"{team}_model" for team in teams}
    assert odfvs == {f"{team}_spend_profile" for team in teams}
    assert {f"{team}_transaction_request" for team in teams} <= sources
    assert {e.name for e in store.list_entities()} >= {"user", "driver", "customer"}
    assert {v.name for v in store.list_feature_views()} == {
        "user_features", "driver_stats", "customer_features",
    }  # fmt: skip
    assert {
        f"{v}_source" for v in ("user_features", "driver_stats", "customer_features")
    } <= sources
    for repo in (platform, *team_dirs):  # nothing half-written: every plan is clean
        assert not sync.plan(find_repo(repo)).has_changes


def test_eight_simultaneous_registrations_all_land(tmp_path):
    platform = bake_platform(tmp_path, project="acme", owners=["p@acme.io"])
    comments = [
        line for line in (platform / "federation.yaml").read_text().splitlines() if "#" in line
    ]
    teams = [f"crew{index}" for index in range(8)]
    action = (
        "from feast_federation.cli import app\n"
        "team, platform, output = sys.argv[1:4]\n"
        "sys.exit(app(['add-team', team, '--platform', platform, '--output-dir', output],"
        " standalone_mode=False))"
    )
    script = BARRIER.format(preload="feast_federation.cli", action=action)
    output = str(tmp_path / "teams")
    commands = [
        ([sys.executable, "-c", script, team, str(platform), output], ROOT) for team in teams
    ]
    results = run_together(commands, tmp_path)
    for returncode, stdout, stderr in results:
        assert returncode == 0, stdout + stderr
    text = (platform / "federation.yaml").read_text()
    policy = yaml.safe_load(text)
    assert sorted(policy["teams"]) == teams
    assert all(line in text.splitlines() for line in comments)
    assert sorted(p.name for p in (tmp_path / "teams").iterdir()) == teams
