"""One git repository for the whole org (``bootstrap --layout monorepo``): its root
pipelines run a folder's jobs when the folder changes, and on main the platform's sync
before any team's apply.

A monorepo org per CI system is baked, ``git init``ed and committed. For three changes in
turn (the platform only, one team only, the platform and a team at once) the tests compute,
from the generated pipelines' own path rules (GitHub: the path-filter gate feeding each
job's ``if:``, and ``needs:``; GitLab: ``rules: changes:``), which jobs a pull (merge)
request and the push to main run. The cross-folder change runs under gitlab-ci-local (shell
executor), which selects the jobs by the same rules itself: both folders' merge-request
checks, then the platform's sync and the team's apply after it. On GitHub the push jobs of
each change run their steps in order (the backup, materialize and catalog steps left to the
GitLab run), the cross-folder one with the new field's data loaded first: one fresh venv,
installed from a wheelhouse by the jobs' own `pip install` lines, as a runner would.

The tests share one org per CI system and run in order: each change picks up where the last
left the registry.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import yaml

from support.pipelines import github_jobs, gitlab_jobs, run_github_job
from support.runners import (
    MERGE_REQUEST,
    PUSH,
    GitLabRunner,
    build_wheelhouse,
    git,
    git_project,
    passed_jobs,
    pushed,
)

pytestmark = pytest.mark.slow

TEAMS = (("marketing", "customer_features"), ("risk", "user_features"))
MAIN = "refs/heads/main"
JOB_TOOLS = ("ruff", "pytest")
SCRUBBED = ("PYTHONPATH", "VIRTUAL_ENV", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
NEW_FIELD = "recency_days"


def bake(root: Path, ci: str) -> Path:
    from feast_federation.onboarding import bootstrap_org

    bootstrap_org(root, project="acme", owners=["p@acme.io"], teams=TEAMS, ci=ci,
                  layout="monorepo", repo_name="platform_repo", teams_dir="team_repos")  # fmt: skip
    git_project(root)
    return root


@pytest.fixture(scope="module")
def runner(github_org, tmp_path_factory) -> GitLabRunner:
    """gitlab-ci-local, and the one venv every job here installs into (from a wheelhouse:
    feast-federation built from this checkout and what the generated folders require)."""
    requirements = {
        line.strip()
        for folder in ("platform_repo", "team_repos/marketing")
        for line in (github_org / folder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "feast-federation"))
    }
    wheels = build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"), [*requirements, *JOB_TOOLS])
    return GitLabRunner.create(tmp_path_factory.mktemp("runner"), wheels)


@pytest.fixture(scope="module")
def github_org(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("github") / "acme-features", "github")


@pytest.fixture(scope="module")
def gitlab_org(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("gitlab") / "acme-features", "gitlab")


def job_env(runner: GitLabRunner, summary: Path) -> dict[str, str]:
    """A runner's environment: the shared venv first on PATH, pip from the wheelhouse only."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and "FEAST" not in k}
    return env | {
        "PATH": f"{runner.venv / 'bin'}{os.pathsep}{env['PATH']}",
        "VIRTUAL_ENV": str(runner.venv),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(runner.wheelhouse),
        "GITHUB_STEP_SUMMARY": str(summary),
        "CI": "true",
    }


# --- the changes ------------------------------------------------------------------------------


def change_platform(org: Path) -> None:
    views = org / "platform_repo" / "feature_views.py"
    text = views.read_text().replace("about each user.", "about each user (in EUR).")
    views.write_text(text)


def change_team(org: Path) -> None:
    services = org / "team_repos" / "marketing" / "feature_services.py"
    text = services.read_text().replace("Features of the campaign", "The campaign")
    services.write_text(text)


def change_both(org: Path) -> None:
    """A field added to a platform view (and to its data), and the team's service that
    reads it: one change across two folders."""
    platform = org / "platform_repo"
    views = platform / "feature_views.py"
    last = '"Mean order value in EUR."),\n'
    added = f'        Field(name="{NEW_FIELD}", dtype=Int64, description="Days since an order."),\n'
    views.write_text(views.read_text().replace(last, last + added))
    data = platform / "scripts" / "generate_sample_data.py"
    data.write_text(data.read_text().replace(
        '    return {"user_features": users,',
        f'    customers["{NEW_FIELD}"] = rng.integers(0, 90, len(customers))\n'
        '    return {"user_features": users,',
    ))  # fmt: skip
    services = org / "team_repos" / "marketing" / "feature_services.py"
    services.write_text(services.read_text().replace(
        '"avg_order_value"]),', f'"avg_order_value", "{NEW_FIELD}"]),', 1))  # fmt: skip


