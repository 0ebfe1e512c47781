"""A bootstrapped org, end to end: each step is a generated script in a fresh process.

Order matters within this module: the org is built once, served, re-synced, then refused
mistakes are tried against it, and last a platform view is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from support import cli, invoke, run, venv_commands_first
from support.pipelines import run_github_job
from support.runners import clone_elsewhere

pytestmark = pytest.mark.slow

SERVICES = {"marketing": "marketing_campaign_model", "risk": "risk_model"}
ROWS = {
    "marketing": [
        {"customer_id": 3001, "current_cart_value": 120.0},
        {"customer_id": 3002, "current_cart_value": 8.0},
    ],
    "risk": [{"user_id": 1001, "transaction_amount": 50.0}],
}
# Runs in a process that never imported the team's modules: the ODFV comes from the registry.
FETCH_ONLINE = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
service = store.get_feature_service(sys.argv[2])
rows = json.loads(sys.argv[3])
print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))
"""
LIST_NAMES = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
print(json.dumps({
    "services": sorted(s.name for s in store.list_feature_services()),
    "odfvs": sorted(v.name for v in store.list_on_demand_feature_views()),
    "sources": sorted(s.name for s in store.list_data_sources()),
    "views": sorted(v.name for v in store.list_feature_views()),
    "entities": sorted(e.name for e in store.list_entities()),
}))
"""


def script(repo: Path, *args: str):
    return run([sys.executable, "apply.py", *args], cwd=repo)


def registry_names(repo: Path) -> dict:
    result = run([sys.executable, "-c", LIST_NAMES, str(repo)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def registry_digest(org: Path) -> str:
    return hashlib.sha256((org / "platform" / "data" / "registry.db").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Path:
    org = tmp_path_factory.mktemp("e2e") / "org"
    made = cli("bootstrap", str(org), "--team", "marketing:customer_features", "--team", "risk")
    assert made.returncode == 0, made.stderr
    for step in (
        script(org / "platform"),
        cli("materialize", str(org / "platform")),
        script(org / "teams" / "marketing"),
        script(org / "teams" / "risk"),
    ):
        assert step.returncode == 0, step.stdout + step.stderr
    return org


def test_each_team_serves_platform_features_and_its_odfv(org):
    for team, service in SERVICES.items():
        rows = json.dumps(ROWS[team])
        result = run([sys.executable, "-c", FETCH_ONLINE, str(org / "teams" / team), service, rows])
        assert result.returncode == 0, result.stderr
        served = json.loads(result.stdout)
        for column, values in served.items():
            assert all(value is not None for value in values), (team, column, values)
        if team == "marketing":
            assert {"total_purchases", "avg_order_value", "purchase_propensity_score"} <= set(
                served
            )
            assert all(0 < score < 1 for score in served["purchase_propensity_score"])
        else:
            assert {"age", "account_balance", "balance_after_transaction", "spend_ratio"} <= set(
                served
            )
            [balance], [after] = served["account_balance"], served["balance_after_transaction"]
            assert after == pytest.approx(balance - 50.0, abs=0.01)


def test_platform_resync_keeps_every_team_object(org):
    before = registry_names(org / "platform")
    assert "marketing_campaign_model" in before["services"]
    assert {"marketing_purchase_propensity", "risk_spend_profile"} <= set(before["odfvs"])
    assert {"marketing_cart_request", "risk_transaction_request"} <= set(before["sources"])
    resync = script(org / "platform")
    assert resync.returncode == 0, resync.stderr
    assert "nothing to change" in resync.stdout
    assert registry_names(org / "platform") == before


def test_plans_are_clean_after_apply_and_scoped_to_the_owner(org):
    platform = script(org / "platform", "--plan", "--json")
    assert platform.returncode == 0, platform.stdout + platform.stderr
    team = script(org / "teams" / "risk", "--plan", "--json")
    assert team.returncode == 0
    changes = json.loads(team.stdout)
    assert changes["owner"] == "risk"
    assert {c["name"] for c in changes["changes"]} == {
        "risk_model", "risk_spend_profile", "risk_transaction_request",
    }  # fmt: skip


def test_a_clone_in_another_folder_plans_nothing_to_change(org, tmp_path):
    """The same commit checked out elsewhere (another laptop, a CI job's build folder): no
    definition stores the folder it was checked out in."""
    for repo in (org / "platform", org / "teams" / "marketing"):
        clone = clone_elsewhere(repo, tmp_path / repo.name)
        planned = cli("plan", str(clone))
        assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
        assert "nothing to change" in planned.stdout


def not_an_install(command: str) -> bool:
    return not command.startswith("pip install")  # this test's venv has it all


def test_a_failed_materialize_fails_the_scheduled_github_job(org, tmp_path):
    """The scheduled materialize step pipes into `tee`. GitHub runs a `run:` step with
    `bash -e` unless the workflow names a shell: there the step passes after a failed
    materialize. The generated workflow runs its steps in bash with pipefail."""
    platform = org / "platform"
    workflow = platform / ".github" / "workflows" / "materialize.yml"
    stock = tmp_path / "materialize.yml"  # the same without `defaults: run: shell: bash`
    stock.write_text(yaml.safe_dump({k: v for k, v in yaml.safe_load(workflow.read_text()).items()
                                     if k != "defaults"}))  # fmt: skip
    summary = tmp_path / "summary.md"
    env = venv_commands_first({**os.environ, "GITHUB_STEP_SUMMARY": str(summary)})
    data = org / "platform-data"  # the data location: now it is not there
    data.rename(tmp_path / "moved")
    try:
        ran = run_github_job(workflow, "materialize", platform, env, {}, wanted=not_an_install)
        hidden = run_github_job(stock, "materialize", platform, env, {}, wanted=not_an_install)
    finally:
        (tmp_path / "moved").rename(data)
    assert ran.failed is not None and ran.commands[-1].startswith("feast-federation materialize")
    assert "error: the data file" in ran.failed.stderr and "Traceback" not in ran.failed.stderr
    assert hidden.failed is None  # GitHub's default shell: the failure went unseen


def test_generated_repos_own_tests_pass(org):
    for repo in (org / "platform", org / "teams" / "marketing", org / "teams" / "risk"):
        result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo)
        assert result.returncode == 0, result.stdout[-3000:]


# --- refusals: one line per violation, exit 1, the registry file byte-for-byte unchanged ---

MISTAKES = {
    "a team defines a feature view": (
        "teams/marketing",
        "from datetime import timedelta\n"
        "from feast import FeatureView, Field, FileSource\n"
        "from feast.types import Int64\n"
        "marketing_copy = FeatureView(name='marketing_copy', source=FileSource(\n"
        "    name='marketing_copy_source', path='/tmp/x.parquet', timestamp_field='ts'),\n"
        "    schema=[Field(name='age', dtype=Int64)], ttl=timedelta(days=1))\n",
        "FeatureView marketing_copy: team marketing may define only FeatureService",
    ),
    "a name outside the team's prefix": (
        "teams/marketing",
        "from feast import FeatureService\n"
        "from feast_federation import platform_view\n"
        "campaign = FeatureService(name='campaign', features=[platform_view('user_features')])\n",
        "FeatureService campaign: team marketing's names must start with marketing_",
    ),
    "another team's name": (
        "teams/marketing",
        "from feast import FeatureService\n"
        "from feast_federation import platform_view\n"
        "risk_model = FeatureService(\n"
        "    name='risk_model', features=[platform_view('user_features')])\n",
        "FeatureService risk_model: team marketing's names must start with marketing_",
    ),
    "an ODFV that would rewrite platform sources": (
        "teams/risk",
        "from feast import Field\n"
        "from feast.on_demand_feature_view import on_demand_feature_view\n"
        "from feast.types import Float64\n"
        "from feast_federation import platform_view\n"
        "@on_demand_feature_view(sources=[platform_view('user_features')], mode='python',\n"
        "    schema=[Field(name='double_age', dtype=Float64)], write_to_online_store=True)\n"
        "def risk_written(inputs):\n"
        "    return {'double_age': [2.0 * a for a in inputs['age']]}\n",
        "OnDemandFeatureView risk_written: write_to_online_store=True makes Feast re-apply the "
        "batch source of each view it reads (user_features_source)",
    ),
    "the platform defines a team-prefixed view": (
        "platform",
        "from datetime import timedelta\n"
        "from feast import FeatureView, Field\n"
        "from feast.types import Int64\n"
        "from data_sources import user_features_source\n"
        "from entities import user\n"
        "risk_view = FeatureView(name='risk_view', entities=[user], source=user_features_source,\n"
        "    schema=[Field(name='age', dtype=Int64)], ttl=timedelta(days=1))\n",
        "FeatureView risk_view: the name has team risk's prefix risk_",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_refused_apply_writes_nothing(org, mistake):
    repo_dir, code, message = MISTAKES[mistake]
    repo = org / repo_dir
    planted = repo / "planted_mistake.py"
    planted.write_text(code)
    before = registry_digest(org)
    try:
        result = invoke("apply", repo)
    finally:
        planted.unlink()
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert registry_digest(org) == before


def test_a_refused_script_run_prints_no_traceback(org):
    planted = org / "teams" / "risk" / "planted_mistake.py"
    planted.write_text(MISTAKES["another team's name"][1].replace("risk_model", "marketing_x"))
    before = registry_digest(org)
    try:
        result = script(org / "teams" / "risk")
    finally:
        planted.unlink()
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: refused; nothing was written:",
        "  FeatureService marketing_x: team risk's names must start with risk_",
    ]
    assert registry_digest(org) == before


def test_a_team_the_registry_does_not_know_is_refused(org):
    baked = cli(
        "add-team", "ghost", "--platform", str(org / "platform"), "--output-dir", str(org / "teams")
    )
    assert baked.returncode == 0, baked.stderr
    before = registry_digest(org)
    result = invoke("apply", org / "teams" / "ghost")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: team ghost is not registered in the registry's policy: "
        "the platform must apply federation.yaml first"
    )
    assert registry_digest(org) == before


def test_a_request_source_may_not_replace_a_platform_source(org):
    """A FileSource with a team's prefix, written by stock Feast before the team existed."""
    from feast import FeatureStore, FileSource

    FeatureStore(repo_path=str(org / "platform")).apply(
        [FileSource(name="marketing_legacy", path="/tmp/legacy.parquet", timestamp_field="ts")]
    )
    planted = org / "teams" / "marketing" / "planted_mistake.py"
    planted.write_text(
        "from feast import Field, RequestSource\nfrom feast.types import Float64\n"
        "marketing_legacy = RequestSource(name='marketing_legacy',"
        " schema=[Field(name='x', dtype=Float64)])\n"
    )
    before = registry_digest(org)
    try:
        result = invoke("apply", org / "teams" / "marketing")
    finally:
        planted.unlink()
    assert result.exit_code == 1
    assert "RequestSource marketing_legacy: the registry already holds DataSource" in result.output
    assert registry_digest(org) == before
    # The next platform sync would remove it (a team-prefixed source no team may hold); the
    # tests after this one compare whole plans, so it goes now.
    store = FeatureStore(repo_path=str(org / "platform"))
    store.registry.delete_data_source("marketing_legacy", store.project, commit=True)


def test_a_view_removed_from_the_platform_repo_is_deleted_by_the_next_sync(org):
    views = org / "platform" / "feature_views.py"
    text = views.read_text()
    start, end = text.index("driver_stats = FeatureView("), text.index("customer_features = ")
    views.write_text(text[:start] + text[end:])
    plan = script(org / "platform", "--plan", "--json")
    assert plan.returncode == 2
    deletions = [c for c in json.loads(plan.stdout)["changes"] if c["action"] == "delete"]
    assert deletions == [{"kind": "FeatureView", "name": "driver_stats", "action": "delete"}]
    before = registry_names(org / "platform")
    assert script(org / "platform", "--yes").returncode == 0
    after = registry_names(org / "platform")
    assert "driver_stats" not in after["views"]
    assert {**after, "views": before["views"]} == before  # nothing else went
