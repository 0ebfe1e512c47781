"""Saved plans (plan --out, apply FILE), confirmed deletions (--yes, the prompt at a
terminal) and value-level plans: what a reviewer approves is what gets applied."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import build_org, file_digest, invoke, run

pytestmark = pytest.mark.slow


@pytest.fixture()
def org(tmp_path, monkeypatch):
    monkeypatch.setenv("FEAST_FEDERATION_ACTOR", "ci-bot")
    platform, (marketing, risk) = build_org(tmp_path / "org")
    return platform, marketing, risk


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def registry_file(platform: Path) -> Path:
    return platform / "data" / "registry.db"


def one_error_line(result, *expected: str) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


UDF_LINE = "loyalty = math.log1p(purchases or 0) / 3"


def change_the_udf(marketing: Path, divisor: str) -> None:
    edit(marketing / "on_demand_views.py", UDF_LINE, UDF_LINE.replace("/ 3", f"/ {divisor}"))


def test_a_saved_team_plan_is_applied_by_the_generated_script(org, tmp_path):
    _, marketing, _ = org
    change_the_udf(marketing, "4")
    saved = tmp_path / "plan.json"
    planned = run([sys.executable, "apply.py", "--plan", "--out", str(saved)], cwd=marketing)
    assert planned.returncode == 2, planned.stderr
    assert json.loads(saved.read_text())["format"] == "feast-federation plan"
    applied = run([sys.executable, "apply.py", str(saved), "--yes"], cwd=marketing)
    assert applied.returncode == 0, applied.stderr
    assert "marketing_purchase_propensity" in applied.stdout
    assert invoke("plan", marketing).exit_code == 0  # the registry matches the repo


def test_a_saved_plan_is_refused_after_a_platform_change_to_a_view_it_reads(org, tmp_path):
    platform, marketing, _ = org
    change_the_udf(marketing, "4")
    saved = tmp_path / "plan.json"
    assert invoke("plan", marketing, "--out", saved).exit_code == 2
    edit(platform / "feature_views.py", "ttl=timedelta(days=30)", "ttl=timedelta(days=31)")
    assert invoke("apply", platform).exit_code == 0
    before = file_digest(registry_file(platform))
    one_error_line(
        invoke("apply", saved),
        "the registry changed since the plan: FeatureView customer_features was updated; "
        "nothing was written: plan again",
    )
    assert file_digest(registry_file(platform)) == before


def test_a_saved_platform_plan_is_refused_after_a_team_apply_that_reads_what_it_changes(
    org, tmp_path
):
    platform, marketing, _ = org
    edit(platform / "feature_views.py", "ttl=timedelta(days=30)", "ttl=timedelta(days=31)")
    saved = tmp_path / "plan.json"
    assert invoke("plan", platform, "--out", saved).exit_code == 2
    edit(marketing / "feature_services.py", 'description="Features of', 'description="Now:')
    assert invoke("apply", marketing).exit_code == 0
    before = file_digest(registry_file(platform))
    one_error_line(
        invoke("apply", saved),
        "the registry changed since the plan: FeatureService marketing_campaign_model was updated",
    )
    assert file_digest(registry_file(platform)) == before
    assert invoke("plan", platform, "--out", saved).exit_code == 2  # plan again: it applies
    assert invoke("apply", saved).exit_code == 0
    assert invoke("plan", platform).exit_code == 0


def test_a_saved_plan_is_refused_after_a_repo_edit(org, tmp_path):
    platform, marketing, _ = org
    change_the_udf(marketing, "4")
    saved = tmp_path / "plan.json"
    assert invoke("plan", marketing, "--out", saved).exit_code == 2
    change_the_udf_again = UDF_LINE.replace("/ 3", "/ 4"), UDF_LINE.replace("/ 3", "/ 5")
    edit(marketing / "on_demand_views.py", *change_the_udf_again)
    before = file_digest(registry_file(platform))
    one_error_line(
        invoke("apply", saved),
        "the repo changed since the plan: OnDemandFeatureView marketing_purchase_propensity "
        "was updated; nothing was written: plan again",
    )
    assert file_digest(registry_file(platform)) == before


def test_damaged_and_foreign_plan_files_are_refused(org, tmp_path):
    platform, marketing, risk = org
    change_the_udf(marketing, "4")
    saved = tmp_path / "plan.json"
    assert invoke("plan", marketing, "--out", saved).exit_code == 2
    good = saved.read_text()
    before = file_digest(registry_file(platform))

    damaged = tmp_path / "damaged.json"
    damaged.write_text(good[: len(good) // 2])
    one_error_line(invoke("apply", damaged), "not a feast-federation plan, or damaged")
    damaged.write_text(good.replace('"action": "update"', '"action": "delete"'))
    one_error_line(invoke("apply", damaged), "its checksum does not match its content")
    damaged.write_text('{"hello": "world"}')
    one_error_line(invoke("apply", damaged), "no feast-federation plan format marker")
    older = json.loads(good)
    older["version"] = "0.0.1"
    damaged.write_text(json.dumps(older))
    one_error_line(invoke("apply", damaged), "written by feast-federation 0.0.1; this is ")

    in_risk = run([sys.executable, "apply.py", str(saved)], cwd=risk)
    assert in_risk.returncode == 1
    assert in_risk.stderr.strip() == (
        f"error: {saved}: a plan for team marketing, not for {risk} (team risk)"
    )
    edit(marketing / "feature_store.yaml", "project: acme", "project: elsewhere")
    one_error_line(invoke("apply", saved), "a plan for project acme; ", "in project elsewhere")
    assert file_digest(registry_file(platform)) == before


PLANTED = (
    "from feast import FeatureService\nfrom feast_federation import platform_view\n"
    "s = FeatureService(name='marketing_old', features=[platform_view('customer_features')])\n"
)


def test_a_plans_prune_and_allow_breaking_apply_only_when_the_apply_is_given_them(org, tmp_path):
    """A plan file may come from a pull request's CI artifact: what it deletes or breaks is
    carried out only when whoever applies asks for it too."""
    platform, marketing, _ = org
    (marketing / "planted.py").write_text(PLANTED)
    assert invoke("apply", marketing).exit_code == 0
    (marketing / "planted.py").unlink()
    saved = tmp_path / "plan.json"
    assert invoke("plan", marketing, "--prune", "--out", saved).exit_code == 2
    before = file_digest(registry_file(platform))
    script = run([sys.executable, str(marketing / "apply.py"), "plan.json", "--yes"],
                 cwd=tmp_path)  # fmt: skip
    assert script.returncode == 1 and script.stderr.strip() == (
        "error: plan.json was made with --prune: apply it with --prune to carry it out"
    ), script.stderr
    one_error_line(invoke("apply", saved, "--yes"), f"{saved} was made with --prune: apply it")
    assert file_digest(registry_file(platform)) == before
    applied = invoke("apply", saved, "--yes", "--prune")
    assert applied.exit_code == 0, applied.output
    assert "marketing_old" in applied.output and invoke("plan", marketing).exit_code == 0

    edit(platform / "feature_views.py", "ttl=timedelta(days=30)", "ttl=timedelta(days=31)")
    assert invoke("plan", platform, "--allow-breaking-teams", "--out", saved).exit_code == 2
    before = file_digest(registry_file(platform))
    one_error_line(invoke("apply", saved), "was made with --allow-breaking-teams: apply it "
                   "with --allow-breaking-teams to carry it out")  # fmt: skip
    assert invoke("plan", platform, "--out", saved).exit_code == 2
    one_error_line(invoke("apply", saved, "--allow-breaking-teams"), "was made without "
                   "--allow-breaking-teams: apply it without --allow-breaking-teams")  # fmt: skip
    assert file_digest(registry_file(platform)) == before


def drop_driver_stats(platform: Path) -> None:
    views = platform / "feature_views.py"
    text = views.read_text()
    start, end = text.index("driver_stats = FeatureView("), text.index("customer_features = ")
    views.write_text(text[:start] + text[end:])


def test_deletions_need_yes_without_a_terminal_and_a_yes_at_one(org, monkeypatch):
    platform, _, _ = org
    drop_driver_stats(platform)
    before = file_digest(registry_file(platform))
    one_error_line(
        invoke("apply", platform),
        "the apply would delete 1 object (FeatureView driver_stats) and no one confirmed it; "
        "nothing was written: pass --yes to delete them",
    )
    assert file_digest(registry_file(platform)) == before

    from typer.testing import CliRunner

    from feast_federation.cli import app, repo_commands

    monkeypatch.setattr(repo_commands, "_interactive", lambda: True)
    declined = CliRunner().invoke(app, ["apply", str(platform)], input="n\n")
    assert declined.exit_code == 1
    assert "Delete 1 object? [y/N]" in declined.output
    assert "the deletions were not confirmed; nothing was written" in declined.output
    assert file_digest(registry_file(platform)) == before
    confirmed = CliRunner().invoke(app, ["apply", str(platform)], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert invoke("plan", platform).exit_code == 0  # driver_stats is gone


def test_yes_deletes_and_a_saved_plan_that_deletes_needs_it_too(org, tmp_path):
    platform, _, _ = org
    drop_driver_stats(platform)
    saved = tmp_path / "plan.json"
    assert invoke("plan", platform, "--out", saved).exit_code == 2
    one_error_line(invoke("apply", saved), "pass --yes to delete them")
    applied = invoke("apply", saved, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "driver_stats" in applied.output
    from feast_federation.registry import open_store

    names = {view.name for view in open_store(platform).list_feature_views()}
    assert "driver_stats" not in names and "customer_features" in names


def test_a_plan_shows_old_and_new_values_and_a_udf_diff(org):
    platform, marketing, _ = org
    edit(platform / "feature_views.py", "ttl=timedelta(days=7)", "ttl=timedelta(days=14)")
    [view] = [c for c in plan_json(platform) if c["action"] == "update"]
    assert view["fields"] == ["ttl"]
    assert view["values"] == {"ttl": {"old": "604800s", "new": "1209600s"}}
    table = invoke("plan", platform).output
    assert 'ttl: "604800s" -> "1209600s"' in table
    markdown = invoke("plan", platform, "--markdown").output
    assert '- <code>ttl</code>: <code>"604800s"</code> → <code>"1209600s"</code>' in markdown

    change_the_udf(marketing, "4")
    [odfv] = [c for c in plan_json(marketing) if c["action"] == "update"]
    # A new UDF makes Feast record a new version of the ODFV, which the plan shows too.
    assert odfv["fields"] == ["feature_transformation", "version"]
    assert odfv["values"]["version"] == {"old": "v0", "new": "v1"}
    udf = odfv["values"]["feature_transformation"]
    assert UDF_LINE in udf["old"] and UDF_LINE.replace("/ 3", "/ 4") in udf["new"]
    assert f"-        {UDF_LINE}\n+        {UDF_LINE.replace('/ 3', '/ 4')}\n" in udf["diff"]
    assert f"+        {UDF_LINE.replace('/ 3', '/ 4')}" in invoke("plan", marketing).output
    assert "```diff" in invoke("plan", marketing, "--markdown").output


def plan_json(repo: Path) -> list[dict]:
    result = invoke("plan", repo, "--json")
    assert result.exit_code == 2, result.output
    return json.loads(result.stdout)["changes"]
