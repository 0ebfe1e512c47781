"""Backups, restores, the apply log, and clear failures for each fault."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from support import build_org, file_digest, invoke, run

pytestmark = pytest.mark.slow


@pytest.fixture()
def org(tmp_path, monkeypatch):
    monkeypatch.setenv("FEAST_FEDERATION_ACTOR", "ci-bot")
    platform, (marketing, risk) = build_org(tmp_path / "org")
    return platform, marketing, risk


def fingerprints(platform: Path) -> dict:
    from feast_federation.ops.restore import snapshot
    from feast_federation.registry import open_store
    from feast_federation.registry.protos import fingerprint, parse_snapshot, project_objects

    store = open_store(platform)
    return {
        key: fingerprint(item)
        for key, item in project_objects(parse_snapshot(snapshot(store)), "acme").items()
    }


def drop_view(platform: Path, view: str, next_view: str) -> None:
    path = platform / "feature_views.py"
    text = path.read_text()
    path.write_text(
        text[: text.index(f"{view} = FeatureView(")] + text[text.index(f"{next_view} = ") :]
    )


def test_backup_and_restore_round_trip_the_registry(org, tmp_path):
    platform, _, risk = org
    backup = tmp_path / "before.pb"
    assert invoke("backup", platform, "--output", backup).exit_code == 0
    original = fingerprints(platform)

    drop_view(platform, "driver_stats", "customer_features")
    assert invoke("apply", platform, "--yes").exit_code == 0
    (risk / "feature_services.py").unlink()
    assert invoke("apply", risk, "--prune", "--yes").exit_code == 0
    assert fingerprints(platform) != original

    digest = file_digest(platform / "data" / "registry.db")
    planned = invoke("restore", platform, "--input", backup, "--json")
    assert planned.exit_code == 2
    plan = json.loads(planned.stdout)
    changed = {
        (c["kind"], c["name"], c["action"]) for c in plan["changes"] if c["action"] != "unchanged"
    }
    assert changed == {
        ("FeatureView", "driver_stats", "add"),
        ("FeatureService", "risk_model", "add"),
    }
    assert plan["rematerialize"] == ["driver_stats"]
    assert file_digest(platform / "data" / "registry.db") == digest  # a plan writes nothing

    done = invoke("restore", platform, "--input", backup, "--yes")
    assert done.exit_code == 0, done.output
    assert "Re-materialize these views (their online rows are gone): driver_stats" in done.output
    assert fingerprints(platform) == original
    assert invoke("restore", platform, "--input", backup).exit_code == 0  # nothing left to do


def test_every_sync_with_changes_is_backed_up_with_retention(org):
    platform, _, _ = org
    policy = platform / "federation.yaml"
    policy.write_text(policy.read_text().replace("keep: 20", "keep: 2"))
    backups = platform / ".federation" / "backups"
    assert not list(backups.glob("registry-*.pb"))  # the first sync found an empty registry
    before_drop = fingerprints(platform)
    drop_view(platform, "driver_stats", "customer_features")
    assert invoke("apply", platform, "--yes").exit_code == 0
    newest = sorted(backups.glob("registry-*.pb"))[-1]
    from feast_federation.registry.protos import fingerprint, parse_snapshot, project_objects

    snapshot = {
        k: fingerprint(v)
        for k, v in project_objects(parse_snapshot(newest.read_bytes()), "acme").items()
    }
    assert snapshot == before_drop  # taken before the sync wrote
    assert invoke("apply", platform).exit_code == 0  # nothing to change: no new backup
    views = platform / "feature_views.py"
    views.write_text(views.read_text().replace('"Profile facts about each user."', '"Profile."'))
    assert invoke("apply", platform).exit_code == 0
    assert len(list(backups.glob("registry-*.pb"))) == 2


def test_apply_log_records_who_changed_what(org, monkeypatch):
    platform, marketing, _ = org
    monkeypatch.delenv("FEAST_FEDERATION_ACTOR")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    path = marketing / "feature_services.py"
    path.write_text(path.read_text().replace('description="Features of', 'description="Now:'))
    assert invoke("apply", marketing).exit_code == 0
    entries = json.loads(invoke("log", platform, "--json").stdout)
    assert [(e["owner"], e["actor"]) for e in entries] == [
        ("platform", "ci-bot"),
        ("marketing", "ci-bot"),
        ("risk", "ci-bot"),
        ("marketing", "github:octocat"),
    ]
    last = entries[-1]
    assert last["repo"] == str(marketing) and last["action"] == "apply"
    [change] = last["changes"]
    digest = change.pop("digest")  # of the object as written, for the audit
    assert change == {"kind": "FeatureService", "name": "marketing_campaign_model",
                      "action": "update", "fields": ["description"]}  # fmt: skip
    from feast_federation.registry import open_store
    from feast_federation.registry.protos import digest as digest_of

    stored = open_store(platform).get_feature_service("marketing_campaign_model")
    assert digest == digest_of(stored.to_proto())
    only_risk = json.loads(invoke("log", platform, "--json", "--team", "risk").stdout)
    assert [e["owner"] for e in only_risk] == ["risk"]
    table = invoke("log", platform)
    assert table.exit_code == 0 and "octocat" in table.output


# --- faults: a clear message, exit 1, and the next apply converges ----------------------


def test_unreachable_registry(org):
    _, marketing, _ = org
    store = marketing / "feature_store.yaml"
    store.write_text(store.read_text().replace("sqlite:///", "sqlite:////nonexistent/dir"))
    result = invoke("apply", marketing)
    assert result.exit_code == 1
    assert "the registry is unreachable (" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_corrupt_or_missing_policy_file(org):
    platform, _, _ = org
    policy = platform / "federation.yaml"
    policy.write_text("project: acme\nteams: [unclosed\n")
    result = invoke("apply", platform)
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {policy}: not valid YAML (line 3)"
    policy.write_text("project: acme\nteams:\n  Bad-Name: {}\n")
    result = invoke("apply", platform)
    assert result.exit_code == 1 and "team name 'Bad-Name'" in result.output
    policy.unlink()
    result = invoke("apply", platform)
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {platform}: platform repo without federation.yaml"


def test_team_repo_pointing_at_another_project(org):
    _, marketing, _ = org
    store = marketing / "feature_store.yaml"
    store.write_text(store.read_text().replace("project: acme", "project: elsewhere"))
    result = invoke("apply", marketing)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: project elsewhere has no published federation policy: the platform has not "
        "applied yet, or feature_store.yaml points at another project"
    )


KILL_AFTER_FIRST_VIEW = """
import os, sys
from feast.infra.registry.sql import SqlRegistry
original = SqlRegistry.apply_feature_view
def apply_then_die(self, *args, **kwargs):
    original(self, *args, **kwargs)
    os._exit(137)  # killed half-way: after one view, before the rest
SqlRegistry.apply_feature_view = apply_then_die
sys.argv = ["apply.py"]
import runpy
runpy.run_path("apply.py", run_name="__main__")
"""


def test_an_apply_killed_half_way_shows_in_the_plan_and_converges(tmp_path):
    from feast_federation.onboarding import bootstrap_org

    platform, _ = bootstrap_org(
        tmp_path / "org", project="acme", owners=["p@acme.io"], teams=["alpha"]
    )
    killed = run([sys.executable, "-c", KILL_AFTER_FIRST_VIEW], cwd=platform)
    assert killed.returncode == 137
    half = invoke("plan", platform, "--json")
    assert half.exit_code == 2
    actions = {(c["kind"], c["action"]) for c in json.loads(half.stdout)["changes"]}
    assert ("DataSource", "unchanged") in actions  # written before the kill
    assert ("FeatureView", "unchanged") in actions  # the one view that made it
    assert ("FeatureView", "add") in actions  # the others did not
    assert invoke("apply", platform).exit_code == 0
    assert invoke("plan", platform).exit_code == 0
    assert yaml.safe_load((platform / "federation.yaml").read_text())["teams"]["alpha"]
