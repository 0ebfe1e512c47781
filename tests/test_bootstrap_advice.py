"""What a new org's owner is told before pushing it anywhere, and what stays true once it is
pushed: the local default is for one machine (said at bootstrap and in the platform's
README), placeholder URLs are named with the option that sets them, every repo with a
drift job has the .cruft.json it checks, and CODEOWNERS keeps the policy's review the way
GitHub reads it (the last matching pattern wins). No Feast: baking only."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from support import ROOT, invoke

RUNNER = (
    "warning: registry sqlite is the local default, for one machine: its files stay in "
    "platform/data/ on this machine, so the generated github jobs cannot reach it from a "
    "runner; for CI choose --registry postgres, remote, s3 or gcs, --online-store postgres, "
    "redis, dynamodb, datastore or bigtable and --offline-store postgres, snowflake, "
    "bigquery, redshift or spark (or --ci none to keep it local)"
)
PLACEHOLDER = (
    "warning: .pre-commit-config.yaml and .cruft.json point at "
    "https://github.com/your-org/feast-federation, a placeholder: pass --federation-repo-url "
    "with your copy of feast-federation (FEAST_FEDERATION_TEMPLATE_URL sets .cruft.json's alone)"
)
OURS = "https://github.com/acme/feast-federation"


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_bootstrap_says_the_local_default_is_for_one_machine(tmp_path):
    result = invoke("bootstrap", tmp_path / "org", "--team", "marketing")
    assert result.exit_code == 0, result.output
    assert RUNNER in lines(result.output) and PLACEHOLDER in lines(result.output)
    readme = (tmp_path / "org" / "platform" / "README.md").read_text()
    assert "**The local default is for one machine.**" in readme
    assert "so the generated jobs fail there" in readme


@pytest.mark.parametrize(
    "options",
    [
        ["--ci", "none"],
        ["--registry", "postgres", "--online-store", "redis", "--offline-store", "postgres"],
    ],
)
def test_no_runner_warning_without_ci_or_with_shared_stores(tmp_path, options):
    result = invoke("bootstrap", tmp_path / "org", "--federation-repo-url", OURS, *options)
    assert result.exit_code == 0, result.output
    assert not [line for line in lines(result.output) if line.startswith("warning:")]
    readme = (tmp_path / "org" / "platform" / "README.md").read_text()
    assert ("local default is for one machine" in readme) == ("none" in options)


def test_a_real_federation_repo_url_is_not_a_placeholder(tmp_path):
    result = invoke("bootstrap", tmp_path / "org", "--federation-repo-url", OURS)
    assert PLACEHOLDER not in lines(result.output)
    assert OURS in (tmp_path / "org" / "platform" / ".pre-commit-config.yaml").read_text()


# --- the drift job and its .cruft.json --------------------------------------------------


def drift_jobs(repo: Path) -> list[Path]:
    files = [*repo.glob(".github/workflows/*.yml"), *repo.glob(".gitlab-ci.yml")]
    return [path for path in files if "cruft check" in path.read_text()]


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_every_repo_with_a_drift_job_has_its_cruft_link(tmp_path, ci):
    """Baked by the CLI, and by plain cookiecutter (the hooks build the spec themselves)."""
    from cookiecutter.main import cookiecutter

    assert invoke("bootstrap", tmp_path / "org", "--team", "alpha", "--ci", ci).exit_code == 0
    plain = cookiecutter(
        str(ROOT / "cookiecutter-team"), no_input=True, output_dir=str(tmp_path),
        extra_context={"team_name": "beta", "platform_dir": str(tmp_path / "org" / "platform"),
                       "ci": ci},
    )  # fmt: skip
    repos = [tmp_path / "org" / "platform", tmp_path / "org" / "teams" / "alpha", Path(plain)]
    for repo in repos:
        assert drift_jobs(repo), repo
        assert (repo / ".cruft.json").is_file(), repo


# --- CODEOWNERS, read as GitHub reads it ------------------------------------------------


def github_owners(codeowners: str, path: str) -> list[str]:
    """The owners GitHub requests for ``path``: those of the LAST matching pattern
    (gitignore-style: a leading / anchors at the root, a pattern without a slash matches a
    name at any depth, ``*`` matches everything)."""
    owners: list[str] = []
    for line in codeowners.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, *names = line.split()
        if _matches(pattern, path):
            owners = names
    return owners


def _matches(pattern: str, path: str) -> bool:
    if pattern.startswith("/"):
        return fnmatch.fnmatch(path, pattern[1:]) or path.startswith(pattern[1:].rstrip("/") + "/")
    if "/" not in pattern.rstrip("/"):
        return any(fnmatch.fnmatch(part, pattern) for part in path.split("/"))
    return fnmatch.fnmatch(path, pattern)


def test_the_policy_stays_the_platforms_to_review_whoever_owns_the_rest(tmp_path):
    result = invoke("bootstrap", tmp_path / "org", "--owner", "@acme/platform")
    assert result.exit_code == 0, result.output
    codeowners = (tmp_path / "org" / "platform" / "CODEOWNERS").read_text()
    assert github_owners(codeowners, "federation.yaml") == ["@acme/platform"]
    # The org hands the rest of the repo to others: the policy's review stays.
    handed = re.sub(r"^\* .*$", "* @acme/data-eng", codeowners, flags=re.M)
    assert github_owners(handed, "feature_views.py") == ["@acme/data-eng"]
    assert github_owners(handed, "federation.yaml") == ["@acme/platform"]
    assert github_owners(handed, "teams/federation.yaml") == ["@acme/data-eng"]  # root only


def test_the_codeowners_reader_is_last_match_wins():
    rules = "/federation.yaml @platform\n* @someone-else\n"
    assert github_owners(rules, "federation.yaml") == ["@someone-else"]  # the old order
