"""Scoped plans, delete protection, pruning and audit, against a real SQL registry."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import build_org, file_digest, invoke, run

pytestmark = pytest.mark.slow


@pytest.fixture()
def org(tmp_path):
    platform, (marketing, risk) = build_org(tmp_path / "org")
    return platform, marketing, risk


def registry_file(platform: Path) -> Path:
    return platform / "data" / "registry.db"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


# --- scoped plans ------------------------------------------------------------------------


def test_plan_exit_codes_and_json(org):
    platform, marketing, risk = org
    clean = invoke("plan", marketing, "--json")
    assert clean.exit_code == 0
    assert json.loads(clean.stdout)["owner"] == "marketing"
    edit(marketing / "feature_services.py", 'description="Features of', 'description="New:')
    changed = invoke("plan", marketing, "--json")
    assert changed.exit_code == 2
    changes = json.loads(changed.stdout)["changes"]
    [service] = [c for c in changes if c["name"] == "marketing_campaign_model"]
    assert service["action"] == "update" and service["fields"] == ["description"]
    assert service["values"]["description"]["new"].startswith("New:")
    assert {c["action"] for c in changes} == {"update", "unchanged"}
    broken = invoke("plan", platform / "missing")
    assert broken.exit_code == 1 and broken.output.startswith("error: ")


def test_team_plan_shows_only_its_own_objects(org):
    _, marketing, _ = org
    names = {c["name"] for c in json.loads(invoke("plan", marketing, "--json").stdout)["changes"]}
    assert names == {
        "marketing_campaign_model", "marketing_purchase_propensity", "marketing_cart_request",
    }  # fmt: skip


def test_human_plan_is_a_coloured_table(org):
    _, marketing, _ = org
    (marketing / "extra_services.py").write_text(
        "from feast import FeatureService\nfrom feast_federation import platform_view\n"
        "marketing_extra = FeatureService(name='marketing_extra',"
        " features=[platform_view('customer_features')])\n"
    )
    result = run(
        [sys.executable, "apply.py", "--plan"], cwd=marketing, env={**__import__("os").environ,
        "FORCE_COLOR": "1", "COLUMNS": "120"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Plan for team marketing" in result.stdout
    assert "\x1b[32madd\x1b[0m" in result.stdout  # green "add"
    assert "marketing_extra" in result.stdout
    assert "1 to change, 3 unchanged." in result.stdout


# --- delete protection -------------------------------------------------------------------


def test_platform_may_not_delete_a_view_teams_use(org):
    platform, _, _ = org
    views = platform / "feature_views.py"
    text = views.read_text()
    views.write_text(text[: text.index("customer_features = FeatureView(")])
    before = file_digest(registry_file(platform))
    result = invoke("apply", platform)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: refused: the sync would break team objects; nothing was written "
        "(--allow-breaking-teams overrides):",
        "  deleting FeatureView customer_features breaks FeatureService "
        "marketing_campaign_model (team marketing), OnDemandFeatureView "
        "marketing_purchase_propensity (team marketing)",
    ]
    assert file_digest(registry_file(platform)) == before


def test_platform_may_not_drop_a_feature_a_team_projects(org):
    platform, _, _ = org
    edit(
        platform / "feature_views.py",
        '        Field(name="account_balance", dtype=Float64, description="Balance in EUR."),\n',
        "",
    )
    before = file_digest(registry_file(platform))
    result = invoke("apply", platform)
    assert result.exit_code == 1
    assert (
        "  dropping feature account_balance from FeatureView user_features breaks "
        "FeatureService risk_model (team risk), OnDemandFeatureView risk_spend_profile (team risk)"
    ) in result.output.splitlines()
    assert file_digest(registry_file(platform)) == before


def test_platform_may_not_delete_an_entity_or_source_a_used_view_needs(org):
    platform, _, _ = org
    # The view keeps its entity and source, but the repo stops defining them on their own.
    edit(
        platform / "entities.py", "customer = Entity(", "def customer_entity():\n    return Entity("
    )
    edit(platform / "feature_views.py", "entities=[customer]", "entities=[customer_entity()]")
    edit(
        platform / "feature_views.py",
        "from entities import customer,",
        "from entities import customer_entity,",
    )
    result = invoke("plan", platform)
    assert result.exit_code == 1
    assert (
        "  deleting Entity customer, which FeatureView customer_features needs, breaks "
        "FeatureService marketing_campaign_model (team marketing), OnDemandFeatureView "
        "marketing_purchase_propensity (team marketing)"
    ) in result.output.splitlines()


def test_override_carries_out_a_breaking_sync_and_says_so(org):
    platform, marketing, _ = org
    views = platform / "feature_views.py"
    text = views.read_text()
    views.write_text(text[: text.index("customer_features = FeatureView(")])
    result = invoke("apply", platform, "--allow-breaking-teams", "--yes")
    assert result.exit_code == 0, result.output
    assert "warning: --allow-breaking-teams: deleting FeatureView customer_features breaks" in (
        result.output
    )
    findings = json.loads(invoke("audit", platform, "--json").stdout)["findings"]
    assert {(f["rule"], f["subject"]) for f in findings} == {
        ("dangling-reference", "FeatureService marketing_campaign_model (team marketing)"),
        (
            "dangling-reference",
            "OnDemandFeatureView marketing_purchase_propensity (team marketing)",
        ),
    }


# --- pruning -------------------------------------------------------------------------------


def test_plain_apply_never_deletes_and_prune_deletes_only_own_orphans(org):
    platform, marketing, risk = org
    (risk / "feature_services.py").unlink()
    plain = invoke("plan", risk, "--json")
    assert plain.exit_code == 0, plain.output
    assert "delete" not in {c["action"] for c in json.loads(plain.stdout)["changes"]}
    pruning = json.loads(invoke("plan", risk, "--json", "--prune").stdout)["changes"]
    assert [c for c in pruning if c["action"] == "delete"] == [
        {"kind": "FeatureService", "name": "risk_model", "action": "delete"}
    ]
    assert invoke("apply", risk).exit_code == 0
    assert invoke("plan", risk, "--prune").exit_code == 2  # still there after a plain apply
    assert invoke("apply", risk, "--prune", "--yes").exit_code == 0
    assert invoke("plan", risk, "--prune").exit_code == 0
    assert invoke("plan", marketing).exit_code == 0  # marketing untouched
    assert invoke("plan", platform).exit_code == 0


def test_prune_is_refused_for_the_platform(org):
    platform, _, _ = org
    result = invoke("apply", platform, "--prune")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: --prune is for team repos; the platform sync always deletes"
    )


# --- audit -----------------------------------------------------------------------------------


def test_audit_finds_each_kind_of_drift(org):
    platform, _, _ = org
    assert invoke("audit", platform).exit_code == 0
    from datetime import timedelta

    from feast import FeatureService, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Int64

    stock = FeatureStore(repo_path=str(platform))  # writes the way stock Feast lets anyone
    source = FileSource(name="scratch_source", path="/tmp/s.parquet", timestamp_field="ts")
    rogue_view = FeatureView(
        name="risk_shadow", source=source, schema=[Field(name="x", dtype=Int64)], ttl=timedelta(1)
    )
    stray = FeatureService(name="adhoc_service", features=[stock.get_feature_view("user_features")])
    stock.apply([source, rogue_view, stray])
    edit(platform / "federation.yaml", "teams:\n", "teams:\n  growth:\n    owners: [g@acme.io]\n")
    result = invoke("audit", platform, "--json")
    assert result.exit_code == 2
    findings = {(f["rule"], f["subject"]) for f in json.loads(result.stdout)["findings"]}
    assert findings == {
        ("unowned", "DataSource scratch_source"),
        ("unowned", "FeatureService adhoc_service"),
        ("wrong-kind", "FeatureService adhoc_service"),
        ("wrong-kind", "FeatureView risk_shadow"),
        ("policy-drift", "team growth"),
    }
    human = invoke("audit", platform)
    assert human.exit_code == 2 and "Registry drift" in human.output


def test_check_reports_violations_without_writing(org):
    platform, marketing, _ = org
    assert invoke("check", marketing).exit_code == 0
    (marketing / "planted.py").write_text(
        "from feast import FeatureService\nfrom feast_federation import platform_view\n"
        "risk_copy = FeatureService(name='risk_copy', features=[platform_view('user_features')])\n"
    )
    before = file_digest(registry_file(platform))
    result = invoke("check", marketing)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "FeatureService risk_copy: team marketing's names must start with marketing_"
    )
    assert file_digest(registry_file(platform)) == before