CHANGES = {"platform": change_platform, "team": change_team, "both": change_both}


def branch_with(org: Path, change: str) -> list[str]:
    """A branch with ``change`` committed on top of main; the files it changes. What the
    last jobs left in the checkout (a runner's checkout is thrown away) goes first."""
    git(org, "checkout", "-q", "--", ".")
    git(org, "clean", "-qfd")
    git(org, "checkout", "-q", "-b", f"change-{change}")
    CHANGES[change](org)
    git(org, "commit", "-q", "-a", "-m", f"change: {change}")
    return git(org, "diff", "--name-only", "main...HEAD").splitlines()


def merge(org: Path, change: str) -> None:
    git(org, "checkout", "-q", "main")
    git(org, "merge", "-q", "--no-ff", f"change-{change}", "-m", f"Merge {change}")


# --- GitHub -------------------------------------------------------------------------------------

EXPECTED_GITHUB = {
    "platform": (["changes", "platform-check"], ["changes", "platform-sync"]),
    "team": (["changes", "team-marketing-check"], ["changes", "team-marketing-apply"]),
    "both": (
        ["changes", "platform-check", "team-marketing-check"],
        ["changes", "platform-sync", "team-marketing-apply"],
    ),
}


# What the gitlab-ci-local run below covers for the monorepo already, and costs a Feast
# start each (the test budget): the GitHub runs here install, sync and apply.
COVERED_BY_THE_GITLAB_RUN = ("feast-federation backup", "feast-federation materialize",
                             "feast-federation catalog")  # fmt: skip


def kept(step: str) -> bool:
    return not step.startswith(COVERED_BY_THE_GITLAB_RUN)


def run_jobs(org: Path, workflow: Path, jobs: list[str], env: dict, event: str) -> list[str]:
    """Each job's `run:` steps in order (the gate's are `uses:` only); the jobs run."""
    logs = []
    for job in jobs:
        ran = run_github_job(workflow, job, org, env, {"github.event_name": event}, wanted=kept)
        assert ran.failed is None, (
            f"{job}: {ran.commands[-1]}\n{ran.failed.stdout[-3000:]}\n{ran.failed.stderr[-3000:]}"
        )
        logs.append(job)
    return logs


@pytest.mark.parametrize("change", ["platform", "team", "both"])
def test_github_runs_the_changed_folders_jobs_platform_first(github_org, runner, change, tmp_path):
    workflow = github_org / ".github" / "workflows" / "feature-store.yml"
    changed = branch_with(github_org, change)
    pr_jobs = github_jobs(workflow, "pull_request", "refs/pull/1/merge", changed)
    push_jobs = github_jobs(workflow, "push", MAIN, changed)
    assert (pr_jobs, push_jobs) == EXPECTED_GITHUB[change]
    merge(github_org, change)
    env = job_env(runner, tmp_path / "summary.md")
    if change == "both":  # the new field's data, as the platform team would load it
        made = run_github_job_line(github_org / "platform_repo", env,
                                   "python scripts/generate_sample_data.py")  # fmt: skip
        assert made.returncode == 0, made.stderr[-3000:]
        assert push_jobs.index("platform-sync") < push_jobs.index("team-marketing-apply")
    # What runs on main, in the order `needs:` sets (the first change is the first sync).
    run_jobs(github_org, workflow, push_jobs, env, "push")
    registry = registry_objects(github_org)
    assert "customer_features" in registry["feature_views"]
    if change != "platform":
        assert "marketing_campaign_model" in registry["feature_services"]
    if change == "both":  # the service reads the field the sync of the same push added
        assert NEW_FIELD in service_features(github_org, "marketing_campaign_model")
    assert not [name for kind in registry.values() for name in kind if name.startswith("risk_")]


