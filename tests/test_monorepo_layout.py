"""What ``bootstrap --layout monorepo`` and ``add-team`` write at a monorepo's root, the
refusals (one line each, nothing written), and the root workflows under the same schema,
zizmor and actionlint checks as the polyrepo ones. No Feast: baking never imports it."""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import pytest
import yaml

from support import invoke, run
from support.actionlint import actionlint
from support.pipelines import condition_holds
from support.runners import git, template_copy

BIN = Path(sys.executable).parent


def bootstrap(org: Path, *args: str):
    return invoke("bootstrap", org, "--layout", "monorepo", "--owner", "p@acme.io", *args)


@pytest.fixture(scope="module")
def orgs(tmp_path_factory) -> Path:
    """A GitHub monorepo in the guide's naming, with a team added after bootstrap; a GitLab
    one; a GitHub one on PostgreSQL (its jobs read credentials)."""
    root = tmp_path_factory.mktemp("monorepos")
    names = ("--platform-dir", "platform_repo", "--teams-dir", "team_repos")
    assert bootstrap(root / "github", *names, "--team", "alpha").exit_code == 0
    added = invoke("add-team", "beta", "--platform", root / "github" / "platform_repo",
                   "--owner", "beta@acme.io")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert bootstrap(root / "gitlab", "--ci", "gitlab", "--team", "alpha").exit_code == 0
    added = invoke("add-team", "beta", "--platform", root / "gitlab" / "platform")
    assert added.exit_code == 0, added.output
    postgres = ("--registry", "postgres", "--online-store", "postgres", "--offline-store",
                "postgres")  # fmt: skip
    assert bootstrap(root / "postgres", *postgres, "--team", "alpha").exit_code == 0
    return root


def test_the_root_holds_what_git_hosts_and_pre_commit_read(orgs):
    org = orgs / "github"
    assert sorted(p.name for p in (org / ".github" / "workflows").iterdir()) == [
        "feature-store.yml", "materialize.yml", "template-drift.yml"]  # fmt: skip
    for folder in ("platform_repo", "team_repos/alpha", "team_repos/beta"):
        for only_at_root in (".github", "CODEOWNERS", ".pre-commit-config.yaml"):
            assert not (org / folder / only_at_root).exists(), (folder, only_at_root)
        skipped = json.loads((org / folder / ".cruft.json").read_text())["skip"]
        assert ".github" in skipped and ".gitlab-ci.yml" in skipped
    assert (org / "CODEOWNERS").read_text().splitlines()[-4:] == [
        "/platform_repo/federation.yaml p@acme.io",
        "/platform_repo/ p@acme.io",
        "/team_repos/alpha/ alpha-leads@example.com",
        "/team_repos/beta/ beta@acme.io",
    ]
    [hooks] = yaml.safe_load((org / ".pre-commit-config.yaml").read_text())["repos"]
    checks = [
        (h["entry"], h["files"]) for h in hooks["hooks"] if h["id"] == "feast-federation-check"
    ]
    assert checks == [
        ("feast-federation check --offline platform_repo", "^platform_repo/"),
        ("feast-federation check --offline team_repos/alpha", "^team_repos/alpha/"),
        ("feast-federation check --offline team_repos/beta", "^team_repos/beta/"),
    ]
    assert {"platform_dir": "platform_repo", "teams_dir": "team_repos"}.items() <= json.loads(
        (org / "feast-federation-org.json").read_text()
    ).items()
    readme = (org / "README.md").read_text()
    assert "`platform_repo/`" in readme and "add-team NAME --platform platform_repo" in readme
    policy = yaml.safe_load((org / "platform_repo" / "federation.yaml").read_text())
    assert {"alpha", "beta"} <= set(policy["teams"])


