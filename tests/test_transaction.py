"""Restores are writes like any other: they go through the one transaction, so they refuse
to break team objects, wait for the registry's lock only as long as told, and are logged.

A snapshot or an apply-log image that drops a field teams read (a hand-edited file, or a
log tampered with consistently, entry after entry) used to be written as it was: four
services broken, no refusal.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from support import build_org, file_digest, invoke
from support.restores import log_entries

pytestmark = pytest.mark.slow

DROPPED = "account_balance"  # a field of user_features that team risk reads


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEAST_FEDERATION_ACTOR", "ci-bot")
        platform, teams = build_org(tmp_path_factory.mktemp("transaction") / "org")
        yield platform, teams


def without_field(proto, view: str = "user_features", field: str = DROPPED) -> None:
    """Drop ``field`` from ``view`` in a RegistryProto, in place."""
    for item in proto.feature_views:
        if item.spec.name == view:
            kept = [f for f in item.spec.features if f.name != field]
            del item.spec.features[:]
            item.spec.features.extend(kept)


def refused_for_breaking(result) -> list[str]:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == (
        "error: refused: the restore would break team objects; nothing was written "
        "(--allow-breaking-teams overrides):"
    ), lines
    return lines[1:]


def test_a_snapshot_that_drops_a_field_teams_read_is_refused(org, tmp_path):
    from feast_federation.registry.protos import parse_snapshot

    platform, _ = org
    whole = tmp_path / "whole.pb"
    assert invoke("backup", platform, "--output", whole).exit_code == 0
    snapshot = parse_snapshot(whole.read_bytes())
    without_field(snapshot)
    edited = tmp_path / "edited.pb"
    edited.write_bytes(snapshot.SerializeToString())
    registry = platform / "data" / "registry.db"
    before = file_digest(registry)

    problems = refused_for_breaking(invoke("restore", platform, "--input", edited, "--yes"))
    assert len(problems) == 1
    assert (
        problems[0]
        .strip()
        .startswith(f"dropping feature {DROPPED} from FeatureView user_features breaks ")
    )
    assert "OnDemandFeatureView risk_spend_profile (team risk)" in problems[0]
    assert file_digest(registry) == before

    forced = invoke("restore", platform, "--input", edited, "--yes", "--allow-breaking-teams")
    assert forced.exit_code == 0, forced.output
    assert f"warning: --allow-breaking-teams: dropping feature {DROPPED}" in forced.output
    entry = log_entries(platform)[-1]
    assert entry["action"] == "restore" and entry["overridden_breakages"], entry
    assert invoke("restore", platform, "--input", whole, "--yes").exit_code == 0


def test_a_log_image_that_drops_a_field_teams_read_is_refused(org):
    from feast_federation.registry.protos import decode_object, encode_object

    platform, _ = org
    description = platform / "feature_views.py"
    original = description.read_text()
    description.write_text(original.replace('"Profile facts about each user."', '"Profile."'))
    assert invoke("apply", platform, "--yes").exit_code == 0
    description.write_text(original)
    entries = log_entries(platform)
    last = entries[-1]["id"]
    changed = [entry["id"] for entry in entries if any(map(_user_features, entry["changes"]))]
    registry = platform / "data" / "registry.db"

    def tampered(image: str | None) -> str | None:
        if image is None:
            return None
        collection, proto = decode_object(image)
        holder = type(proto)()
        holder.CopyFrom(proto)
        kept = [f for f in holder.spec.features if f.name != DROPPED]
        del holder.spec.features[:]
        holder.spec.features.extend(kept)
        return encode_object(collection, holder)

    # Every image of user_features but the registry's current one: a consistent forgery.
    with sqlite3.connect(registry) as db:
        for entry_id in changed:
            (text,) = db.execute(
                "SELECT entry FROM feast_federation_apply_log WHERE id = ?", (entry_id,)
            ).fetchone()
            entry = json.loads(text)
            for change in filter(_user_features, entry["changes"]):
                change["before"] = tampered(change.get("before"))
                if entry_id != last:
                    change["after"] = tampered(change.get("after"))
            db.execute(
                "UPDATE feast_federation_apply_log SET entry = ? WHERE id = ?",
                (json.dumps(entry), entry_id),
            )
    before = file_digest(registry)
    problems = refused_for_breaking(invoke("restore", platform, "--to", last - 1, "--yes"))
    assert "OnDemandFeatureView risk_spend_profile (team risk)" in " ".join(problems)
    assert file_digest(registry) == before


def test_a_restore_waits_for_the_lock_only_as_long_as_told(org):
    from feast_federation.files import file_lock

    platform, _ = org
    lock = platform / "data" / "registry.db.lock"
    with file_lock(lock, repo="a hung apply"):
        result = invoke("restore", platform, "--to", "1", "--yes", "--lock-timeout", "1")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert lines[-1].startswith(f"error: lock {lock}: still held by pid "), lines
    assert "(repo a hung apply)" in lines[-1] and "after 1 s;" in lines[-1]
    assert sum("waiting for lock" in line for line in lines) == 1


def _user_features(change: dict) -> bool:
    return change["kind"] == "FeatureView" and change["name"] == "user_features"
