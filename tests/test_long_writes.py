"""Writes that outlast the registry's cache keep everything they wrote (local file registry).

Feast's file registry keeps uncommitted changes in its cached proto and reloads that proto
from its file once ``cache_ttl_seconds`` has passed, in the middle of a write: before the
transaction held one view of the registry, a sync publishing 1,000 teams' Permissions with
a one-second cache kept 472 of 4,005 and lost the platform's views. Here every write is
longer than the cache: a sync publishing 500 teams (2,000 Permissions), a team apply of 900
objects, a prune of them and a restore that brings them back. A write that did not land (an
object removed between the commit and the read-back) is one line and exit 1, and the audit
names it.
"""

from __future__ import annotations

import pytest

from support import invoke
from support.bulk import register_teams, short_cache, write_bulk_module

pytestmark = pytest.mark.slow

TEAMS = 500
BULK = 300  # of each kind: 900 objects


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    platform, (marketing,) = bootstrap_org(
        tmp_path_factory.mktemp("long") / "org", project="acme", owners=["p@acme.io"],
        teams=[("marketing", "customer_features")], backends=Backends("file", "sqlite", "file"),
        ci="none",
    )  # fmt: skip
    for repo in (platform, marketing):
        short_cache(repo)
    return platform, marketing


def held(platform) -> set[tuple[str, str]]:
    """Every object of the project, as the registry's file holds it now (no cache)."""
    from feast_federation.registry import open_store
    from feast_federation.registry.feast067 import stored_proto
    from feast_federation.registry.kinds import kind_of_proto
    from feast_federation.registry.protos import project_objects

    objects = project_objects(stored_proto(open_store(platform)), "acme")
    return {(kind_of_proto(collection, item), name) for (collection, name), item in objects.items()}


def applied(*args) -> None:
    result = invoke("apply", *args)
    assert result.exit_code == 0, result.output


def test_a_sync_publishing_thousands_of_permissions_keeps_every_object(org):
    platform, marketing = org
    teams = register_teams(platform, TEAMS)
    applied(platform, "--yes")
    permissions = {name for kind, name in held(platform) if kind == "Permission"}
    assert len(permissions) == 4 * (TEAMS + 1) + 1
    assert {f"federation-team-{team}-write" for team in teams} <= permissions
    assert {("FeatureView", view) for view in ("customer_features", "user_features")} <= held(
        platform
    )
    applied(marketing)


def test_a_team_apply_of_a_thousand_objects_keeps_every_object(org):
    platform, marketing = org
    expected = write_bulk_module(marketing, "marketing", BULK)
    applied(marketing)
    assert expected <= held(platform)


def test_a_prune_and_a_restore_of_a_thousand_objects_keep_every_object(org, tmp_path):
    platform, marketing = org
    expected = write_bulk_module(marketing, "marketing", BULK)
    snapshot = tmp_path / "before-prune.pb"
    assert invoke("backup", platform, "--output", snapshot).exit_code == 0
    (marketing / "bulk.py").unlink()
    applied(marketing, "--prune", "--yes")
    assert not expected & held(platform)
    restored = invoke("restore", platform, "--input", snapshot, "--yes")
    assert restored.exit_code == 0, restored.output
    assert expected <= held(platform)
    assert invoke("plan", platform).exit_code == 0


def test_an_object_removed_between_commit_and_read_back_is_one_line(org, monkeypatch):
    from feast_federation.registry import feast067

    platform, marketing = org
    (marketing / "extra.py").write_text(
        "from feast import FeatureService\n"
        "from feast_federation import platform_view\n"
        "marketing_extra = FeatureService(\n"
        "    name='marketing_extra', features=[platform_view('customer_features')]\n"
        ")\n"
    )
    read_back = feast067.stored_proto

    def behind_its_back(store):
        """Another writer removes the new service right after the commit."""
        proto = read_back(store)
        kept = [s for s in proto.feature_services if s.spec.name != "marketing_extra"]
        del proto.feature_services[:]
        proto.feature_services.extend(kept)
        store.registry._registry_store.update_registry_proto(proto)
        return read_back(store)

    monkeypatch.setattr(feast067, "stored_proto", behind_its_back)
    result = invoke("apply", marketing)
    monkeypatch.undo()
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith(
        "error: the registry, read back after the write, does not hold what was written: "
        "FeatureService marketing_extra is missing; apply again to write what is missing, or "
    ), lines[0]
    findings = invoke("audit", platform, "--json")
    assert findings.exit_code == 2
    assert '"subject": "FeatureService marketing_extra (team marketing)"' in findings.output
    assert "the registry lost it" in findings.output
    applied(marketing)  # converges
    assert ("FeatureService", "marketing_extra") in held(platform)
