"""Generated CI passes its linters; repos follow their template with cruft; hooks catch mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from feast_federation.onboarding import bake_platform, bake_team
from feast_federation.rules.choices import Backends
from support import run
from support.runners import template_copy

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    return str(BIN / name)


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory) -> Path:
    """Every CI choice, with and without the registry server, baked once."""
    root = tmp_path_factory.mktemp("pipelines")
    for ci in ("github", "gitlab", "none"):
        for server in ("none", "oidc"):
            org = root / f"{ci}-{server}"
            platform = bake_platform(org, project="acme", owners=["p@x.io"],
                                     backends=Backends(registry_server=server), ci=ci)  # fmt: skip
            address = "registry.example.com:6570" if server != "none" else ""
            bake_team(platform, team="alpha", owners=["a@x.io"], output_dir=org / "teams",
                      registry_server=address, ci=ci)  # fmt: skip
        # Both clouds' credentials: an AWS registry with Google Cloud stores.
        org = root / f"{ci}-cloud"
        cloud = Backends("s3", "datastore", "bigquery")
        platform = bake_platform(org, project="acme", owners=["p@x.io"], backends=cloud, ci=ci)
        bake_team(platform, team="alpha", owners=["a@x.io"], output_dir=org / "teams", ci=ci)
    return root


def test_github_workflows_pass_schema_and_zizmor(pipelines):
    workflows = sorted(str(p) for p in pipelines.glob("github-*/**/.github/workflows/*.yml"))
    # 3 orgs x (platform: pipeline, template drift, materialize + team: pipeline, drift)
    assert len(workflows) == 15
    schema = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows]
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = run([tool("zizmor"), "--offline", "--no-progress", *workflows])
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout + audit.stderr


def test_gitlab_pipelines_pass_their_schema(pipelines):
    files = sorted(str(p) for p in pipelines.glob("gitlab-*/**/.gitlab-ci.yml"))
    assert len(files) == 6
    cloud = (pipelines / "gitlab-cloud/platform/.gitlab-ci.yml").read_text()
    assert "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS" in cloud
    assert not list(pipelines.glob("gitlab-*/**/.github/workflows/*.yml"))
    schema = run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", *files])
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_no_pipeline_when_ci_is_none(pipelines):
    assert not list(pipelines.glob("none-*/**/.gitlab-ci.yml"))
    assert not list(pipelines.glob("none-*/**/.github/workflows/*.yml"))


def test_team_token_comes_only_from_secrets(pipelines):
    served = (
        pipelines / "github-oidc/teams/alpha/.github/workflows/feature-services.yml"
    ).read_text()
    assert "FEAST_REGISTRY_TOKEN: ${{ secrets.FEAST_REGISTRY_TOKEN }}" in served
    direct = (
        pipelines / "github-none/teams/alpha/.github/workflows/feature-services.yml"
    ).read_text()
    assert "FEAST_REGISTRY_TOKEN" not in direct
    for workflow in pipelines.glob("github-*/**/.github/workflows/*.yml"):
        for line in workflow.read_text().splitlines():
            assert not ("run:" in line and "${{" in line), (workflow, line)


# --- a template that moves on ------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.io",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.io"}  # fmt: skip
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture()
def template_repo(tmp_path) -> Path:
    """A git copy of this project as it is now (uncommitted changes included), tagged v0.1.0."""
    return template_copy(tmp_path / "feast-federation")


def test_cruft_update_brings_template_changes_and_keeps_local_edits(template_repo, tmp_path):
    env = {**os.environ, "FEAST_FEDERATION_TEMPLATES": str(template_repo),
           "FEAST_FEDERATION_TEMPLATE_URL": str(template_repo)}  # fmt: skip
    made = run([sys.executable, "-m", "feast_federation.cli", "bootstrap", str(tmp_path / "org"),
                "--team", "alpha"], env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    team = tmp_path / "org" / "teams" / "alpha"
    state = json.loads((team / ".cruft.json").read_text())
    assert state["template"] == str(template_repo) and state["directory"] == "cookiecutter-team"
    git("init", "-q", "-b", "main", cwd=team)
    git("add", "-A", cwd=team)
    git("commit", "-qm", "baked", cwd=team)
    readme = team / "README.md"
    readme.write_text(readme.read_text() + "\nOur on-call rota lives in the wiki.\n")
    git("commit", "-qam", "local edit", cwd=team)
    assert run([tool("cruft"), "check"], cwd=team).returncode == 0

    template_readme = (
        template_repo / "cookiecutter-team" / "{{cookiecutter.__repo_dir}}" / "README.md"
    )
    text = template_readme.read_text().replace(
        "## Writing an ODFV that serves",
        "## Asking for help\n\nAsk #feature-store.\n\n## Writing an ODFV that serves",
    )
    template_readme.write_text(text)
    git("commit", "-qam", "template: a help section", cwd=template_repo)

    assert run([tool("cruft"), "check"], cwd=team).returncode != 0  # it notices
    updated = run(
        [tool("cruft"), "update", "--skip-apply-ask", "--allow-untracked-files", "-y"], cwd=team
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    merged = readme.read_text()
    assert "## Asking for help" in merged  # the template's change arrived
    assert "Our on-call rota lives in the wiki." in merged  # the local edit survived
    assert (team / "feature_store.yaml").is_file()  # hooks did not re-run against the platform
    assert run([tool("cruft"), "check"], cwd=team).returncode == 0


# --- pre-commit, as the generated config runs it --------------------------------------------------


@pytest.fixture()
def applied_org(template_repo, tmp_path):
    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.repo import find_repo

    # The org names its own copy of feast-federation, as `bootstrap --federation-repo-url`.
    platform, [team] = bootstrap_org(
        tmp_path / "org", project="acme", owners=["p@x.io"], teams=["alpha"],
        federation_repo_url=f"file://{template_repo}",
    )  # fmt: skip
    for repo in (platform, team):
        sync.apply(find_repo(repo))
    config = yaml.safe_load((team / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["repo"] == f"file://{template_repo}"
    assert config["repos"][0]["rev"] == "v0.1.0"  # the tag the template copy carries
    git("init", "-q", "-b", "main", cwd=team)
    git("add", "-A", cwd=team)
    return team


@pytest.mark.slow
def test_pre_commit_hooks_catch_planted_violations(applied_org, tmp_path):
    team = applied_org
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    clean = run([tool("pre-commit"), "run", "--all-files"], cwd=team, env=env)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-2000:]
    (team / "stolen.py").write_text(
        "from feast import FeatureService\nfrom feast_federation import platform_view\n"
        "risk_model = FeatureService(\n"
        "    name='risk_model', features=[platform_view('user_features')])\n"
    )
    (team / "deploy.sh").write_text("#!/bin/sh\nfeast apply\n")
    git("add", "-A", cwd=team)
    caught = run([tool("pre-commit"), "run", "--all-files"], cwd=team, env=env)
    assert caught.returncode == 1
    output = caught.stdout
    assert "FeatureService risk_model: team alpha's names must start with alpha_" in output
    assert "deploy.sh:2: runs stock `feast apply`" in output
