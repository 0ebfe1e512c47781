"""Commands that read a whole org, on orgs whose teams are really registered.

The benchmark's orgs are built in bulk (``support.bulk.build_registered_org``); here the bulk
builder is held to what ``add-team``, a platform sync and each team's apply make, and the
catalog and audit of a 200-team org with drift of every kind are held to what the code
printed before it was made linear (``support/expected/whole_org_200.json``, recorded with
that code: ``support.whole_org.record``). About 90 s: two orgs of three teams, one of 200.
"""

from __future__ import annotations

import json

import pytest

from support.bulk import build_registered_org, crowd_team_names
from support.whole_org import EXPECTED, TEAMS, outputs, plant_drift

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org_of_200(tmp_path_factory):
    directory = tmp_path_factory.mktemp("whole") / "org"
    platform, team = build_registered_org(directory, TEAMS)
    plant_drift(platform)
    return directory, platform, team


def test_catalog_and_audit_of_200_teams_print_what_they_printed_before(org_of_200):
    assert outputs(*org_of_200) == with_later_formats(json.loads(EXPECTED.read_text()))


def test_the_registry_read_whole_is_what_feasts_own_read_makes(org_of_200):
    """The SQL registry read whole in one parse (``feast067._sql_registry_proto``) holds
    what Feast's ``SqlRegistry.proto`` makes: every object, in its order, with its project."""
    from feast.infra.registry.sql import SqlRegistry

    from feast_federation.registry import open_store

    _, platform, _ = org_of_200
    registry = open_store(platform).registry
    ours = registry.proto()
    assert len(ours.feature_services) > 200 and len(ours.permissions) > 800
    assert ours.version_id != registry.proto().version_id  # each read told apart
    ours.ClearField("version_id")
    assert ours == SqlRegistry.proto(registry)


def with_later_formats(recorded: dict) -> dict:
    """The recorded output as the catalog prints it since: TTLs as "30 days" (not Python's
    "30 days, 0:00:00"), and each user of a view with the version it reads (no pins here:
    "latest"). Nothing else about the recording changes."""
    text = json.dumps(recorded).replace(", 0:00:00", "")
    updated = json.loads(text)
    for key in ("catalog", "team_catalog"):
        for view in updated[key]["views"]:
            view["used_by"] = [{**user, "version": "latest"} for user in view["used_by"]]
    return updated


# --- the bulk builder against the commands it stands in for -------------------------------

CROWD_MODULE = """from feast_federation import platform_view

from support.bulk import crowd_objects

request, odfv, service = crowd_objects({team!r}, platform_view("user_features"))
"""


def by_hand(directory, crowd: list[str]):
    """The org ``build_registered_org`` makes, made by the commands: bootstrap, add-team for
    each crowd team, the platform sync, and each crowd team's apply of ``crowd_objects``."""
    from feast_federation import sync
    from feast_federation.onboarding import bake_team, bootstrap_org
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.rules.repo import find_repo

    platform, [bench] = bootstrap_org(
        directory, project="acme", owners=["p@x.io"], teams=[("bench", "customer_features")],
        ci="none",
    )  # fmt: skip
    sync.apply(find_repo(platform))
    repos = [
        bake_team(
            platform,
            output_dir=directory / "teams",
            team=team,
            ci="none",
            owners=[f"{team}-leads@example.com"],
        )  # fmt: skip
        for team in crowd
    ]
    sync.apply(find_repo(platform))
    materialize_repo(platform, quiet=True)
    for team, repo in zip(crowd, repos, strict=True):
        for module in ("feature_services.py", "on_demand_views.py"):
            (repo / module).unlink()
        (repo / "crowd.py").write_text(CROWD_MODULE.format(team=team))
        sync.apply(find_repo(repo))
    sync.apply(find_repo(bench))
    return platform, bench


def registry_contents(platform, directory) -> dict[tuple[str, str], str]:
    """Every object of the project by (collection, name): what it defines, as JSON, with
    the org's directory written as ``{org}`` (the platform's sources hold absolute paths)."""
    from google.protobuf import json_format

    from feast_federation.registry import open_store
    from feast_federation.registry.feast067 import stored_proto
    from feast_federation.registry.protos import project_objects, spec_of

    objects = project_objects(stored_proto(open_store(platform)), "acme")
    return {
        key: json_format.MessageToJson(spec_of(proto), sort_keys=True).replace(
            str(directory), "{org}"
        )
        for key, proto in objects.items()
    }


def logged_applies(platform, owners: list[str]) -> list[tuple]:
    from feast_federation.registry import open_store
    from feast_federation.transaction import applylog

    entries = applylog.read(open_store(platform))
    return sorted(
        (entry["owner"], entry["action"],
         tuple(sorted((c["kind"], c["name"], c["action"]) for c in entry["changes"])))
        for entry in entries
        if entry["owner"] in owners
    )  # fmt: skip


def test_the_bulk_builder_makes_what_add_team_a_sync_and_team_applies_make(tmp_path):
    from feast_federation.ops import audit
    from feast_federation.rules.policy import load_policy
    from feast_federation.rules.repo import find_repo

    crowd = crowd_team_names(2)
    bulk_dir, hand_dir = tmp_path / "bulk", tmp_path / "by-hand"
    bulk_platform, _ = build_registered_org(bulk_dir, len(crowd) + 1)
    hand_platform, _ = by_hand(hand_dir, crowd)

    assert load_policy(bulk_platform) == load_policy(hand_platform)
    bulk, hand = (
        registry_contents(bulk_platform, bulk_dir),
        registry_contents(hand_platform, hand_dir),
    )
    assert {key for key in bulk if key[0] == "permissions"} >= {
        ("permissions", f"federation-team-{team}-write") for team in crowd
    }
    assert bulk == hand
    assert logged_applies(bulk_platform, crowd) == logged_applies(hand_platform, crowd)
    assert audit.audit(find_repo(bulk_platform)) == audit.audit(find_repo(hand_platform)) == []


def test_the_policy_permissions_compared_as_protos_are_what_feast_makes_of_them():
    from feast_federation.registry.permissions import (
        policy_permission_protos,
        policy_permissions,
    )
    from feast_federation.registry.protos import digest, digest_as_made
    from feast_federation.rules.ownership import Policy, Team

    teams = [
        Team("marketing", ("m@x.io", "@mkt")),
        Team("risk", ("@org/risk",), role="risk-writers", names=("fraud_model", "old_view")),
        Team("data_science", (), offline_schema="ds"),
    ]
    policy = Policy(
        project="acme", platform_owners=("p@x.io",), platform_role="platform-admins",
        teams={team.name: team for team in teams},
    )  # fmt: skip
    made = policy_permission_protos(policy)
    assert made == {p.name: p.to_proto() for p in policy_permissions(policy)}
    # Their digests are taken as made: what ``digest`` makes of them, without its copy.
    assert [digest_as_made(p) for p in made.values()] == [digest(p) for p in made.values()]
    assert len(made) == 1 + 4 * len(teams)
    assert [p.name for p in policy_permissions(policy, {"federation-team-risk-write"})] == [
        "federation-team-risk-write"
    ]
