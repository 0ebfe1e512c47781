"""Orgs with Feast's versioned reads on, the reference forms a team service may hold, and
the story every online store that serves pins goes through: a team pins ``VIEW@v0``, the
platform drops a field of the view (v1) and changes its data, and the pinned service keeps
serving v0 while an unpinned one serves v1, also after a change that keeps the schema.

Everything runs in this process, through ``feast_federation`` (its patches installed), on
the servers the caller's environment points at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every form, string and object, for a team whose starter is on customer_features.
FORMS = """from feast import FeatureService
from feast_federation import platform_view

{team}_view = FeatureService(name="{team}_view", features=["user_features"])
{team}_feature = FeatureService(name="{team}_feature", features=["user_features:age"])
{team}_pin = FeatureService(name="{team}_pin", features=["user_features@v0"])
{team}_pin_feature = FeatureService(
    name="{team}_pin_feature", features=["user_features@v0:account_balance"]
)
{team}_odfv = FeatureService(
    name="{team}_odfv", features=["{team}_purchase_propensity", "customer_features"]
)
{team}_mixed = FeatureService(
    name="{team}_mixed",
    features=[platform_view("customer_features", ["total_purchases"]), "user_features:age"],
)
{team}_view_obj = FeatureService(name="{team}_view_obj", features=[platform_view("user_features")])
{team}_feature_obj = FeatureService(
    name="{team}_feature_obj", features=[platform_view("user_features", ["age"])]
)
"""
CUSTOMER = {"customer_id": 3001, "current_cart_value": 80.0}
PINNED_SERVICES = """from feast import FeatureService

{team}_pinned = FeatureService(name="{team}_pinned", features=["{view}@v0"])
{team}_latest = FeatureService(name="{team}_latest", features=["{view}:{kept}"])
"""


@dataclass(frozen=True)
class Story:
    view: str
    kept: str  # the feature the unpinned service reads, whose values change
    dropped: str  # the feature the view's v1 drops
    row: dict
    description: str


USERS = Story("user_features", "age", "account_balance", {"user_id": 1001},
              "Profile facts about each user.")  # fmt: skip
DRIVERS = Story("driver_stats", "conv_rate", "acc_rate", {"driver_id": 2001},
                "Hourly driver performance.")  # fmt: skip


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


def served(repo: Path, service: str, row: dict) -> dict:
    """One online row through the team's service, read as feast-federation reads it."""
    from feast_federation.registry import open_store

    store = open_store(repo)
    store.refresh_registry()
    return store.get_online_features(
        features=store.get_feature_service(service), entity_rows=[row]
    ).to_dict()


def materialize(platform: Path) -> None:
    from feast_federation.ops.materialize import materialize_repo

    materialize_repo(platform, quiet=True)


def drop_field(platform: Path, feature: str) -> None:
    views = platform / "feature_views.py"
    lines = views.read_text().splitlines(keepends=True)
    kept = [line for line in lines if f'Field(name="{feature}"' not in line]
    assert len(kept) == len(lines) - 1
    views.write_text("".join(kept))


def pinned_story(
    platform: Path, team_dir: Path, story: Story, raise_values: Callable[[int], None]
) -> dict:
    """Run the story; returns what each service served at each step and the plan of the
    schema change, for ``assert_pins_served``."""
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.contract import refresh_team_contract

    team = team_dir.name
    refresh_team_contract(find_repo(team_dir))  # the contract records v0
    text = PINNED_SERVICES.format(team=team, view=story.view, kept=story.kept)
    (team_dir / "pinned_services.py").write_text(text)
    apply(team_dir)

    def reads() -> dict:
        return {
            kind: served(team_dir, f"{team}_{kind}", story.row) for kind in ("pinned", "latest")
        }

    before = reads()
    drop_field(platform, story.dropped)  # v1
    raise_values(100)
    change = plan(platform)
    apply(platform)
    to_load = registry_state(platform, story.view)  # what the materialization will find
    materialize(platform)
    after = reads()
    views = platform / "feature_views.py"  # a change that keeps the schema
    views.write_text(views.read_text().replace(story.description, f"{story.description} (v1)"))
    apply(platform)
    loads = {"before materializing": to_load, "at the end": registry_state(platform, story.view)}
    return {"story": story, "team": team, "before": before, "plan": change, "after": after,
            "described": reads(), "registry": loads}  # fmt: skip


def registry_state(platform: Path, view_name: str) -> dict:
    """The view's active version, its versions' creation times, its last load, and what
    the next materialization loads in full: what a failed story is read against."""
    from feast_federation.registry import open_store
    from feast_federation.registry.versions import unloaded_versions

    store = open_store(platform)
    view = store.registry.get_feature_view(view_name, store.project, allow_cache=False)
    versions = store.registry.list_feature_view_versions(view_name, store.project)
    return {
        "active": view.current_version_number,
        "created": {r["version_number"]: str(r["created_timestamp"]) for r in versions},
        "loaded until": str(view.most_recent_end_time),
        "loads in full": [name for name, _ in unloaded_versions(store, [view])],
    }


def assert_pins_served(result: dict) -> None:
    """What every online store that serves pins must show."""
    story, team = result["story"], result["team"]
    before, after = result["before"], result["after"]
    value, dropped = before["pinned"][story.kept][0], before["pinned"][story.dropped][0]
    assert value is not None and dropped is not None, before
    assert before["latest"][story.kept] == [value]
    [view] = [c for c in result["plan"].to_json()["changes"] if c["name"] == story.view]
    assert view["values"]["version"] == {"old": "v0", "new": "v1"}, view
    assert f"FeatureService {team}_pinned (team {team}) reads v0" in view["pinned_by"], view
    # The materialization found v1's table unloaded; v1 stays active to the end.
    loads = result["registry"]
    assert loads["before materializing"]["loads in full"] == [story.view], loads
    assert loads["at the end"]["active"] == 1, loads
    # The pinned service serves v0 as it was; the unpinned one the active version, v1.
    assert after["pinned"] == before["pinned"], after
    assert after["latest"][story.kept] == [pytest.approx(value + 100)], (after, result["registry"])
    assert story.dropped not in after["latest"]
    # A change that keeps the schema keeps v1 active (Feast alone would fall back to v0).
    assert result["described"] == after, result["described"]
