"""Kept names (issue 16): a team's adopted names without its prefix, listed under
``names:`` in federation.yaml. The policy checks them, the permissions match exactly them,
``--prune`` covers them and new objects still need the prefix. Fast: no registry."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from feast_federation.errors import FederationError
from feast_federation.rules.ownership import Definition, Policy, Team, violations
from feast_federation.rules.policy import parse_policy

POLICY = """
project: shop
platform: {{owners: [p@shop.io]}}
teams:
  ml: {{owners: [ml@shop.io], names: {ml}}}
  risk: {{owners: [risk@shop.io], names: {risk}}}
"""


def policy_text(ml: str = "[]", risk: str = "[]") -> str:
    return POLICY.format(ml=ml, risk=risk)


def refusal(ml: str, risk: str = "[]") -> str:
    with pytest.raises(FederationError) as error:
        parse_policy(policy_text(ml, risk), "federation.yaml")
    message = str(error.value)
    assert "\n" not in message
    return message


def test_kept_names_are_read():
    policy = parse_policy(policy_text("[churn.model+v1, cart]", "[fraud_model]"))
    assert policy.teams["ml"].names == ("churn.model+v1", "cart")
    assert policy.owner_of("cart") == "ml" and policy.owner_of("fraud_model") == "risk"
    assert policy.owner_of("cart_total") == "platform"


@pytest.mark.parametrize(
    "ml, risk, message",
    [
        ("[cart]", "[cart]", "team risk: names: cart is already team ml's"),
        ("[cart, cart]", "[]", "team ml: names: cart is listed twice"),
        ("[risk_score]", "[]", "team ml: names: risk_score starts with team risk's prefix risk_"),
        ("[cart, 7]", "[]", "team ml: names: 7 is not a name (a string)"),
        ("[yes]", "[]", "team ml: names: True is not a name (a string)"),
        ("cart", "[]", "team ml: names must be a list of object names"),
        ("['a,b']", "[]", "team ml: names: 'a,b' holds a comma"),
        ("[' cart']", "[]", "team ml: names: ' cart' starts or ends with a space"),
        ("['']", "[]", "team ml: names: '' is not a usable name"),
        ("[__dummy]", "[]", "team ml: names: '__dummy' is not a usable name"),
    ],
)
def test_bad_kept_names_are_refused_in_one_line(ml, risk, message):
    assert message in refusal(ml, risk)


def test_a_new_object_without_the_prefix_is_still_refused():
    policy = Policy("shop", teams={"ml": Team("ml", names=("churn.model+v1",))})
    mine = [
        Definition("FeatureService", "churn.model+v1"),
        Definition("FeatureService", "ml_new"),
        Definition("FeatureService", "churn.model+v2"),
        Definition("FeatureService", "churn-model+v1"),
    ]
    assert violations("ml", mine, policy) == [
        "FeatureService churn-model+v1: team ml's names must start with ml_",
        "FeatureService churn.model+v2: team ml's names must start with ml_",
    ]
    assert violations("platform", [Definition("FeatureView", "churn.model+v1")], policy) == [
        "FeatureView churn.model+v1: the name has team ml's prefix ml_; "
        "the platform may not define team objects"
    ]


@pytest.mark.slow
def test_permission_patterns_match_exactly_the_kept_names():
    from feast_federation.registry.permissions import team_name_patterns

    team = Team("ml", names=("churn.model+v1", "a|b", "x(y)*", "cart"))
    patterns = team_name_patterns(team)

    def allowed(name: str) -> bool:  # as Feast matches them (feast.permissions.matcher)
        return any(re.fullmatch(pattern, name) for pattern in patterns)

    assert all(map(allowed, ["ml_anything", "churn.model+v1", "a|b", "x(y)*", "cart"]))
    for name in ["churnXmodel+v1", "churn.modelv1", "churn.model+v1x", "a", "b", "x", "xyy",
                 "carts", "risk_cart", "ml"]:  # fmt: skip
        assert not allowed(name), name


@pytest.mark.slow
def test_published_policy_carries_kept_names_back():
    from feast_federation.registry.permissions import (
        _team_from,
        policy_permissions,
        write_permission_name,
    )

    policy = parse_policy(policy_text("[churn.model+v1, 'a|b', cart]"))
    write = next(p for p in policy_permissions(policy) if p.name == write_permission_name("ml"))
    assert _team_from(write.tags).names == policy.teams["ml"].names


@pytest.mark.slow
def test_prune_covers_kept_names_and_only_the_teams():
    from feast.data_source import RequestSource
    from feast.feature_service import FeatureService
    from feast.field import Field
    from feast.types import Float64

    from feast_federation.registry.lookups import list_team_kinds

    services = [FeatureService(name=n, features=[]) for n in
                ("churn.model+v1", "ml_x", "churnXmodel+v1", "risk_y", "fraud_model")]  # fmt: skip
    sources = [RequestSource(name=n, schema=[Field(name="v", dtype=Float64)]) for n in
               ("cart", "carts")]  # fmt: skip
    registry = SimpleNamespace(
        list_feature_services=lambda project, allow_cache: services,
        list_on_demand_feature_views=lambda project, allow_cache: [],
        list_data_sources=lambda project, allow_cache: sources,
    )
    store = SimpleNamespace(registry=registry, project="shop")
    team = Team("ml", names=("churn.model+v1", "cart"))
    held = list_team_kinds(store, team.prefix, team.names)
    assert sorted(obj.name for obj in held) == ["cart", "churn.model+v1", "ml_x"]