def test_add_team_joins_the_root_pipelines(orgs):
    workflow = yaml.safe_load((orgs / "github" / ".github/workflows/feature-store.yml").read_text())
    jobs = workflow["jobs"]
    assert list(jobs) == ["changes", "platform-check", "platform-sync", "team-alpha-check",
                          "team-alpha-apply", "team-beta-check", "team-beta-apply"]  # fmt: skip
    filters = yaml.safe_load(jobs["changes"]["steps"][-1]["with"]["filters"])
    assert filters["team-beta"] == ["team_repos/beta/**"]
    assert jobs["team-beta-apply"]["needs"] == ["changes", "platform-sync"]
    assert jobs["team-beta-apply"]["defaults"]["run"]["working-directory"] == "team_repos/beta"
    assert jobs["team-beta-apply"]["concurrency"]["group"] == "feast-registry-acme-team-beta"
    drift = yaml.safe_load((orgs / "github" / ".github/workflows/template-drift.yml").read_text())
    assert "team-beta-cruft-check" in drift["jobs"]
    pipeline = yaml.safe_load((orgs / "gitlab" / ".gitlab-ci.yml").read_text())
    assert pipeline["team-beta-apply"]["needs"] == [{"job": "platform-sync", "optional": True}]
    assert pipeline["team-beta-apply"]["before_script"][0] == "cd teams/beta"
    assert {"changes": ["teams/beta/**/*"]}.items() <= pipeline["team-beta-check"]["rules"][
        0
    ].items()
    assert "--plan-job team-beta-check" in " ".join(pipeline["team-beta-apply"]["script"])
    assert not (orgs / "gitlab" / ".github").exists()


def test_pull_request_jobs_read_only_applies_queued_per_folder(orgs):
    workflow = yaml.safe_load(
        (orgs / "postgres" / ".github/workflows/feature-store.yml").read_text()
    )
    for name, job in workflow["jobs"].items():
        secrets = {value for value in (job.get("env") or {}).values() if "secrets." in value}
        if name.endswith("-check"):
            assert secrets and all("READONLY" in value for value in secrets), name
            assert job["environment"] == "feast-registry-readonly" and "concurrency" not in job
        elif name != "changes":
            assert secrets and not any("READONLY" in value for value in secrets), name
            assert job["environment"] == "feast-registry"
            assert job["concurrency"]["cancel-in-progress"] is False
    assert "concurrency" not in workflow


def test_root_workflows_pass_schema_zizmor_and_actionlint(orgs):
    files = sorted(orgs.glob("*/.github/workflows/*.yml"))
    assert len(files) == 6
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  *map(str, files)])  # fmt: skip
    assert schema.returncode == 0, schema.stdout[-2000:]
    audit = run([str(BIN / "zizmor"), "--persona", "auditor", "--offline", "--no-progress",
                 "--format", "json", *map(str, files)])  # fmt: skip
    findings = json.loads(audit.stdout)
    counts = collections.Counter((f["ident"], f["determinations"]["severity"]) for f in findings)
    assert {severity for _, severity in counts} <= {"Informational", "Low"}, counts
    assert actionlint(files) == []
    gitlab = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                  str(orgs / "gitlab" / ".gitlab-ci.yml")])  # fmt: skip
    assert gitlab.returncode == 0, gitlab.stdout[-2000:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layout", "mono"], "error: layout mono: choose one of polyrepo, monorepo"),
        (["--layout", "monorepo", "--environment", "staging"],
         "error: --layout monorepo with --environment: not supported yet (the root pipelines "
         "promote no environments); choose one or the other"),
        (["--layout", "monorepo", "--teams-dir", "platform"],
         "error: --teams-dir 'platform': the platform's folder has that name; choose another"),
        (["--layout", "monorepo", "--teams-dir", "../up"],
         "error: --teams-dir '../up': use letters, digits, '.', '_' and '-', starting with a "
         "letter or digit (one directory name)"),
    ],
)  # fmt: skip
def test_bootstrap_refusals_are_one_line_and_write_nothing(tmp_path, args, message):
    result = invoke("bootstrap", tmp_path / "org", "--team", "alpha", *args)
    assert result.exit_code == 1 and result.output.strip().splitlines() == [message]
    assert not (tmp_path / "org").exists()


