"""Audit sees every change made around the federation: modified, added and deleted objects of
every owner, wrong kinds with the command that removes them, and a raw `feast apply` from a
team repo, each with what puts the registry back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import build_org, invoke, run

pytestmark = pytest.mark.slow

PLATFORM_APPLY = "`python apply.py` in the platform repo"


@pytest.fixture()
def org(tmp_path):
    platform, (marketing, risk) = build_org(tmp_path / "org")
    assert invoke("audit", platform).exit_code == 0
    return platform, marketing, risk


def stock(repo: Path):
    """A FeatureStore writing the way stock Feast lets anyone."""
    from feast import FeatureStore

    return FeatureStore(repo_path=str(repo))


def findings(platform: Path) -> dict[tuple[str, str], str]:
    result = invoke("audit", platform, "--json")
    assert result.exit_code in (0, 2), result.output
    return {(f["rule"], f["subject"]): f["detail"] for f in json.loads(result.stdout)["findings"]}


def names(platform: Path) -> set[tuple[str, str]]:
    """Every object in the project, as (kind, name)."""
    from feast_federation.registry import open_store
    from feast_federation.registry.kinds import kind_of

    store = open_store(platform)
    reg, project = store.registry, store.project
    listers = (reg.list_entities, reg.list_data_sources, reg.list_feature_views,
               reg.list_feature_services, reg.list_on_demand_feature_views)  # fmt: skip
    return {
        (kind_of(obj), obj.name) for lister in listers for obj in lister(project, allow_cache=False)
    }


def apply(repo: Path, *args: str) -> None:
    result = invoke("apply", repo, *args, "--yes")
    assert result.exit_code == 0, result.output


def test_a_raw_change_to_a_platform_views_source_is_reported(org):
    platform, _, _ = org
    store = stock(platform)
    view = store.get_feature_view("user_features")
    view.batch_source.file_options.uri = "/elsewhere/user_features.parquet"
    store.apply([view])
    found = findings(platform)
    assert set(found) == {
        ("modified", "DataSource user_features_source"),
        ("modified", "FeatureView user_features"),
    }
    assert found[("modified", "DataSource user_features_source")] == (
        "the registry's differs from the platform repo's (file_options): "
        f"{PLATFORM_APPLY} puts the repo's back"
    )
    apply(platform)
    assert findings(platform) == {}


def test_deleted_platform_and_team_objects_are_reported_with_what_restores_them(org):
    platform, _, risk = org
    store = stock(platform)
    store.registry.delete_feature_view("driver_stats", store.project)
    store.registry.delete_feature_service("risk_model", store.project)
    assert findings(platform) == {
        ("deleted", "FeatureView driver_stats"): (
            f"the platform repo defines it; the registry lost it: {PLATFORM_APPLY} restores it"
        ),
        ("deleted", "FeatureService risk_model (team risk)"): (
            "team risk applied it; the registry lost it: `python apply.py` in team risk's repo "
            "re-creates it, or `feast-federation restore` from a backup"
        ),
    }
    apply(platform)
    apply(risk)
    assert findings(platform) == {}


def test_raw_team_objects_added_or_changed_are_reported(org):
    platform, marketing, _ = org
    from feast import FeatureService

    store = stock(marketing)
    service = store.get_feature_service("marketing_campaign_model")
    service.description = "edited by hand"
    extra = FeatureService(
        name="marketing_adhoc", features=[store.get_feature_view("customer_features")]
    )
    store.apply([service, extra])
    found = findings(platform)
    assert found == {
        ("modified", "FeatureService marketing_campaign_model (team marketing)"): (
            "differs from what team marketing last applied: `python apply.py` in team "
            "marketing's repo puts it back"
        ),
        ("added", "FeatureService marketing_adhoc (team marketing)"): (
            "not applied by team marketing's apply.py (the apply log has no record of it): "
            "`python apply.py --prune` in team marketing's repo removes it unless the repo "
            "defines it"
        ),
    }
    apply(marketing, "--prune")
    assert findings(platform) == {}


def test_a_team_prefixed_file_source_is_removed_by_the_platform_sync(org):
    platform, _, risk = org
    from feast import FileSource

    stock(risk).apply([FileSource(name="risk_src", path="/tmp/x.parquet", timestamp_field="ts")])
    assert findings(platform) == {
        ("wrong-kind", "DataSource risk_src"): (
            f"team risk may not hold a DataSource: {PLATFORM_APPLY} deletes it"
        )
    }
    plan = json.loads(invoke("plan", platform, "--json").stdout)["changes"]
    assert {"kind": "DataSource", "name": "risk_src", "action": "delete"} in plan
    apply(platform)
    assert findings(platform) == {}


def test_a_team_kind_in_the_platforms_name_space_names_the_command_that_removes_it(org):
    platform, _, _ = org
    from feast import FeatureService

    store = stock(platform)
    store.apply(
        [FeatureService(name="adhoc_service", features=[store.get_feature_view("user_features")])]
    )
    found = findings(platform)
    detail = found[("wrong-kind", "FeatureService adhoc_service")]
    assert set(found) == {
        ("wrong-kind", "FeatureService adhoc_service"),
        ("unowned", "FeatureService adhoc_service"),
    }
    command = detail.split("`")[1]
    assert command == f"feast -c {platform} delete adhoc_service"
    feast, *args = command.split()
    removed = run([str(Path(sys.executable).parent / feast), *args], cwd=platform)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert findings(platform) == {}


def test_a_raw_feast_apply_from_a_team_repo_is_reported_object_by_object(org):
    platform, marketing, risk = org
    before = names(platform)
    feast = Path(sys.executable).parent / "feast"
    result = run([str(feast), "-c", str(marketing), "apply"], cwd=marketing)
    assert result.returncode == 0, result.stdout + result.stderr
    gone = before - names(platform)
    assert gone, "the raw apply deleted nothing: the scenario is not what Feast does"
    found = findings(platform)
    for kind, name in gone:
        if kind == "Permission" or name == "__dummy":
            continue
        if name.startswith("risk_"):
            detail = found[("deleted", f"{kind} {name} (team risk)")]
            assert "`python apply.py` in team risk's repo" in detail
            assert "`feast-federation restore`" in detail
        else:
            assert found[("deleted", f"{kind} {name}")].endswith(f"{PLATFORM_APPLY} restores it")
    assert {rule for rule, _ in found} <= {"deleted", "policy-drift"}
    apply(platform)
    apply(risk)
    assert findings(platform) == {}


def test_a_team_repo_audits_its_own_objects_by_the_published_policy(org):
    platform, marketing, risk = org
    from feast import FeatureService

    assert invoke("audit", marketing).exit_code == 0
    store = stock(marketing)
    view = store.get_feature_view("driver_stats")
    drivers = FeatureService(name="marketing_drivers", features=[view])
    risky = FeatureService(name="risk_adhoc", features=[store.get_feature_view("user_features")])
    service = store.get_feature_service("marketing_campaign_model")
    service.description = "edited by hand"
    store.apply([drivers, risky, service])
    store.registry.delete_feature_view("driver_stats", store.project)
    (platform / "federation.yaml").unlink()  # a team's checkout has no platform repo
    assert findings(marketing) == {
        ("modified", "FeatureService marketing_campaign_model (team marketing)"): (
            "differs from what team marketing last applied: `python apply.py` in team "
            "marketing's repo puts it back"
        ),
        ("added", "FeatureService marketing_drivers (team marketing)"): (
            "not applied by team marketing's apply.py (the apply log has no record of it): "
            "`python apply.py --prune` in team marketing's repo removes it unless the repo "
            "defines it"
        ),
        ("dangling-reference", "FeatureService marketing_drivers (team marketing)"): (
            "reads driver_stats, which does not exist"
        ),
    }
    assert set(findings(risk)) == {("added", "FeatureService risk_adhoc (team risk)")}


def test_a_team_repo_of_an_unregistered_team_is_refused_in_one_line(org):
    _, marketing, _ = org
    pyproject = marketing / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('team = "marketing"', 'team = "ghost"'))
    result = invoke("audit", marketing)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: team ghost is not registered in the registry's policy: the platform must apply "
        "federation.yaml first"
    )
