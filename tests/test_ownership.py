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
    validate_added_team,
    validate_grandfathered,
    validate_policy,
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


# --- the ownership index against the rules it replaced -----------------------------------


def reference_owner_of(name: str, keeping: list[Team], by_start: dict[str, list[Team]]) -> str:
    """``Policy.owner_of`` as it was, a scan of the teams in the policy's order, restricted to
    those that could match (which keeps 10,000 teams times 70,000 names to seconds): for
    kept names the teams that keep any, for prefixes the teams whose prefix starts with the
    name's first two characters."""
    for team in keeping:
        if name in team.names:  # most names are no team's kept name: keeping is then empty
            return team.name
    for team in by_start.get(name[:2], []):
        if name.startswith(team.prefix):
            return team.name
    return PLATFORM


def generated_policy(count: int, seed: int) -> Policy:
    """``count`` teams with names of one to three underscore-joined parts, short enough that
    many nest (``ab``, ``ab_c``, ``ab_c_d``: never validated), some holding kept names,
    some of them another team's prefixed names or held by two teams."""
    import random

    chooser = random.Random(seed)
    letters = "abcdefgh"
    names: dict[str, None] = {}
    while len(names) < count:
        parts = [
            "".join(chooser.choice(letters) for _ in range(chooser.randint(1, 3)))
            for _ in range(chooser.randint(1, 3))
        ]
        names["_".join(parts)] = None
    order = list(names)
    teams = {}
    for index, name in enumerate(order):
        kept: tuple[str, ...] = ()
        if index % 7 == 0:  # a kept name of its own, and another team's prefixed name
            kept = (f"legacy_{name}", f"{order[index - 1]}_adopted")
        elif index % 11 == 0:  # the same kept name as an earlier team
            kept = (f"legacy_{order[index - 4]}",)
        teams[name] = Team(name, (f"{name}@x.io",), names=kept)
    return Policy(project="acme", teams=teams)


def names_to_ask(policy: Policy) -> list[str]:
    asked = ["", "_", "platform_view", "legacy", "a", "a_"]
    for team in policy.teams.values():
        asked += [team.name, team.prefix, f"{team.name}_model", f"{team.name}_x_y",
                  f"{team.name}x_model", f"{team.name[:-1]}_model", *team.names]  # fmt: skip
    return asked


def test_the_ownership_index_gives_every_name_the_owner_the_scan_gave():
    policy = generated_policy(10_000, seed=31)
    by_start: dict[str, list[Team]] = {}
    for team in policy.teams.values():
        by_start.setdefault(team.prefix[:2], []).append(team)
    keeping = [team for team in policy.teams.values() if team.names]
    kept = {name for team in keeping for name in team.names}
    asked = names_to_ask(policy)
    expected = [
        reference_owner_of(name, keeping if name in kept else [], by_start) for name in asked
    ]
    assert [policy.owner_of(name) for name in asked] == expected
    # The policy holds nesting teams and kept names in every case the rules distinguish.
    assert {PLATFORM} < set(expected) and len(set(expected)) > 3_000
    nested = [n for n in asked if sum(n.startswith(t.prefix) for t in by_start.get(n[:2], [])) > 1]
    assert nested and any(name.startswith("legacy_") for name in asked)


def reference_validate_names(names: list[str]) -> None:
    """The checks ``validate_policy`` made between team names, each against every earlier
    one."""
    seen: list[str] = []
    for name in names:
        for other in seen:
            if other == name:
                raise OwnershipError(f"team name {name!r}: team {name} is already registered")
            if name.startswith(f"{other}_") or other.startswith(f"{name}_"):
                shorter = min(name, other, key=len)
                raise OwnershipError(
                    f"team name {name!r}: prefixes would nest with registered team {other} "
                    f"({shorter}_ would own the other's names)"
                )
        seen.append(name)


@pytest.mark.parametrize("seed", range(40))
def test_a_policy_is_refused_for_the_first_clash_the_pairwise_checks_found(seed):
    import random

    chooser = random.Random(seed)
    names = [f"team{index}_{chooser.choice('xyz')}" for index in range(300)]
    names = list(dict.fromkeys(names))
    at = chooser.randrange(1, len(names))
    clash = chooser.choice(
        [
            names[chooser.randrange(at)].rsplit("_", 1)[0],  # an earlier team's prefix
            f"{names[chooser.randrange(at)]}_more",  # nested under an earlier team
            "team1",
        ]  # fmt: skip
    )
    names.insert(at, clash)
    with pytest.raises(OwnershipError) as expected:
        reference_validate_names(names)
    policy = Policy(project="acme", teams={name: Team(name, ("o@x.io",)) for name in names})
    with pytest.raises(OwnershipError) as refused:
        validate_policy(policy)
    assert str(refused.value) == str(expected.value)
    with pytest.raises(OwnershipError) as one_by_one:
        validate_team_name(names[at], names[:at])
    assert str(one_by_one.value) == str(expected.value)


def test_a_kept_name_under_another_teams_prefix_names_the_first_such_team():
    teams = {name: Team(name, ("o@x.io",)) for name in ("zed", "ab_c", "ab", "qq")}
    teams["qq"] = Team("qq", ("o@x.io",), names=("ab_c_old",))
    with pytest.raises(OwnershipError, match="starts with team ab_c's prefix ab_c_"):
        validate_grandfathered(Policy(project="acme", teams=teams))


def _verdict(check, policy: Policy) -> str:
    try:
        check(policy)
    except OwnershipError as exc:
        return str(exc)
    return "accepted"


ADDED_TEAMS = [
    Team("growth", ("g@x.io",)),
    Team("risk_ml", ("r@x.io",)),  # nested under risk
    Team("legacy", ("l@x.io",)),  # a kept name starts with its prefix
    Team("pricing", ("p@x.io",), role="feast-team-risk"),  # another team's role
    Team("ads", ("a@x.io",), role="feast-platform"),  # the platform's role
    Team("search", ("s@x.io",), offline_schema="marketing"),  # another team's schema
    Team("bad-name", ("b@x.io",)),
    Team("owners", ("not an owner",)),
]


@pytest.mark.parametrize("added", ADDED_TEAMS, ids=lambda team: team.name)
def test_checking_only_an_added_team_gives_the_whole_policys_verdict(added):
    teams = {
        "marketing": Team("marketing", ("m@x.io",), names=("legacy_scores",)),
        "risk": Team("risk", ("r@x.io",)),
    }
    validate_policy(Policy(project="acme", platform_owners=("p@x.io",), teams=teams))
    after = Policy(project="acme", platform_owners=("p@x.io",), teams={**teams, added.name: added})
    whole = _verdict(validate_policy, after)
    assert _verdict(lambda policy: validate_added_team(policy, added.name), after) == whole
    assert (whole == "accepted") == (added.name == "growth")
