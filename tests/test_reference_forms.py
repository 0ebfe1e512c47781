"""Every reference form Feast 0.67 accepts in a FeatureService, on a SQL registry in SQLite
with a SQLite online store and versioned reads on: plan, saved plan, apply, serve, prune,
delete protection, catalog, audit and restore read a string-form service as the object
form; a pinned service keeps serving its version after the platform changes the schema;
every unresolvable reference is one line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from feast_federation import data_location
from support import invoke
from support.versions import (
    CUSTOMER,
    PINNED_SERVICES,
    USERS,
    apply,
    assert_pins_served,
    drop_field,
    enable_versioning,
    materialize,
    pinned_story,
    served,
)
from support.versions import FORMS as FORMS_OF

pytestmark = pytest.mark.slow

FORMS = FORMS_OF.format(team="growth")
USER = USERS.row


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.contract import refresh_team_contract

    platform, (growth,) = bootstrap_org(
        tmp_path_factory.mktemp("forms") / "org", project="acme", owners=["p@acme.io"],
        teams=[("growth", "customer_features")], ci="none",
    )  # fmt: skip
    enable_versioning(platform, growth)
    apply(platform)
    materialize(platform)
    refresh_team_contract(find_repo(growth))  # it records the versions teams may pin
    apply(growth)
    return SimpleNamespace(platform=platform, growth=growth)


def services(org, text: str) -> Path:
    path = org.growth / "services.py"
    path.write_text(text)
    return path


def registry_spec(org, name: str):
    from feast_federation import registry
    from feast_federation.registry import open_store

    return registry.get(open_store(org.growth), "FeatureService", name).to_proto().spec


def test_feast_reads_references_as_the_offline_check_does():
    from feast.utils import _parse_feature_or_view_ref

    from feast_federation.rules.references import parse_reference

    for text in ["v", "v:f", "v@v3", "v@V3:f", "v@latest:f", "v@:f", "v@ver3:f", "v:", "v:a:b",
                 "@v1", "v@v1\n:f", "v@v٣:f"]:  # fmt: skip
        ref = parse_reference(text)
        assert (ref.view, ref.version, ref.feature) == _parse_feature_or_view_ref(text), text


def test_every_reference_form_plans_applies_and_serves(org, tmp_path):
    from feast_federation.rules.source_check import source_problems

    services(org, FORMS)
    assert source_problems(org.growth) == []  # the pre-commit hook, from the source
    checked = invoke("check", org.growth)
    assert checked.exit_code == 0, checked.output
    saved = tmp_path / "plan.json"
    planned = invoke("plan", org.growth, "--json", "--out", saved)
    assert planned.exit_code == 2, planned.output
    added = {c["name"] for c in json.loads(planned.stdout)["changes"] if c["action"] == "add"}
    assert added == {
        "growth_view", "growth_feature", "growth_pin", "growth_pin_feature", "growth_odfv",
        "growth_mixed", "growth_view_obj", "growth_feature_obj",
    }  # fmt: skip
    applied = invoke("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert invoke("plan", org.growth).exit_code == 0  # nothing left to change

    # The string form is stored exactly as the object form; a pin carries its version.
    assert (
        registry_spec(org, "growth_view").features == registry_spec(org, "growth_view_obj").features
    )
    assert (
        registry_spec(org, "growth_feature").features
        == registry_spec(org, "growth_feature_obj").features
    )  # noqa: E501
    [pin] = registry_spec(org, "growth_pin").features
    assert pin.HasField("version_tag") and pin.version_tag == 0

    view = served(org.growth, "growth_view", USER)
    assert None not in view["age"] + view["account_balance"]
    assert served(org.growth, "growth_view_obj", USER) == view
    assert served(org.growth, "growth_feature", USER) == {"user_id": [1001], "age": view["age"]}
    assert served(org.growth, "growth_pin", USER) == view
    pin_feature = served(org.growth, "growth_pin_feature", USER)
    assert pin_feature["account_balance"] == view["account_balance"]
    odfv = served(org.growth, "growth_odfv", CUSTOMER)
    assert None not in odfv["purchase_propensity_score"] + odfv["total_purchases"]
    mixed = served(org.growth, "growth_mixed", {**CUSTOMER, **USER})
    assert mixed["age"] == view["age"] and None not in mixed["total_purchases"]


def test_a_plan_shows_the_version_an_odfv_change_makes(org):
    odfvs = org.growth / "on_demand_views.py"
    original = odfvs.read_text()
    odfvs.write_text(original.replace("/ 3\n", "/ 4\n"))
    try:
        planned = invoke("plan", org.growth, "--json")
    finally:
        odfvs.write_text(original)
    [change] = [c for c in json.loads(planned.stdout)["changes"] if c["action"] == "update"]
    assert change["name"] == "growth_purchase_propensity", change
    assert change["values"]["version"] == {"old": "v0", "new": "v1"}


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("nope", "no feature view or ODFV nope in the repo or the registry (is the platform "
                 "applied?)"),
        ("growth_nope", "no feature view or ODFV growth_nope in the repo or the registry"),
        ("user_features:nope", "FeatureView user_features has no feature 'nope' (it has age, "
                               "account_balance)"),
        ("user_features:", "FeatureView user_features has no feature '' (it has age, "
                           "account_balance)"),
        ("user_features@v9:age", "FeatureView user_features has no version v9 (it has v0)"),
        ("user_features@version0", "no feature view or ODFV user_features@version0 in the repo "
                                   "or the registry (is the platform applied?)"),
        ("nope@v0", "no feature view or ODFV nope in the repo or the registry (is the platform "
                    "applied?)"),
    ],
)  # fmt: skip
def test_an_unresolvable_reference_is_refused_in_one_line(org, ref, problem):
    planted = org.growth / "planted.py"
    planted.write_text(
        "from feast import FeatureService\n"
        f"s = FeatureService(name='growth_bad', features=[{ref!r}])\n"
    )
    try:
        result = invoke("plan", org.growth)
        offline = invoke("check", org.growth, "--offline")
    finally:
        planted.unlink()
    assert result.exit_code == 1 and offline.exit_code == 1, result.output + offline.output
    assert "Traceback" not in result.output + offline.output
    assert result.output.splitlines() == [
        "error: refused; nothing was written:",
        f"  FeatureService growth_bad: reference {ref!r}: {problem}",
    ]


def test_one_service_defined_twice_with_other_references_is_refused(org):
    service = (
        "from feast import FeatureService\ns = FeatureService(name='growth_dup', features={})\n"
    )
    (org.growth / "first.py").write_text(service.format(["user_features:age"]))
    (org.growth / "second.py").write_text(service.format(["user_features"]))
    try:
        result = invoke("plan", org.growth)
    finally:
        (org.growth / "first.py").unlink()
        (org.growth / "second.py").unlink()
    assert (
        result.output
        == "error: FeatureService growth_dup: defined twice (first.py and second.py)\n"
    )


def test_a_pin_is_refused_where_the_org_cannot_serve_it(org):
    config = org.growth / "feature_store.yaml"
    original = config.read_text()
    start = original.index("online_store:")
    end = original.index("offline_store:")
    cases = {
        "online store datastore does not serve pinned versions in Feast 0.67 (sqlite, postgres, "
        "redis and dynamodb do)": original[:start]
        + "online_store:\n  type: datastore\n  project_id: acme-online\n"
        + original[end:],
        "the registry does not enable versioned reads (registry."
        "enable_online_feature_view_versioning: true in feature_store.yaml; see the platform "
        "guide)": original.replace("  enable_online_feature_view_versioning: true\n", ""),
    }
    services(org, PINNED_SERVICES.format(team="growth", view="user_features", kept="age"))
    try:
        for why, text in cases.items():
            config.write_text(text)
            result = invoke("plan", org.growth)
            assert result.exit_code == 1, result.output
            assert result.output.splitlines() == [
                "error: refused; nothing was written:",
                "  FeatureService growth_pinned: reference 'user_features@v0' pins a version, "
                f"which this org cannot serve: {why}",
            ]
    finally:
        config.write_text(original)


def test_delete_protection_and_prune_read_string_references(org):
    services(org, FORMS)
    assert invoke("apply", org.growth).exit_code == 0
    views = org.platform / "feature_views.py"
    original = views.read_text()
    drop_field(org.platform, "account_balance")
    try:
        refused = invoke("plan", org.platform)
        assert refused.exit_code == 1
        # Unpinned readers break; a pin of v0 reads v0's snapshot, which stays.
        assert refused.output.splitlines()[1:] == [
            "  dropping feature account_balance from FeatureView user_features breaks "
            "FeatureService growth_view (team growth), FeatureService growth_view_obj (team growth)"
        ]
        start = original.index("user_features = FeatureView(")
        views.write_text(original[:start] + original[original.index("driver_stats = ") :])
        deleting = invoke("plan", org.platform).output
        assert "deleting FeatureView user_features breaks" in deleting
        assert "FeatureService growth_pin (team growth)" in deleting  # its history would go
    finally:
        views.write_text(original)
    services(org, FORMS.split("growth_view_obj =")[0].replace("growth_view = Feat", "# Feat"))
    pruned = invoke("apply", org.growth, "--prune", "--yes", "--json")
    assert pruned.exit_code == 0, pruned.output
    deleted = {c["name"] for c in json.loads(pruned.stdout)["changes"] if c["action"] == "delete"}
    assert deleted == {"growth_view", "growth_view_obj", "growth_feature_obj"}


def raise_ages(platform: Path):
    def raised(by: int) -> None:
        data = Path(data_location(platform)) / "user_features.parquet"
        frame = pd.read_parquet(data)
        frame["age"] = frame["age"] + by
        frame.to_parquet(data, index=False)

    return raised


def test_a_pinned_service_keeps_its_version_after_a_schema_change(org):
    from feast_federation.ops.catalog import build
    from feast_federation.rules.repo import find_repo

    # Only pins read account_balance, which the platform's next version drops.
    services(org, FORMS.split("growth_mixed =")[0].replace("growth_view = Feat", "# Feat"))
    assert invoke("apply", org.growth, "--prune", "--yes").exit_code == 0
    story = pinned_story(org.platform, org.growth, USERS, raise_ages(org.platform))
    assert_pins_served(story)
    assert served(org.growth, "growth_pin", USER) == story["after"]["pinned"]

    # The catalog says who reads which version; the audit finds nothing dangling.
    [view] = [v for v in build(find_repo(org.platform))["views"] if v["name"] == "user_features"]
    readers = {user["name"]: user["version"] for user in view["used_by"]}
    assert readers["growth_pin"] == "v0" and readers["growth_feature"] == "latest"
    audited = invoke("audit", org.platform)
    assert audited.exit_code == 0, audited.output
    # Both contracts record the versions teams may pin, v1 without account_balance.
    assert invoke("contract", "refresh", org.growth).exit_code == 0
    for repo in (org.platform, org.growth):
        versions = json.loads((repo / "platform_contract.json").read_text())["views"]
        assert versions["user_features"]["versions"]["v1"] == {"age": "Int64"}
        assert "account_balance" in versions["user_features"]["versions"]["v0"]


def test_a_restore_keeps_the_version_history(org):
    from feast_federation.registry import open_store
    from feast_federation.registry.versions import numbers

    log = json.loads(invoke("log", org.platform, "--json").stdout)
    [schema_change] = [
        entry["id"]
        for entry in log
        for change in entry["changes"]
        if change["name"] == "user_features" and "features" in change.get("fields", [])
    ]
    pinned = served(org.growth, "growth_pin", USER)
    restored = invoke("restore", org.platform, "--to", schema_change - 1, "--yes")
    assert restored.exit_code == 0, restored.output
    # The old schema comes back as a new version: history is append-only, v0 and v1 stay,
    # and the pins of v0 serve as before.
    assert numbers(open_store(org.platform), "user_features") == [0, 1, 2]
    assert served(org.growth, "growth_pin", USER) == pinned


@pytest.mark.parametrize(
    "loaded_after, unloaded",
    [(-3.0, True), (0.0, True), (0.9, True), (1.0, False), (40.0, False)],
)
def test_a_new_version_counts_as_loaded_only_after_its_creation_second(loaded_after, unloaded):
    """Feast keeps a version's creation time in whole seconds: a load ending within that
    second may have read the view before the version existed, so it loads again."""
    from datetime import datetime, timedelta, timezone

    from feast_federation.registry.versions import unloaded_versions

    created = datetime(2026, 12, 7, 12, 0, 7, tzinfo=timezone.utc)  # stored as 12:00:07
    registry = SimpleNamespace(
        enable_online_feature_view_versioning=True,
        list_feature_view_versions=lambda name, project: [
            {"version_number": 0, "created_timestamp": created - timedelta(days=1)},
            {"version_number": 1, "created_timestamp": created},
        ],
    )
    store = SimpleNamespace(
        config=SimpleNamespace(registry=registry), registry=registry, project="acme"
    )
    view = SimpleNamespace(
        name="driver_stats", current_version_number=1, ttl=timedelta(days=7),
        most_recent_end_time=(created + timedelta(seconds=loaded_after)).replace(tzinfo=None),
    )  # fmt: skip
    found = unloaded_versions(store, [view])
    assert [name for name, _ in found] == (["driver_stats"] if unloaded else [])
    if unloaded:  # from where Feast starts a view never loaded: its TTL back from now
        start = found[0][1]
        assert abs(datetime.now(timezone.utc) - timedelta(days=7) - start) < timedelta(minutes=1)
