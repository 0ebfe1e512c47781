"""String references and pinned versions by the rules alone, without Feast: how a reference
reads, which orgs serve pins, what breaks a pinned service, and the offline check of the
string references in a team repo's source against its platform contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feast_federation.rules.ownership import (
    Definition,
    PlatformState,
    Usage,
    ViewShape,
    breakages,
    dangling,
)
from feast_federation.rules.references import Reference, parse_reference, pin_refusal
from feast_federation.rules.source_check import source_problems
from support import invoke

# Each form Feast 0.67 reads, as it reads it (test_reference_forms.py checks Feast agrees).
FORMS = {
    "user_features": Reference("user_features", "user_features"),
    "user_features:age": Reference("user_features:age", "user_features", None, "age"),
    "user_features@v2": Reference("user_features@v2", "user_features", 2),
    "user_features@V2:age": Reference("user_features@V2:age", "user_features", 2, "age"),
    "user_features@latest:age": Reference("user_features@latest:age", "user_features", None, "age"),
    "user_features@:age": Reference("user_features@:age", "user_features", None, "age"),
    "user_features@version2:age": Reference(
        "user_features@version2:age", "user_features@version2", None, "age"
    ),
    "user_features:": Reference("user_features:", "user_features", None, ""),
    "v:a:b": Reference("v:a:b", "v", None, "a:b"),
    "growth_odfv@v0": Reference("growth_odfv@v0", "growth_odfv", 0),
}


@pytest.mark.parametrize("text", list(FORMS))
def test_a_reference_reads_as_feast_reads_it(text):
    assert parse_reference(text) == FORMS[text]


def test_pins_are_served_only_where_feast_serves_them():
    assert pin_refusal("sqlite", "sql", True) is None
    assert pin_refusal("dynamodb", "file", True) is None
    assert "enable_online_feature_view_versioning: true" in pin_refusal("postgres", "sql", False)
    assert "online store bigtable" in pin_refusal("bigtable", "sql", True)
    assert "registry server" in pin_refusal("redis", "remote", True)


GROWTH = Definition("FeatureService", "growth_model")
BEFORE = PlatformState(
    views={"user_features": ViewShape("user_features", frozenset({"age", "balance"}))},
    entities=frozenset(),
    sources=frozenset(),
)


def _after(features: set[str] | None) -> PlatformState:
    views = (
        {}
        if features is None
        else {"user_features": ViewShape("user_features", frozenset(features))}
    )
    return PlatformState(views=views, entities=frozenset(), sources=frozenset())


def test_a_pin_survives_a_dropped_feature_but_not_a_deleted_view():
    unpinned = Usage(GROWTH, "growth", "user_features", frozenset({"balance"}))
    pinned = Usage(GROWTH, "growth", "user_features", frozenset({"balance"}), 0)
    assert breakages([unpinned], BEFORE, _after({"age"})) == [
        "dropping feature balance from FeatureView user_features breaks "
        "FeatureService growth_model (team growth)"
    ]
    assert breakages([pinned], BEFORE, _after({"age"})) == []
    assert breakages([pinned], BEFORE, _after(None)) == [
        "deleting FeatureView user_features breaks FeatureService growth_model (team growth)"
    ]


def test_a_pinned_usage_reads_its_versions_snapshot():
    views = {"user_features": ViewShape("user_features", frozenset({"age"}))}
    v0 = ViewShape("user_features", frozenset({"age", "balance"}))
    ok = Usage(GROWTH, "growth", "user_features", frozenset({"balance"}), 0)
    lacking = Usage(GROWTH, "growth", "user_features", frozenset({"income"}), 0)
    missing = Usage(GROWTH, "growth", "user_features", frozenset({"age"}), 7)
    found = dangling([ok, lacking, missing], views, {("user_features", 0): v0})
    assert [detail for _, detail in found] == [
        "reads income from user_features@v0, which lacks it",
        "reads user_features@v7, which does not exist",
    ]


# --- the offline check (check --offline, the pre-commit hook) ------------------------------

CONTRACT = {
    "project": "acme",
    "views": {
        "user_features": {
            "entities": [{"name": "user", "join_key": "user_id", "value_type": "INT64"}],
            "fields": {"age": "Int64"},
            "ttl_seconds": 0,
            "versions": {"v0": {"age": "Int64", "balance": "Float64"}, "v1": {"age": "Int64"}},
        }
    },
    "adopted": {},
    "registry_objects": {"FeatureView": ["user_features"]},
    "pins": {"served": True},
}
ODFV = """from feast import Field
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64


@on_demand_feature_view(sources=[], schema=[Field(name="score", dtype=Float64)])
def growth_odfv(inputs):
    return inputs
"""
SERVICE = (
    "from feast import FeatureService\n\n"
    "growth_s = FeatureService(name='growth_s', features={refs!r})\n"
)


def team_repo(directory: Path, refs: list[str], contract: dict = CONTRACT) -> Path:
    (directory / "feature_store.yaml").write_text("project: acme\n")
    (directory / "pyproject.toml").write_text(
        '[tool.feast-federation]\nrepo = "team"\nteam = "growth"\n'
    )
    (directory / "platform_contract.json").write_text(json.dumps(contract))
    (directory / "on_demand_views.py").write_text(ODFV)
    (directory / "feature_services.py").write_text(SERVICE.format(refs=refs))
    return directory


def test_every_valid_reference_form_passes_the_offline_check(tmp_path):
    refs = ["user_features", "user_features:age", "user_features@v0:balance", "user_features@v1",
            "growth_odfv", "growth_odfv:score"]  # fmt: skip
    assert source_problems(team_repo(tmp_path, refs)) == []


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("nope", ": no platform view nope in the contract and no ODFV nope in the repo"),
        ("user_features:balance", ": user_features has no feature 'balance' (age)"),
        ("user_features@v9", ": the contract has no version v9 of user_features (it lists v0, v1)"),
        ("user_features@v1:balance", ": user_features@v1 has no feature 'balance' (age)"),
        ("growth_odfv:nope", ": growth_odfv has no feature 'nope' (score)"),
        ("user_features@version0", ": no platform view user_features@version0 in the contract"
         " and no ODFV user_features@version0 in the repo"),
    ],
)  # fmt: skip
def test_an_unresolvable_reference_is_one_line_naming_it(tmp_path, ref, problem):
    [line] = source_problems(team_repo(tmp_path, [ref]))
    assert line == f"feature_services.py:3: FeatureService growth_s: reference {ref!r}{problem}"


def test_a_pin_the_org_cannot_serve_is_refused_offline_naming_the_setting(tmp_path):
    why = "the registry does not enable versioned reads (registry.enable_online_feature_view_versioning: true in feature_store.yaml; see the platform guide)"  # noqa: E501
    contract = {**CONTRACT, "pins": {"served": False, "why": why}}
    [line] = source_problems(team_repo(tmp_path, ["user_features@v0:age"], contract))
    assert line.endswith(f"pins a version, which this org cannot serve: {why}")
    result = invoke("check", tmp_path, "--offline")
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_no_promote_is_refused_in_one_line(tmp_path):
    result = invoke("plan", tmp_path, "--no-promote")
    assert result.exit_code == 1
    assert result.output.startswith("error: --no-promote is not supported: Feast 0.67's SQL")
    assert len(result.output.strip().splitlines()) == 1
