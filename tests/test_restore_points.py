"""Restoring the registry to any point of the apply log: platform syncs, team applies and
prunes, and the restores themselves, undone from the objects each entry logged."""

from __future__ import annotations

import pytest

from support import file_digest, invoke
from support.restores import (
    log_entries,
    object_digests,
    org_through_five_points,
    restore_each_point,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sqlite_org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEAST_FEDERATION_ACTOR", "ci-bot")
        yield org_through_five_points(tmp_path_factory.mktemp("restore") / "org")


def test_restore_to_each_point_on_sqlite(sqlite_org):
    platform, points = sqlite_org
    registry = platform / "data" / "registry.db"
    before = file_digest(registry)
    planned = invoke("restore", platform, "--to", points[0][0])
    assert planned.exit_code == 2, planned.output
    assert "delete" in planned.output and "marketing_purchase_propensity" in planned.output
    assert file_digest(registry) == before  # a plan writes nothing
    restore_each_point(platform, points)
    assert invoke("restore", platform, "--to", points[-1][0]).exit_code == 0  # already there
    log = invoke("log", platform)
    assert log.exit_code == 0 and f"\n│ {points[-1][0] + 5} " in log.output  # ids shown


def test_restore_to_a_time_in_utc_written_with_z(sqlite_org):
    platform, points = sqlite_org
    entries = log_entries(platform)
    at = {entry["id"]: entry["at"] for entry in entries}
    for change in (c for entry in entries for c in entry["changes"]):
        if change["action"] in ("add", "update") and change["kind"] != "Project":
            assert change["digest"], change  # what each write wrote, without reading it back
    # A time names the last entry at or before it: one the next entry does not share.
    (point, digests), moment = next(
        (points[index], at[points[index][0]])
        for index in reversed(range(len(points) - 1))
        if at[points[index][0]] < at[points[index + 1][0]]
    )
    assert moment.endswith("+00:00")
    result = invoke("restore", platform, "--to", moment.replace("+00:00", "Z"), "--yes")
    assert result.exit_code == 0, result.output
    assert object_digests(platform) == digests, f"restored to {moment} (entry {point})"
    restore_each_point(platform, points[-1:])  # back to where the module's other tests start


def test_points_the_log_cannot_restore_to_are_refused_in_one_line(sqlite_org):
    platform, points = sqlite_org
    registry = platform / "data" / "registry.db"
    refused = {
        "2000-01-01T00:00:00Z": "is before the apply log starts (",
        "0": "apply-log entry 0: no such entry (the log holds entries 1 to ",
        "yesterday": "--to 'yesterday': neither an apply-log entry id nor an ISO 8601 time",
        "\u00b2": "--to '\u00b2': neither an apply-log entry id",  # a digit int() refuses
        "1\n2": "--to '1\\n2': neither an apply-log entry id",
    }
    for point, message in refused.items():
        result = invoke("restore", platform, "--to", point, "--yes")
        assert result.exit_code == 1 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert invoke("restore", platform, "--yes").exit_code == 1  # neither --input nor --to

    from feast import FeatureStore

    store = FeatureStore(repo_path=str(platform))  # a raw write, around feast-federation
    service = store.get_feature_service("marketing_campaign_model")
    service.description = "edited by hand"
    store.apply([service])
    before = file_digest(registry)
    result = invoke("restore", platform, "--to", points[0][0], "--yes")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert (
        "feature service marketing_campaign_model differs from what the log last recorded"
        in result.output
    )
    assert f"feast-federation audit {platform}" in result.output and "more)" not in result.output
    assert file_digest(registry) == before


def test_restore_to_each_point_on_a_file_registry(tmp_path, monkeypatch):
    from feast_federation.rules.choices import Backends

    monkeypatch.setenv("FEAST_FEDERATION_ACTOR", "ci-bot")
    platform, points = org_through_five_points(tmp_path / "org", backends=Backends("file"))
    assert (platform / "data" / "registry.pb.apply-log.jsonl").is_file()
    restore_each_point(platform, points)
