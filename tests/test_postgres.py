"""End to end on a real PostgreSQL server on 127.0.0.1: registry, online and offline store.

Every step is a generated script or the CLI in a fresh process, with credentials only in
the environment, as in a deployment.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from support import invoke, run
from support.orgs import BARRIER, FETCH, RUN_APPLY_SCRIPT, PostgresOrg, run_together, running_org
from support.postgres import postgres_on_loopback

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("postgres")
    with postgres_on_loopback(scratch) as settings:
        yield running_org(
            scratch / "org", {**os.environ, **settings}, "postgres", "postgres", versioning=True
        )


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


def test_restore_to_points_of_the_apply_log(org, monkeypatch):
    from support.restores import applied, log_entries, object_digests, restore_each_point

    for name, value in org.env.items():
        if name.startswith("FEAST_PG_"):
            monkeypatch.setenv(name, value)
    points = [(log_entries(org.platform)[-1]["id"], object_digests(org.platform))]
    # One team change each way is enough here: test_restore_points walks every kind of write.
    marketing = org.root / "teams" / "marketing"
    odfv = marketing / "on_demand_views.py"
    odfv.write_text(odfv.read_text().replace("round(1 / (1", "round(0.5 / (1"))
    applied(marketing)
    points.append((log_entries(org.platform)[-1]["id"], object_digests(org.platform)))
    assert points[0][1] != points[1][1]
    restore_each_point(org.platform, points)


# --- reference forms and pinned versions (versioned reads are on in this org) ----------------


def test_every_reference_form_plans_applies_serves_and_prunes(org, monkeypatch):
    from feast_federation.errors import BreaksTeams
    from support.versions import CUSTOMER, FORMS, USERS, apply, drop_field, plan, served

    for name, value in org.env.items():
        monkeypatch.setenv(name, value)
    marketing = org.root / "teams" / "marketing"
    assert invoke("contract", "refresh", marketing).exit_code == 0  # it records v0 now
    services = marketing / "services.py"
    services.write_text(FORMS.format(team="marketing"))
    applied = {c.name for c in apply(marketing).changes if c.action == "add"}
    assert {"marketing_view", "marketing_pin", "marketing_odfv", "marketing_mixed"} <= applied
    view = served(marketing, "marketing_view", USERS.row)
    assert None not in view["age"] + view["account_balance"]
    assert served(marketing, "marketing_view_obj", USERS.row) == view
    assert served(marketing, "marketing_pin", USERS.row) == view
    assert served(marketing, "marketing_odfv", CUSTOMER)["purchase_propensity_score"][0]
    views = org.platform / "feature_views.py"
    original = views.read_text()
    drop_field(org.platform, "account_balance")
    try:
        with pytest.raises(BreaksTeams) as refused:
            plan(org.platform)
        broken = str(refused.value)
        assert "FeatureService marketing_view (team marketing)" in broken
        assert "marketing_pin" not in broken  # a pin reads v0's snapshot, which stays
    finally:
        views.write_text(original)
    services.write_text(FORMS.format(team="marketing").split("marketing_odfv =")[0])
    pruned = apply(marketing, prune=True)
    deleted = {c.name for c in pruned.changes if c.action == "delete"}
    assert deleted == {"marketing_odfv", "marketing_mixed", "marketing_view_obj",
                       "marketing_feature_obj"}  # fmt: skip


def test_a_pinned_service_keeps_its_version_after_a_schema_change(org, monkeypatch):
    from support.versions import DRIVERS, assert_pins_served, pinned_story

    for name, value in org.env.items():
        monkeypatch.setenv(name, value)
    story = pinned_story(
        org.platform, org.root / "teams" / "marketing", DRIVERS,
        lambda by: org.sql(f"UPDATE platform.driver_stats SET conv_rate = conv_rate + {by}"),
    )  # fmt: skip
    assert_pins_served(story)
