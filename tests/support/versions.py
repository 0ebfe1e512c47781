"""Orgs with Feast's versioned reads on, and the story every online store that serves pins
goes through: a team pins ``user_features@v0``, the platform changes the view's schema (v1)
and its data, and the pinned service keeps serving v0 while an unpinned one serves v1.

Everything runs in this process, through ``feast_federation`` (its patches installed), on
the servers the caller's environment points at. The org's team must not read
``user_features.account_balance`` unpinned (a team on ``customer_features``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

PINNED_SERVICES = """from feast import FeatureService

{team}_pinned = FeatureService(name="{team}_pinned", features=["user_features@v0"])
{team}_latest = FeatureService(name="{team}_latest", features=["user_features:age"])
"""
BALANCE_FIELD = (
    '        Field(name="account_balance", dtype=Float64, description="Balance in EUR."),\n'
)
USER = 1001


def enable_versioning(*repos: Path) -> None:
    """Turn on Feast's versioned reads in each repo's feature_store.yaml."""
    for repo in repos:
        config = repo / "feature_store.yaml"
        text = config.read_text()
        assert "\nregistry:\n" in text, text
        config.write_text(
            text.replace(
                "\nregistry:\n", "\nregistry:\n  enable_online_feature_view_versioning: true\n", 1
            )
        )


def apply(repo: Path, **options):
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo

    return sync.apply(find_repo(repo), **options)


def plan(repo: Path, **options):
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo

    return sync.plan(find_repo(repo), **options)


def served(repo: Path, service: str, row: dict | None = None) -> dict:
    """One online row through the team's service, read as feast-federation reads it."""
    from feast_federation.registry import open_store

    store = open_store(repo)
    store.refresh_registry()
    rows = [row or {"user_id": USER}]
    return store.get_online_features(
        features=store.get_feature_service(service), entity_rows=rows
    ).to_dict()


def materialize(platform: Path) -> None:
    from feast_federation.ops.materialize import materialize_repo

    materialize_repo(platform, quiet=True)


def pinned_story(platform: Path, team_dir: Path, raise_ages: Callable[[int], None]) -> dict:
    """Run the story; returns what each service served at each step and the plan of the
    schema change, for the caller to assert on."""
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.contract import refresh_team_contract

    team = team_dir.name
    refresh_team_contract(find_repo(team_dir))  # the contract now records v0
    (team_dir / "pinned_services.py").write_text(PINNED_SERVICES.format(team=team))
    apply(team_dir)
    before = {kind: served(team_dir, f"{team}_{kind}") for kind in ("pinned", "latest")}

    views = platform / "feature_views.py"
    views.write_text(views.read_text().replace(BALANCE_FIELD, ""))  # v1: no account_balance
    raise_ages(100)
    change = plan(platform)
    apply(platform)
    materialize(platform)
    after = {kind: served(team_dir, f"{team}_{kind}") for kind in ("pinned", "latest")}

    described = views.read_text().replace(
        "Profile facts about each user.", "Profile facts about each user, v1."
    )
    views.write_text(described)  # a change that keeps the schema
    apply(platform)
    described = {kind: served(team_dir, f"{team}_{kind}") for kind in ("pinned", "latest")}
    return {"before": before, "plan": change, "after": after, "described": described}


def assert_pins_served(story: dict, team: str) -> None:
    """What every store that serves pins must show."""
    before, after, described = story["before"], story["after"], story["described"]
    age, balance = before["pinned"]["age"][0], before["pinned"]["account_balance"][0]
    assert age is not None and balance is not None, before
    assert before["latest"]["age"] == [age]
    [view] = [c for c in story["plan"].to_json()["changes"] if c["name"] == "user_features"]
    assert view["values"]["version"] == {"old": "v0", "new": "v1"}, view
    assert f"FeatureService {team}_pinned (team {team}) reads v0" in view["pinned_by"], view
    # The pinned service serves v0 as it was; the unpinned one the active version, v1.
    assert after["pinned"] == before["pinned"], after
    assert after["latest"]["age"] == [age + 100], after
    assert "account_balance" not in after["latest"]
    # A change that keeps the schema keeps v1 active (Feast alone would fall back to v0).
    assert described == after, described