def test_add_team_refusals_in_a_monorepo(orgs, tmp_path):
    platform = orgs / "gitlab" / "platform"
    before = (orgs / "gitlab" / ".gitlab-ci.yml").read_text()
    wrong_ci = invoke("add-team", "gamma", "--platform", platform, "--ci", "github")
    assert wrong_ci.exit_code == 1 and wrong_ci.output.strip().splitlines() == [
        "error: team gamma: ci github differs from the monorepo's gitlab; its root pipelines "
        "run every folder's jobs"
    ]
    elsewhere = invoke("add-team", "gamma", "--platform", platform, "--output-dir", tmp_path)
    assert elsewhere.exit_code == 1
    assert elsewhere.output.strip().splitlines() == [
        f"error: --output-dir {tmp_path}: in the monorepo {orgs / 'gitlab'}, team folders go "
        f"in {orgs / 'gitlab' / 'teams'}"
    ]
    assert not (orgs / "gitlab" / "teams" / "gamma").exists()
    assert (orgs / "gitlab" / ".gitlab-ci.yml").read_text() == before
    assert "gamma" not in (platform / "federation.yaml").read_text()


def test_a_team_apply_after_the_platforms_sync_plans_again(orgs):
    """With reviewed plans on, a team's apply carries out its pull request's plan, unless the
    platform's sync of the same push ran: that plan was made against the registry before the
    sync (stale by construction), so the apply plans again and applies in one run."""
    workflow = orgs / "github" / ".github/workflows/feature-store.yml"
    steps = yaml.safe_load(workflow.read_text())["jobs"]["team-alpha-apply"]["steps"]
    on = {"vars.FEAST_REGISTRY_READONLY": "true", "github.event_name": "push"}

    def runs(sync: str) -> list[str]:
        context = {**on, "needs.platform-sync.result": sync}
        return [step["run"].split()[0] + " " + step["run"].split()[1] for step in steps
                if "run" in step and condition_holds(str(step.get("if", "")), context)]  # fmt: skip

    assert runs("skipped") == ["pip install", "feast-federation reviewed-plan",
                               "python apply.py"]  # fmt: skip
    assert runs("success") == ["pip install", "python apply.py"]
    pipeline = yaml.safe_load((orgs / "gitlab" / ".gitlab-ci.yml").read_text())
    [line] = pipeline["team-alpha-apply"]["script"]
    assert '&& git diff --quiet "$CI_COMMIT_BEFORE_SHA" "$CI_COMMIT_SHA" -- ' in line
    assert '"$CI_PROJECT_DIR/platform"; then' in line


def test_cruft_updates_one_folder_and_leaves_the_root_files_alone(tmp_path, monkeypatch):
    template = tmp_path / "feast-federation"
    template.mkdir()
    template_copy(template)
    monkeypatch.setenv("FEAST_FEDERATION_TEMPLATES", str(template))
    monkeypatch.setenv("FEAST_FEDERATION_TEMPLATE_URL", str(template))
    org = tmp_path / "org"
    assert bootstrap(org, "--team", "alpha").exit_code == 0
    git(org, "init", "-q", "-b", "main")
    git(org, "add", "-A")
    git(org, "commit", "-qm", "baked")
    folder = template / "cookiecutter-platform" / "{{cookiecutter.repo_name}}"
    for name, line in (("README.md", "A line the template gained."),
                       (".pre-commit-config.yaml", "# a line the template gained")):  # fmt: skip
        with (folder / name).open("a") as file:
            file.write(f"\n{line}\n")
    git(template, "commit", "-qam", "the template moves on")
    updated = run([str(BIN / "cruft"), "update", "-y"], cwd=org / "platform")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "A line the template gained." in (org / "platform" / "README.md").read_text()
    assert not (org / "platform" / ".pre-commit-config.yaml").exists()
    assert "a line the template gained" not in (org / ".pre-commit-config.yaml").read_text()
