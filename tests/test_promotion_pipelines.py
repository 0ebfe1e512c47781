"""The promotion pipelines of an org with environments (GitHub and GitLab, platform and team):
pull-request jobs plan against every environment with that environment's read-only secrets,
main applies and verifies each environment after the one before, the last in its protected
environment; and, run here step by step as a runner would (support.pipelines) against real
PostgreSQL registries, each job holds its own environment's secrets only.
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from support import run, venv_commands_first
from support.pipelines import run_github_job, run_gitlab_job

BIN = Path(sys.executable).parent
SECRET = re.compile(r"secrets\.(\w+)")
ENVIRONMENTS = ("staging", "production")
POSTGRES = ("postgres", "postgres", "postgres")


def _bake(root: Path, ci: str, backends=POSTGRES) -> Path:
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    bootstrap_org(root, project="acme", owners=["p@x.io"], teams=["alpha"], ci=ci,
                  backends=Backends(*backends), postgres_sslmode="disable",
                  environments=ENVIRONMENTS)  # fmt: skip
    return root


@pytest.fixture(scope="module")
def orgs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("promotion")
    for ci in ("github", "gitlab"):
        _bake(root / ci, ci)
    return root


def _repos(org: Path):
    return (("platform", org / "platform"), ("team", org / "teams" / "alpha"))


def _secrets(job: dict) -> set[str]:
    return set(SECRET.findall(json.dumps(job)))


def test_github_jobs_per_environment_hold_only_that_environments_secrets(orgs):
    for _, repo in _repos(orgs / "github"):
        workflows = repo / ".github" / "workflows"
        assert not (workflows / "feature-store.yml").exists()
        assert not (workflows / "feature-services.yml").exists()
        jobs = yaml.safe_load((workflows / "promotion.yml").read_text())["jobs"]
        assert "concurrency" not in jobs["tests"] and not _secrets(jobs["tests"])
        for index, env in enumerate(ENVIRONMENTS):
            plan, apply = jobs[f"plan-{env}"], jobs[f"apply-{env}"]
            assert "pull_request" in plan["if"] and "refs/heads/main" in apply["if"]
            assert plan["environment"] == f"feast-registry-{env}-readonly"
            assert apply["environment"] == f"feast-registry-{env}"
            assert _secrets(plan) and all("READONLY" in s for s in _secrets(plan))
            assert _secrets(apply) and not any("READONLY" in s for s in _secrets(apply))
            assert apply["concurrency"]["group"] == f"feast-registry-acme-{env}"
            if index:
                assert apply["needs"] == f"apply-{ENVIRONMENTS[index - 1]}"
            commands = [step["run"] for step in apply["steps"] if "run" in step]
            federated = [
                c for c in commands
                if ("apply.py" in c or "feast-federation" in c) and "reviewed-plan" not in c
            ]  # fmt: skip
            assert federated and all(f"--env {env}" in c for c in federated), federated
            assert any(f"--artifact feast-plan-{env}" in c for c in commands)
            assert any(c.startswith(f"feast-federation verify . --env {env}") for c in commands)
            saved = [s for s in plan["steps"] if "upload-artifact" in s.get("uses", "")]
            assert saved[0]["with"]["name"] == f"feast-plan-{env}"
    files = sorted(str(p) for p in orgs.glob("github/**/.github/workflows/*.yml"))
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  *files])  # fmt: skip
    assert schema.returncode == 0, schema.stdout[-2000:]
    audit = run([str(BIN / "zizmor"), "--persona", "auditor", "--offline", "--no-progress",
                 "--format", "json", *files])  # fmt: skip
    counts = collections.Counter(
        (f["ident"], f["determinations"]["severity"]) for f in json.loads(audit.stdout)
    )
    assert {severity for _, severity in counts} <= {"Informational", "Low"}, counts


def test_gitlab_jobs_per_environment_read_only_in_merge_requests(orgs):
    files = []
    for _, repo in _repos(orgs / "gitlab"):
        path = repo / ".gitlab-ci.yml"
        files.append(str(path))
        assert not (repo / ".gitlab-ci.promotion.yml").exists()
        pipeline = yaml.safe_load(path.read_text())
        assert pipeline["stages"] == ["check", *ENVIRONMENTS]
        for index, env in enumerate(ENVIRONMENTS):
            check, apply = pipeline[f"check-{env}"], pipeline[f"apply-{env}"]
            assert check["environment"] == {
                "name": f"feast-registry-{env}-readonly",
                "action": "prepare",
            }
            assert check["variables"] and all(
                value.startswith("$") and "READONLY" in value
                for value in check["variables"].values()
            )
            assert apply["environment"] == {"name": f"feast-registry-{env}"}
            assert apply["resource_group"] == f"feast-registry-acme-{env}"
            assert apply.get("needs") == ([f"apply-{ENVIRONMENTS[index - 1]}"] if index else None)
            assert all(f"--env {env}" in line for line in apply["script"])
            assert any(f"--plan-job check-{env}" in line for line in apply["script"])
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", *files])
    assert schema.returncode == 0, schema.stdout[-2000:]


# --- the jobs run, each with its own environment's secrets ---------------------------------


def _environment_secrets(settings: dict[str, str], database: str) -> dict[str, str]:
    return {**settings, "FEAST_PG_DATABASE": database}


def _job_env(job: dict, secrets: dict[str, str]) -> dict[str, str]:
    """What a job receives: its ``env:`` mapping, each ``${{ secrets.X }}`` from the secrets
    of the job's GitHub environment (a name it does not hold stays unset, as on GitHub)."""
    held = {}
    for name, value in (job.get("env") or {}).items():
        found = SECRET.search(str(value))
        if found and found[1] in secrets:
            held[name] = secrets[found[1]]
    return held