def run_github_job_line(cwd: Path, env: dict, command: str):
    import subprocess

    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def service_features(org: Path, service: str) -> set[str]:
    """The feature names ``service`` reads, from its proto in the org's SQLite registry."""
    from feast.protos.feast.core.FeatureService_pb2 import FeatureService

    with sqlite3.connect(registry_path(org)) as db:
        [(blob,)] = db.execute("SELECT feature_service_proto FROM feature_services "
                               "WHERE feature_service_name = ?", (service,))  # fmt: skip
    proto = FeatureService.FromString(blob)
    return {f.name for projection in proto.spec.features for f in projection.feature_columns}


def registry_path(org: Path) -> str:
    store = yaml.safe_load((org / "platform_repo" / "feature_store.yaml").read_text())
    return store["registry"]["path"].removeprefix("sqlite:///")


def registry_objects(org: Path) -> dict[str, set[str]]:
    """The names in the org's SQLite registry, by table."""
    with sqlite3.connect(registry_path(org)) as db:
        return {
            table: {row[0] for row in db.execute(f"SELECT {column} FROM {table}")}
            for table, column in (("feature_views", "feature_view_name"),
                                  ("feature_services", "feature_service_name"))
        }  # fmt: skip


# --- GitLab -------------------------------------------------------------------------------------

EXPECTED_GITLAB = {
    "platform": (["platform-check"], ["platform-sync"]),
    "team": (["team-marketing-check"], ["team-marketing-apply"]),
    "both": (["platform-check", "team-marketing-check"], ["platform-sync", "team-marketing-apply"]),
}
MR_VARIABLES = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_DEFAULT_BRANCH": "main"}
PUSH_VARIABLES = {
    "CI_PIPELINE_SOURCE": "push",
    "CI_DEFAULT_BRANCH": "main",
    "CI_COMMIT_BRANCH": "main",
}


def test_gitlab_rules_select_the_changed_folders_jobs(gitlab_org):
    pipeline = gitlab_org / ".gitlab-ci.yml"
    for change, (mr, push) in EXPECTED_GITLAB.items():
        changed = branch_with(gitlab_org, change)
        assert gitlab_jobs(pipeline, MR_VARIABLES, changed) == mr, change
        assert gitlab_jobs(pipeline, PUSH_VARIABLES, changed) == push, change
        git(gitlab_org, "checkout", "-q", "main")
        git(gitlab_org, "branch", "-q", "-D", f"change-{change}")
    schedule = {"CI_PIPELINE_SOURCE": "schedule", "CI_DEFAULT_BRANCH": "main"}
    drift = gitlab_jobs(pipeline, schedule, [])
    assert "platform-materialize" in drift and "team-risk-template-drift" in drift


def test_gitlab_ci_local_runs_a_cross_folder_change_platform_first(gitlab_org, runner, tmp_path):
    """The merge request's pipeline runs both folders' checks and nothing else; merged, the
    push pipeline (compared with main before the push, as GitLab compares with the commit
    before it) syncs the platform, then applies the team."""
    changed = branch_with(gitlab_org, "both")
    state = tmp_path / "state"
    checked = runner.pipeline(gitlab_org, state, MERGE_REQUEST, {"CI_MERGE_REQUEST_IID": "1"})
    assert checked.returncode == 0 and passed_jobs(checked) == sorted(EXPECTED_GITLAB["both"][0]), (
        checked.stdout[-6000:] + checked.stderr[-3000:]
    )
    # The team's check read the new field from the platform folder, and said so.
    note = f"customer_features:{NEW_FIELD}: not in the registry yet; read from the platform folder"
    assert note in checked.stderr, checked.stderr[-3000:]
    merge(gitlab_org, "both")
    env = job_env(runner, tmp_path / "summary.md")
    made = run_github_job_line(gitlab_org / "platform_repo", env,
                               "python scripts/generate_sample_data.py")  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    applied = runner.pipeline(gitlab_org, state, PUSH)
    assert applied.returncode == 0 and passed_jobs(applied) == sorted(EXPECTED_GITLAB["both"][1]), (
        applied.stdout[-6000:] + applied.stderr[-3000:]
    )
    log = applied.stdout
    (tmp_path.parent / "monorepo-pipelines.log").write_text(checked.stdout + log)
    assert log.index("platform-sync") < log.rindex("team-marketing-apply")
    pushed(gitlab_org)
    registry = registry_objects(gitlab_org)
    assert "marketing_campaign_model" in registry["feature_services"]
    assert changed
