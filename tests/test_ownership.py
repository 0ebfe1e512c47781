"""The ownership rules, on their own: no Feast, no files."""

import pytest

from feast_federation.rules.ownership import (
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    PLATFORM,
    REQUEST_SOURCE,
    Definition,
    OwnershipError,
    Policy,
    Team,
    conflict_with_existing,
    validate_team_name,
    violations,
)
from support.hostile import HOSTILE_NAMES

POLICY = Policy(
    project="acme",
    teams={"marketing": Team("marketing", ("m@x",)), "risk": Team("risk", ("r@x",))},
)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_team_names_are_refused(name):
    with pytest.raises(OwnershipError, match="team name"):
        validate_team_name(name)


@pytest.mark.parametrize("name", ["ab", "marketing", "data_science", "t2", "a" * 30])
def test_good_team_names_pass(name):
    validate_team_name(name)


def test_duplicate_and_nested_prefixes_are_refused():
    with pytest.raises(OwnershipError, match="already registered"):
        validate_team_name("risk", ["marketing", "risk"])
    with pytest.raises(OwnershipError, match="nest with registered team data"):
        validate_team_name("data_science", ["data"])
    with pytest.raises(OwnershipError, match="nest with registered team data_science"):
        validate_team_name("data", ["data_science"])
    validate_team_name("database", ["data"])  # "data_" is not a prefix of "database_"


def test_owner_of_a_name_is_the_team_whose_prefix_starts_it():
    assert POLICY.owner_of("marketing_model") == "marketing"
    assert POLICY.owner_of("risk_x") == "risk"
    assert POLICY.owner_of("marketingx") == PLATFORM
    assert POLICY.owner_of("user_features") == PLATFORM


def test_team_may_write_only_its_kinds_and_prefix():
    problems = violations(
        "marketing",
        [
            Definition(FEATURE_SERVICE, "marketing_model"),
            Definition(ON_DEMAND_FEATURE_VIEW, "marketing_odfv"),
            Definition(REQUEST_SOURCE, "marketing_request"),
            Definition(FEATURE_VIEW, "marketing_view"),
            Definition(FEATURE_SERVICE, "risk_model"),
            Definition(FEATURE_SERVICE, "model"),
            Definition(ENTITY, "__dummy"),
        ],
        POLICY,
    )
    assert problems == [
        "Entity __dummy: the name __dummy is reserved for Feast",
        "FeatureService model: team marketing's names must start with marketing_",
        "FeatureService risk_model: the name belongs to team risk (prefix risk_)",
        "FeatureView marketing_view: team marketing may define only FeatureService, "
        "OnDemandFeatureView and RequestSource; a FeatureView belongs to the platform "
        "(reference platform views with feast_federation.platform_view)",
    ]


def test_platform_may_not_define_team_names_or_team_kinds():
    problems = violations(
        PLATFORM,
        [
            Definition(FEATURE_VIEW, "user_features"),
            Definition(DATA_SOURCE, "user_source"),
            Definition(ENTITY, "user"),
            Definition(FEATURE_VIEW, "risk_view"),
            Definition(FEATURE_SERVICE, "shared_model"),
        ],
        POLICY,
    )
    assert problems == [
        "FeatureService shared_model: the platform repo defines only DataSource, Entity, "
        "FeatureView, LabelView, Project and StreamFeatureView; FeatureServices belong in "
        "team repos",
        "FeatureView risk_view: the name has team risk's prefix risk_; "
        "the platform may not define team objects",
    ]


def test_implicit_writes_say_what_they_came_with():
    source = Definition(DATA_SOURCE, "user_source", via="OnDemandFeatureView marketing_odfv")
    [problem] = violations("marketing", [source], POLICY)
    assert problem.startswith(
        "DataSource user_source (written along with OnDemandFeatureView marketing_odfv): "
    )


def test_replacing_an_object_of_another_owners_kind_is_a_conflict():
    request = Definition(REQUEST_SOURCE, "marketing_events")
    assert "belongs to the platform" in conflict_with_existing("marketing", request, DATA_SOURCE)
    assert conflict_with_existing("marketing", request, REQUEST_SOURCE) is None
    odfv = Definition(ON_DEMAND_FEATURE_VIEW, "marketing_view")
    assert "FeatureView marketing_view" in conflict_with_existing("marketing", odfv, FEATURE_VIEW)
    # Different tables never conflict.
    assert conflict_with_existing("marketing", request, FEATURE_VIEW) is None


def test_each_team_has_its_own_offline_schema():
    from feast_federation.errors import FederationError
    from feast_federation.rules.policy import parse_policy

    shared = (
        "project: acme\nteams:\n"
        "  growth: {owners: [g@x.io], offline_schema: analytics}\n"
        "  risk: {owners: [r@x.io], offline_schema: analytics}\n"
    )
    with pytest.raises(FederationError) as refused:
        parse_policy(shared, "federation.yaml")
    assert str(refused.value) == (
        "federation.yaml: team risk: offline_schema analytics is already team growth's"
    )
    # A team's default schema is its name, so another team cannot take that name as its schema.
    with pytest.raises(FederationError, match="offline_schema growth is already team growth's"):
        parse_policy(shared.replace("offline_schema: analytics}", "offline_schema: growth}", 2)
                     .replace("growth: {owners: [g@x.io], offline_schema: growth}",
                              "growth: {owners: [g@x.io]}"), "federation.yaml")  # fmt: skip
    policy = parse_policy(shared.replace("analytics}\n  risk", "growth_dw}\n  risk"))
    assert [t.effective_offline_schema for t in policy.teams.values()] == ["growth_dw", "analytics"]
