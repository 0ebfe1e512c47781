"""The generated GitLab pipelines, run job by job on a real runner (gitlab-ci-local, shell
executor, each job in its own build folder), for both repo kinds: merge-request check (the
plan saved) → main sync (the reviewed plan carried out) → scheduled materialize and drift
check → team merge-request check → team apply → team drift check, every job green; then a
manual run of each repo's main pipeline (what a reconcile runs: plan and apply in one job,
no saved plan), which changes nothing.

The org is what a real one would be: a PostgreSQL registry and online store every job
reaches, read-only credentials for merge requests, the parquet data at the configured data
location (outside every checkout), GitLab's API for the reviewed plan on 127.0.0.1, and
feast-federation installed by each job's own `pip install -r requirements.txt`.

Order matters: the tests share one org and one registry, and each picks up where the last
left it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from support import cli, registry_fingerprint, run
from support.forges import FakeGitLab, serving
from support.postgres import postgres_on_loopback
from support.runners import (
    MERGE_REQUEST,
    PUSH,
    SCHEDULE,
    WEB,
    GitLabRunner,
    build_wheelhouse,
    git,
    git_project,
    passed_jobs,
    pushed,
    template_copy,
)

pytestmark = pytest.mark.slow

TEAM = "marketing"
READ_ONLY = {"FEAST_PG_READONLY_USER": "feast_ro", "FEAST_PG_READONLY_PASSWORD": "ro"}
# What the jobs' `pip install` lines install besides requirements.txt.
JOB_TOOLS = ("ruff", "pytest", "cruft")


class Org:
    def __init__(self, root: Path, pg: dict[str, str]):
        self.root, self.pg = root, pg
        self.platform, self.team = root / "platform", root / "teams" / TEAM
        self.lake = root.parent / "lake"  # the data location: no checkout holds it
        self.gitlab = FakeGitLab()
        self.iid = 6

    def env(self, **extra: str) -> dict[str, str]:
        """This machine's environment with the write credentials (a platform engineer)."""
        return {**os.environ, **self.pg, **extra}

    def sql(self, *statements: str) -> None:
        import sqlalchemy

        url = "postgresql+psycopg://{FEAST_PG_USER}:@{FEAST_PG_HOST}:{FEAST_PG_PORT}/postgres"
        with sqlalchemy.create_engine(url.format(**self.pg)).begin() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))

    def state(self, repo: Path) -> Path:
        return self.root.parent / f"runner-state-{repo.name}"

    def merge_request(self, repo: Path, change: str = "") -> str:
        """A merge request's branch with one more commit: the repo's uncommitted changes
        (``change``), else none; returns its iid."""
        self.iid += 1
        git(repo, "checkout", "-q", "-b", f"change-{self.iid}")
        git(repo, "commit", "-q", "-a", "--allow-empty", "-m", change or f"change !{self.iid}")
        return str(self.iid)

    def merge(self, repo: Path, iid: str) -> None:
        """Merge the request into main (a merge commit) and tell GitLab's API about it and
        about the plan its check saved."""
        head = git(repo, "rev-parse", "HEAD")  # the request's head, where its pipeline ran
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", f"change-{iid}", "-m", f"Merge !{iid}")
        plan = (self.state(repo) / "artifacts" / "check" / "plan.json").read_bytes()
        self.gitlab.merged(int(iid), plan, merge_commit_sha=pushed(repo), head=head,
                           pipeline=100 + int(iid))  # fmt: skip


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """A GitLab org on PostgreSQL (registry and online store) with its parquet data at a
    data location outside every checkout, its repos git projects on main; the registry
    never synced."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    root = tmp_path_factory.mktemp("runners")
    template = template_copy(root / "feast-federation")  # what `cruft check` compares with
    with postgres_on_loopback(root) as pg, pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEAST_FEDERATION_TEMPLATES", str(template))
        patch.setenv("FEAST_FEDERATION_TEMPLATE_URL", str(template))
        org = Org(root / "org", pg)
        bootstrap_org(
            org.root, project="acme", owners=["p@acme.io"], teams=((TEAM, "customer_features"),),
            backends=Backends("postgres", "postgres", "file"), ci="gitlab",
            postgres_sslmode="disable", data_location=str(org.lake),
        )  # fmt: skip
        for repo in (org.platform, org.team):
            git_project(repo)
        # Merge-request jobs log in as feast_ro: it reads every table the registry will have.
        org.sql(
            "CREATE ROLE feast_ro LOGIN PASSWORD 'ro'",
            "GRANT USAGE ON SCHEMA public TO feast_ro",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO feast_ro",
        )
        # A read-only check cannot create the registry's tables (one line says so,
        # test_engine_errors): the platform's first sync runs with the write credentials.
        first = run([sys.executable, "apply.py", "--yes"], cwd=org.platform, env=org.env())
        assert first.returncode == 0, first.stderr[-3000:]
        yield org


@pytest.fixture(scope="module")
def runner(org, tmp_path_factory):
    """gitlab-ci-local with a fresh venv for the jobs and a wheelhouse built once; every job
    gets the project's CI/CD variables: write and read-only credentials, the switch that
    turns on the reviewed plan, and GitLab's API (a fake on 127.0.0.1)."""
    requirements = {
        line.strip()
        for repo in (org.platform, org.team)
        for line in (repo / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("feast-federation")
    }
    wheels = build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"), [*requirements, *JOB_TOOLS])
    runner = GitLabRunner.create(tmp_path_factory.mktemp("runner"), wheels)
    with serving(org.gitlab) as base:
        readonly = {name.replace("FEAST_PG_", "FEAST_PG_READONLY_"): value
                    for name, value in org.pg.items()} | READ_ONLY  # fmt: skip
        runner.variables = {
            **org.pg, **readonly, "FEAST_REGISTRY_READONLY": "true",
            "FEAST_PLAN_TOKEN": org.gitlab.token, "CI_API_V4_URL": f"{base}/api/v4",
            "CI_PROJECT_ID": org.gitlab.project_id,
        }  # fmt: skip
        yield runner
    # Every pipeline's log, with each job's time, beside the org: to read after a run.
    logs = "".join(f"=== {what}\n{log}\n" for what, log in runner.runs)
    (org.root.parent / "pipelines.log").write_text(logs)


def green(result, *jobs: str) -> str:
    """The pipeline's log, once every one of ``jobs`` passed and nothing else ran."""
    assert result.returncode == 0 and passed_jobs(result) == sorted(jobs), (
        result.stdout[-6000:] + result.stderr[-3000:]
    )
    return result.stdout


def run_all(org: Org, runner: GitLabRunner, change: str = "") -> dict[str, str]:
    """Every pipeline of both repos, in the order an org meets them (the platform's merge
    request commits ``change``, if given); each job's log."""
    logs = {}
    for repo, main_job in ((org.platform, "sync"), (org.team, "apply")):
        state = org.state(repo)
        iid = org.merge_request(repo, change if repo == org.platform else "")
        checked = runner.pipeline(repo, state, MERGE_REQUEST, {"CI_MERGE_REQUEST_IID": iid})
        logs[f"{repo.name} check"] = green(checked, "check")
        org.merge(repo, iid)
        logs[f"{repo.name} {main_job}"] = green(runner.pipeline(repo, state, PUSH), main_job)
        if repo == org.platform:
            jobs = ("materialize", "template-drift")
            logs["materialize"] = green(runner.pipeline(repo, state, SCHEDULE, jobs=jobs), *jobs)
        else:
            scheduled = runner.pipeline(repo, state, SCHEDULE)
            logs[f"{repo.name} drift"] = green(scheduled, "template-drift")
    return logs


def test_every_job_of_both_pipelines_passes_on_a_runner(org, runner, monkeypatch):
    """After the platform's first sync, a change to a view in a merge
    request is planned read-only, carried out on main as planned, and the views are
    materialized from the data location on schedule; then the team's turn."""
    views = org.platform / "feature_views.py"
    views.write_text(views.read_text().replace(DESCRIPTION, f'{DESCRIPTION[:-2]} (in EUR)."'))
    logs = run_all(org, runner, change="describe user_features in EUR")
    assert "update" in logs["platform check"] and "user_features" in logs["platform check"]
    assert "1 changed" in logs["platform sync"], logs["platform sync"][-3000:]
    assert "Materialized 3 feature views" in logs["materialize"]
    assert "The repo follows the federation rules." in logs["marketing check"]
    for pg in org.pg.items():
        monkeypatch.setenv(*pg)
    served = run([sys.executable, "-c", ONLINE, str(org.team)], env=org.env())
    assert served.returncode == 0, served.stderr[-3000:]
    assert json.loads(served.stdout)["total_purchases"][0] is not None


def test_a_second_run_of_every_pipeline_changes_nothing(org, runner, monkeypatch):
    for pg in org.pg.items():
        monkeypatch.setenv(*pg)
    before = definitions(registry_fingerprint(org.platform))
    # "Run pipeline" on main: no merge request, so no saved plan; each main job plans and
    # applies in one run (the checks and drift checks write nothing: once is enough).
    asked = len(org.gitlab.requests)
    synced = green(runner.pipeline(org.platform, org.state(org.platform), WEB), "sync")
    applied = green(runner.pipeline(org.team, org.state(org.team), WEB), "apply")
    for log in (synced, applied):
        assert "nothing to change" in log, log[-3000:]
    assert len(org.gitlab.requests) == asked  # no saved plan was fetched
    assert definitions(registry_fingerprint(org.platform)) == before
    assert cli("audit", str(org.platform)).returncode == 0


def definitions(fingerprint: dict[str, str]) -> dict[str, str]:
    """The fingerprint but the feature views, which every materialization stamps."""
    return {key: value for key, value in fingerprint.items() if "feature_views/" not in key}


DESCRIPTION = '"Profile facts about each user."'
ONLINE = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
rows = [{"customer_id": 3001, "current_cart_value": 80.0}]
service = store.get_feature_service("marketing_campaign_model")
print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))
"""