@pytest.mark.slow
def test_the_main_pipeline_runs_staging_then_production_each_with_its_own_secrets(tmp_path):
    from support.postgres import postgres_on_loopback

    org = _bake(tmp_path / "org", "github")
    context = {"github.event_name": "push", "github.ref": "refs/heads/main",
               "vars.FEAST_REGISTRY_READONLY": "", "github.token": "unused"}  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FEAST_", "GITHUB_"))}
    base = venv_commands_first({**base, "PATH": os.environ["PATH"]})
    base["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary.md")
    with tempfile.TemporaryDirectory(prefix="feast-federation-pg-") as server_dir, \
            postgres_on_loopback(Path(server_dir)) as settings:  # fmt: skip
        secrets = {env: _environment_secrets(settings, env) for env in ENVIRONMENTS}
        # Production's GitHub environment also holds staging's read-only credentials under
        # STAGING__<VARIABLE>: its promotion gate reads staging's apply log.
        environment_secrets = {
            "staging": secrets["staging"],
            "production": secrets["production"]
            | {f"STAGING__{name}": value for name, value in secrets["staging"].items()},
        }
        for env in ENVIRONMENTS:
            run([sys.executable, "-c", _CREATE_DATABASE, env], env={**base, **settings})
            loaded = run([sys.executable, "scripts/generate_sample_data.py", "--postgres"],
                         cwd=org / "platform", env={**base, **secrets[env]})  # fmt: skip
            assert loaded.returncode == 0, loaded.stderr
        for env in ENVIRONMENTS:
            for kind, repo in _repos(org):
                workflow = repo / ".github" / "workflows" / "promotion.yml"
                job = yaml.safe_load(workflow.read_text())["jobs"][f"apply-{env}"]
                held = _job_env(job, environment_secrets[env])
                assert held["FEAST_PG_DATABASE"] == env  # its own environment's database
                scoped = {name for name in held if "__" in name}
                assert scoped == ({f"STAGING__{name}" for name in secrets["staging"]}
                                  if env == "production" else set())  # fmt: skip
                ran = run_github_job(workflow, f"apply-{env}", repo, {**base, **held}, context,
                                     wanted=lambda c: not c.startswith("pip "))  # fmt: skip
                failed = ran.failed
                assert failed is None, (kind, env, failed and failed.stdout + failed.stderr)
                assert any("verify" in command for command in ran.commands)
        # Each environment's registry is its own database with its own log; production's
        # applies passed the gate on staging's verifications.
        for env in ENVIRONMENTS:
            log = run([sys.executable, "-m", "feast_federation.cli", "log", org / "teams" / "alpha",
                       "--env", env, "--json"], env={**base, **secrets[env]})  # fmt: skip
            entries = [(entry["owner"], entry["action"]) for entry in json.loads(log.stdout)]
            assert entries == [
                ("platform", "apply"),
                ("platform", "verify"),
                ("alpha", "apply"),
                ("alpha", "verify"),
            ], (env, log.stderr)
            if env == "production":
                assert all(
                    entry.get("promoted_from") == "staging"
                    for entry in json.loads(log.stdout)
                    if entry["action"] == "apply"
                )
        gitlab = _bake(tmp_path / "gitlab", "gitlab")
        pipeline = gitlab / "platform" / ".gitlab-ci.yml"
        for env in ENVIRONMENTS:
            ran = run_gitlab_job(
                pipeline,
                f"apply-{env}",
                gitlab / "platform",
                {**base, **secrets[env]},
                wanted=lambda line: "backup" in line or "apply.py" in line,
            )
            assert ran.failed is None, ran.failed and ran.failed.stderr
            assert all(e["FEAST_PG_DATABASE"] == env for e in ran.environments)


_CREATE_DATABASE = """
import os, sys, psycopg
with psycopg.connect(host=os.environ["FEAST_PG_HOST"], port=os.environ["FEAST_PG_PORT"],
                     user=os.environ["FEAST_PG_USER"], dbname="postgres", autocommit=True) as db:
    db.execute(f"CREATE DATABASE {sys.argv[1]}")
with psycopg.connect(host=os.environ["FEAST_PG_HOST"], port=os.environ["FEAST_PG_PORT"],
                     user=os.environ["FEAST_PG_USER"], dbname=sys.argv[1], autocommit=True) as db:
    db.execute("CREATE SCHEMA alpha")  # the team's offline schema
"""
